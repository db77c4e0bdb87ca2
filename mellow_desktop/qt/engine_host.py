"""The model's thread: a QObject living in a QThread that owns the engine for as long as the app runs.

The GUI never touches the model. It asks :class:`EngineHost` to ``load`` an engine (a factory called on the
worker thread) or to ``ask`` a :class:`~mellow_desktop.core.question.Question`; the worker iterates the
engine's streaming generator and reports through signals: ``piece(question_id, text)`` for every decoded
piece, ``finished(Answer)`` at the end (also for cancelled and failed answers). Stop sets the question's
``threading.Event``, which the engine checks between tokens. :meth:`EngineHost.shutdown` cancels, quits the
thread's event loop and joins it, so closing the window mid-answer exits cleanly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from mellow.errors import MellowError
from mellow_desktop.core.model_loading import EngineFactory, EngineReady, device_text
from mellow_desktop.core.question import Answer, Question
from mellow_desktop.qt.jobs import failure_message


@dataclass(frozen=True)
class LoadRequest:
    """``factory(progress)`` builds the engine on the worker thread; ``model_id`` labels its answers."""

    factory: EngineFactory
    model_id: str


class EngineWorker(QObject):
    """Runs in the engine thread. Use it through :class:`EngineHost`."""

    load_progress = Signal(str)
    loaded = Signal(object)  # EngineReady
    load_failed = Signal(str)
    piece = Signal(int, str)  # question id, text piece
    finished = Signal(object)  # Answer

    def __init__(self) -> None:
        super().__init__()
        self.engine: Any = None
        self.model_id = ""

    @Slot(object)
    def load(self, request: LoadRequest) -> None:
        """Build the engine (replacing any previous one)."""
        self.load_progress.emit("loading…")
        try:
            engine = request.factory(self.load_progress.emit)
        except Exception as exc:  # every failure becomes the one user message
            self.load_failed.emit(failure_message(exc, "loading the model"))
            return
        self.engine, self.model_id = engine, request.model_id
        self.loaded.emit(EngineReady.of(engine, request.model_id))

    @Slot(object)
    def ask(self, q: Question) -> None:
        """Stream an answer to ``q``; always ends with :attr:`finished`."""
        from mellow.audio import Clip, clip_content_hash

        parts: list[str] = []
        answer = Answer(question=q, text="", status="finished", model_id=self.model_id)
        device_before = device_text(self.engine) if self.engine is not None else ""
        t0 = time.perf_counter()
        stream = None
        try:
            if self.engine is None:
                raise MellowError("no model is loaded")
            answer.hash_a = q.clip_a.content_hash or clip_content_hash(q.clip_a.path)
            answer.hash_b = q.clip_b.content_hash or clip_content_hash(q.clip_b.path)
            stream = self.engine.stream(
                Clip(q.clip_a.path, q.clip_a.start_s),
                Clip(q.clip_b.path, q.clip_b.start_s),
                q.prompt,
                options=q.options,
                cancel=q.cancel,
            )
            for piece in stream:
                if piece:
                    parts.append(piece)
                    self.piece.emit(q.id, piece)
            answer.status = "cancelled" if q.cancel.is_set() else "finished"
        except Exception as exc:  # every failure becomes the one user message
            answer.status, answer.error = "failed", failure_message(exc, "generating the answer")
        answer.text = "".join(parts)
        answer.pieces = len(parts)
        stats = stream.result.stats if stream is not None else None
        if stats is not None and answer.status != "failed":
            answer.n_tokens = getattr(stats, "n_tokens", None)
            answer.tokens_per_s = getattr(stats, "decode_tokens_per_s", None)
        if answer.tokens_per_s is None and answer.n_tokens:
            answer.tokens_per_s = answer.n_tokens / max(time.perf_counter() - t0, 1e-6)
        if self.engine is not None and device_text(self.engine) != device_before:
            # The engine moved itself (CUDA out of memory -> CPU): announce it so the window says so.
            answer.device_note = getattr(self.engine, "device_note", "") or ""
            self.loaded.emit(EngineReady.of(self.engine, self.model_id))
        self.finished.emit(answer)


class EngineHost(QObject):
    """Owns the engine thread and its worker; the GUI's only door to the model."""

    _load = Signal(object)
    _ask = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("mellow-engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self._load.connect(self.worker.load)
        self._ask.connect(self.worker.ask)
        self.worker.finished.connect(self._on_finished)
        self.current: Question | None = None
        self.loading = False
        self.worker.loaded.connect(self._done_loading)
        self.worker.load_failed.connect(self._done_loading)
        self.thread.start()

    def _done_loading(self, *_: object) -> None:
        self.loading = False

    def load(self, factory: EngineFactory, model_id: str) -> None:
        """Build an engine with ``factory(progress)`` on the worker thread."""
        self.loading = True
        self._load.emit(LoadRequest(factory=factory, model_id=model_id))

    def ask(self, q: Question) -> None:
        """Start answering ``q`` (one question at a time)."""
        if self.current is not None:
            raise RuntimeError("already answering a question")
        self.current = q
        self._ask.emit(q)

    def busy(self) -> bool:
        return self.current is not None

    def cancel(self) -> None:
        """Stop the current answer between two tokens (no-op when idle)."""
        if self.current is not None:
            self.current.cancel.set()

    def _on_finished(self, answer: Answer) -> None:
        if self.current is not None and answer.question.id == self.current.id:
            self.current = None

    def shutdown(self) -> None:
        """Cancel any answer, stop the thread's event loop and join it."""
        self.cancel()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait()
        self.worker.engine = None
