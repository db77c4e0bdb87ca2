"""Reading a clip for the panels, without Qt: header, overview and first window; then the slow facts.

The Qt shell runs these on its job runner; each raises :class:`mellow.errors.MellowError` (or another
exception, reported as an unexpected failure) when the file cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mellow.audio import AudioInfo, audio_info, clip_content_hash
from mellow.errors import MellowError
from mellow_desktop.core.clip_analysis import Trace, WindowAnalysis, analyse_window, trace
from mellow_desktop.core.envelope import stored_wav_samples
from mellow_desktop.core.measurements import Measurements, measure_file
from mellow_desktop.core.overview import Overview, overview_chunks
from mellow_desktop.core.overview_cache import cached_overview

#: A file with more samples than this (about 3.5 minutes of 48 kHz stereo) that is not a plain WAV
#: (FLAC, MP3, ...) takes seconds to read whole: its waveform is first drawn from the overview's coarse pass
#: (or its cached overview) and refined as the overview strip computes the exact one.
STREAMED_TRACE_SAMPLES = 20_000_000


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
    overview = whole_file_trace(info)
    window = analyse_window(info, 0.0)
    return OpenedClip(path=Path(path), info=info, overview=overview, window=window)


def whole_file_trace(info: AudioInfo) -> Trace:
    """The waveform of the whole file: exact when quick to read (a WAV, or a short file), else the first
    snapshot of its overview (exact when cached, else coarse: ``exact`` False)."""
    if info.frames * info.channels <= STREAMED_TRACE_SAMPLES or stored_wav_samples(info) is not None:
        return trace(info)
    return overview_trace(cached_overview(info.path) or next(overview_chunks(info.path)))


def overview_trace(ov: Overview) -> Trace:
    """An overview snapshot's level envelope as a waveform trace (exact once the overview is complete)."""
    return Trace(0.0, ov.duration_s, ov.env_min, ov.env_max, raw=False, exact=ov.complete)


@dataclass(frozen=True)
class ClipFacts:
    """Slow facts computed after a clip is drawn: whole-file measurements and the content hash."""

    measurements: Measurements
    content_hash: str


def clip_facts(path: Path) -> ClipFacts:
    """Measure the whole file (streamed) and hash its bytes."""
    return ClipFacts(measurements=measure_file(path), content_hash=clip_content_hash(path))
