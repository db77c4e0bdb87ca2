"""The metadata chunks of a WAV file, read from its RIFF chunk headers (never its samples).

Walks the top-level chunks of a RIFF/WAVE (or RF64/BW64) file by their headers, seeking over the rest, and
keeps the two kinds a recording's metadata lives in: the ``LIST``/``INFO`` entries (``ICMT`` holds the
AudioMoth comment, ``IART`` its "AudioMoth <serial>") and the ``guan`` chunk (GUANO metadata, UTF-8 text).
A chunk larger than :data:`MAX_METADATA_BYTES` is skipped; a file cut short ends the walk quietly.  Chunks
are padded to even sizes by the RIFF rules; writers that forget the pad byte are tolerated.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

#: Metadata chunks above this size are not read (they would not be metadata).
MAX_METADATA_BYTES = 1 << 20
_RIFF_MAGICS = (b"RIFF", b"RF64", b"BW64")
_HEADER = struct.Struct("<4sI")
_RF64_PLACEHOLDER = 0xFFFFFFFF


@dataclass(frozen=True)
class RiffMetadata:
    """``info``: the ``LIST``/``INFO`` entries by id (``ICMT``, ``IART``, ...), as text; ``guano``: the raw
    ``guan`` chunk, or None."""

    info: dict[str, str] = field(default_factory=dict)
    guano: bytes | None = None


def _looks_like_id(raw: bytes) -> bool:
    return len(raw) == 4 and all(32 <= b < 127 for b in raw)


def _text(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text.strip("\x00 \t\r\n")


def _info_entries(body: bytes) -> dict[str, str]:
    """The ``INFO`` list's entries (``body`` starts after the ``INFO`` tag)."""
    entries: dict[str, str] = {}
    pos = 0
    while pos + 8 <= len(body):
        raw_id, size = _HEADER.unpack_from(body, pos)
        if not _looks_like_id(raw_id):
            break
        entries[raw_id.decode("ascii")] = _text(body[pos + 8: pos + 8 + size])
        pos += 8 + size + (size & 1)
        if size & 1 and not _looks_like_id(body[pos: pos + 4]) and _looks_like_id(body[pos - 1: pos + 3]):
            pos -= 1  # the writer left out the pad byte after an odd-sized entry
    return entries


def _chunk_header(f: BinaryIO, pos: int, end: int, after_odd: bool) -> tuple[bytes, int, int] | None:
    """(id, size, position) of the chunk at ``pos``; after an odd-sized chunk also at ``pos - 1`` (a writer
    that left out the pad byte).  None at the end of the file or on bytes that are no chunk header."""
    for at in (pos, pos - 1) if after_odd else (pos,):
        if at + 8 > end:
            return None
        f.seek(at)
        raw_id, size = _HEADER.unpack(f.read(8))
        if _looks_like_id(raw_id):
            return raw_id, size, at
    return None


def read_riff_metadata(f: BinaryIO) -> RiffMetadata | None:
    """The metadata chunks of the open WAV file ``f``; None when it is not a RIFF/WAVE file."""
    head = f.read(12)
    if len(head) < 12 or head[:4] not in _RIFF_MAGICS or head[8:12] != b"WAVE":
        return None
    end = os.fstat(f.fileno()).st_size
    info: dict[str, str] = {}
    guano: bytes | None = None
    data_size_64: int | None = None
    pos, after_odd = 12, False
    while (found := _chunk_header(f, pos, end, after_odd)) is not None:
        raw_id, size, at = found
        if raw_id == b"ds64" and size >= 16:
            data_size_64 = struct.unpack("<Q", f.read(16)[8:16])[0]
        elif raw_id == b"data" and size == _RF64_PLACEHOLDER and data_size_64 is not None:
            size = data_size_64
        elif raw_id == b"LIST" and size <= MAX_METADATA_BYTES:
            body = f.read(size)
            if body[:4] == b"INFO":
                info.update(_info_entries(body[4:]))
        elif raw_id == b"guan" and size <= MAX_METADATA_BYTES:
            guano = f.read(size)
        pos, after_odd = at + 8 + size + (size & 1), bool(size & 1)
    return RiffMetadata(info, guano)
