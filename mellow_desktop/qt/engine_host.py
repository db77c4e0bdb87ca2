"""The model's thread: a QObject living in a QThread that owns the engine for as long as the app runs.

The GUI never touches the model. It asks :class:`EngineHost` to ``load`` an engine (a factory called on the
worker thread) or to ``ask`` a :class:`~mellow_desktop.core.question.Question`; the worker iterates the
engine's streaming generator and reports through signals: ``piece(question_id, text)`` for every decoded
piece, ``finished(Answer)`` at the end (also for cancelled and failed answers). Stop sets the question's
``threading.Event``, which the engine checks between tokens. :meth:`EngineHost.shutdown` cancels, quits the
thread's event loop and joins it, so closing the window mid-answer exits cleanly.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from mellow.errors import MellowError
from mellow_desktop.core.model_loading import EngineFactory, EngineReady, device_text
from mellow_desktop.core.question import Answer, Question
from mellow_desktop.core.scan_record import ScanRecord
from mellow_desktop.qt.jobs import failure_message


@dataclass(frozen=True)
class LoadRequest:
    """``factory(progress)`` builds the engine on the worker thread; ``model_id`` labels its answers."""

    factory: EngineFactory
    model_id: str


@dataclass(eq=False)
class ScanJob:
    """A scan for the model's thread: a new ``record`` (the Scan dialog's) or the stored scan ``scan_id`` to
    resume, stored in the history database at ``db_path``; ``reuse``: a ``mellow scan`` output whose answers
    to the same question are taken instead of asked again.  Setting ``cancel`` stops it after the current
    batch.  The worker sets ``scan_id`` and ``notice`` (what the user should be told first) when it starts."""

    db_path: str | os.PathLike[str]
    record: ScanRecord | None = None
    scan_id: int | None = None
    batch_size: int | None = None
    reuse: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    notice: str | None = None


@dataclass(eq=False)
class ListenJob:
    """Listening on the model's thread: a :class:`~mellow.listen.Listener` of ``source`` with ``settings``,
    sessions under ``folder``; the worker builds it with the engine and sets :attr:`listener` (which the GUI
    polls).  :meth:`stop` ends it after the window in flight (also before it has started)."""

    source: Any
    settings: Any
    folder: Any
    listener: Any = None
    stopping: threading.Event = field(default_factory=threading.Event)

    def stop(self) -> None:
        self.stopping.set()
        if self.listener is not None:
            self.listener.stop(timeout=0)


class EngineWorker(QObject):
    """Runs in the engine thread. Use it through :class:`EngineHost`."""

    load_progress = Signal(str)
    loaded = Signal(object)  # EngineReady
    load_failed = Signal(str)
    piece = Signal(int, str)  # question id, text piece
    finished = Signal(object)  # Answer
    scan_started = Signal(object, object)  # ScanJob, ScanRecord (a copy)
    scan_batch = Signal(object, object)  # ScanJob, ScanBatch (already stored)
    scan_finished = Signal(object, str, str)  # ScanJob, status, message ("" when none)
    listen_started = Signal(object)  # ListenJob (its listener set)
    listen_finished = Signal(object, str)  # ListenJob, the error ("" when none)

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


    @Slot(object)
    def scan(self, job: ScanJob) -> None:
        """Run ``job`` through the core's ScanController, one signal per stored batch; always ends with
        :attr:`scan_finished`."""
        from mellow_desktop.core.scan_controller import ScanController

        controller = None
        try:
            if self.engine is None:
                raise MellowError("no model is loaded")
            if job.record is not None:
                record = dataclasses.replace(job.record)  # the worker's copy: the store fills it in
                controller = ScanController.start(self.engine, record, job.db_path, job.batch_size, job.reuse)
            else:
                controller = ScanController.resume(self.engine, job.db_path, int(job.scan_id or 0),
                                                   job.batch_size)
            job.scan_id, job.notice = controller.scan_id, controller.notice
            self.scan_started.emit(job, dataclasses.replace(controller.record))
            for batch in controller.run(job.cancel):
                self.scan_batch.emit(job, batch)
            status, message = controller.record.status, controller.record.message or ""
        except Exception as exc:  # every failure becomes the one user message (the scan is marked failed)
            status, message = "failed", failure_message(exc, "scanning")
        finally:
            if controller is not None:
                controller.close()
        self.scan_finished.emit(job, status, message)


    @Slot(object)
    def listen(self, job: ListenJob) -> None:
        """Listen until ``job`` is stopped or its input ends, answering on this thread (so no answer or scan
        uses the model meanwhile); always ends with :attr:`listen_finished`."""
        from mellow.listen import Listener

        error = ""
        try:
            if self.engine is None:
                raise MellowError("no model is loaded")
            listener = Listener(self.engine, job.source, job.settings, job.folder)
            listener.start(answer_thread=False)
            job.listener = listener
            if job.stopping.is_set():
                listener.stop(timeout=0)
            self.listen_started.emit(job)
            listener.run()
            listener.wait()
            error = listener.status().error or ""
        except Exception as exc:  # every failure becomes the one user message
            error = failure_message(exc, "listening")
        self.listen_finished.emit(job, error)


class EngineHost(QObject):
    """Owns the engine thread and its worker; the GUI's only door to the model."""

    _load = Signal(object)
    _ask = Signal(object)
    _scan = Signal(object)
    _listen = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("mellow-engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self._load.connect(self.worker.load)
        self._ask.connect(self.worker.ask)
        self._scan.connect(self.worker.scan)
        self._listen.connect(self.worker.listen)
        self.worker.finished.connect(self._on_finished)
        self.worker.scan_finished.connect(self._on_scan_finished)
        self.current: Question | None = None
        self.scanning: ScanJob | None = None
        self.listening: ListenJob | None = None
        self.worker.listen_finished.connect(self._on_listen_finished)
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
        if self.busy():
            raise RuntimeError("already answering a question or scanning")
        self.current = q
        self._ask.emit(q)

    def scan(self, job: ScanJob) -> None:
        """Start scanning ``job`` on the model's thread (one question or scan at a time)."""
        if self.busy():
            raise RuntimeError("already answering a question or scanning")
        self.scanning = job
        self._scan.emit(job)

    def listen(self, job: ListenJob) -> None:
        """Start listening on the model's thread (no question or scan meanwhile)."""
        if self.busy():
            raise RuntimeError("already answering a question, scanning or listening")
        self.listening = job
        self._listen.emit(job)

    def busy(self) -> bool:
        return self.current is not None or self.scanning is not None or self.listening is not None

    def _on_listen_finished(self, job: ListenJob, _error: str) -> None:
        if self.listening is job:
            self.listening = None

    def cancel(self) -> None:
        """Stop the current answer between two tokens (no-op when idle)."""
        if self.current is not None:
            self.current.cancel.set()

    def cancel_scan(self) -> None:
        """Stop the running scan after its current batch (no-op when none)."""
        if self.scanning is not None:
            self.scanning.cancel.set()

    def _on_scan_finished(self, job: ScanJob, *_: object) -> None:
        if self.scanning is job:
            self.scanning = None

    def _on_finished(self, answer: Answer) -> None:
        if self.current is not None and answer.question.id == self.current.id:
            self.current = None

    def shutdown(self) -> None:
        """Cancel any answer, scan or listening, stop the thread's event loop and join it."""
        self.cancel()
        self.cancel_scan()
        if self.listening is not None:
            self.listening.stop()
        if self.thread.isRunning():
            self.thread.quit()
            self.thread.wait()
        self.worker.engine = None
