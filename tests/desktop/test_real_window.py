"""The app in a real X11 window (Xvfb, Qt's xcb plugin), photographed as a user would see it.

Needs Xvfb and ImageMagick's ``import`` (`.ci/run` installs them with the xcb libraries the README names);
skips locally without them, fails in CI (``CI=true``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from mellow_desktop.core.package_data import samples_dir
from tests.helpers.paths import ROOT
from tests.helpers.processes import child_env
from tests.helpers.required import component_missing

pytestmark = pytest.mark.subprocess

SAMPLES = samples_dir()


def _require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        message = f"{tool} is not installed (apt-get install xvfb imagemagick)"
        component_missing(message)
    return found


@pytest.fixture
def x_display() -> str:
    """A fresh Xvfb server; yields its DISPLAY name."""
    xvfb = _require("Xvfb")
    read_end, write_end = os.pipe()
    args = [xvfb, "-displayfd", str(write_end), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"]
    proc = subprocess.Popen(args, pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    try:
        assert number.isdigit(), "Xvfb did not report its display number"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _screenshot(display: str, path: Path) -> QImage:
    subprocess.run([_require("import"), "-display", display, "-window", "root", str(path)], check=True,
                   capture_output=True, timeout=30)
    return QImage(str(path))


def _distinct_colours(image: QImage, step: int = 20) -> int:
    xs, ys = range(0, image.width(), step), range(0, image.height(), step)
    return len({image.pixel(x, y) for x in xs for y in ys})


def test_main_py_draws_a_real_window_under_xvfb(x_display: str, tmp_path: Path) -> None:
    empty = _screenshot(x_display, tmp_path / "empty.png")
    assert _distinct_colours(empty) == 1  # a bare X screen is one colour
    env = child_env(tmp_path, DISPLAY=x_display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path / "home"),
                    XDG_CONFIG_HOME=str(tmp_path / "config"))
    args = [sys.executable, "main.py", str(SAMPLES / "birdsong.flac"), str(SAMPLES / "hum.flac"),
            "--quit-after", "20"]
    app = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shot, colours = tmp_path / "window.png", 1
    try:
        deadline = time.monotonic() + 18
        while time.monotonic() < deadline and app.poll() is None:
            time.sleep(1.0)
            colours = _distinct_colours(_screenshot(x_display, shot))
            if colours > 200:  # window, waveforms and spectrograms drawn
                break
        out, err = app.communicate(timeout=60)
    finally:
        if app.poll() is None:
            app.kill()
    assert "could not load the Qt platform plugin" not in err, err[-2000:]
    assert app.returncode == 0, err[-2000:]
    assert "QThread: Destroyed" not in err
    assert colours > 200, f"the screen shows only {colours} colours: the window was not drawn"
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1600, 1000)
