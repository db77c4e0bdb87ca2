"""CSV: a header row of :data:`ScanRow.FIELDS`, then one row per window (RFC 4180 quoting, CRLF ends).

Empty cells are None (``score``, ``choices``, ``slot2_file``, ``slot2_start_s`` when not set); ``choices``
is a JSON object, ``tokens`` space-separated ids.  Quoting keeps commas, quotes, tabs and newlines of names
and answers inside their cell.  The ``key`` column comes last, so a row cut short by a crash is recognised.
A file written before a column of :data:`ScanRow.OPTIONAL` existed (its header lacks it) is read too.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from mellow.scan.keys import is_key
from mellow.scan.writers.jsonl import TableError
from mellow.scan.writers.records import ScanRow

FIELDS = ScanRow.FIELDS


def _encode(fields: list[str]) -> bytes:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerow(fields)
    return buf.getvalue().encode("utf-8", "surrogateescape")


def header() -> bytes:
    return _encode(list(FIELDS))


def _cell(name: str, value: Any) -> str:
    if value is None:
        return ""
    if name == "choices":
        return json.dumps(value, ensure_ascii=False)
    if name == "tokens":
        return " ".join(str(int(t)) for t in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def encode_row(row: ScanRow) -> bytes:
    rec = row.to_dict()
    return _encode([_cell(name, rec[name]) for name in FIELDS])


def _value(name: str, cell: str) -> Any:
    if name in ("score", "choices", "slot2_file", "slot2_start_s") and cell == "":
        return None
    if name == "choices":
        return json.loads(cell)
    if name == "tokens":
        return [int(t) for t in cell.split()]
    return cell


def _row(cells: list[str], columns: tuple[str, ...]) -> ScanRow | None:
    if len(cells) != len(columns) or not is_key(cells[-1]):
        return None
    try:
        return ScanRow.from_dict({n: _value(n, cell) for n, cell in zip(columns, cells, strict=True)})
    except (ValueError, KeyError, TypeError):
        return None


def _layout(header: list[str]) -> tuple[str, ...] | None:
    """The columns of a header this reader knows: :data:`FIELDS`, perhaps without optional columns."""
    columns = tuple(header)
    known = tuple(f for f in FIELDS if f in columns)
    missing = set(FIELDS) - set(columns)
    return columns if columns == known and missing <= set(ScanRow.OPTIONAL) else None


def parse(data: bytes, name: str = "the file") -> tuple[list[ScanRow], bool]:
    """Rows of a CSV output and whether it was whole; only the last row may be damaged (then dropped)."""
    text = data.decode("utf-8", "surrogateescape")
    if not text:
        return [], True
    records: list[list[str]] = []
    torn = not text.endswith("\n")
    try:
        records.extend(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error:
        torn = True  # a quoted cell cut short at the end of the file
    columns = _layout(records[0]) if records else None
    if columns is None:
        if torn and len(records) <= 1 and header().decode().startswith(text):
            return [], False  # the crash cut the header itself
        raise TableError(f"{name} is not a scan table (its header is not {','.join(FIELDS)}); "
                         "choose another output file")
    rows: list[ScanRow] = []
    body = records[1:]
    for number, cells in enumerate(body, start=2):
        row = _row(cells, columns)
        last = number == len(body) + 1
        if last and (torn or row is None):
            return rows, False
        if row is None:
            raise TableError(f"{name}, row {number}, is not a row of a scan (choose another output file)")
        rows.append(row)
    return rows, not torn


def read(path: str | Path) -> list[ScanRow]:
    """Every complete row of a CSV output."""
    return parse(Path(path).read_bytes(), str(path))[0]
