"""Asking the model from the window: build the question, start it, show and store its answer.

:class:`AskingFlow` connects the prompt box, the engine host, the conversation and the history: a question is
built by :func:`mellow_desktop.core.question.build_question` from the loaded clips, answered on the model's
thread, then shown, stored (:func:`mellow_desktop.core.session.history_record`) and announced with
:attr:`AskingFlow.answered`.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from mellow_desktop.core.history_store import HistoryError, HistoryStore
from mellow_desktop.core.model_loading import not_ready_message
from mellow_desktop.core.question import Answer, ClipRef, QuestionProblem, build_question
from mellow_desktop.core.session import history_record
from mellow_desktop.core.settings import AppSettings
from mellow_desktop.qt.engine_host import EngineHost
from mellow_desktop.qt.model_manager import ModelManager
from mellow_desktop.qt.widgets.chat_panel import ChatPanel
from mellow_desktop.qt.widgets.history_view import HistoryView
from mellow_desktop.qt.widgets.prompt_box import PromptBox

Status = Callable[[str, int], None]  # status-bar text, milliseconds


class AskingFlow(QObject):
    """One question at a time, from the prompt to the stored answer."""

    answered = Signal(object)  # Answer, after it is shown in the conversation and stored in the history

    def __init__(self, host: EngineHost, model: ModelManager, chat: ChatPanel, prompt: PromptBox,
                 store: HistoryStore, history: HistoryView, status: Status, parent: QObject | None = None
                 ) -> None:
        super().__init__(parent)
        self.host, self.model, self.chat, self.prompt = host, model, chat, prompt
        self.store, self.history, self._status = store, history, status
        host.worker.piece.connect(chat.add_piece)
        host.worker.finished.connect(self._on_answer)

    def ask(
        self, prompt: str, clips: tuple[ClipRef | None, ClipRef | None], loading: bool, settings: AppSettings,
        about: str | None = None,
    ) -> None:
        """Send ``prompt`` about ``clips`` (A, B) with ``settings``, or explain what is missing; ``about``
        ("A"/"B") aims a question that does not compare at one of two clips."""
        if self.host.busy():
            if self.host.scanning is not None:  # the model is busy with a scan: say so, keep the prompt
                self.chat.add_notice("The model is scanning a recording; ask when the scan has finished "
                                     "(or cancel it: Clips ▸ Cancel scan).")
            elif self.host.listening is not None:
                self.chat.add_notice("The model is listening (Listen mode); stop listening to ask.")
            return
        if loading:
            self._status("Wait until the clips are loaded.", 5000)
            return
        try:
            q = build_question(prompt, clips[0], clips[1], settings.generation, settings.device, about)
        except QuestionProblem as exc:
            self.chat.add_notice(str(exc))
            return
        if not self.model.is_ready():
            self.chat.add_notice(not_ready_message(self.model.state, self.model.description))
            return
        self.chat.add_question(q)
        self.prompt.set_busy(True)
        self._status("Answering…", 0)
        self.host.ask(q)

    def stop(self) -> None:
        """Stop the current answer (Esc)."""
        if self.host.busy():
            self.host.cancel()
            self._status("Stopping…", 3000)

    def _on_answer(self, answer: Answer) -> None:
        self.chat.finish(answer)
        self.prompt.set_busy(False)
        if answer.device_note:
            self.chat.add_notice(answer.device_note)
        try:
            self.store.add(history_record(answer))
        except (HistoryError, ValueError) as exc:
            self.chat.add_notice(f"The answer could not be saved in the history: {exc}")
        self.history.refresh()
        self.answered.emit(answer)
        speed = f" ({answer.tokens_per_s:.1f} tokens/s)" if answer.tokens_per_s else ""
        text, msecs = {"finished": (f"Answered{speed}.", 8000), "cancelled": ("Stopped.", 5000)}.get(
            answer.status, (f"The answer failed: {answer.error}", 10000)
        )
        self._status(text, msecs)
