"""The prompt entry: multi-line text, presets menu, live token count against the 129-token limit, Send/Stop.

The window's "send" action (Ctrl+Enter, see :mod:`mellow_desktop.qt.actions`) sends. The token count uses
the real tokenizer once it is loaded (set with :meth:`PromptBox.set_tokenizer`) and is refreshed shortly
after typing stops. With two clips loaded, the "About" row says which clip a question that does not compare
the two (a caption, a yes/no or multiple-choice question) is about, and lets the user pick A or B.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mellow_desktop.core.presets import Preset, load_presets, needs_two_clips
from mellow_desktop.qt.actions import key_text, tip
from mellow_desktop.qt.icons import transport_icon

PROMPT_LIMIT = 129


class BlanksDialog(QDialog):
    """Asks for the words that fill a preset's blanks, pre-filled with its examples."""

    def __init__(self, preset: Preset, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{preset.name} — fill in the blanks")
        self.preset = preset
        self.edits: dict[str, QLineEdit] = {}
        form = QFormLayout()
        for blank in preset.blanks:
            edit = QLineEdit(preset.examples.get(blank, ""), self)
            edit.setMinimumWidth(360)
            form.addRow(blank.capitalize() + ":", edit)
            self.edits[blank] = edit
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        hint = QLabel(f"<i>{preset.text}</i>", self)
        hint.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addWidget(hint)
        lay.addLayout(form)
        lay.addWidget(buttons)

    def prompt(self) -> str:
        return self.preset.fill({k: e.text().strip() for k, e in self.edits.items()})


class PromptBox(QWidget):
    """Prompt entry with presets, token counter and Send/Stop buttons."""

    send_requested = Signal(str)
    stop_requested = Signal()
    scan_requested = Signal()  # the "Scan…" button: ask this prompt of every window of the highlighted clip

    def __init__(
        self, parent: QWidget | None = None, ask_blanks: Callable[[Preset], str | None] | None = None
    ) -> None:
        super().__init__(parent)
        self._count_tokens: Callable[[str], int] | None = None
        self._ask_blanks = ask_blanks or self._blanks_dialog
        self.presets = load_presets()
        self.edit = QPlainTextEdit(self)
        self.edit.setPlaceholderText(
            f"Ask about the clips… e.g. “caption the audio.”  ({key_text('send')} sends)"
        )
        self.edit.setTabChangesFocus(True)
        self.edit.setMinimumHeight(48)
        self.edit.setMaximumHeight(96)
        self.edit.textChanged.connect(lambda: self._count_timer.start())
        self.edit.textChanged.connect(lambda: self._show_about())
        self.presets_button = QToolButton(self)
        self.presets_button.setText("Presets")
        self.presets_button.setToolTip("Insert one of the prompt styles Mellow was trained on")
        self.presets_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.presets_menu = QMenu(self)
        self._fill_presets_menu()
        self.presets_button.setMenu(self.presets_menu)
        self.scan_button = QToolButton(self)
        self.scan_button.setText("Scan…")
        self.scan_button.setToolTip(tip("scan", "Ask this prompt of every window of the highlighted clip's "
                                                "whole recording"))
        self.scan_button.clicked.connect(self.scan_requested)
        self.count_label = QLabel(self)
        self.count_label.setToolTip(f"Prompts longer than {PROMPT_LIMIT} tokens are cut off by the model")
        self.send_button = QPushButton(transport_icon("send", self.palette()), "Send", self)
        self.send_button.setToolTip(tip("send"))
        self.send_button.setDefault(True)
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton(transport_icon("stop", self.palette()), "Stop", self)
        self.stop_button.setToolTip(tip("stop_answer"))
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop_requested)
        self._build_about_row()
        row = QHBoxLayout()
        row.addWidget(self.presets_button)
        row.addWidget(self.scan_button)
        row.addWidget(self.count_label, 1)
        row.addWidget(self.stop_button)
        row.addWidget(self.send_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.edit)
        lay.addWidget(self.about_row)
        lay.addLayout(row)
        self._count_timer = QTimer(self)
        self._count_timer.setSingleShot(True)
        self._count_timer.setInterval(120)
        self._count_timer.timeout.connect(self.update_count)
        self.update_count()

    def hideEvent(self, ev: QHideEvent) -> None:  # noqa: N802 (Qt override)
        self._count_timer.stop()
        super().hideEvent(ev)

    # ------------------------------------------------------------------------------------------- about
    def _build_about_row(self) -> None:
        self._clip_names: tuple[str, str] | None = None
        self.about_row = QWidget(self)
        self.about_label = QLabel(self.about_row)
        self.about_label.setTextFormat(Qt.TextFormat.PlainText)  # file names are never markup
        self.about_buttons = {slot: QToolButton(self.about_row) for slot in ("A", "B")}
        group = QButtonGroup(self.about_row)
        row = QHBoxLayout(self.about_row)
        row.setContentsMargins(0, 0, 0, 0)
        for slot, button in self.about_buttons.items():
            button.setText(f"Clip {slot}")
            button.setCheckable(True)
            button.setToolTip(f"Ask this question about Clip {slot} (sent to the model in both slots)")
            button.toggled.connect(lambda _on: self._show_about())
            group.addButton(button)
            row.addWidget(button)
        row.addWidget(self.about_label, 1)
        self.about_buttons["A"].setChecked(True)
        self.about_row.setVisible(False)

    def set_clips(self, a_name: str | None, b_name: str | None) -> None:
        """The loaded clips' names; the "About" row shows only while both are loaded."""
        self._clip_names = (a_name, b_name) if a_name and b_name else None
        self._show_about()

    def about(self) -> str | None:
        """"A" or "B": the clip a question that does not compare is about; None with fewer than two clips or
        for a comparison (which is about both)."""
        if self._clip_names is None or needs_two_clips(self.text()):
            return None
        return "A" if self.about_buttons["A"].isChecked() else "B"

    def _show_about(self) -> None:
        names = self._clip_names
        self.about_row.setVisible(names is not None)
        if names is None:
            return
        slot = self.about()
        for button in self.about_buttons.values():
            button.setVisible(slot is not None)
        if slot is None:
            self.about_label.setText(f"About both clips: {names[0]} and {names[1]} (a comparison)")
        else:
            name = names[0] if slot == "A" else names[1]
            self.about_label.setText(f"About Clip {slot} only: {name}")

    # ------------------------------------------------------------------------------------------- presets
    def _fill_presets_menu(self) -> None:
        if not self.presets:
            self.presets_menu.addAction("(no presets file found)").setEnabled(False)
        for i, preset in enumerate(self.presets):
            if i and preset.clips != self.presets[i - 1].clips:
                self.presets_menu.addSeparator()
            label = preset.name + ("…" if preset.blanks else "")
            action = self.presets_menu.addAction(label)
            action.setToolTip(preset.tooltip + (" (needs two clips)" if preset.clips == 2 else ""))
            action.setStatusTip(action.toolTip())
            action.triggered.connect(lambda _=False, p=preset: self.use_preset(p))
        self.presets_menu.setToolTipsVisible(True)

    def _blanks_dialog(self, preset: Preset) -> str | None:
        dialog = BlanksDialog(preset, self)
        return dialog.prompt() if dialog.exec() == QDialog.DialogCode.Accepted else None

    def use_preset(self, preset: Preset) -> None:
        """Put a preset into the entry, asking for its blanks first."""
        text = self._ask_blanks(preset) if preset.blanks else preset.text
        if text:
            self.set_text(text)
            self.edit.setFocus()

    # ------------------------------------------------------------------------------------------- text
    def text(self) -> str:
        return self.edit.toPlainText().strip()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        self.edit.setTextCursor(cursor)
        self.update_count()

    def reuse(self, record: object) -> None:
        """History ▸ reuse: put a history entry's prompt in the box and focus it."""
        self.set_text(getattr(record, "prompt", ""))
        self.edit.setFocus()

    def send(self) -> None:
        """Emit :attr:`send_requested` with the prompt (ignored while empty or while answering)."""
        if self.text() and not self.stop_button.isEnabled():
            self.send_requested.emit(self.text())

    def set_busy(self, busy: bool) -> None:
        """While an answer streams: Stop enabled, Send disabled."""
        self.stop_button.setEnabled(busy)
        self.send_button.setEnabled(not busy)

    # ------------------------------------------------------------------------------------------- tokens
    def set_tokenizer(self, count_tokens: Callable[[str], int] | None) -> None:
        """Use ``count_tokens(text) -> int`` for the live count (None: count unavailable)."""
        self._count_tokens = count_tokens
        self.update_count()

    def token_count(self) -> int | None:
        if self._count_tokens is None:
            return None
        return self._count_tokens(self.text())

    def update_count(self) -> None:
        """Refresh the "n / 129 tokens" label; warn when the prompt will be cut."""
        n = self.token_count()
        if n is None:
            self.count_label.setText("tokens: — (tokenizer not loaded)")
            self.count_label.setStyleSheet("")
        elif n > PROMPT_LIMIT:
            self.count_label.setText(
                f"⚠ {n} / {PROMPT_LIMIT} tokens — the model will only read the first {PROMPT_LIMIT}"
            )
            self.count_label.setStyleSheet("color: #d9822b; font-weight: 600;")
        else:
            self.count_label.setText(f"{n} / {PROMPT_LIMIT} tokens")
            self.count_label.setStyleSheet("")
