"""The listener: live windows from an input, answered through the scan engine, kept where they matter.

Three threads, none waiting on another's slow work: the input's (its callback or file pump fills the
:class:`~mellow.listen.ring.Ring`), the answering thread (:meth:`Listener.run`: cuts due windows, asks the
questions through :class:`~mellow.listen.answering.WindowAnswerer`, turns answers into rows, detections and
clip claims — :mod:`mellow.listen.judging`), and the keeper (writes clips and the stream, runs the watchdog,
the disk limit and ``--on-detect``).  A driver (``mellow listen``, the window) calls :meth:`start`, polls
:meth:`status` and drains :meth:`events` from a timer, and calls :meth:`stop`.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path
from typing import Any

from mellow.audio import clip_content_hash
from mellow.audio_io.levels import is_silent, to_dbfs
from mellow.errors import one_line
from mellow.files import is_disk_full
from mellow.generation import Engine
from mellow.listen.alerts import DetectCommand
from mellow.listen.events import ListenEvent, ListenStatus
from mellow.listen.judging import Judge, Keeping, Place
from mellow.listen.keeping import AudioGate, ClipBook, StreamKeeper
from mellow.listen.retention import enforce_limit
from mellow.listen.ring import Ring
from mellow.listen.session import Session, repair_sessions
from mellow.listen.settings import WINDOW_S, ListenSettings, check_folder
from mellow.listen.sources import InputSource, now
from mellow.listen.windows import WindowSchedule
from mellow.recordings.zones import iso

KEEP_TICK_S = 0.25
"""The keeper writes kept audio (and fsyncs it) this often."""
LEVEL_S = 0.15
"""The level shown is the peak of this many recent seconds."""
RETENTION_EVERY_S = 5.0


class Listener:
    """Listen to ``source``, asking ``settings``' questions with ``engine``; sessions go under ``folder``."""

    def __init__(self, engine: Engine, source: InputSource, settings: ListenSettings, folder: Path) -> None:
        self.engine, self.source, self.settings = engine, source, settings
        self.folder = Path(folder).expanduser()
        self.session: Session | None = None
        self.ring: Ring | None = None
        self._events: queue.SimpleQueue[ListenEvent] = queue.SimpleQueue()
        self._events_lock = threading.Lock()
        self._stop = threading.Event()
        self._answered_all = threading.Event()
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []
        self._state, self._message, self._error = "idle", "", None
        self._silent_from = 0
        self._silence_told = False
        self._checked = 0
        self._alert_lock = threading.Lock()
        self._over_limit = False  # said so once, until the kept audio fits again

    # ------------------------------------------------------------------------------------------- lifecycle
    def start(self, answer_thread: bool = True) -> Session:
        """Repair what earlier sessions left, open the input, create the session folder and start.  With
        ``answer_thread`` False the caller runs :meth:`run` on its own (model) thread.  Raises
        :class:`~mellow.listen.sources.SourceError` or ListenSetupError (one line) when it cannot start."""
        check_folder(self.folder)
        repaired = repair_sessions(self.folder)
        self.source.open()
        try:
            session = self._build()
        except BaseException:
            self.source.stop()
            raise
        ring = self.ring
        assert ring is not None
        for line in repaired:
            self._note("repaired", line)
        self.source.start(ring, self._from_source)
        self._state = "listening"
        self._note("started", f"listening to {self.source.label} ({ring.rate} Hz, {ring.channels} ch); "
                   f"session {session.name}")
        keeper = threading.Thread(target=self._keep, name="mellow-listen-keeper", daemon=True)
        self._threads = [keeper]
        if answer_thread:
            self._threads.append(threading.Thread(target=self.run, name="mellow-listen-answers", daemon=True))
        for t in self._threads:
            t.start()
        return session

    def _build(self) -> Session:
        """The ring, the session folder and the parts that fill them (see the module docstring)."""
        s = self.settings
        ring = self.ring = Ring(self.source.rate, self.source.channels, s.ring_s)
        session = self.session = Session(self.folder, now(), self._info())
        self.gate = AudioGate(private=bool(s.privacy_prompt))
        self.alerts = DetectCommand(s.on_detect, str(session.dir)) if s.on_detect else None
        self.clips = ClipBook(session.clips_dir, ring, self.gate, s.pre_s, s.post_s, self._alert, self._note)
        self.stream = StreamKeeper(session.stream_dir, ring, self.gate, self._note) if s.keep_stream else None
        limit = None if s.duration_s is None else round(s.duration_s * ring.rate)
        self.schedule = WindowSchedule(round(WINDOW_S * ring.rate), round(s.hop_s * ring.rate),
                                       round(s.max_lag_s * ring.rate), limit)
        keeping = Keeping(session, self.gate, self.clips, self._note, self._post,
                          self._alert if self.alerts is not None else None)
        self.judge = Judge(self.engine, ring, s, self._place_of(ring), keeping)
        session.save_info(model=self.judge.answerer.model_id)
        return session

    def _place_of(self, ring: Ring) -> Place:
        """Where rows say a window is: in the input file (``--input``), in the kept stream, or at its time in
        the session (a device whose stream is not kept)."""
        session, stream = self.session, self.stream
        assert session is not None
        path = getattr(self.source, "path", None)
        if isinstance(path, Path):
            content = clip_content_hash(path)
            return lambda frame: (path, frame / ring.rate, content)
        if stream is not None:
            return lambda frame: (*stream.location(frame), "")
        return lambda frame: (session.dir, frame / ring.rate, "")

    def _info(self) -> dict[str, Any]:
        ring = self.ring
        assert ring is not None
        return {"pid": os.getpid(), "input": self.source.label, "rate": ring.rate, "channels": ring.channels,
                "settings": self.settings.to_dict()}

    def stop(self, timeout: float | None = None) -> bool:
        """Stop after the window in flight; clips are closed where the input stopped.  True when finished."""
        if self.ring is None:  # never started
            self._done.set()
        if self._state in ("listening", "device-lost"):
            self._state = "stopping"
        self._stop.set()
        return self._done.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the listener has finished (the input ended, the duration passed, stopped or failed)."""
        return self._done.wait(timeout)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    # ------------------------------------------------------------------------------------------- answering
    def run(self) -> None:
        """The answering loop (see the module docstring); returns when the listener stops."""
        ring = self.ring
        assert ring is not None
        try:
            while not self._stop.is_set():
                due = self.schedule.due(ring, self.judge.answerer.batch_size)
                self.judge.not_answered(due.skipped, "skipped")
                self.judge.not_answered(due.lost, "lost")
                if due.ready:
                    self.judge.answer(due.ready)
                elif self._input_over(ring):
                    self.judge.not_answered(self.schedule.finish(ring), "lost")
                    break
                else:
                    ring.wait_for(self.schedule.next_start + self.schedule.window, 0.2)
                self.gate.settle(self.schedule.decided)
        except Exception as exc:  # noqa: BLE001 - the listener stops with the reason, keeping what it has
            self._fail(exc)
        finally:
            self.gate.settle(ring.end)
            self._answered_all.set()

    def _input_over(self, ring: Ring) -> bool:
        limit = self.schedule.limit
        return self.source.ended or (limit is not None and ring.end >= limit)

    # ------------------------------------------------------------------------------------------- keeping
    def _keep(self) -> None:
        last_retention = 0.0
        try:
            while not self._answered_all.wait(KEEP_TICK_S):
                self._keep_once()
                if time.monotonic() - last_retention > RETENTION_EVERY_S:
                    self._retain()
                    last_retention = time.monotonic()
            self.source.stop()
            self._keep_once(final=True)
            self._retain()
        except Exception as exc:  # noqa: BLE001
            self._fail(exc)
            self._answered_all.wait()  # the answering thread stops after its batch
        finally:
            self._finish()

    def _keep_once(self, final: bool = False) -> None:
        self.clips.work(final)
        if self.stream is not None:
            self.stream.work(final)
        self._watch_silence()
        if self.alerts is not None:
            with self._alert_lock:
                problems = self.alerts.close() if final else self.alerts.poll()
            for line in problems:
                self._note("alert", line)

    def _retain(self) -> None:
        limit = self.settings.max_disk
        if limit is None:
            return
        busy = self.clips.open_paths() | (self.stream.open_paths() if self.stream else set())
        budget = limit.budget(self.folder)
        removed, total = enforce_limit(self.folder, budget, self.settings.keep_last, busy)
        told = self._over_limit
        for path in removed:
            self._note("removed", f"disk limit {limit.text()}: removed {path.parent.parent.name}/"
                       f"{path.parent.name}/{path.name}", {"file": str(path)})
        over, self._over_limit = total > budget, total > budget
        if over and not told:
            self._note("limit", f"the kept audio ({total / 1e6:.1f} MB) is over the disk limit "
                       f"({limit.text()}) but only the newest clips of each question are left")

    def _watch_silence(self) -> None:
        """The dead-microphone watchdog, over input time (a device away does not count as silence)."""
        ring = self.ring
        assert ring is not None
        end = ring.end
        start = max(self._checked, ring.start)
        if end > start:
            peak = float(abs(ring.read(start, end)).max())
            if not is_silent(to_dbfs(peak)):
                self._silent_from = end
                if self._silence_told:
                    self._note("sound-back", f"sound is coming in again from {self.source.label}")
                self._silence_told = False
        self._checked = end
        silent_s = (end - self._silent_from) / ring.rate
        if silent_s >= self.settings.silence_after_s and not self._silence_told:
            self._silence_told = True
            self._note("silence", f"the input {self.source.label} has been silent (below -60 dBFS) for "
                       f"{silent_s:.0f} s: is the microphone dead, muted or unplugged?")

    def _alert(self, row: dict[str, Any]) -> None:
        if self.alerts is not None:
            with self._alert_lock:
                problems = self.alerts.run(row)
            for line in problems:
                self._note("alert", line)

    # ------------------------------------------------------------------------------------------- reporting
    def _from_source(self, kind: str, text: str) -> None:
        if kind == "device-lost":
            self._state = "device-lost"
        elif kind == "device-back" and self._state == "device-lost":
            self._state = "listening"
        self._note(kind, text)

    def _note(self, kind: str, text: str, details: dict[str, Any] | None = None) -> None:
        """Record an event: the events file (not rows: they are in rows.jsonl), the queue, the status line."""
        event = ListenEvent(kind, text, iso(now()), None, dict(details or {}))
        self._post(event)
        if kind not in ("clip", "started"):
            self._message = text
        session = self.session
        if session is not None:
            with self._events_lock:
                try:
                    session.events.append({"at": event.at, "kind": kind, "text": text, **event.details})
                except OSError:
                    pass  # a full disk is reported by the rows; events are a convenience

    def _post(self, event: ListenEvent) -> None:
        self._events.put(event)

    def events(self) -> list[ListenEvent]:
        """The events since the last call, oldest first (never blocks)."""
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    def status(self) -> ListenStatus:
        """A snapshot (see :class:`ListenStatus`)."""
        ring, judge = self.ring, getattr(self, "judge", None)
        if ring is None or judge is None:
            return ListenStatus(self._state, self.source.label, message=self._message, error=self._error)
        end = ring.end
        return ListenStatus(
            state=self._state, source=self.source.label, session=self.session.name if self.session else "",
            heard_s=end / ring.rate, level=min(1.0, ring.peak(LEVEL_S)), answered=judge.answered,
            skipped=judge.skipped, lost=judge.lost, detections=judge.detections, clips=self.clips.finished,
            lag_s=max(0.0, (end - judge.answered_until) / ring.rate) if judge.answered else 0.0,
            load=judge.load, latency_s=judge.latency_s, silent_s=(end - self._silent_from) / ring.rate,
            message=self._message, error=self._error)

    def _fail(self, exc: BaseException) -> None:
        from mellow.errors import user_message

        self._error = user_message(exc, "listening")
        if isinstance(exc, OSError) and is_disk_full(exc):
            where = self.session.dir if self.session is not None else self.folder
            self._error = f"the disk holding {where} is full; listening stopped (what was written is kept)"
        elif isinstance(exc, OSError):
            self._error = f"listening stopped: {one_line(exc)}"
        self._state = "failed"
        self._stop.set()
        self._post(ListenEvent("error", self._error, iso(now())))

    def _finish(self) -> None:
        judge = getattr(self, "judge", None)
        counts = {} if judge is None else {"answered": judge.answered, "skipped": judge.skipped,
                                           "lost": judge.lost, "detections": judge.detections}
        if self.session is not None:
            try:
                self.session.close(ended=iso(now()), error=self._error, **counts)
            except OSError as exc:
                self._error = self._error or f"cannot finish the session: {one_line(exc)}"
        if self._state != "failed":
            self._state = "finished"
        self._post(ListenEvent("ended", "listening ended" if self._error is None else self._error,
                               iso(now()), None, counts))
        self._done.set()
