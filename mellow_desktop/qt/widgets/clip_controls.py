"""The parts of a clip panel around its plots: the head row (title, file name, Open/Record/Play/Stop/Clear),
the error banner, and the text rows under the plots.

:meth:`ClipControls.refresh` enables and labels the buttons for the panel's state; the panel connects the
buttons' ``clicked`` signals to its own actions. In a narrow panel the buttons show only their icons (each
has a tooltip) and the file name is elided in the middle (:class:`ElidedLabel`; the full path is its tooltip).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mellow.timefmt import format_seconds
from mellow_desktop.core.session import ClipState, describe_file
from mellow_desktop.qt.actions import tip
from mellow_desktop.qt.icons import transport_icon
from mellow_desktop.qt.widgets.level_meter import LevelMeter

NO_CLIP_TEXT = "no clip — open a file, drop one here or record"
ERROR_STYLE = (
    "background: #f8d7da; color: #58151c; border: 1px solid #f1aeb5; border-radius: 4px; padding: 4px 8px;"
)


class ElidedLabel(QLabel):
    """A one-line label that elides its text in the middle to fit; :meth:`text` is the whole text."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - QLabel's name
        self._full = text
        self._elide()

    def text(self) -> str:
        return self._full

    def shown_text(self) -> str:
        """What is drawn now (elided when it does not fit)."""
        return super().text()

    def _elide(self) -> None:
        width = max(0, self.contentsRect().width())
        super().setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width))

    def resizeEvent(self, ev: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(ev)
        self._elide()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + 4, super().sizeHint().height())


class ClipControls(QWidget):
    """Title, file name and transport buttons of clip slot ``slot``."""

    def __init__(self, slot: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slot = slot
        st = self.style()
        title = QLabel(f"Clip {slot}", self)
        title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.name_label = ElidedLabel(NO_CLIP_TEXT, self)
        self.open_button = self._button(
            "Open…", st.standardIcon(QStyle.StandardPixmap.SP_DialogOpenButton),
            tip("open_focused", f"Open an audio file as Clip {slot}"),
        )
        self.record_button = self._button(
            "Record", transport_icon("record", self.palette()), self._record_tip()
        )
        self.play_button = self._button(
            "Play", transport_icon("play", self.palette()), tip("play", "Play or pause this clip")
        )
        self.stop_button = self._button(
            "Stop", transport_icon("stop", self.palette()), "Stop playback or recording"
        )
        self.clear_button = self._button(
            "Clear", st.standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton), f"Remove Clip {slot}"
        )
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addWidget(title)
        lay.addWidget(self.name_label, 1)
        for b in (self.open_button, self.record_button, self.play_button, self.stop_button):
            lay.addWidget(b)
        lay.addWidget(self.clear_button)
        self._title = title
        self._measure_buttons()

    def buttons(self) -> tuple[QToolButton, ...]:
        return (self.open_button, self.record_button, self.play_button, self.stop_button, self.clear_button)

    def _measure_buttons(self) -> None:
        """Widths of the row with text beside the icons and with icons only (the narrowest it can be)."""
        widths = {}
        for style in (Qt.ToolButtonStyle.ToolButtonIconOnly, Qt.ToolButtonStyle.ToolButtonTextBesideIcon):
            for b in self.buttons():
                b.setToolButtonStyle(style)
            widths[style] = sum(b.sizeHint().width() for b in self.buttons())
        fixed = self._title.sizeHint().width() + 6 * self.layout().spacing()
        name = self.fontMetrics().horizontalAdvance("x" * 6)  # room for an elided name
        longest = 12  # "Stop rec." is longer than "Record"
        self._with_text = fixed + name + widths[Qt.ToolButtonStyle.ToolButtonTextBesideIcon] + longest
        self.setMinimumWidth(fixed + self.fontMetrics().horizontalAdvance("x" * 4)
                             + widths[Qt.ToolButtonStyle.ToolButtonIconOnly])

    def compact(self) -> bool:
        """True when the buttons show only their icons (the row is too narrow for their text)."""
        return self.open_button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly

    def resizeEvent(self, ev: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(ev)
        style = (Qt.ToolButtonStyle.ToolButtonIconOnly if self.width() < self._with_text
                 else Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for b in self.buttons():
            b.setToolButtonStyle(style)

    def _button(self, text: str, icon: QIcon, tip: str) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setIcon(icon)
        b.setToolTip(tip)
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        b.setAutoRaise(True)
        return b

    def _record_tip(self, reason: str | None = None) -> str:
        if reason:
            return f"Recording is unavailable: {reason}"
        return tip("record", f"Record Clip {self.slot} from the input device chosen in Settings")

    def refresh(
        self, has_clip: bool, recording: bool, playing: bool, has_player: bool, record_reason: str | None
    ) -> None:
        """Enable and label the buttons for the panel's state."""
        self.open_button.setEnabled(not recording)
        self.record_button.setEnabled(record_reason is None or recording)
        self.record_button.setText("Stop rec." if recording else "Record")
        self.record_button.setToolTip(self._record_tip(record_reason))
        self.play_button.setEnabled(has_clip and not recording)
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(transport_icon("pause" if playing else "play", self.palette()))
        self.stop_button.setEnabled(recording or has_player)
        self.clear_button.setEnabled(has_clip and not recording)

    def refresh_icons(self) -> None:
        """Redraw the icons after a palette change (dark/light)."""
        self.record_button.setIcon(transport_icon("record", self.palette()))
        self.stop_button.setIcon(transport_icon("stop", self.palette()))


class ErrorBanner(QFrame):
    """The (hidden) red banner in which a panel shows why a file could not be used, with a close button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBanner")
        self.setStyleSheet(f"#errorBanner {{ {ERROR_STYLE} }} QLabel {{ color: #58151c; }}")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss this message")
        self.close_button.setAccessibleName("Dismiss")
        self.close_button.clicked.connect(lambda: self.setVisible(False))
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setVisible(False)

    def setText(self, text: str) -> None:  # noqa: N802 - reads like QLabel's
        self.label.setText(text)

    def text(self) -> str:
        return self.label.text()


def error_banner(parent: QWidget) -> ErrorBanner:
    """The panel's (hidden) error banner."""
    return ErrorBanner(parent)


class ClipInfoRows(QWidget):
    """The text rows under a clip's plots: what the model hears; the file's facts,
    and while recording the level meter and the elapsed time."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.window_label = QLabel("", self)
        self.window_label.setToolTip("The 10 s the model hears: mono, resampled to 32 kHz")
        self.window_label.setWordWrap(True)  # long notes wrap instead of widening the panel
        self.facts_label = QLabel("", self)
        self.facts_label.setWordWrap(True)
        self.facts_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.meter = LevelMeter(self)
        self.meter.setVisible(False)
        self.elapsed_label = QLabel("", self)
        self.record_note = QLabel("", self)
        self.record_note.setWordWrap(True)
        self.record_note.setEnabled(False)  # drawn muted: a fact about the machine, not an error
        self.record_note.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        for first, *rest in ((self.window_label,), (self.facts_label, self.meter, self.elapsed_label)):
            row = QHBoxLayout()
            row.addWidget(first, 1)
            for w in rest:
                row.addWidget(w)
            lay.addLayout(row)
        lay.addWidget(self.record_note)

    def show_record_note(self, reason: str | None) -> None:
        """Say once, under the clip, why Record is disabled (None hides the note)."""
        self.record_note.setText(f"Recording is unavailable: {reason}" if reason else "")
        self.record_note.setVisible(bool(reason))

    def show_clip(self, state: ClipState | None) -> None:
        self.facts_label.setText(describe_file(state.info) if state else "")
        self.window_label.setText(state.heard_text() if state else "")

    def show_recording(self, recording: bool) -> None:
        self.meter.setVisible(recording)
        if not recording:
            self.elapsed_label.setText("")

    def show_level(self, db: float, elapsed_s: float) -> None:
        self.meter.set_level_db(db)
        self.elapsed_label.setText(f"● {format_seconds(elapsed_s)}")
