"""File ▸ Export window as WAV: the analysis window's samples as they are in the file (its own sample rate and
channels, not the model's 32 kHz mono), read from disk frame-exactly and written atomically."""

from __future__ import annotations

import io
import os
from pathlib import Path

import soundfile as sf

from mellow.errors import AudioError, one_line
from mellow.files import write_atomic
from mellow_desktop.core.clip_analysis import WINDOW_SECONDS

#: Source subtypes kept as they are; anything else (compressed, 8-bit, odd widths) is written as 32-bit float.
_KEPT_SUBTYPES = ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE")


def export_window(source: str | os.PathLike[str], start_s: float, target: str | os.PathLike[str],
                  seconds: float = WINDOW_SECONDS) -> Path:
    """Write frames ``[start_s, start_s + seconds)`` of ``source`` (clamped to the file) to ``target`` as WAV;
    returns the path.  Raises :class:`~mellow.errors.AudioError` with a one-line reason."""
    try:
        info = sf.info(str(source))
        first = max(0, min(int(round(start_s * info.samplerate)), info.frames))
        last = min(info.frames, first + int(round(seconds * info.samplerate)))
        data, rate = sf.read(str(source), start=first, stop=last, dtype="float64", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise AudioError(f"cannot read {Path(source).name}: {one_line(exc)}") from None
    subtype = info.subtype if info.subtype in _KEPT_SUBTYPES else "FLOAT"
    buffer = io.BytesIO()
    sf.write(buffer, data, rate, subtype=subtype, format="WAV")
    try:
        return write_atomic(target, buffer.getvalue())
    except OSError as exc:
        raise AudioError(f"cannot write {target}: {one_line(exc)}") from None
