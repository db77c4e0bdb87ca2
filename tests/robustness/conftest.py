"""Fixtures of the robustness tests: an offline data dir and a real main window for the in-process tests.

The child processes (``tests/helpers/app_child.py``, ``python -m mellow``) get their environment from
``tests.helpers.processes.child_env``: their own data dir and settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from mellow_desktop.qt.qt_compat import guard_refcount_bug  # noqa: E402

guard_refcount_bug()  # as app.main() does: PySide6 6.12.0 would abort long Qt runs


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
