"""Reading a clip for the panels, without Qt: header, overview and first window; then the slow facts.

The Qt shell runs these on its job runner; each raises :class:`mellow.errors.MellowError` (or another
exception, reported as an unexpected failure) when the file cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mellow.audio import AudioInfo, audio_info, clip_content_hash
from mellow.errors import MellowError
from mellow.measurements import Measurements, measure_file
from mellow_desktop.core.clip_analysis import Trace, WindowAnalysis, analyse_window, trace


@dataclass(frozen=True)
class OpenedClip:
    """Everything needed to draw a newly opened file."""

    path: Path
    info: AudioInfo
    overview: Trace
    window: WindowAnalysis


def open_clip(path: Path) -> OpenedClip:
    """Header, overview envelope and first 10 s window of ``path`` (MellowError when unreadable)."""
    info = audio_info(path)
    if info.frames <= 0 or info.sample_rate <= 0:
        raise MellowError(f"{path.name} contains no audio samples")
    overview = trace(info)
    window = analyse_window(info, 0.0)
    return OpenedClip(path=Path(path), info=info, overview=overview, window=window)


@dataclass(frozen=True)
class ClipFacts:
    """Slow facts computed after a clip is drawn: whole-file measurements and the content hash."""

    measurements: Measurements
    content_hash: str


def clip_facts(path: Path) -> ClipFacts:
    """Measure the whole file (streamed) and hash its bytes."""
    return ClipFacts(measurements=measure_file(path), content_hash=clip_content_hash(path))
