"""A table of both clips' facts and measurements side by side, with the A−B difference of each."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from mellow.timefmt import format_seconds
from mellow_desktop.core.measurements import Measurements, difference, format_db, format_hz
from mellow_desktop.core.session import ClipState

ROWS = ("Duration", "Sample rate", "Channels", "Peak", "RMS", "Spectral centroid", "Dominant frequency")
LABELS = ("Duration", "Rate", "Channels", "Peak", "RMS", "Centroid", "Dominant")
PENDING = "…"


def _values(state: ClipState | None) -> list[str]:
    """Display texts for one clip ("" when there is none, "…" while measuring)."""
    if state is None:
        return [""] * len(ROWS)
    info = state.info
    head = [
        format_seconds(info.duration),
        f"{info.sample_rate:,} Hz".replace(",", "\u2009"),
        str(info.channels),
    ]
    m = state.facts.measurements if state.facts else None
    if m is None:
        return head + [PENDING] * 4
    return head + [
        format_db(m.peak_dbfs),
        format_db(m.rms_dbfs),
        format_hz(m.centroid_hz),
        format_hz(m.dominant_hz),
    ]


def _differences(a: ClipState | None, b: ClipState | None) -> list[str]:
    if a is None or b is None:
        return [""] * len(ROWS)
    ma: Measurements | None = a.facts.measurements if a.facts else None
    mb: Measurements | None = b.facts.measurements if b.facts else None
    rate = a.info.sample_rate - b.info.sample_rate
    dur = dict(difference(ma, mb).rows()) if ma and mb else {}
    out = [
        f"{a.info.duration - b.info.duration:+.2f} s",
        f"{rate:+,} Hz".replace(",", "\u2009") if rate else "same",
        f"{a.info.channels - b.info.channels:+d}" if a.info.channels != b.info.channels else "same",
    ]
    for key in ("Peak", "RMS", "Spectral centroid", "Dominant frequency"):
        out.append(dur.get(key, PENDING))
    return out


class ComparisonTable(QTableWidget):
    """Rows: facts and measurements; columns: Clip A, Clip B, A − B."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(len(ROWS), 4, parent)
        self.setHorizontalHeaderLabels(["", "Clip A", "Clip B", "A − B"])
        self.verticalHeader().setVisible(False)
        self.setWordWrap(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        for row, (label, full) in enumerate(zip(LABELS, ROWS, strict=True)):
            item = QTableWidgetItem(label)
            item.setToolTip(full)
            self.setItem(row, 0, item)
        self.setToolTip(
            "Levels use every sample; centroid and dominant frequency describe the mono mix.\n"
            "Measured over the whole file."
        )
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.update_states(None, None)
        rows = self.verticalHeader().defaultSectionSize() * len(ROWS)
        self.setFixedHeight(self.horizontalHeader().sizeHint().height() + rows + 2 * self.frameWidth() + 2)

    def update_states(self, a: ClipState | None, b: ClipState | None) -> None:
        """Refill every cell from the two clip states."""
        for col, texts in enumerate((_values(a), _values(b), _differences(a, b)), start=1):
            for row, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.setItem(row, col, item)

    def cell_text(self, row_name: str, column: int) -> str:
        """Text of a cell (for tests); column 0 = Clip A, 1 = Clip B, 2 = A − B."""
        item = self.item(ROWS.index(row_name), column + 1)
        return item.text() if item else ""
