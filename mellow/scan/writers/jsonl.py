"""JSON lines: one object per window (the fields of :class:`ScanRow`), UTF-8, "\\n" after every row.

Newlines and tabs in names and answers are JSON escapes, so a row is always one line; a file name that is not
valid UTF-8 keeps its undecodable bytes as ``\\udcXX`` escapes, which read back to the same path.
"""

from __future__ import annotations

import json
from pathlib import Path

from mellow.errors import MellowError
from mellow.scan.keys import is_key
from mellow.scan.writers.records import ScanRow


class TableError(MellowError, ValueError):
    """An existing output holds something that is not a scan row (say where, so nothing is overwritten)."""


#: How every row begins (``file`` is the first field).
ROW_START = b'{"file": '


def encode_row(row: ScanRow) -> bytes:
    """One JSON line of ``row`` (with its newline)."""
    return (json.dumps(row.to_dict(), ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")


def header() -> bytes:
    """JSON lines have no header."""
    return b""


def parse(data: bytes, name: str = "the file") -> tuple[list[ScanRow], bool]:
    """Rows of a JSON-lines file and whether it was whole.

    Only the end may be damaged (a crash mid-write): text after the last newline that begins like a row is
    dropped and ``whole`` is False.  Any other line that is not a scan row raises :class:`TableError`.
    """
    lines = data.split(b"\n")
    tail = lines.pop()  # after the last newline: empty, or a row cut short
    if tail and not ROW_START.startswith(tail[: len(ROW_START)]):
        lines.append(tail)  # not the start of a row of ours: judged (and refused) like any other line
    rows: list[ScanRow] = []
    for number, line in enumerate(lines, start=1):
        row = _row(line)
        if row is None:
            raise TableError(f"{name}, line {number}, is not a row of a scan (choose another output file)")
        rows.append(row)
    return rows, not tail


def _row(line: bytes) -> ScanRow | None:
    try:
        rec = json.loads(line.decode("utf-8"))
        row = ScanRow.from_dict(rec)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return row if is_key(row.key) else None


def read(path: str | Path) -> list[ScanRow]:
    """Every complete row of a JSON-lines output."""
    return parse(Path(path).read_bytes(), str(path))[0]
