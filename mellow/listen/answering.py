"""Asking the listener's questions of live windows, through the scan driver and runner (one path with
``mellow scan`` and the window's scans: the same batches, scores, resume keys and rule for unreadable
windows).

This is the one seam the question sets will replace: today each question has its own
:class:`~mellow.scan.runner.ScanRunner` (each encodes the window again); a question-set runner answers them
all from one encoding.
"""

from __future__ import annotations

from collections.abc import Sequence

from mellow.generation import Engine, GenerationOptions
from mellow.scan.driver import ScanDriver
from mellow.scan.runner import ScanRunner, WindowReader
from mellow.scan.scores import YES_NO
from mellow.scan.types import Window, WindowResult


class WindowAnswerer:
    """Every question about each window: ``prompts`` (scored "auto": yes/no questions get P(yes)) and the
    optional ``privacy_prompt`` (always scored yes/no), last.  ``read_window`` gives a window's audio."""

    def __init__(self, engine: Engine, prompts: Sequence[str], privacy_prompt: str | None,
                 read_window: WindowReader, max_len: int = 300, batch_size: int | None = None) -> None:
        options = GenerationOptions(max_len=max_len)
        self.runners = [ScanRunner(engine, p, options, score="auto", batch_size=batch_size,
                                   read_window=read_window) for p in prompts]
        self.privacy: ScanRunner | None = None
        if privacy_prompt:
            self.privacy = ScanRunner(engine, privacy_prompt, options, score=YES_NO, batch_size=batch_size,
                                      read_window=read_window)

    @property
    def all_runners(self) -> list[ScanRunner]:
        return self.runners + ([self.privacy] if self.privacy is not None else [])

    @property
    def batch_size(self) -> int:
        return min(r.batch_size for r in self.all_runners)

    @property
    def model_id(self) -> str:
        return self.runners[0].model_id

    def answer(self, windows: Sequence[Window]) -> list[list[WindowResult]]:
        """For each window, one result per runner (:attr:`all_runners` order); an unreadable window's results
        carry its ``error``."""
        table: list[list[WindowResult | None]] = [[None] * len(self.all_runners) for _ in windows]
        for q, runner in enumerate(self.all_runners):
            driver = ScanDriver(runner, list(enumerate(windows)))
            for batch in driver.batches():
                for i, result in batch.answered + batch.failed:
                    table[i][q] = result
        return [[r if r is not None else WindowResult(w, error="not answered") for r in row]
                for w, row in zip(windows, table, strict=True)]
