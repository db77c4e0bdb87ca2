"""The one action table (menus, keys, tooltips, help page) and the one job runner, in the real window."""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtGui import QAction, QKeySequence

from mellow.errors import AudioError
from mellow_desktop.qt.actions import ACTIONS, HELP_ORDER, MENUS, WINDOW_KEYS, key_text, shortcuts_html
from mellow_desktop.qt.jobs import JobRunner


def _actions(window: Any) -> dict[str, QAction]:
    return {a.objectName().removeprefix("action_"): a for a in window.findChildren(QAction)
            if a.objectName().startswith("action_")}


def test_every_action_of_the_table_is_in_the_window_once_with_its_keys_and_tooltip(window: Any) -> None:
    actions = _actions(window)
    listed = {n for _title, names in MENUS for n in names if n and ":" not in n}
    assert set(actions) == listed | set(WINDOW_KEYS) == set(ACTIONS)
    for name, action in actions.items():
        spec = ACTIONS[name]
        assert [k.toString() for k in action.shortcuts()] == [QKeySequence(k).toString() for k in spec.keys]
        assert action.toolTip().startswith(spec.tip)
        if key_text(name):  # (a standard key such as Quit may have no binding on this platform)
            assert action.toolTip().endswith(f"({key_text(name)})")
    # Ctrl+Enter is bound once: by the send action, both keys (main and keypad Enter).
    bound = [a for a in window.findChildren(QAction) if QKeySequence("Ctrl+Return") in a.shortcuts()]
    assert bound == [actions["send"]] and QKeySequence("Ctrl+Enter") in actions["send"].shortcuts()
    # The widgets' tooltips take their keys from the same table.
    assert window.swap_button.toolTip() == "Exchange Clip A and Clip B (Ctrl+Shift+S)"
    assert window.prompt.send_button.toolTip() == "Ask Mellow (Ctrl+Enter)"
    assert window.panel_a.open_button.toolTip().endswith("(Ctrl+O)")


def test_the_shortcuts_page_is_generated_from_the_table() -> None:
    page = shortcuts_html()
    for name in HELP_ORDER:
        assert f"<b>{key_text(name)}</b>" in page and (ACTIONS[name].help or ACTIONS[name].tip) in page
    assert page.count("<tr>") == len(HELP_ORDER)
    assert "<b>Ctrl+Enter</b>" in page and "<b>Esc</b>" in page and "<b>Space</b>" in page


def test_triggering_a_menu_action_runs_its_command(qtbot: Any, window: Any) -> None:
    calls = []
    window.panel_b.toggle_playback = lambda: calls.append("B")
    window.clips.focus("B")  # what a click on panel B does
    _actions(window)["play"].trigger()
    assert calls == ["B"]


def test_the_job_runner_reports_results_and_user_messages_on_the_gui_thread(qtbot: Any) -> None:
    runner = JobRunner()
    seen: list[tuple[str, object, bool]] = []
    worker_threads: list[threading.Thread] = []

    def work() -> int:
        worker_threads.append(threading.current_thread())
        return 42

    def bad() -> None:
        raise AudioError("cannot read x.wav as audio: format not recognised")

    def bug() -> None:
        raise KeyError("oops")

    def note(kind: str) -> Any:
        return lambda value: seen.append((kind, value, threading.current_thread() is threading.main_thread()))

    runner.submit(work, note("done"), note("failed"), "reading the file")
    def no_memory() -> None:
        raise MemoryError

    for job in (bad, bug, no_memory):
        runner.submit(job, note("done"), note("failed"), "reading the file")
    qtbot.waitUntil(lambda: len(seen) == 4, timeout=10000)
    assert worker_threads and worker_threads[0] is not threading.main_thread()
    assert sorted(seen, key=str) == sorted([
        ("done", 42, True),
        ("failed", "cannot read x.wav as audio: format not recognised", True),
        ("failed", "reading the file failed (KeyError: 'oops')", True),
        ("failed", "not enough memory for reading the file", True),
    ], key=str)
    relayed: list[tuple[Any, ...]] = []
    progress = runner.relay(lambda *args: relayed.append(args))
    job = runner.submit(lambda: progress("v0.ckpt", 1.0, 2.0), note("done"), note("failed"), "the download")
    qtbot.waitUntil(lambda: relayed == [("v0.ckpt", 1.0, 2.0)], timeout=10000)
    assert job.wait(5) and job.ended


def test_a_job_that_ends_after_its_window_is_gone_is_dropped_without_an_error(qtbot: Any, capfd: Any) -> None:
    """Closing a window while its file is still being read: the late result and progress are dropped
    (no "Signal source has been deleted" traceback from the pool thread, no callback on a deleted widget)."""
    from shiboken6 import delete

    runner = JobRunner()
    release, seen = threading.Event(), []
    progress = runner.relay(seen.append)

    def slow() -> int:
        release.wait(10)
        progress("late progress")
        return 1

    job = runner.submit(slow, seen.append, seen.append, "reading the file")
    delete(runner)  # the C++ object goes, as when the widget owning the runner is destroyed
    release.set()
    assert job.wait(10)
    qtbot.wait(50)
    assert seen == []
    err = capfd.readouterr().err
    assert "Signal source has been deleted" not in err and "Traceback" not in err
