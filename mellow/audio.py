"""Audio front end (SPEC.md section 2): read a file, downmix, resample to 32 kHz, cut a 10 s window.

No Qt here. Every failure a user can cause is an :class:`~mellow.errors.AudioError` with a one-line message.

Deliberate difference from the reference: multi-channel files are downmixed by *averaging* the channels (the
reference flattens them end to end, left channel then right). For mono files both agree.

Long files are never read whole: :func:`load_window` reads only the segment the 10 s window needs (plus a
margin wider than the resampling filter) and resamples that, aligned so that the polyphase resampler sees the
same phases as when the whole file is resampled. The result equals resampling the whole file and then cutting.
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import torch

from mellow.errors import AudioError
from mellow.file_hash import CONTENT_HASH, file_digest
from mellow.model.config import AudioConfig

#: Sample rate the encoder expects.
TARGET_RATE = 32000
#: Samples in one 10 s window at :data:`TARGET_RATE`.
WINDOW_SAMPLES = 320000
#: torchaudio's default resampler parameters (the reference uses ``transforms.Resample`` defaults).
LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99
#: Extra resampler blocks read on each side of a window segment, beyond the filter's own reach.
_MARGIN_BLOCKS = 2

PathLike = str | os.PathLike


@dataclass(frozen=True)
class Clip:
    """A 10 s window of an audio file.

    ``start`` is in seconds: the window begins at sample ``round(start * 32000)`` of the clip resampled to
    32 kHz (clamped so that the window fits; clips shorter than 10 s are tiled and ignore ``start``).
    """

    path: Path | str
    start: float = 0.0

    def __post_init__(self) -> None:
        if not math.isfinite(float(self.start)):
            raise AudioError(f"clip start must be a finite number of seconds, got {self.start!r}")


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`audio_info` reports about a file."""

    path: str
    duration: float  # seconds
    sample_rate: int
    channels: int
    frames: int
    subtype: str
    format: str


# --------------------------------------------------------------------------------------------- file checks
def _check_path(path: PathLike) -> Path:
    """Raise a one-line :class:`AudioError` unless ``path`` is a readable, non-empty regular file."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise AudioError(f"audio file not found: {p}") from None
    except PermissionError:
        raise AudioError(f"cannot read {p}: permission denied") from None
    except OSError as exc:
        raise AudioError(f"cannot read {p}: {exc.strerror or exc}") from None
    if p.is_dir():
        raise AudioError(f"{p} is a directory, not an audio file")
    if not p.is_file():
        raise AudioError(f"{p} is not a regular file")
    if not os.access(p, os.R_OK):
        raise AudioError(f"cannot read {p}: permission denied")
    if st.st_size == 0:
        raise AudioError(f"{p} is empty (0 bytes)")
    return p


def _open(p: Path, handle: BinaryIO | None = None) -> sf.SoundFile:
    """Open ``p`` (or its already open ``handle``) with soundfile; every library error is an AudioError."""
    try:
        return sf.SoundFile(handle if handle is not None else str(p))
    except PermissionError:
        raise AudioError(f"cannot read {p}: permission denied") from None
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise AudioError(f"{p} is not a readable audio file ({detail})") from None
    except OSError as exc:
        raise AudioError(f"cannot read {p}: {exc.strerror or exc}") from None


def _read_frames(f: sf.SoundFile, p: Path, start: int, count: int) -> np.ndarray:
    """Read ``count`` frames from ``start`` as float32 (frames, channels), checked: non-empty, finite."""
    try:
        if start:
            f.seek(start)
        data = f.read(count, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioError(f"{p} could not be decoded ({' '.join(str(exc).split())})") from None
    if data.shape[0] == 0:
        raise AudioError(f"{p} contains no audio samples")
    if not np.isfinite(data).all():
        raise AudioError(f"{p} contains NaN or infinite samples")
    return data


def read_audio(path: PathLike) -> tuple[np.ndarray, int]:
    """Read a whole audio file.

    Returns:
        ``(samples, sample_rate)`` with ``samples`` float32 of shape (frames, channels), integer formats
        scaled to [-1, 1) (int16 divided by 32768, as torchaudio does).
    """
    p = _check_path(path)
    with _open(p) as f:
        if f.samplerate <= 0:
            raise AudioError(f"{p} has an invalid sample rate ({f.samplerate})")
        rate = int(f.samplerate)
        data = _read_frames(f, p, 0, -1)
    return data, rate


def audio_info(path: PathLike) -> AudioInfo:
    """Duration, rate, channels, frames and subtype of a file, without decoding it."""
    p = _check_path(path)
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as exc:
        raise AudioError(f"{p} is not a readable audio file ({' '.join(str(exc).split())})") from None
    rate = int(info.samplerate)
    return AudioInfo(path=str(p), duration=info.frames / rate if rate > 0 else 0.0, sample_rate=rate,
                     channels=int(info.channels), frames=int(info.frames), subtype=str(info.subtype),
                     format=str(info.format))


# --------------------------------------------------------------------------------------------- signal steps
def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames, channels) or (frames,) float32 -> (frames,) float32, averaging the channels."""
    if samples.ndim == 1:
        return samples
    if samples.shape[1] == 1:
        return samples[:, 0]
    return samples.mean(axis=1, dtype=np.float32)


@functools.lru_cache(maxsize=16)
def _resampler(orig_rate: int, new_rate: int) -> torch.nn.Module:
    """torchaudio's default windowed-sinc resampler, as the reference builds it.

    ``transforms.Resample`` computes its kernel in float64 and rounds it to float32 once, whereas
    ``functional.resample`` on a float32 signal computes the kernel in float32; the transform matches the
    reference bit for bit.
    """
    import torchaudio

    return torchaudio.transforms.Resample(orig_rate, new_rate, resampling_method="sinc_interp_hann",
                                          lowpass_filter_width=LOWPASS_FILTER_WIDTH, rolloff=ROLLOFF)


def resample(wave: np.ndarray | torch.Tensor, orig_rate: int, new_rate: int = TARGET_RATE) -> torch.Tensor:
    """(n,) -> (ceil(n * new_rate / orig_rate),) float32; unchanged (as a tensor) when the rates agree."""
    x = torch.as_tensor(wave, dtype=torch.float32)
    if int(orig_rate) == int(new_rate):
        return x
    with torch.no_grad():  # not inference_mode: callers may feed the result to autograd-recording code
        return _resampler(int(orig_rate), int(new_rate))(x[None])[0].clone()


def resample_to_32k(wave: np.ndarray | torch.Tensor, orig_rate: int) -> torch.Tensor:
    """(n,) at ``orig_rate`` -> (m,) float32 at 32 kHz (SPEC.md 2.2)."""
    return resample(wave, orig_rate, TARGET_RATE)


def resampled_length(frames: int, orig_rate: int, new_rate: int = TARGET_RATE) -> int:
    """Number of output samples torchaudio produces for ``frames`` input samples."""
    g = math.gcd(orig_rate, new_rate)
    return -(-frames * (new_rate // g) // (orig_rate // g))


def fit_window(wave: torch.Tensor | np.ndarray, start_sample: int = 0,
               length: int = WINDOW_SAMPLES) -> torch.Tensor:
    """Cut a (length,) window from a (n,) 32 kHz waveform (SPEC.md 2.3).

    Shorter than ``length``: the whole clip is tiled ceil(length / n) times and cut (``start_sample`` is
    ignored). Longer: ``wave[start : start + length]`` with ``start`` clamped to [0, n - length].
    """
    x = torch.as_tensor(wave, dtype=torch.float32)
    n = int(x.shape[0])
    if n == 0:
        raise AudioError("the audio contains no samples")
    if n <= length:
        return x.repeat(-(-length // n))[:length]
    start = min(max(0, int(start_sample)), n - length)
    return x[start:start + length]


def _segment_plan(frames: int, orig_rate: int, new_rate: int, out_start: int,
                  out_len: int) -> tuple[int, int, int]:
    """Input range to read for output samples [out_start, out_start + out_len) of the whole-file resampling.

    torchaudio reduces the rates by their gcd to (o, m) and computes output block k (samples k*m ... k*m+m-1)
    from input samples [k*o - width, k*o + o + width). Starting the segment at a block boundary (a multiple
    of o input samples) keeps the phases; a margin of whole blocks beyond ``width`` keeps every sample used.

    Returns:
        ``(read_start, read_stop, offset)``: read input frames [read_start, read_stop) and, after resampling
        that segment, take ``out_len`` samples from ``offset``.
    """
    g = math.gcd(orig_rate, new_rate)
    o, m = orig_rate // g, new_rate // g
    base = min(o, m) * ROLLOFF
    width = math.ceil(LOWPASS_FILTER_WIDTH * o / base)
    margin_blocks = -(-width // o) + _MARGIN_BLOCKS
    first_block = out_start // m
    last_block = (out_start + out_len - 1) // m
    block0 = max(0, first_block - margin_blocks)
    read_start = block0 * o
    read_stop = min(frames, (last_block + 1 + margin_blocks) * o + width)
    return read_start, read_stop, out_start - block0 * m


def load_window(clip: Clip | PathLike, audio_cfg: AudioConfig | None = None) -> torch.Tensor:
    """The preprocessed 10 s window of a clip: (clip_samples,) float32 at the config's rate (320000 @ 32 kHz).

    Reads only the part of a long file that the window needs, so memory stays bounded for hours-long files.
    """
    if not isinstance(clip, Clip):
        clip = Clip(clip)
    p = _check_path(clip.path)
    with _open(p) as f:
        return _window_from(f, p, clip.start, audio_cfg or AudioConfig())


def _out_frames(f: sf.SoundFile, p: Path, rate_out: int) -> int:
    """Length of the open file ``f`` once resampled to ``rate_out``; checks the header's rate and length."""
    if f.samplerate <= 0:
        raise AudioError(f"{p} has an invalid sample rate ({f.samplerate})")
    if f.frames <= 0:
        raise AudioError(f"{p} contains no audio samples")
    return resampled_length(int(f.frames), int(f.samplerate), rate_out)


def _window_from(f: sf.SoundFile, p: Path, start_s: float, cfg: AudioConfig) -> torch.Tensor:
    """:func:`load_window` on the open file ``f``."""
    rate_out, n_win = cfg.sample_rate, cfg.clip_samples
    n_out = _out_frames(f, p, rate_out)
    rate_in, frames = int(f.samplerate), int(f.frames)
    if n_out <= n_win or not f.seekable():
        wave = resample(to_mono(_read_frames(f, p, 0, -1)), rate_in, rate_out)
        return fit_window(wave, round(start_s * rate_out), n_win).contiguous()
    start = min(max(0, round(start_s * rate_out)), n_out - n_win)
    if rate_in == rate_out:
        return torch.from_numpy(to_mono(_read_frames(f, p, start, n_win)).copy())
    read_start, read_stop, offset = _segment_plan(frames, rate_in, rate_out, start, n_win)
    segment = to_mono(_read_frames(f, p, read_start, read_stop - read_start))
    wave = resample(segment, rate_in, rate_out)
    if wave.shape[0] < offset + n_win:
        raise AudioError(f"{p} is shorter than its header says")
    return wave[offset:offset + n_win].clone()


@dataclass(frozen=True)
class ClipRead:
    """What :func:`read_clip` got from one open of a file."""

    content_hash: str  # as clip_content_hash
    out_frames: int  # the file's length at the config's sample rate
    wave: torch.Tensor | None  # load_window's window, when asked for


def read_clip(clip: Clip | PathLike, audio_cfg: AudioConfig | None = None, window: bool = True) -> ClipRead:
    """:func:`clip_content_hash`, the resampled length and (``window``) :func:`load_window`'s window, all
    from a single open of the file (the hash comes from, or goes to, :mod:`mellow.file_hash`'s memo)."""
    if not isinstance(clip, Clip):
        clip = Clip(clip)
    cfg = audio_cfg or AudioConfig()
    p = _check_path(clip.path)
    with _open_bytes(p) as fh:
        digest = file_digest(p, CONTENT_HASH, fh=fh, error=AudioError)
        fh.seek(0)
        with _open(p, fh) as f:
            n_out = _out_frames(f, p, cfg.sample_rate)
            wave = _window_from(f, p, clip.start, cfg) if window else None
    return ClipRead(digest, n_out, wave)


def _open_bytes(p: Path) -> BinaryIO:
    try:
        return open(p, "rb")  # noqa: SIM115 - the callers close it
    except PermissionError:
        raise AudioError(f"cannot read {p}: permission denied") from None
    except OSError as exc:
        raise AudioError(f"cannot read {p}: {exc.strerror or exc}") from None


def clip_content_hash(path: PathLike) -> str:
    """The content hash of an audio file: :data:`mellow.file_hash.CONTENT_HASH` (hex BLAKE2b-160 of its
    bytes), read in chunks and memoised on (path, size, mtime_ns); AudioError (one line) when unreadable."""
    return file_digest(_check_path(path), CONTENT_HASH, error=AudioError)
