"""The head row of a clip panel: its title, the file name and the Open/Record/Play/Stop/Clear buttons.

:meth:`ClipControls.refresh` enables and labels the buttons for the panel's state; the panel connects the
buttons' ``clicked`` signals to its own actions.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QStyle, QToolButton, QWidget

from mellow_desktop.qt.actions import tip
from mellow_desktop.qt.icons import transport_icon

NO_CLIP_TEXT = "no clip — open a file, drop one here or record"


class ClipControls(QWidget):
    """Title, file name and transport buttons of clip slot ``slot``."""

    def __init__(self, slot: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slot = slot
        st = self.style()
        title = QLabel(f"Clip {slot}", self)
        title.setStyleSheet("font-weight: 600; font-size: 11pt;")
        self.name_label = QLabel(NO_CLIP_TEXT, self)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.name_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
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
