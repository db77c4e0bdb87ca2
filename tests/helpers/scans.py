"""What the scan tests share: the yes/no prompt, the reference scan the Ray tests compare with, and hand-made
window results (no model) for the store's own tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mellow.generation import GenerationOptions
from mellow.scan.types import Window, WindowResult
from mellow_desktop.core.scan_record import ScanRecord

YES_NO = "is there a tone in the audio? answer yes or no"
SCAN_OPTIONS = GenerationOptions(max_len=6)  # the reference scan's options (tests/ray)
SCAN_BATCH = 4  # and its batch size


@dataclass
class ScanReference:
    """A planned scan, and its rows answered in-process by ScanRunner (the truth the Ray scan must match)."""

    windows: list[Window]
    results: list[WindowResult]
    model_id: str
    keys: list[str]  # the resume key of each window


def fake_results(record: ScanRecord, texts: list[str],
                 scores: list[float | None]) -> list[tuple[int, WindowResult]]:
    """(index, result) pairs at starts 0, 10, 20... of ``record`` (no model: for the store's own tests)."""
    out = []
    for i, (text, score) in enumerate(zip(texts, scores, strict=True)):
        w = Window(Path(record.file), 10.0 * i, 10.0 * i + 10.0, record.file_hash)
        out.append((i, WindowResult(w, text=text, tokens=[5, 6, i], score=score)))
    return out
