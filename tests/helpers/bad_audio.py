"""A matrix of awkward and broken audio files, generated on the fly (nothing large is committed).

Used by the engine, CLI and desktop tests alike: every case is either valid audio that must load, or a
broken input that must give one clear line of explanation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tests.helpers.audio_files import tone

TONE_HZ = 1000.0


@dataclass(frozen=True)
class AudioCase:
    """One input file: ``valid`` ones must load; the others must fail with a message containing ``reason``."""

    name: str
    valid: bool
    make: Callable[[Path], Path]
    reason: str = ""  # a word the one-line error must contain (lower case)
    tone_hz: float | None = None  # when set, the loaded window must be dominated by this frequency


def _tone(seconds: float, rate: int, channels: int = 1, amp: float = 0.5) -> np.ndarray:
    """(frames, channels) sine at TONE_HZ, every channel the same."""
    return np.repeat(tone(seconds, rate, TONE_HZ, amp)[:, None], channels, axis=1)


def _write(name: str, data: np.ndarray, rate: int, subtype: str | None = None,
           fmt: str | None = None) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / name
        sf.write(str(p), data, rate, subtype=subtype, format=fmt)
        return p
    return make


def _bytes(name: str, payload: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        p = d / name
        p.write_bytes(payload)
        return p
    return make


def _truncated(d: Path) -> Path:
    p = d / "truncated.wav"
    sf.write(str(p), _tone(3.0, 16000), 16000, subtype="PCM_16")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2 + 1])  # header claims 3 s, half of the data is there (odd byte count)
    return p


def _header_only(d: Path) -> Path:
    p = d / "header_only.wav"
    sf.write(str(p), np.zeros((0, 1)), 16000, subtype="PCM_16")
    return p


def _directory(d: Path) -> Path:
    p = d / "folder.wav"
    p.mkdir()
    return p


def _missing(d: Path) -> Path:
    return d / "does_not_exist.wav"


def _nan(d: Path) -> Path:
    p = d / "nan.wav"
    x = _tone(1.0, 16000)
    x[100] = np.nan
    sf.write(str(p), x, 16000, subtype="FLOAT")
    return p


def _inf(d: Path) -> Path:
    p = d / "inf.wav"
    x = _tone(1.0, 16000)
    x[200] = np.inf
    sf.write(str(p), x, 16000, subtype="DOUBLE")
    return p


def _square(d: Path) -> Path:
    p = d / "clipped_square.wav"
    x = np.sign(_tone(2.0, 32000, amp=1.0))
    sf.write(str(p), np.clip(x, -1.0, 32767 / 32768), 32000, subtype="PCM_16")
    return p


def _dc(d: Path) -> Path:
    p = d / "dc_offset.wav"
    sf.write(str(p), 0.4 + _tone(2.0, 16000, amp=0.3), 16000, subtype="PCM_16")
    return p


def cases() -> list[AudioCase]:
    """Every case of the matrix (about 40)."""
    rng = np.random.default_rng(7)
    out = [
        AudioCase("empty file", False, _bytes("empty.wav", b""), "empty"),
        AudioCase("header only", False, _header_only, "no audio"),
        AudioCase("truncated data", True, _truncated, tone_hz=TONE_HZ),
        AudioCase("random bytes .wav", False, _bytes("random.wav", rng.bytes(4096)), "not a readable audio"),
        AudioCase("text named .mp3", False, _bytes("notes.mp3", b"just some text, not audio\n" * 20),
                  "not a readable audio"),
        AudioCase("directory", False, _directory, "directory"),
        AudioCase("missing path", False, _missing, "not found"),
        AudioCase("one sample", True, _write("one_sample.wav", np.array([[0.25]]), 16000, "PCM_16")),
        AudioCase("all-zero silence", True, _write("silence.wav", np.zeros((16000 * 3, 1)), 16000, "PCM_16")),
        AudioCase("NaN samples", False, _nan, "nan"),
        AudioCase("Inf samples", False, _inf, "infinite"),
        AudioCase("clipped square", True, _square),
        AudioCase("DC offset", True, _dc, tone_hz=TONE_HZ),
        AudioCase("non-ASCII name", True, _write("Größe_鳥の声.wav", _tone(2.0, 22050), 22050, "PCM_16"),
                  tone_hz=TONE_HZ),
        AudioCase("space in name", True, _write("field recording 01.wav", _tone(2.0, 22050), 22050, "PCM_16"),
                  tone_hz=TONE_HZ),
        AudioCase("FLAC", True, _write("tone.flac", _tone(3.0, 44100), 44100, "PCM_16"), tone_hz=TONE_HZ),
        AudioCase("OGG Vorbis", True, _write("tone.ogg", _tone(3.0, 44100), 44100, "VORBIS"),
                  tone_hz=TONE_HZ),
        AudioCase("MP3", True, _write("tone.mp3", _tone(3.0, 44100), 44100, "MPEG_LAYER_III"),
                  tone_hz=TONE_HZ),
    ]
    for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"):
        out.append(AudioCase(f"{subtype} WAV", True,
                             _write(f"{subtype.lower()}.wav", _tone(2.0, 16000), 16000, subtype),
                             tone_hz=TONE_HZ))
    for channels in (1, 2, 6, 8):
        out.append(AudioCase(f"{channels} channels", True,
                             _write(f"ch{channels}.wav", _tone(2.0, 16000, channels), 16000, "PCM_16"),
                             tone_hz=TONE_HZ))
    for rate in (8000, 11025, 44100, 96000, 192000):
        out.append(AudioCase(f"{rate} Hz", True, _write(f"rate{rate}.wav", _tone(12.0, rate), rate, "PCM_16"),
                             tone_hz=TONE_HZ))
    return out


def make_unreadable(d: Path) -> Path:
    """A valid WAV with its read permission removed (only meaningful for a non-root reader)."""
    p = d / "no_permission.wav"
    sf.write(str(p), _tone(1.0, 16000), 16000, subtype="PCM_16")
    os.chmod(p, 0)
    return p


# Starts of real containers (WAV, FLAC, Ogg, MP3) for fuzzed files: decoders get past their first check.
MAGIC = [b"", b"RIFF\x24\x08\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00",
         b"RIFF\xff\xff\xff\xffWAVE", b"fLaC\x00\x00\x00\x22", b"OggS\x00\x02", b"ID3\x04\x00",
         b"\xff\xfb\x90\x64"]
