"""Waiting for something to happen: a clip panel to finish loading, a child process to write its output."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

TIMEOUT_MS = 30000  # a clip panel's load, or an answer of the tiny model, on a loaded 2-core machine


def wait_loaded(
    qtbot: Any, panel: Any, path: Path | None = None, facts: bool = True, timeout: int = 20000
) -> None:
    """Wait until ``panel`` shows ``path`` (and its measurements when ``facts``)."""

    def ready() -> None:
        s = panel.state()
        assert s is not None and not panel.is_loading()
        if path is not None:
            assert s.path == Path(path)
        if facts:
            assert s.facts is not None

    qtbot.waitUntil(ready, timeout=timeout)


def settled(panel: Any) -> Callable[[], None]:
    """A qtbot.waitUntil check: ``panel`` finished opening and shows an error or a measured clip."""

    def check() -> None:
        assert not panel.is_loading()
        state = panel.state()
        assert panel.error_text() or (state is not None and state.facts is not None)

    return check


def wait_for_lines(proc: subprocess.Popen, out: Path, count: int, timeout: float = 300) -> None:
    """Wait until ``out`` holds ``count`` newlines (rows written by ``proc``, which is still running).
    An AssertionError with ``proc``'s stderr when it ended first (or is killed after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.005)
    what = "ended" if proc.poll() is not None else f"wrote fewer than {count} lines in {timeout:g} s"
    proc.kill()
    raise AssertionError(f"the process {what} before it could be stopped: {proc.stderr.read()!r}")
