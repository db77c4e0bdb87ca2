"""Digests of files, read in chunks and memoised on the file's state: the one place a file's bytes are hashed.

A file's *state* is (resolved path, size, mtime_ns) (:func:`file_state`). :data:`FILE_MEMO` remembers what was
computed from a file in a given state, so an unchanged file is read once per process, and a changed one (new
size or modification time) is read again. Two callers that ask for the same file at the same time share one
read: the second waits for the first. The bytes are read :data:`CHUNK_BYTES` at a time, so a multi-gigabyte
recording costs no more memory than a short clip.

Two digests are in use; scan outputs, resume keys, model ids and the history database store them, so their
values never change:

* :data:`CONTENT_HASH` ("blake2b-160"): BLAKE2b with a 20-byte digest, hex; the identity of an audio file's
  content (:func:`mellow.audio.clip_content_hash`, resume keys, history "reload clips by content", the
  desktop's overview cache);
* :data:`SHA256`: of a checkpoint file (the model id) and of a downloaded file (checked against the Hub).

The memo also keeps other facts computed from a file's bytes under names of their own (e.g. a clip's
resampled length in :class:`mellow.generation.clips.ClipFiles`), so one ``stat`` answers them all.

``notes`` (a folder) makes a digest outlive the process: one small text file per file state holds it, so a
file seen in an earlier session is known without reading it again. Notes are a cache: a missing, damaged or
unwritable note only means the file is read.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from mellow.errors import MellowError
from mellow.files import write_atomic

CONTENT_HASH = "blake2b-160"
SHA256 = "sha256"
_ALGORITHMS: dict[str, Callable[[], Any]] = {
    CONTENT_HASH: lambda: hashlib.blake2b(digest_size=20),
    SHA256: hashlib.sha256,
}
#: Bytes read at a time while hashing.
CHUNK_BYTES = 1 << 20
#: Facts the process-wide memo keeps (the least recently used go first).
MEMO_ENTRIES = 4096

FileState = tuple[str, int, int]
PathLike = str | os.PathLike[str]


def file_state(path: Path, fh: BinaryIO | None = None) -> FileState:
    """(resolved path, size, mtime_ns) of ``path`` (of the open ``fh`` when given); raises OSError."""
    st = os.fstat(fh.fileno()) if fh is not None else path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def _cannot_read(label: object, exc: OSError) -> str:
    reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror or str(exc)
    return f"cannot read {label}: {reason}"


def _stream_digest(fh: BinaryIO, algorithm: str) -> tuple[str, int]:
    """(hex digest, bytes read) of what is left of ``fh``: the one chunked loop; raises OSError."""
    h, n = _ALGORITHMS[algorithm](), 0
    while chunk := fh.read(CHUNK_BYTES):
        h.update(chunk)
        n += len(chunk)
    return h.hexdigest(), n


def read_digest(path: PathLike, algorithm: str = CONTENT_HASH, *, label: str | None = None,
                error: type[MellowError] = MellowError) -> str:
    """The digest of ``path`` read now, bypassing the memo (e.g. to check a file just downloaded).

    A read failure raises ``error`` with "cannot read <label, else the path>: <reason>".
    """
    try:
        with open(path, "rb") as fh:
            return _stream_digest(fh, algorithm)[0]
    except OSError as exc:
        raise error(_cannot_read(label or path, exc)) from None


def _note_path(notes: Path, state: FileState, algorithm: str) -> Path:
    # The content hash's notes keep the name the desktop's overview cache gave them before this module.
    prefix = "" if algorithm == CONTENT_HASH else f"{algorithm}\0"
    key = f"{prefix}{state[0]}\0{state[1]}\0{state[2]}".encode("utf-8", "surrogateescape")
    return notes / (hashlib.sha1(key).hexdigest() + ".txt")


def _read_note(notes: Path, state: FileState, algorithm: str) -> str | None:
    try:
        text = _note_path(notes, state, algorithm).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    size = _ALGORITHMS[algorithm]().digest_size
    return text if re.fullmatch(f"[0-9a-f]{{{2 * size}}}", text) else None


def _write_note(notes: Path, state: FileState, algorithm: str, digest: str) -> None:
    note = _note_path(notes, state, algorithm)
    if not note.exists():
        with contextlib.suppress(OSError):
            write_atomic(note, digest.encode("ascii"), make_parents=True)


@dataclass
class MemoStats:
    """What a :class:`FileMemo` did: files hashed (``reads``, ``bytes_read``), digests found without reading
    (``hits``: in memory or in a note), callers that waited for another's read of that file (``waits``)."""

    reads: int = 0
    bytes_read: int = 0
    hits: int = 0
    waits: int = 0


class FileMemo:
    """Facts about files (digests first), keyed on (file state, fact name); thread-safe and bounded."""

    def __init__(self, capacity: int = MEMO_ENTRIES) -> None:
        self.capacity = capacity
        self.stats = MemoStats()
        self._facts: OrderedDict[tuple[FileState, Hashable], object] = OrderedDict()
        self._reading: dict[tuple[FileState, Hashable], threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, state: FileState, fact: Hashable) -> object | None:
        """The fact ``fact`` of the file in ``state``, or None when not known."""
        with self._lock:
            return self._get((state, fact))

    def put(self, state: FileState, fact: Hashable, value: object) -> None:
        """Remember ``value`` as the fact ``fact`` of the file in ``state``."""
        with self._lock:
            self._put((state, fact), value)

    def _get(self, key: tuple[FileState, Hashable]) -> object | None:
        value = self._facts.get(key)
        if value is not None:
            self._facts.move_to_end(key)
        return value

    def _put(self, key: tuple[FileState, Hashable], value: object) -> None:
        self._facts[key] = value
        self._facts.move_to_end(key)
        while len(self._facts) > self.capacity:
            self._facts.popitem(last=False)

    def known(self, path: PathLike, algorithm: str = CONTENT_HASH, notes: Path | None = None) -> str | None:
        """The digest of ``path`` when known (memo, else ``notes``) without reading the file, else None."""
        try:
            state = file_state(Path(path))
        except OSError:
            return None
        digest = self.get(state, algorithm)
        if digest is None and notes is not None:
            digest = _read_note(notes, state, algorithm)
            if digest is not None:
                self.put(state, algorithm, digest)
        return None if digest is None else str(digest)

    def digest(self, path: PathLike, algorithm: str = CONTENT_HASH, *, fh: BinaryIO | None = None,
               label: str | None = None, error: type[MellowError] = MellowError,
               notes: Path | None = None) -> str:
        """The hex digest of the file at ``path``: from the memo (or ``notes``) when its state is known, else
        read (from the open ``fh``, at its start, when given) and remembered.

        A failure raises ``error`` with "cannot read <label, else the path>: <reason>" (one line).
        """
        if algorithm not in _ALGORITHMS:
            raise ValueError(f"unknown digest {algorithm!r}; known: {', '.join(_ALGORITHMS)}")
        p = Path(path)
        try:
            state = file_state(p, fh)
        except OSError as exc:
            raise error(_cannot_read(label or p, exc)) from None
        digest = self._shared_digest(state, algorithm, lambda: self._find(p, state, algorithm, fh, notes),
                                     lambda exc: error(_cannot_read(label or p, exc)))
        if notes is not None:
            _write_note(notes, state, algorithm, digest)
        return digest

    def _shared_digest(self, state: FileState, algorithm: str, find: Callable[[], str],
                       fail: Callable[[OSError], MellowError]) -> str:
        """The memo's digest for (state, algorithm), else ``find()``'s; one caller finds, the others wait."""
        key = (state, algorithm)
        while True:
            with self._lock:
                known = self._get(key)
                if known is not None:
                    self.stats.hits += 1
                    return str(known)
                busy = self._reading.get(key)
                if busy is None:
                    self._reading[key] = threading.Event()
                else:
                    self.stats.waits += 1
            if busy is None:
                break
            busy.wait()  # then look again: the reader remembered it, or failed and this caller tries
        try:
            digest = find()
        except OSError as exc:
            raise fail(exc) from None
        finally:
            with self._lock:
                self._reading.pop(key).set()
        return digest

    def _find(self, p: Path, state: FileState, algorithm: str, fh: BinaryIO | None,
              notes: Path | None) -> str:
        """A note's digest, else the file's bytes hashed now; remembered in the memo (raises OSError)."""
        digest = None if notes is None else _read_note(notes, state, algorithm)
        n = -1
        if digest is None and fh is not None:
            digest, n = _stream_digest(fh, algorithm)
        elif digest is None:
            with p.open("rb") as own:
                digest, n = _stream_digest(own, algorithm)
        with self._lock:
            if n < 0:
                self.stats.hits += 1
            else:
                self.stats.reads += 1
                self.stats.bytes_read += n
            self._put((state, algorithm), digest)
        return digest


#: The process-wide memo every user shares.
FILE_MEMO = FileMemo()


def file_digest(path: PathLike, algorithm: str = CONTENT_HASH, *, fh: BinaryIO | None = None,
                label: str | None = None, error: type[MellowError] = MellowError,
                notes: Path | None = None) -> str:
    """:meth:`FileMemo.digest` on :data:`FILE_MEMO`."""
    return FILE_MEMO.digest(path, algorithm, fh=fh, label=label, error=error, notes=notes)


def known_digest(path: PathLike, algorithm: str = CONTENT_HASH, notes: Path | None = None) -> str | None:
    """:meth:`FileMemo.known` on :data:`FILE_MEMO`: the digest if known without reading the file."""
    return FILE_MEMO.known(path, algorithm, notes)
