"""The one way the Qt shell runs background work: :class:`JobRunner`.

``runner.submit(work, on_done, on_failed, doing=…)`` runs ``work()`` on a pool thread and calls
``on_done(result)`` or ``on_failed(message)`` back on the GUI thread, where ``message`` is the one user
message for the exception (:func:`mellow.errors.user_message`; unexpected ones are also logged). Results
travel through a queued signal of the runner, a QObject owned by the widget that asked: when that widget is
gone, so is the runner, and late results are dropped instead of reaching a deleted widget.

File jobs, the tokenizer and downloads all go through it; only the model keeps its own long-lived thread
(:mod:`mellow_desktop.qt.engine_host`), because one engine object lives there for the whole session.
Long jobs (a download) run on a second pool so that they never hold up opening files.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from mellow.errors import MellowError, user_message

log = logging.getLogger(__name__)
_long_pool: QThreadPool | None = None


def _pool(long: bool) -> QThreadPool:
    """The pool for short or long jobs. Its few threads are kept for the session (no expiry), so the app's
    thread count does not depend on how long ago a file was last opened."""
    global _long_pool
    if not long:
        pool = QThreadPool.globalInstance()
        pool.setExpiryTimeout(-1)
        return pool
    if _long_pool is None:
        _long_pool = QThreadPool()
        _long_pool.setMaxThreadCount(2)
    return _long_pool


def failure_message(exc: BaseException, doing: str) -> str:
    """The one user message for ``exc`` raised while ``doing`` (:func:`mellow.errors.user_message`); an
    unexpected exception (a bug, not a user's file or a lack of memory) is logged with its traceback."""
    if not isinstance(exc, (MellowError, MemoryError)):
        log.error("%s failed", doing, exc_info=exc)
    return user_message(exc, doing)


class Job:
    """A submitted piece of work: :meth:`wait` blocks until it has run (done or failed)."""

    def __init__(self) -> None:
        self._ended = threading.Event()

    def wait(self, timeout_s: float | None = None) -> bool:
        return self._ended.wait(timeout_s)

    @property
    def ended(self) -> bool:
        return self._ended.is_set()


class _Runnable(QRunnable):
    def __init__(self, runner: JobRunner, job: Job, work: Callable[[], Any], on_done: Callable[[Any], None],
                 on_failed: Callable[[str], None], doing: str) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._runner, self._job, self._work = runner, job, work
        self._on_done, self._on_failed, self._doing = on_done, on_failed, doing

    def run(self) -> None:
        try:
            result = self._work()
        except Exception as exc:  # every failure becomes the one user message; a bug must not kill the app
            self._runner.post(self._on_failed, (failure_message(exc, self._doing),))
        else:
            self._runner.post(self._on_done, (result,))
        finally:
            self._job._ended.set()


class JobRunner(QObject):
    """Runs work off the GUI thread and delivers its outcome back on it (see the module docstring)."""

    _call = Signal(object, object)  # callback, args: emitted from any thread, delivered queued

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._call.connect(self._deliver)

    def submit(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_failed: Callable[[str], None],
        doing: str,
        long: bool = False,
    ) -> Job:
        """Run ``work()`` on a pool thread; ``doing`` names it in messages ("reading the file")."""
        job = Job()
        _pool(long).start(_Runnable(self, job, work, on_done, on_failed, doing))
        return job

    def relay(self, callback: Callable[..., None]) -> Callable[..., None]:
        """A function that any thread may call; ``callback`` then runs with the same arguments here."""
        return lambda *args: self.post(callback, args)

    def post(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        """From any thread: run ``callback(*args)`` here, unless the runner (its widget) is gone by now."""
        try:
            self._call.emit(callback, args)
        except RuntimeError:  # "Signal source has been deleted": the window closed while the job ran
            log.debug("dropped a late result: its window is gone")

    @Slot(object, object)
    def _deliver(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        callback(*args)


def wait_for_jobs(msecs: int = 10000) -> bool:
    """Wait for every pooled job to finish (used when the window closes)."""
    done = QThreadPool.globalInstance().waitForDone(msecs)
    return (_long_pool.waitForDone(msecs) if _long_pool is not None else True) and done
