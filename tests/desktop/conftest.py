"""Fixtures for the desktop tests (pytest-qt, offscreen).

Every test gets its own data dir (``MELLOW_DATA_DIR``), its own QSettings ini file and its own history
database. An autouse fixture fails any test that leaves a QThread running or a QTimer active behind it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QThread, QThreadPool, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from shiboken6 import isValid  # noqa: E402

from mellow_desktop.core.history_store import HistoryStore  # noqa: E402
from mellow_desktop.qt.qt_compat import guard_refcount_bug  # noqa: E402
from tests.helpers.audio_files import write_noise, write_tone  # noqa: E402

guard_refcount_bug()  # PySide6 6.12.0 would otherwise abort the test process after a few hundred emits


# ----------------------------------------------------------------------------------------------- isolation
@pytest.fixture(autouse=True)
def isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data dir and an empty Hugging Face cache per test; downloads go to a closed local port.

    (HF_HUB_OFFLINE is not used: huggingface_hub reads it once at import, which would leak into later tests.)
    """
    data = tmp_path / "data"
    monkeypatch.setenv("MELLOW_DATA_DIR", str(data))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    return data


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """QSettings in an ini file of this test's own."""
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def _leftovers(app: QApplication) -> tuple[list[str], list[str]]:
    threads, timers = [], []
    for obj in gc.get_objects():
        kind = type(obj)
        if issubclass(kind, QThread) and isValid(obj) and obj.isRunning():
            threads.append(obj.objectName() or repr(obj))
        elif issubclass(kind, QTimer) and isValid(obj) and obj.isActive():
            timers.append(f"{obj.objectName() or 'QTimer'} (parent {type(obj.parent()).__name__})")
    for w in app.topLevelWidgets():
        for t in w.findChildren(QThread):
            if t.isRunning():
                threads.append(t.objectName() or repr(t))
        for t in w.findChildren(QTimer):
            if t.isActive() and w.isVisible():
                timers.append(f"{t.objectName() or 'QTimer'} in visible {type(w).__name__}")
    return sorted(set(threads)), sorted(set(timers))


@pytest.fixture(autouse=True)
def no_threads_or_timers_left(qapp: QApplication) -> Iterator[None]:
    """Fail the test if it leaves a QThread running or a QTimer active."""
    yield
    QThreadPool.globalInstance().waitForDone(15000)
    qapp.processEvents()
    threads, timers = _leftovers(qapp)
    if threads or timers:
        pytest.fail(f"test left running QThreads {threads} / active QTimers {timers}", pytrace=False)


# ----------------------------------------------------------------------------------------------- audio files
@pytest.fixture
def long_tone(tmp_path: Path) -> Path:
    """15 s of 1 kHz at 16 kHz, mono: long enough to move the 10 s window."""
    return write_tone(tmp_path / "long tone.wav", 15.0, 16000, freq=1000.0)


@pytest.fixture
def short_stereo(tmp_path: Path) -> Path:
    """3 s of 440 Hz at 44.1 kHz, stereo: repeated to fill 10 s and mixed to mono."""
    return write_tone(tmp_path / "short-stereo.wav", 3.0, 44100, freq=440.0, channels=2)


@pytest.fixture
def noise_clip(tmp_path: Path) -> Path:
    """4 s of white noise at 32 kHz (FLAC)."""
    return write_noise(tmp_path / "noise.flac", 4.0, 32000, seed=1, level=0.2)


# ----------------------------------------------------------------------------------------------- windows
@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    s = HistoryStore.open(tmp_path / "history.sqlite3")
    yield s
    s.close()


@pytest.fixture
def make_window(qtbot: Any, settings: QSettings, store: HistoryStore) -> Iterator[Callable[..., Any]]:
    """Factory of main windows on this test's settings and store; all are closed at the end."""
    from mellow_desktop.qt.main_window import MainWindow

    made = []

    def make(**kwargs: Any) -> MainWindow:
        w = MainWindow(settings=kwargs.pop("settings", settings), store=kwargs.pop("store", store), **kwargs)
        qtbot.addWidget(w)
        w.resize(1400, 900)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        if isValid(w):
            w.close()


@pytest.fixture
def window(make_window: Callable[..., Any]) -> Any:
    return make_window()


# ----------------------------------------------------------------------------------------------- the model
@pytest.fixture
def ready_window(window: Any, qtbot: Any, tiny_engine: Any) -> Any:
    """A window whose worker holds the tiny engine and whose prompt box counts tokens."""
    window.model.load_custom(lambda progress: tiny_engine, model_id="tiny (recipe weights)")
    window.prompt.set_tokenizer(
        tiny_engine.tokenizer.count_tokens if hasattr(tiny_engine, "tokenizer") else None
    )
    qtbot.waitUntil(window.model.is_ready, timeout=20000)
    return window
