"""Resumable outputs: the rows already in a ``.jsonl``/``.csv`` file, then new rows appended as they come.

Each row is appended with one unbuffered write and the file is fsynced after every batch, so a process
killed at any moment leaves complete rows and at most one row cut short at the end.  Opening the file again
drops that row (the file is rewritten through a temporary file and a rename) and reports the keys of the
rows kept, so a rerun asks only the questions not yet answered, each exactly once.  A file written before a
column existed (a CSV header without ``question``) is rewritten the same way with today's header, its rows
unchanged, before new rows are appended.

Label tracks and Raven tables cannot grow row by row (neighbouring windows merge into one detection), so
their scans keep such a file as a journal next to them (:func:`journal_path`) and write the table whole, by
rename, at the end (or when stopped with Ctrl-C).
"""

from __future__ import annotations

import os
from pathlib import Path

from mellow.scan.writers import table_module, write_atomic
from mellow.scan.writers.records import ScanRow

#: Added to a label/Raven output's name to name its journal.
JOURNAL_SUFFIX = ".scan.jsonl"


def journal_path(out: str | os.PathLike) -> Path:
    """The JSON-lines journal kept next to a label track or Raven table."""
    p = Path(out)
    return p.with_name(p.name + JOURNAL_SUFFIX)


class ResultLog:
    """An appendable output (``fmt`` "jsonl" or "csv") opened for resuming.

    ``rows`` are the complete rows found (duplicates of a key dropped); :meth:`append` adds one row,
    :meth:`sync` makes the appended rows durable.  Raises OSError when the file cannot be read or written
    and :class:`~mellow.scan.writers.jsonl.TableError` when it holds something else than scan rows.
    """

    def __init__(self, path: str | os.PathLike, fmt: str) -> None:
        self.path = Path(path)
        self._format = table_module(fmt)
        self.rows: list[ScanRow] = []
        self.repaired = False
        self._fd: int | None = None
        self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        if os.fstat(self._fd).st_size == 0:
            self._write(self._format.header())

    @property
    def keys(self) -> set[str]:
        return {r.key for r in self.rows}

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        rows, whole = self._format.parse(data, str(self.path))
        seen: set[str] = set()
        for row in rows:
            if row.key not in seen:
                seen.add(row.key)
                self.rows.append(row)
        outdated = bool(data) and not data.startswith(self._format.header())
        if not whole or len(self.rows) != len(rows) or outdated:
            body = b"".join(self._format.encode_row(r) for r in self.rows)
            write_atomic(self.path, self._format.header() + body)
            self.repaired = True

    def _write(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def append(self, row: ScanRow) -> None:
        """Append one row (one write call; durable after :meth:`sync`)."""
        self._write(self._format.encode_row(row))
        self.rows.append(row)

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> ResultLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
