"""Headless Chromium for the report tests: load a page, dump its DOM or take a screenshot.  Chromium missing
is a skip on a developer's machine and a failure in CI (:func:`tests.helpers.required.component_missing`)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.helpers.required import component_missing


def chromium() -> str:
    """The Chromium executable."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        component_missing("chromium is not installed (apt-get install -y chromium)")
    return found


def browse(page: Path, profile: Path, *args: str) -> str:
    """Load ``page`` in a fresh headless Chromium (profile folder ``profile``) with ``args``
    (``--dump-dom``, ``--screenshot=...``); returns its stdout."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", f"--user-data-dir={profile}", "--virtual-time-budget=3000", *args, page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout
