"""What the scan tests share: the yes/no prompt, the reference scan the Ray tests compare with, windows of a
recording, a window asked alone (the truth a batched scan must equal), and hand-made window results (no
model) for the store's own tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mellow.audio import Clip
from mellow.generation import Engine, GenerationOptions
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


def windows_of(path: Path, seconds: float, hop: float, **slot2: object) -> list[Window]:
    """The 10 s windows of a recording of ``seconds`` every ``hop``, the last one end-aligned."""
    starts = list(np.arange(0.0, seconds - 10.0 + 1e-9, hop))
    if starts[-1] + 10.0 < seconds:
        starts.append(seconds - 10.0)
    return [Window(file=path, start_s=float(s), end_s=float(s) + 10.0, **slot2) for s in starts]  # type: ignore[arg-type]


def asked_alone(engine: Engine, w: Window, prompt: str, opts: GenerationOptions) -> WindowResult:
    """One window asked alone through Engine.stream (slot 2 its own window unless it names another): the
    stream's result."""
    b = Clip(w.slot2_file, w.slot2_start_s) if w.slot2_file is not None else Clip(w.file, w.start_s)
    stream = engine.stream(Clip(w.file, w.start_s), b, prompt, opts)
    list(stream)
    return stream.result


def fake_results(record: ScanRecord, texts: list[str],
                 scores: list[float | None]) -> list[tuple[int, WindowResult]]:
    """(index, result) pairs at starts 0, 10, 20... of ``record`` (no model: for the store's own tests),
    answering its first question."""
    out, name = [], record.question_set.names[0]
    for i, (text, score) in enumerate(zip(texts, scores, strict=True)):
        w = Window(Path(record.file), 10.0 * i, 10.0 * i + 10.0, record.file_hash)
        out.append((i, WindowResult(w, text=text, tokens=[5, 6, i], score=score, question=name)))
    return out
