"""What the screenshot scripts share: a virtual screen (Xvfb, 1600x1000) with Qt's xcb plugin, the tiny model
with the recipe weights, waiting on the event loop, and photographing the screen (ImageMagick)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def x_server() -> tuple[subprocess.Popen, str]:
    """A started Xvfb and its display name (":N")."""
    read_end, write_end = os.pipe()
    args = ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"]
    proc = subprocess.Popen(args, pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        return proc, ":" + pipe.readline().strip()


def on_virtual_screen(work: Path, shoot: Callable[[str], None]) -> None:
    """Run ``shoot(display)`` on a fresh Xvfb, with Qt on xcb and the app's data folder and HOME under
    ``work`` (offline); the server is stopped afterwards."""
    xvfb, display = x_server()
    os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", MELLOW_DATA_DIR=str(work / "data"),
                      HOME=str(work / "home"), HF_HUB_OFFLINE="1")
    try:
        shoot(display)
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def wait(app: object, done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Turn the event loop until ``done()``; SystemExit naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)


def tiny_engine() -> Any:
    """An Engine on the CPU over the tiny configuration with the recipe weights and the offline tokenizer."""
    from mellow.generation import Engine
    from mellow.model.config import load_config
    from mellow.model.model import MellowModel
    from mellow.model.tokenizer import PromptTokenizer, find_offline_gguf
    from mellow.recipe import apply_recipe

    model = apply_recipe(MellowModel(load_config("tiny"))).eval()
    return Engine(model, PromptTokenizer.load(find_offline_gguf()), device="cpu")


def photograph(app: object, display: str, work: Path, out: Path, settle_s: float = 1.5) -> None:
    """Let the window settle for ``settle_s``, then write the whole screen to ``out`` (a 192-colour PNG)."""
    end = time.monotonic() + settle_s
    wait(app, lambda: time.monotonic() > end, settle_s + 5, "the redraw")
    raw = work / "raw.png"
    subprocess.run(["import", "-display", display, "-window", "root", str(raw)], check=True, timeout=60)
    subprocess.run(["convert", str(raw), "-colors", "192", f"PNG8:{out}"], check=True, timeout=60)
    print(f"wrote {out} ({out.stat().st_size // 1024} KB)")
