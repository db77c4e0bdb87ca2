"""Reading a clip for the panels, without Qt: header + overview + first window, slow facts, playback segments.

The Qt shell runs these on its job runner; each raises :class:`mellow.errors.MellowError` (or another
exception, reported as an unexpected failure) when the file cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mellow.audio import AudioInfo, audio_info, clip_content_hash
from mellow.errors import MellowError, one_line
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


@dataclass(frozen=True)
class PlaybackSegment:
    """Samples to play: ``data`` (frames, channels) float32 starting ``start_s`` into the file."""

    data: np.ndarray
    sample_rate: int
    start_s: float


def read_segment(path: Path, start_s: float, max_s: float) -> PlaybackSegment:
    """Read at most ``max_s`` seconds of ``path`` from ``start_s`` (for playback)."""
    import soundfile as sf

    try:
        with sf.SoundFile(str(path)) as f:
            rate = int(f.samplerate)
            first = min(int(start_s * rate), max(0, f.frames - 1))
            f.seek(first)
            data = f.read(int(max_s * rate), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError, ValueError) as exc:
        raise MellowError(f"cannot play {path.name}: {one_line(exc)}") from None
    return PlaybackSegment(data=data, sample_rate=rate, start_s=first / rate)
