"""The window's scan sink, without Qt: the engine's driver (:class:`~mellow.scan.driver.ScanDriver`) answers
the windows a scan still misses, and each batch is stored in the history database before it is handed on.

The Qt worker makes a :class:`ScanController` (:meth:`~ScanController.start` for a new scan,
:meth:`~ScanController.resume` for a stored one) and iterates :meth:`ScanController.run` on the model's
thread; each item is the driver's :class:`~mellow.scan.driver.ScanBatch` (answered windows, already stored;
unreadable ones, not stored so that Resume asks them again; the progress).  Setting the ``cancel`` event stops
it after the current batch (status "cancelled").
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

from mellow.errors import user_message
from mellow.generation import Engine
from mellow.scan.driver import ScanBatch, ScanDriver
from mellow.scan.plan import ScanSetupError
from mellow.scan.runner import ScanRunner
from mellow.scan.writers import format_for, table_module
from mellow.scan.writers.records import ScanRow
from mellow_desktop.core.scan_record import ScanRecord, checksum_of
from mellow_desktop.core.scan_session import ScanSession


class ScanController:
    """Runs one stored scan to its end (see the module docstring); use :meth:`start` or :meth:`resume`."""

    def __init__(self, runner: ScanRunner, session: ScanSession) -> None:
        self.runner, self.session = runner, session
        self.driver: ScanDriver | None = None

    @property
    def scan_id(self) -> int:
        return int(self.session.record.id or 0)

    @property
    def record(self) -> ScanRecord:
        return self.session.record

    @property
    def notice(self) -> str | None:
        """What the user should be told before the scan runs (its file changed: every window asked again)."""
        return self.session.notice

    @classmethod
    def start(cls, engine: Engine, record: ScanRecord, db_path: str | os.PathLike[str],
              batch_size: int | None = None, reuse: str | os.PathLike[str] | None = None) -> ScanController:
        """Plan ``record`` and store it as a new "running" scan answered by ``engine`` (in the record's
        precision); ``reuse``: a ``mellow scan`` output (.jsonl/.csv) whose rows of the same question are
        taken as answered instead of being asked again."""
        engine = engine.in_dtype(record.dtype)
        runner = ScanRunner(engine, record.question_set, record.generation_options(), score=record.score,
                            batch_size=batch_size)
        record.scoring, record.scorings = runner.scoring, dict(runner.scorings)
        record.model_id = runner.model_id
        record.model_checksum = checksum_of(runner.model_id)
        rows = _rows_of(reuse) if reuse else []
        session = ScanSession.create(db_path, record, engine.config.audio)
        if rows:
            session.adopt(rows)
        return cls(runner, session)

    @classmethod
    def resume(cls, engine: Engine, db_path: str | os.PathLike[str], scan_id: int,
               batch_size: int | None = None) -> ScanController:
        """The controller of stored scan ``scan_id``, to answer the windows it misses with the same model."""
        session = ScanSession.open(db_path, scan_id, engine.config.audio)
        try:
            record = session.record
            engine = engine.in_dtype(record.dtype)
            runner = ScanRunner(engine, record.question_set, record.generation_options(),
                                score=record.scoring if record.questions is None else record.score,
                                batch_size=batch_size)
            if record.model_id and runner.model_id != record.model_id:
                raise ScanSetupError(f"this scan was made with the model {record.model_id}; load that model "
                                     f"to resume it (the loaded one is {runner.model_id})")
        except BaseException:
            session.close()
            raise
        return cls(runner, session)

    def run(self, cancel: threading.Event | None = None) -> Iterator[ScanBatch]:
        """Answer the missing windows batch by batch, storing each batch before yielding it.  At the end the
        scan's status is "finished" or "cancelled" (``cancel`` set), with a message naming the files whose
        windows could not be read; "failed" when an error is raised on."""
        asks = self.session.asks()
        todo = [(i, w) for i, w in self.session.windows if w in asks]
        if self.record.status != "running" and todo:
            self.session.finish("running")
        self.driver = driver = ScanDriver(self.runner, todo, self.record.n_answers,
                                          self.session.audio_per_window_s, asks)
        try:
            for batch in driver.batches(cancel):
                self.session.append(batch.answered)
                yield batch
        except Exception as exc:
            self.session.finish("failed", user_message(exc, "scanning"))
            raise
        except BaseException:  # the consumer closed the iterator, or Ctrl-C: what is stored stays
            self.session.finish("cancelled", self._unreadable())
            raise
        self.session.finish("cancelled" if driver.cancelled else "finished", self._unreadable())

    def _unreadable(self) -> str | None:
        """"3 windows could not be read (Resume asks them again): <first reason>", or None."""
        driver = self.driver
        if driver is None or not driver.failed:
            return None
        many = "1 window" if driver.failed == 1 else f"{driver.failed} windows"
        return f"{many} could not be read (Resume asks them again): {driver.problems[0].reason}"

    def close(self) -> None:
        self.session.close()


def _rows_of(path: str | os.PathLike[str]) -> list[ScanRow]:
    """The rows of a ``mellow scan`` output (.jsonl or .csv); a one-line error when it cannot be read."""
    target = Path(path)
    fmt = format_for(target)
    if fmt not in ("jsonl", "csv"):
        raise ScanSetupError(f"{target.name}: answers can be taken from a .jsonl or .csv output of "
                             "mellow scan")
    try:
        rows, _whole = table_module(fmt).parse(target.read_bytes(), str(target))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ScanSetupError(f"cannot read the answers in {target.name}: "
                             f"{user_message(exc, 'reading')}") from None
    return rows
