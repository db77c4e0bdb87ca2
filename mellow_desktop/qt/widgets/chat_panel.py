"""The conversation: one card per question, whose answer grows piece by piece while it streams.

Each card records which clips and windows the question was about (and says when one clip was sent in both
slots), and ends with the number of tokens, the speed and the generation settings (after "stopped" for a
stopped answer), or the error.

The view follows the conversation's end (a new card, a streaming answer, a resize) while the user has not
scrolled away from it; someone reading an older card is left where they are until they scroll back down.
"""

from __future__ import annotations

import html
import re
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mellow_desktop.core.question import Answer, Question
from mellow_desktop.core.settings import describe_options

_LONG_RUN = re.compile(r"\S{40,}")


def wrappable(text: str) -> str:
    """``text`` with zero-width spaces every 30 characters inside very long words, so a label can wrap it."""
    return _LONG_RUN.sub(
        lambda m: "\u200b".join(m.group(0)[i : i + 30] for i in range(0, len(m.group(0)), 30)), text
    )


def clips_text(q: Question) -> str:
    """``Clip A: birds.flac (0:00–0:10) · Clip B: hum.flac (…)`` or the single-clip wording."""
    a, b = q.clip_a, q.clip_b
    if q.single_clip:
        return f"About {a.name} ({a.window_text}) — one clip, sent in both slots"
    return f"A: {a.name} ({a.window_text}) · B: {b.name} ({b.window_text})"


ERROR_COLOR = "#d9534f"
#: One style sheet for all entries and notices (palette() colours follow the light/dark theme).
PANEL_STYLE = (
    "#chatEntry { background: palette(alternate-base); border: 1px solid palette(mid); border-radius: 6px; }"
    " #chatNotice { border-left: 3px solid #d9822b; padding: 4px 8px; }"
)


def _small_font(widget: QWidget) -> QFont:
    """The widget's font at 8.5 pt (secondary text)."""
    font = widget.font()
    font.setPointSizeF(8.5)
    return font


class ChatEntry(QFrame):
    """A question and its (growing) answer."""

    def __init__(self, q: Question, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.question = q
        self.pieces: list[str] = []
        self.answer: Answer | None = None
        self.setObjectName("chatEntry")  # styled by PANEL_STYLE on the ChatPanel
        when = time.strftime("%H:%M", time.localtime(q.created))
        meta = QLabel(f"{when} · {clips_text(q)}", self)
        meta.setWordWrap(True)
        meta.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        meta.setFont(_small_font(meta))
        self.prompt_label = QLabel(q.prompt, self)
        self.prompt_label.setWordWrap(True)
        bold = self.prompt_label.font()
        bold.setWeight(QFont.Weight.DemiBold)
        self.prompt_label.setFont(bold)
        self.prompt_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.answer_label = QLabel("…", self)
        self.answer_label.setWordWrap(True)
        self.answer_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.answer_label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.status_label = QLabel("answering…", self)
        self.status_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status_label.setFont(_small_font(self.status_label))
        self.status_label.setWordWrap(True)  # a long footer wraps instead of widening the card
        self.copy_button = QToolButton(self)
        self.copy_button.setText("Copy")
        self.copy_button.setAutoRaise(True)
        self.copy_button.setToolTip("Copy the answer to the clipboard")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_answer)
        foot = QHBoxLayout()
        foot.addWidget(self.status_label, 1)
        foot.addWidget(self.copy_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 10, 6)
        lay.setSpacing(3)
        lay.addWidget(meta)
        lay.addWidget(self.prompt_label)
        lay.addWidget(self.answer_label)
        lay.addLayout(foot)

    def append(self, piece: str) -> None:
        """Add one streamed piece to the answer."""
        self.pieces.append(piece)
        self.answer_label.setText(wrappable("".join(self.pieces)))

    def answer_text(self) -> str:
        return "".join(self.pieces)

    def finish(self, answer: Answer) -> None:
        """Show the final answer and its speed, or that it was stopped or failed."""
        self.answer = answer
        if answer.text != self.answer_text():  # the worker's text is authoritative
            self.pieces = [answer.text]
        shown = answer.text.strip()
        speed = ""
        if answer.n_tokens is not None:
            speed = f"{answer.n_tokens} tokens"
            if answer.tokens_per_s:
                speed += f" · {answer.tokens_per_s:.1f} tokens/s"
        settings = describe_options(answer.question.options)
        facts = f"{speed} · {settings}" if speed else settings
        if answer.status == "failed":
            self.answer_label.setText(wrappable(shown) or "(no answer)")
            self.status_label.setText(f"⚠ {answer.error} · {facts}")
            pal = self.status_label.palette()
            pal.setColor(QPalette.ColorRole.WindowText, QColor(ERROR_COLOR))
            self.status_label.setPalette(pal)
            self.status_label.setForegroundRole(QPalette.ColorRole.WindowText)
        elif answer.status == "cancelled":
            self.answer_label.setText(wrappable(shown) + " …" if shown else "(stopped before the first word)")
            self.status_label.setText(f"stopped · {facts}")
        else:
            self.answer_label.setText(wrappable(shown) or "(empty answer)")
            self.status_label.setText(facts)
        self.copy_button.setEnabled(bool(shown))

    def copy_answer(self) -> None:
        QGuiApplication.clipboard().setText(self.answer_text().strip())


class ChatPanel(QScrollArea):
    """Scrollable list of chat entries and notices."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet(PANEL_STYLE)
        inner = QWidget(self)
        # Ignored: the scroll area sizes the content to the viewport's width and its height-for-width, not to
        # the wrapped labels' minimum size hints (which left blank space under the last card).
        inner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        inner.setBackgroundRole(QPalette.ColorRole.Base)
        inner.setAutoFillBackground(True)
        self._layout = QVBoxLayout(inner)
        self._layout.setContentsMargins(6, 6, 6, 6)
        self._layout.setSpacing(8)
        self.placeholder = QLabel(
            "Load one or two clips, then ask a question below — for example "
            "<i>caption the audio.</i> or <i>explain the difference between the two audios "
            "in few words.</i>",
            inner,
        )
        self.placeholder.setWordWrap(True)
        self.placeholder.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self.placeholder)
        self._layout.addStretch(1)
        self.setWidget(inner)
        self._entries: dict[int, ChatEntry] = {}
        self.following = True  # the view stays at the conversation's end
        self._moving = False
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(lambda _lo, _hi: self._follow_end())
        bar.valueChanged.connect(self._on_scrolled)

    def _on_scrolled(self, value: int) -> None:
        if not self._moving:  # the user scrolled: follow again only once back at the end
            self.following = value >= self.verticalScrollBar().maximum() - 4

    def _follow_end(self) -> None:
        if self.following:
            bar = self.verticalScrollBar()
            self._moving = True
            try:
                bar.setValue(bar.maximum())
            finally:
                self._moving = False

    def _insert(self, w: QWidget) -> None:
        self.placeholder.setVisible(False)
        self._layout.insertWidget(self._layout.count() - 1, w)
        self.following = True  # a new question or notice is what the user wants to see
        self._follow_end()

    def add_question(self, q: Question) -> ChatEntry:
        """Add a card for ``q`` and return it."""
        entry = ChatEntry(q, self.widget())
        self._entries[q.id] = entry
        self._insert(entry)
        return entry

    def add_notice(self, html: str) -> QLabel:
        """Add an informational message (for example how to install the model)."""
        label = QLabel(html, self.widget())
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setOpenExternalLinks(False)
        label.setObjectName("chatNotice")
        self._insert(label)
        return label

    def add_stored(self, answers: list[Answer], note: str) -> None:
        """Show answers from the history as finished cards, after a notice saying where they come from."""
        if not answers:
            return
        self.add_notice(html.escape(note))
        for answer in answers:
            self.add_question(answer.question).finish(answer)

    def add_piece(self, question_id: int, piece: str) -> None:
        entry = self._entries.get(question_id)
        if entry is not None:
            entry.append(piece)  # the content grows: rangeChanged follows it when following

    def finish(self, answer: Answer) -> None:
        entry = self._entries.get(answer.question.id)
        if entry is not None:
            entry.finish(answer)

    def entry(self, question_id: int) -> ChatEntry | None:
        return self._entries.get(question_id)

    def entries(self) -> list[ChatEntry]:
        return list(self._entries.values())

    def notices(self) -> list[str]:
        """Texts of every notice shown (for tests)."""
        inner = self.widget()
        return [w.text() for w in inner.findChildren(QLabel, "chatNotice")]
