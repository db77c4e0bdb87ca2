"""A crash-tolerant WAV writer and the repair of WAV files whose writer died.

:class:`WavWriter` writes a canonical header (``RIFF``/``fmt ``/[``fact``]/``data``, data last), appends
samples with plain unbuffered writes, and on :meth:`WavWriter.flush` patches the header sizes and fsyncs, so
the file on disk is a valid WAV up to the last flush. While it is open a sidecar ``<name>.wav.recording``
(JSON: pid, format, start time) marks the file as unfinished; a clean :meth:`WavWriter.close` removes it.

After a crash, :func:`find_unfinished_recordings` lists such files and :func:`repair_wav` sets the RIFF and
data sizes from the real file length (dropping a trailing partial frame) so every written sample is readable.

A write error (disk full, file-size limit) leaves the file truncated to whole frames with a correct header.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mellow.errors import AudioError

MARKER_SUFFIX = ".recording"
_FORMAT_PCM = 1
_FORMAT_FLOAT = 3
_MAX_DATA = 0xFFFFFFFF - 64  # the 32-bit RIFF size field bounds a WAV to about 4 GiB

SUBTYPES = {"PCM_16": (_FORMAT_PCM, 2), "FLOAT": (_FORMAT_FLOAT, 4)}


def marker_path(path: Path) -> Path:
    """The sidecar that marks ``path`` as being recorded."""
    return path.with_name(path.name + MARKER_SUFFIX)


class WavWriteError(AudioError, OSError):
    """Writing the WAV failed (disk full, size limit...); the file holds what was written before."""


class WavWriter:
    """Append float samples of shape (frames, channels) to a WAV file; not thread-safe (one writer thread)."""

    def __init__(self, path: str | os.PathLike[str], samplerate: int, channels: int, subtype: str = "PCM_16"):
        if subtype not in SUBTYPES:
            raise ValueError(f"subtype must be one of {sorted(SUBTYPES)}")
        self.path = Path(path)
        self.samplerate = int(samplerate)
        self.channels = int(channels)
        self.subtype = subtype
        self.format_tag, self.sample_bytes = SUBTYPES[subtype]
        self.block_align = self.channels * self.sample_bytes
        self.frames_written = 0
        self._closed = False
        header = self._header(0)
        self._data_offset = len(header)
        self._write_marker()
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            self._remove_marker()
            raise WavWriteError(f"cannot create {self.path}: {exc.strerror or exc}") from None
        try:
            self._write_all(header)
            os.fsync(self._fd)
        except OSError as exc:
            os.close(self._fd)
            self._closed = True
            raise WavWriteError(f"cannot write {self.path.name}: {exc.strerror or exc}") from None

    # ------------------------------------------------------------------------------------------- header

    def _header(self, data_bytes: int) -> bytes:
        fmt = struct.pack(
            "<HHIIHH",
            self.format_tag,
            self.channels,
            self.samplerate,
            self.samplerate * self.block_align,
            self.block_align,
            self.sample_bytes * 8,
        )
        chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
        if self.format_tag == _FORMAT_FLOAT:
            chunks += b"fact" + struct.pack("<II", 4, data_bytes // self.block_align)
        chunks += b"data" + struct.pack("<I", data_bytes)
        return b"RIFF" + struct.pack("<I", 4 + len(chunks) + data_bytes) + b"WAVE" + chunks

    def _write_marker(self) -> None:
        info = {
            "pid": os.getpid(),
            "started": time.time(),
            "samplerate": self.samplerate,
            "channels": self.channels,
            "subtype": self.subtype,
        }
        marker_path(self.path).write_text(json.dumps(info))

    def _remove_marker(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            marker_path(self.path).unlink()

    # ------------------------------------------------------------------------------------------- writing

    def _write_all(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def _encode(self, block: np.ndarray) -> bytes:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            raise ValueError(f"expected {self.channels} channels, got {x.shape[1]}")
        x = np.nan_to_num(x, nan=0.0, posinf=1.0, neginf=-1.0)
        if self.format_tag == _FORMAT_FLOAT:
            return x.astype("<f4").tobytes()
        return np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2").tobytes()

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (frames, channels) of float samples in [-1, 1] (a 1-D array is one channel)."""
        if self._closed:
            raise ValueError("write to a closed WavWriter")
        payload = self._encode(block)
        if self.frames_written * self.block_align + len(payload) > _MAX_DATA:
            raise WavWriteError(f"{self.path.name} reached the 4 GB size limit of WAV files")
        try:
            self._write_all(payload)
        except OSError as exc:
            self._salvage()
            raise WavWriteError(self._failure_text(exc)) from None
        self.frames_written += len(payload) // self.block_align

    def _failure_text(self, exc: OSError) -> str:
        seconds = self.frames_written / self.samplerate
        what = "disk full or file too large" if exc.errno in (27, 28, 122) else (exc.strerror or str(exc))
        return f"cannot write {self.path.name}: {what}; the first {seconds:.1f} s were kept"

    def _salvage(self) -> None:
        """After a failed write: cut the file back to whole frames and fix the header (never grows it)."""
        try:
            size = os.fstat(self._fd).st_size
            frames = max(0, size - self._data_offset) // self.block_align
            os.ftruncate(self._fd, self._data_offset + frames * self.block_align)
            self.frames_written = frames
            self._patch_header()
        except OSError:
            pass

    def _patch_header(self) -> None:
        header = self._header(self.frames_written * self.block_align)
        os.pwrite(self._fd, header, 0)

    def flush(self, fsync: bool = True) -> None:
        """Make the file a valid WAV of everything written so far (header sizes), and fsync it."""
        if self._closed:
            return
        try:
            self._patch_header()
            if fsync:
                os.fsync(self._fd)
        except OSError as exc:
            raise WavWriteError(self._failure_text(exc)) from None

    def close(self) -> Path:
        """Finish the header, fsync, close and remove the sidecar marker; returns the path."""
        if self._closed:
            return self.path
        try:
            self.flush(fsync=True)
        finally:
            os.close(self._fd)
            self._closed = True
            self._remove_marker()
        return self.path

    @property
    def duration_s(self) -> float:
        """Seconds written so far."""
        return self.frames_written / self.samplerate

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ----------------------------------------------------------------------------------------------- repair


@dataclass(frozen=True)
class RepairResult:
    """What :func:`repair_wav` found and did."""

    path: Path
    frames: int
    samplerate: int
    channels: int
    changed: bool
    dropped_bytes: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate if self.samplerate else 0.0


def _parse(fh: BinaryIO, size: int) -> tuple[dict[str, tuple[int, int]], int, int, int]:
    """(chunk table {id: (payload offset, declared size)}, samplerate, channels, block_align).

    The walk stops at ``data``, which is assumed to be the last chunk.
    """
    head = fh.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioError("not a WAV file (no RIFF/WAVE header)")
    chunks: dict[str, tuple[int, int]] = {}
    pos = 12
    while pos + 8 <= size:
        fh.seek(pos)
        cid, csize = struct.unpack("<4sI", fh.read(8))
        name = cid.decode("latin-1")
        chunks[name] = (pos + 8, csize)
        if name == "data":
            break
        pos += 8 + csize + (csize & 1)
    if "fmt " not in chunks or "data" not in chunks:
        raise AudioError("the WAV header is incomplete (no fmt or data chunk)")
    fh.seek(chunks["fmt "][0])
    fmt = fh.read(16)
    if len(fmt) < 16:
        raise AudioError("the WAV format chunk is truncated")
    _tag, channels, samplerate, _rate, block_align, _bits = struct.unpack("<HHIIHH", fmt)
    if channels == 0 or block_align == 0 or samplerate == 0:
        raise AudioError("the WAV format chunk is invalid")
    return chunks, samplerate, channels, block_align


def repair_wav(path: str | os.PathLike[str]) -> RepairResult:
    """Fix the RIFF/data (and fact) sizes of an interrupted WAV from the real file length.

    The data chunk must be the last chunk (true for files from :class:`WavWriter` and most recorders).
    A trailing partial frame is cut off. The sidecar marker is removed. Raises AudioError if the file has no
    usable header.
    """
    path = Path(path)
    try:
        with open(path, "r+b") as fh:
            size = os.fstat(fh.fileno()).st_size
            chunks, samplerate, channels, block_align = _parse(fh, size)
            data_offset, declared = chunks["data"]
            available = max(0, size - data_offset)
            frames = min(available, _MAX_DATA) // block_align
            data_bytes = frames * block_align
            dropped = available - data_bytes
            riff = data_offset - 8 + data_bytes
            fh.seek(4)
            changed = struct.unpack("<I", fh.read(4))[0] != riff or declared != data_bytes or dropped > 0
            if changed:
                if dropped:
                    fh.truncate(data_offset + data_bytes)
                fh.seek(4)
                fh.write(struct.pack("<I", riff))
                fh.seek(data_offset - 4)
                fh.write(struct.pack("<I", data_bytes))
                if "fact" in chunks and chunks["fact"][1] >= 4:
                    fh.seek(chunks["fact"][0])
                    fh.write(struct.pack("<I", frames))
                fh.flush()
                os.fsync(fh.fileno())
    except OSError as exc:
        raise AudioError(f"cannot repair {path.name}: {exc.strerror or exc}") from None
    with contextlib.suppress(FileNotFoundError):
        marker_path(path).unlink()
    return RepairResult(path, frames, samplerate, channels, changed, dropped)


def _owner_alive(marker: Path) -> bool:
    """True if the process that wrote ``marker`` is still running (then the recording is in progress)."""
    try:
        info = json.loads(marker.read_text())
        pid, started = int(info["pid"]), float(info["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if pid == os.getpid():
        return True
    try:
        import psutil

        proc = psutil.Process(pid)
        alive = proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
        return alive and proc.create_time() <= started + 1
    except Exception:  # noqa: BLE001 - no such process, access denied, psutil missing
        return False


def find_unfinished_recordings(directory: str | os.PathLike[str]) -> list[Path]:
    """WAV files in ``directory`` left unfinished by a writer that is no longer running, oldest first.

    A file counts as unfinished when its ``.recording`` sidecar exists and the process that wrote it is gone.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return []
    found = []
    for marker in folder.glob("*" + MARKER_SUFFIX):
        wav = marker.with_name(marker.name[: -len(MARKER_SUFFIX)])
        if not wav.exists():
            with contextlib.suppress(OSError):
                marker.unlink()
            continue
        if not _owner_alive(marker):
            found.append(wav)
    return sorted(found, key=lambda p: p.stat().st_mtime)
