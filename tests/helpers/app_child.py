"""Run the real Mellow Desktop main window (offscreen) in a child process and drive it like a user.

The robustness tests start this script with ``python tests/helpers/app_child.py MODE ...`` and read
``EVENT {json}`` lines from its stdout; they kill it, or let it close its window, and then inspect what it
left on disk (history database, recordings).

Modes:
  crash       answer ``--questions`` questions (each stored in the history), then start a long answer and
              keep generating until the parent kills the process
  close-gen   start a long answer, close the window after the first piece, exit with app.exec()'s code
  close-rec   record from ``--record-device`` for ``--record-s`` seconds, then close the window
  load        answer ``--questions`` questions in a row; report RSS / threads / fds at 10 and at the end
  load-core   the same without a window: the worker's engine.stream + HistoryStore.add calls only
  open-long   open ``--clip-a`` (a 2-hour file) in Clip A; report the peak RSS growth and how long it took
  open-unreadable  open ``--clip-b``, then (as 'nobody' if root) the unreadable ``--clip-a`` into Clip A
  no-audio    started with a ``sounddevice`` that cannot load PortAudio: report what the window says about
              recording, then load the clips and answer one question
  scan-crash  open ``--clip-a`` in Clip A and scan it from the window's Scan… dialog (hop ``--hop-s``; each
              batch ``--batch-size`` windows of ``--max-len`` tokens), reporting every stored batch, until the
              parent kills the process
  scan-resume re-open the one scan of the history from the History list, press Resume in the scan pane, wait
              until it ends, then close the window

The model is the tiny test config with recipe-v1 weights and the real SmolLM2 tokenizer, loaded through
``ModelManager.load_custom`` on the app's engine thread, exactly as a checkpoint would be.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psutil  # noqa: E402
import torch  # noqa: E402
from PySide6.QtCore import QEventLoop, QObject, QSettings, Qt, QTimer, Slot  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.helpers.engines import tiny_engine_factory  # noqa: E402

torch.set_num_threads(1)


def emit(event: str, **data: Any) -> None:
    """One ``EVENT {...}`` line on stdout, flushed at once (the parent may kill us any moment)."""
    print("EVENT " + json.dumps({"event": event, **data}), flush=True)


def fail(event: str, code: int, **data: Any) -> None:
    """Report a step that did not work, close the windows (joining their threads) and exit with ``code``."""
    emit(event, **data)
    app = QApplication.instance()
    if app is not None:
        for w in app.topLevelWidgets():
            w.close()
    sys.exit(code)


def pump(app: QApplication, cond: Callable[[], bool], timeout: float, what: str) -> None:
    """Process Qt events until ``cond()`` holds; fail with status 3 after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            fail("timeout", 3, what=what)
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        time.sleep(0.002)


def usage() -> dict[str, Any]:
    """Memory, threads and file descriptors of this process (after a full garbage collection)."""
    gc.collect()
    proc = psutil.Process()
    return {
        "rss": proc.memory_info().rss,
        "py_threads": threading.active_count(),
        "os_threads": proc.num_threads(),
        "fds": proc.num_fds(),
    }


class Driver:
    """The window and the steps a user would take."""

    def __init__(self, args: argparse.Namespace) -> None:
        from mellow_desktop.qt.main_window import MainWindow

        self.args = args
        self.app = QApplication.instance() or QApplication([sys.argv[0]])
        settings = QSettings(str(Path(args.settings)), QSettings.Format.IniFormat)
        self.window = MainWindow(settings=settings)  # opens the history in MELLOW_DATA_DIR, as the app does
        self.window.resize(1200, 800)
        self.window.show()
        emit("history", rows=len(self.window.store), recovery=self.window.store.recovery_message)
        self.pieces = 0
        self.window.host.worker.piece.connect(self._on_piece)

    def _on_piece(self, _qid: int, _text: str) -> None:
        self.pieces += 1

    def load_model(self) -> None:
        w = self.window
        w.model.load_custom(tiny_engine_factory(self.args.gguf, self.args.device),
                            model_id="tiny (recipe weights)")
        pump(self.app, lambda: w.model.state in ("ready", "failed"), 120, "model")
        emit("model", state=w.model.state, description=w.model.description)

    def open_clips(self) -> None:
        w = self.window
        w.panel_a.open_file(self.args.clip_a)
        w.panel_b.open_file(self.args.clip_b)

        def loaded() -> bool:
            return all(p.state() is not None and not p.is_loading() for p in (w.panel_a, w.panel_b))

        pump(self.app, loaded, 60, "clips")
        emit("clips", a=str(w.panel_a.state().path), b=str(w.panel_b.state().path))

    def ask_and_wait(self, prompt: str, max_len: int) -> None:
        """Ask one question and wait until its answer is stored in the history."""
        w = self.window
        w.generation = replace(w.generation, max_len=max_len)
        before = len(w.store)
        w.ask(prompt)
        if not w.host.busy():
            fail("not-asked", 4, notices=w.chat.notices()[-1:])
        pump(self.app, lambda: not w.host.busy() and len(w.store) > before, 120, "answer")

    def start_long_answer(self) -> None:
        """Ask for a long answer and return once its first piece has arrived."""
        w = self.window
        w.generation = replace(w.generation, max_len=self.args.long_len)
        seen = self.pieces
        w.ask("explain the difference between the two audios in detail.")
        pump(self.app, lambda: self.pieces > seen, 120, "first piece")

    def close_and_exit(self) -> None:
        """Close the window from the event loop (as a user's click would) and leave with exec()'s code."""
        QTimer.singleShot(0, self.window.close)
        code = self.app.exec()
        emit("exit", code=int(code))
        sys.exit(int(code))


PROMPTS = ("caption the audio.", "is there a cat in the audio? answer yes or no",
           "what is the difference between the two audios?")


def run_crash(d: Driver) -> None:
    d.load_model()
    d.open_clips()
    for i in range(d.args.questions):
        d.ask_and_wait(PROMPTS[i % len(PROMPTS)], d.args.max_len)
        emit("stored", n=len(d.window.store), answer=d.window.store.all()[-1].answer)
    d.start_long_answer()
    emit("generating", pieces=d.pieces)
    pump(d.app, lambda: False, 600, "being killed")


def run_close_gen(d: Driver) -> None:
    d.load_model()
    d.open_clips()
    d.start_long_answer()
    emit("generating", pieces=d.pieces)
    d.close_and_exit()


def run_close_rec(d: Driver) -> None:
    panel = d.window.panel_a
    panel.input_device = d.args.record_device
    panel.set_recording_unavailable(None)
    panel.toggle_recording()
    if not panel.is_recording():
        fail("not-recording", 4, error=panel.error_text())
    from mellow_desktop.core import paths

    t0 = time.monotonic()
    pump(d.app, lambda: time.monotonic() - t0 > d.args.record_s, d.args.record_s + 10, "recording")
    files = sorted(paths.recordings_dir().glob("*.wav"), key=lambda p: p.stat().st_mtime)
    emit("recording", path=str(files[-1]) if files else "", files=len(files), seconds=time.monotonic() - t0)
    d.close_and_exit()


def run_load(d: Driver) -> None:
    d.load_model()
    d.open_clips()
    for i in range(1, d.args.questions + 1):
        d.ask_and_wait(PROMPTS[i % len(PROMPTS)], d.args.max_len)
        if i in (10, d.args.questions) or i % 50 == 0:
            emit("sample", question=i, stored=len(d.window.store), chat_entries=len(d.window.chat.entries()),
                 qobjects=len(d.window.findChildren(QObject)), **usage())
    d.close_and_exit()


def run_no_audio(d: Driver) -> None:
    from mellow.audio_io import devices

    w = d.window
    w.start_background_tasks()  # what main() does: includes the audio check
    pump(d.app, lambda: not w.panel_a.record_button.isEnabled(), 30, "record disabled")
    reason = devices.recording_unavailable_reason(None)
    status = w.statusBar().currentMessage()
    w.panel_a.toggle_recording()  # a click that slipped through must not crash either
    emit("audio", reason=reason, portaudio=devices.portaudio_problem(),
         inputs=len(devices.list_input_devices()),
         buttons=[p.record_button.isEnabled() for p in (w.panel_a, w.panel_b)],
         tooltip=w.panel_a.record_button.toolTip(), status=status,
         panel_error=w.panel_a.error_text(), recording=w.panel_a.is_recording())
    d.load_model()
    d.open_clips()
    d.ask_and_wait("caption the audio.", d.args.max_len)
    emit("answered", n=len(w.store), answer=w.store.all()[-1].answer, status=w.store.all()[-1].status)
    d.close_and_exit()


def run_load_core(args: argparse.Namespace) -> None:
    """The worker's calls without any window: engine.stream + HistoryStore.add, ``--questions`` times."""
    from mellow.audio import Clip
    from mellow.generation import GenerationOptions
    from mellow_desktop.core import paths
    from mellow_desktop.core.history_store import HistoryRecord, HistoryStore

    engine = tiny_engine_factory(args.gguf, args.device)(lambda _msg: None)
    a, b = Clip(args.clip_a), Clip(args.clip_b)
    with HistoryStore.open(paths.history_db_path()) as store:
        for i in range(1, args.questions + 1):
            prompt = PROMPTS[i % len(PROMPTS)]
            text = "".join(engine.stream(a, b, prompt, GenerationOptions(max_len=args.max_len),
                                         threading.Event()))
            store.add(HistoryRecord(prompt=prompt, answer=text, clip_a=args.clip_a, clip_b=args.clip_b))
            if i in (10, args.questions) or i % 50 == 0:
                emit("sample", question=i, stored=len(store), **usage())
    emit("exit", code=0)


def rss_anon() -> int:
    """Anonymous resident memory of this process in bytes (memory-mapped file pages not included)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


def run_open_long(d: Driver) -> None:
    """Open ``--clip-a`` (a very long file) into Clip A; report how much anonymous memory that took at its
    peak (sampled every few ms: a full-length copy of the file would show) and how long it took."""
    w = d.window
    peak = {"anon": 0}

    def sample(cond: Callable[[], bool]) -> Callable[[], bool]:
        def check() -> bool:
            peak["anon"] = max(peak["anon"], rss_anon())
            return cond()

        return check

    t_settle = time.monotonic()
    pump(d.app, lambda: time.monotonic() - t_settle > 0.5, 5, "settle")
    base = rss_anon()
    t0 = time.monotonic()
    w.panel_a.open_file(d.args.clip_a)
    pump(d.app, sample(lambda: not w.panel_a.is_loading()), 300, "open")
    t_open = time.monotonic() - t0

    def measured() -> bool:
        state = w.panel_a.state()
        return bool(w.panel_a.error_text()) or (state is not None and state.facts is not None)

    pump(d.app, sample(measured), 600, "facts")
    state = w.panel_a.state()
    emit("opened", error=w.panel_a.error_text(), duration=state.info.duration if state else None,
         open_s=t_open, facts_s=time.monotonic() - t0, anon_growth=peak["anon"] - base)
    d.close_and_exit()


def run_open_unreadable(d: Driver) -> None:
    """Open ``--clip-b`` (readable) then, as the unprivileged user 'nobody' when started as root,
    ``--clip-a`` (no read permission) into Clip A; report the message and the clip kept."""
    w = d.window
    w.panel_a.open_file(d.args.clip_b)
    pump(d.app, lambda: not w.panel_a.is_loading() and w.panel_a.state() is not None, 60, "good clip")
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    w.panel_a.open_file(d.args.clip_a)
    pump(d.app, lambda: not w.panel_a.is_loading(), 60, "unreadable clip")
    state = w.panel_a.state()
    emit("opened", error=w.panel_a.error_text(), kept=str(state.path) if state else None, uid=os.geteuid())
    d.close_and_exit()


class ScanLog(QObject):
    """Reports the window's scan as the model's thread runs it: ``scan`` when it is stored, ``batch`` (plan
    indices answered, windows done) after each stored batch, ``ended`` with its status."""

    def __init__(self, window: Any) -> None:
        super().__init__()
        self.ended: list[str] = []
        window.host.worker.scan_started.connect(self.on_started)
        window.host.worker.scan_batch.connect(self.on_batch)
        window.scans.scan_ended.connect(self.on_ended)

    @Slot(object, object)
    def on_started(self, _job: Any, record: Any) -> None:
        emit("scan", id=record.id, n_windows=record.n_windows, status=record.status)

    @Slot(object, object)
    def on_batch(self, _job: Any, batch: Any) -> None:
        emit("batch", indices=[i for i, _ in batch.answered], done=batch.progress.done,
             total=batch.progress.total)

    @Slot(str)
    def on_ended(self, status: str) -> None:
        self.ended.append(status)
        emit("ended", status=status)


def small_batches(flow: Any, max_len: int, batch_size: int) -> None:
    """Make the scans the Scan… dialog starts use ``batch_size`` windows of ``max_len`` tokens (the dialog
    offers no batch size), so that there are many short batches for a kill to land between."""
    start = flow.start

    def start_small(record: Any, panel: Any = None, _batch: int | None = None, reuse: Any = None) -> bool:
        return start(replace(record, max_len=max_len), panel, batch_size, reuse)

    flow.start = start_small


def fill_scan_dialog(app: QApplication, hop_s: float, prompt: str, tries: int = 500) -> None:
    """Once the Scan… dialog is up: type ``prompt``, set the hop and press its Scan button."""
    from PySide6.QtWidgets import QDialogButtonBox

    from mellow_desktop.qt.dialogs.scan_dialog import ScanDialog

    dialog = next((x for x in app.topLevelWidgets() if isinstance(x, ScanDialog) and x.isVisible()), None)
    if dialog is None:
        if tries:
            QTimer.singleShot(10, lambda: fill_scan_dialog(app, hop_s, prompt, tries - 1))
        return
    dialog.prompt.setEditText(prompt)
    dialog.hop.setValue(hop_s)
    scan = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    QTest.mouseClick(scan, Qt.MouseButton.LeftButton)


SCAN_PROMPT = "is there a bird singing? answer yes or no"


def run_scan_crash(d: Driver) -> None:
    from mellow_desktop.qt.actions import find_action

    w = d.window
    d.load_model()
    w.panel_a.open_file(d.args.clip_a)
    pump(d.app, lambda: w.panel_a.state() is not None and not w.panel_a.is_loading(), 60, "clip A")
    log = ScanLog(w)
    small_batches(w.scans, d.args.max_len, d.args.batch_size)
    w.clips.focus("A")
    QTimer.singleShot(0, lambda: fill_scan_dialog(d.app, d.args.hop_s, SCAN_PROMPT))
    find_action(w, "scan").trigger()  # Scan… : returns once the dialog is accepted and the scan started
    if not w.scans.running():
        fail("not-scanning", 4, notices=w.chat.notices()[-1:])
    pump(d.app, lambda: bool(log.ended), 600, "being killed")
    d.close_and_exit()  # the scan ended before the kill: the parent sees the ``ended`` event


def scan_items(w: Any) -> list[Any]:
    """The scan entries of the History list."""
    from mellow_desktop.qt.widgets.history_scans import is_scan

    items = (w.history.list.item(i) for i in range(w.history.list.count()))
    return [it for it in items if is_scan(it)]


def run_scan_resume(d: Driver) -> None:
    """Double-click the scan in the History list, press Resume in the scan pane, wait until it ends."""
    w = d.window
    items = scan_items(w)
    if len(items) != 1:
        fail("listed", 4, texts=[it.text() for it in items])
    emit("listed", text=items[0].text())
    d.load_model()
    rect = w.history.list.visualItemRect(items[0])
    QTest.mouseClick(w.history.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(w.history.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    pump(d.app, lambda: w.scans.record is not None, 10, "scan opened")
    pump(d.app, lambda: w.panel_a.state() is not None and not w.panel_a.is_loading(), 60, "scanned clip")
    pane = w.scans.pane
    emit("opened", resume=pane.resume_button.isVisibleTo(pane), rows=pane.model.rowCount(),
         title=pane.title.text(), progress=pane.progress_label.text())
    log = ScanLog(w)
    QTest.mouseClick(pane.resume_button, Qt.MouseButton.LeftButton)
    pump(d.app, lambda: bool(log.ended), 300, "resumed scan")
    emit("resumed", status=log.ended[0], rows=pane.model.rowCount(), progress=pane.progress_label.text(),
         resume=pane.resume_button.isVisibleTo(pane), listed=[it.text() for it in scan_items(w)])
    d.close_and_exit()


MODES = {"crash": run_crash, "close-gen": run_close_gen, "close-rec": run_close_rec, "load": run_load,
         "no-audio": run_no_audio, "open-long": run_open_long,
         "open-unreadable": run_open_unreadable, "scan-crash": run_scan_crash, "scan-resume": run_scan_resume}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=sorted([*MODES, "load-core"]))
    p.add_argument("--settings", required=True, help="QSettings ini file")
    p.add_argument("--gguf", default="")
    p.add_argument("--device", default="cpu")
    p.add_argument("--clip-a", default="")
    p.add_argument("--clip-b", default="")
    p.add_argument("--questions", type=int, default=3)
    p.add_argument("--max-len", type=int, default=6)
    p.add_argument("--long-len", type=int, default=2000)
    p.add_argument("--record-device", default="pulse")
    p.add_argument("--record-s", type=float, default=2.5)
    p.add_argument("--hop-s", type=float, default=2.0)
    p.add_argument("--batch-size", type=int, default=2)
    args = p.parse_args()
    from mellow_desktop.qt.qt_compat import guard_refcount_bug

    guard_refcount_bug()  # as app.main() does (PySide6 6.12.0 loses references on every call)
    emit("started", pid=os.getpid())
    if args.mode == "load-core":
        run_load_core(args)
        return
    driver = Driver(args)
    try:
        MODES[args.mode](driver)
    except Exception as exc:  # report it and still close the window, so its threads are joined
        import traceback

        traceback.print_exc()
        fail("error", 5, error=f"{type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
