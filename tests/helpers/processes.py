"""Child processes of the tests: their environment, and ``python -m mellow`` run from this checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

APP_CHILD = Path(__file__).resolve().with_name("app_child.py")  # the real main window, driven (see its doc)


def child_env(tmp_path: Path | None = None, **extra: str) -> dict[str, str]:
    """This process's environment for a child: this checkout first on PYTHONPATH, offline, offscreen, one
    thread, unbuffered output; with ``tmp_path`` its own data folder and Hugging Face cache under it.

    XDG_CONFIG_HOME stays: libpulse finds its cookie there (without it PortAudio lists no devices); app
    children get their QSettings ini file as an argument instead.
    """
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        HF_HUB_OFFLINE="1",
        QT_QPA_PLATFORM="offscreen",
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    if tmp_path is not None:
        env.update(MELLOW_DATA_DIR=str(tmp_path / "data"), HF_HOME=str(tmp_path / "hf"))
    env.update(extra)
    return env


def offline_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A user with nothing installed and no network, in this process (for in-process ``main()`` calls) and
    in the returned child environment alike: data folder and Hugging Face cache under ``tmp_path``."""
    monkeypatch.setenv("MELLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    return child_env()


def run_mellow(args: Sequence[str], env: dict[str, str], timeout: float = 600,
               **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``python -m mellow ARGS`` run from the checkout to its end, its output captured as text."""
    return subprocess.run([sys.executable, "-m", "mellow", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
