"""Audacity label tracks: ``start<TAB>end<TAB>label`` per line, seconds, no header (File > Import > Labels).

Labels are escaped with :mod:`~mellow.scan.writers.tabtext`, so a tab or newline in an answer or a file name
never adds a column or a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mellow.scan.writers.tabtext import decode_lines, encode_lines, escape, seconds, unescape


@dataclass(frozen=True)
class Label:
    start_s: float
    end_s: float
    text: str


def encode(labels: list[Label]) -> bytes:
    return encode_lines([[seconds(x.start_s), seconds(x.end_s), escape(x.text)] for x in labels])


def parse(data: bytes, name: str = "the file") -> list[Label]:
    """Labels of a label track; raises ValueError on a line that is not ``start, end, label``."""
    labels = []
    for number, cells in enumerate(decode_lines(data), start=1):
        if len(cells) != 3:
            raise ValueError(f"{name}, line {number}: {len(cells)} columns instead of 3")
        labels.append(Label(float(cells[0]), float(cells[1]), unescape(cells[2])))
    return labels


def read(path: str | Path) -> list[Label]:
    return parse(Path(path).read_bytes(), str(path))
