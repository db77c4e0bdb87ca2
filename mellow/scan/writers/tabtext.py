"""Escaping for the tab-separated text formats (Audacity labels, Raven tables), which have no quoting.

A backslash, tab, carriage return or newline inside a cell is written as ``\\\\``, ``\\t``, ``\\r``, ``\\n``,
so a cell never splits a row or a column; :func:`unescape` reverses it exactly.
"""

from __future__ import annotations

import re

_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\n": "\\n"}
_UNESCAPES = {v: k for k, v in _ESCAPES.items()}
_ESCAPE_RE = re.compile(r"[\\\t\r\n]")
_UNESCAPE_RE = re.compile(r"\\[\\trn]")


def escape(text: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES[m.group(0)], text)


def unescape(text: str) -> str:
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPES[m.group(0)], text)


def encode_lines(rows: list[list[str]]) -> bytes:
    """Tab-separated lines, "\\n"-terminated, UTF-8 (undecodable file-name bytes kept as they were)."""
    return "".join("\t".join(row) + "\n" for row in rows).encode("utf-8", "surrogateescape")


def decode_lines(data: bytes) -> list[list[str]]:
    """The cells of each line (not unescaped); lines are split at "\\n" only."""
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line.removesuffix("\r").split("\t") for line in lines]


def seconds(value: float) -> str:
    """Seconds with six decimals, as Audacity writes its labels."""
    return f"{value:.6f}"
