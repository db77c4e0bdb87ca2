"""The window's scan driver, without Qt: runs the engine's :class:`~mellow.scan.runner.ScanRunner` over the
windows a scan still misses, stores each batch in the history database as it comes, and reports progress.

The Qt worker makes a :class:`ScanController` (``start`` for a new scan, ``resume`` for a stored one) and
iterates :meth:`ScanController.run` on the model's thread; each item is a :class:`ScanBatch` (the batch's
results, already stored, and a :class:`ScanProgress`), and the same reach ``on_batch``/``on_progress``
callbacks when given.  Setting the ``cancel`` event stops it after the current batch (status "cancelled").
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mellow.errors import user_message
from mellow.generation import Engine, GenerationOptions
from mellow.scan.plan import ScanSetupError
from mellow.scan.runner import ScanRunner
from mellow.scan.types import WindowResult
from mellow.timefmt import format_seconds
from mellow_desktop.core.scan_record import ScanRecord, checksum_of
from mellow_desktop.core.scan_session import ScanRequest, ScanSession


@dataclass(frozen=True)
class ScanProgress:
    """Windows ``done`` of ``total`` (stored ones included); rates over this run's windows."""

    done: int
    total: int
    elapsed_s: float
    windows_per_s: float
    realtime_factor: float  # seconds of recording per wall-clock second
    eta_s: float  # NaN until a rate is known

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def text(self) -> str:
        """``"120 of 720 windows · 3.20 windows/s · 32.0× real time · ETA 3:07.5"``."""
        parts = [f"{self.done} of {self.total} windows"]
        if self.windows_per_s > 0:
            parts += [f"{self.windows_per_s:.2f} windows/s", f"{self.realtime_factor:.1f}× real time",
                      f"ETA {format_seconds(self.eta_s)}"]
        return " · ".join(parts)


@dataclass(frozen=True)
class ScanBatch:
    """One stored batch: (plan index, result) pairs, and the progress after it."""

    results: tuple[tuple[int, WindowResult], ...]
    progress: ScanProgress


def _progress(done: int, total: int, new: int, elapsed: float, per_window_s: float) -> ScanProgress:
    rate = new / elapsed if elapsed > 0 and new else 0.0
    eta = (total - done) / rate if rate else float("nan")
    return ScanProgress(done, total, elapsed, rate, rate * per_window_s, eta)


class ScanController:
    """Runs one stored scan to its end (see the module docstring); use :meth:`start` or :meth:`resume`."""

    def __init__(self, runner: ScanRunner, session: ScanSession,
                 on_batch: Callable[[ScanBatch], None] | None = None,
                 on_progress: Callable[[ScanProgress], None] | None = None) -> None:
        self.runner, self.session = runner, session
        self.on_batch, self.on_progress = on_batch, on_progress

    @property
    def scan_id(self) -> int:
        return int(self.session.record.id or 0)

    @property
    def record(self) -> ScanRecord:
        return self.session.record

    @classmethod
    def start(cls, engine: Engine, request: ScanRequest, db_path: str | os.PathLike[str],
              batch_size: int | None = None, **callbacks: Callable) -> ScanController:
        """Plan ``request``, store it as a new "running" scan and return its controller."""
        options = GenerationOptions(max_len=int(request.max_len))
        runner = ScanRunner(engine, request.prompt, options, score=request.score, batch_size=batch_size)
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(ScanRequest)}
        for name in ("max_len", "score"):
            fields.pop(name)
        fields["file"] = str(request.file)
        fields["slot2_file"] = str(request.slot2_file) if request.slot2_file else None
        record = ScanRecord(**fields, file_hash="", n_windows=0, scoring=runner.scoring,
                            options={"generation": dataclasses.asdict(options), "dtype": str(engine.dtype)},
                            model_id=runner.model_id, model_checksum=checksum_of(runner.model_id))
        session = ScanSession.create(db_path, record, engine.config.audio)
        return cls(runner, session, **callbacks)

    @classmethod
    def resume(cls, engine: Engine, db_path: str | os.PathLike[str], scan_id: int,
               batch_size: int | None = None, **callbacks: Callable) -> ScanController:
        """The controller of stored scan ``scan_id``, to answer the windows it misses with the same model."""
        session = ScanSession(db_path, scan_id, engine.config.audio)
        try:
            record = session.record
            options = GenerationOptions(**record.options.get("generation", {}))
            runner = ScanRunner(engine, record.prompt, options, score=record.scoring, batch_size=batch_size)
            if record.model_id and runner.model_id != record.model_id:
                raise ScanSetupError(f"this scan was made with the model {record.model_id}; load that model "
                                     f"to resume it (the loaded one is {runner.model_id})")
        except BaseException:
            session.close()
            raise
        return cls(runner, session, **callbacks)

    def run(self, cancel: threading.Event | None = None) -> Iterator[ScanBatch]:
        """Answer the missing windows batch by batch, storing each batch before yielding it; the scan's status
        is "finished", "cancelled" (``cancel`` set) or "failed" (the error is raised on) at the end."""
        cancel = cancel or threading.Event()
        todo = self.session.missing()
        total, done0 = self.record.n_windows, self.record.n_windows - len(todo)
        if self.record.status != "running" and todo:
            self.session.finish("running")
        t0, pending, batch_end = time.monotonic(), [], [0]
        index = {w: i for i, w in todo}

        def batch_done(done: int, _total: int) -> None:
            batch_end[0] = done

        processed = 0
        try:
            for result in self.runner.run([w for _, w in todo], cancel=cancel, progress=batch_done):
                pending.append((index[result.window], result))
                processed += 1
                if processed == batch_end[0]:
                    yield self._store(pending, done0 + processed, total, processed, t0)
                    pending = []
        except Exception as exc:
            self.session.finish("failed", user_message(exc, "scanning"))
            raise
        except BaseException:  # the consumer closed the iterator, or Ctrl-C: what is stored stays
            self.session.finish("cancelled")
            raise
        finished = processed == len(todo)
        self.session.finish("finished" if finished else "cancelled")

    def _store(self, pending: list[tuple[int, WindowResult]], done: int, total: int, new: int,
               t0: float) -> ScanBatch:
        self.session.append(pending)
        progress = _progress(done, total, new, time.monotonic() - t0, self.session.audio_per_window_s)
        batch = ScanBatch(tuple(pending), progress)
        if self.on_batch is not None:
            self.on_batch(batch)
        if self.on_progress is not None:
            self.on_progress(progress)
        return batch

    def close(self) -> None:
        self.session.close()
