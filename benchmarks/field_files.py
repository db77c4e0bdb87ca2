"""Real field-recorder files for the benchmarks and the tests of :mod:`mellow.recordings` (one place for both:
benchmarks never import ``tests/``, so the tests import this from here): short PCM WAVs
with an AudioMoth-style ``LIST``/``INFO`` comment, GUANO metadata written by the ``guano`` package itself,
or nothing but a recorder's file name."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

AUDIOMOTH_SERIAL = "24F319055FDF2B55"


def audiomoth_comment(when: str, zone: str = "(UTC)", serial: str = AUDIOMOTH_SERIAL) -> str:
    """An AudioMoth 1.4-style comment: ``when`` is ``HH:MM:SS DD/MM/YYYY``, ``zone`` ``(UTC+10)`` or ''."""
    zone_part = f" {zone}" if zone else ""
    return (f"Recorded at {when}{zone_part} by AudioMoth {serial} at medium gain setting while battery "
            "state was 4.2V and temperature was 11.5C.")


def _chunk(chunk_id: bytes, body: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def info_list(entries: Mapping[str, str]) -> bytes:
    """A ``LIST``/``INFO`` chunk with the given entries (``ICMT``, ``IART``, ...), NUL-terminated text."""
    body = b"INFO" + b"".join(_chunk(k.encode("ascii"), v.encode("utf-8") + b"\x00")
                              for k, v in entries.items())
    return _chunk(b"LIST", body)


def wav_bytes(seconds: float = 0.2, rate: int = 8000, channels: int = 1, *,
              info: Mapping[str, str] | None = None, frequency: float = 440.0) -> bytes:
    """A 16-bit PCM WAV (a quiet tone, 440 Hz unless told), with a ``LIST``/``INFO`` chunk before ``data``
    when ``info`` is given."""
    frames = round(seconds * rate)
    tone = (0.1 * np.sin(2 * np.pi * frequency * np.arange(frames) / rate) * 32767).astype("<i2")
    samples = np.repeat(tone[:, None], channels, axis=1).tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    meta = info_list(info) if info else b""
    body = b"WAVE" + _chunk(b"fmt ", fmt) + meta + _chunk(b"data", samples)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write_wav(path: Path, seconds: float = 0.2, rate: int = 8000, channels: int = 1, *,
              comment: str | None = None, artist: str | None = None, frequency: float = 440.0) -> Path:
    """Write :func:`wav_bytes` to ``path`` (with ``ICMT``/``IART`` entries when given); returns the path."""
    info = {k: v for k, v in (("ICMT", comment), ("IART", artist)) if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(wav_bytes(seconds, rate, channels, info=info or None, frequency=frequency))
    return path


def write_guano_wav(path: Path, fields: Mapping[str, Any], seconds: float = 0.2, rate: int = 8000,
                    frequency: float = 440.0) -> Path:
    """A WAV whose GUANO metadata (``Timestamp``, ``Loc Position``, ``Make``, ...) the guano package wrote."""
    from guano import GuanoFile

    write_wav(path, seconds, rate, frequency=frequency)
    g = GuanoFile(str(path))
    for key, value in fields.items():
        g[key] = value
    g.write(make_backup=False)
    return path


def write_sparse_wav(path: Path, data_bytes: int, rate: int = 8000, *, info: Mapping[str, str] | None = None,
                     trailer: bytes = b"") -> Path:
    """A 16-bit mono WAV whose ``data`` chunk really holds ``data_bytes`` bytes (a hole on disk: reading them
    costs nothing but time), with a ``LIST``/``INFO`` chunk before it when ``info`` is given and ``trailer``
    (e.g. a ``guan`` chunk) after it.  Its header is intact."""
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    meta = info_list(info) if info else b""
    head = b"WAVE" + _chunk(b"fmt ", fmt) + meta + b"data" + struct.pack("<I", data_bytes)
    total = len(head) + data_bytes + len(trailer)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", total) + head)
        f.seek(data_bytes, 1)
        f.write(trailer)
        f.truncate(8 + total)
    return path


def guano_chunk(text: str) -> bytes:
    """A ``guan`` chunk holding ``text`` (for files written without the guano package)."""
    return _chunk(b"guan", text.encode("utf-8"))
