"""File ▸ Export window as WAV: the current 10 s at the file's own rate and channels, sample for sample."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from PySide6.QtGui import QAction

from mellow_desktop.qt.export_window import export_window_dialog
from tests.helpers.audio_files import write_recording as recording
from tests.helpers.waits import wait_loaded


def test_the_window_is_exported_at_the_files_rate_and_channels(window: Any, qtbot: Any,
                                                               tmp_path: Path) -> None:
    source = recording(tmp_path / "stereo 48k.wav", 45.0, rate=48000, channels=2)
    panel = window.panel_a
    panel.open_file(source)
    wait_loaded(qtbot, panel, source, facts=False)
    panel.set_window_start(30.0)
    qtbot.waitUntil(lambda: panel.state().start_s == 30.0, timeout=10000)
    assert window.findChild(QAction, "action_export_window") is not None  # File ▸ Export window as WAV…
    out = export_window_dialog(panel, window.notify, tmp_path / "window.wav")
    assert out == tmp_path / "window.wav" and "30.00 s–40.00 s" in window.chat.notices()[-1]
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.frames, info.subtype) == (48000, 2, 480000, "PCM_16")
    written, _ = sf.read(str(out), dtype="int16")
    original, _ = sf.read(str(source), dtype="int16", start=30 * 48000, stop=40 * 48000)
    assert np.array_equal(written, original)


def test_an_export_that_cannot_be_written_says_why_in_one_line(window: Any, qtbot: Any,
                                                               tmp_path: Path) -> None:
    source = recording(tmp_path / "a.wav", 20.0)
    window.panel_a.open_file(source)
    wait_loaded(qtbot, window.panel_a, source, facts=False)
    assert export_window_dialog(window.panel_a, window.notify, tmp_path / "no such folder" / "w.wav") is None
    message = window.chat.notices()[-1]
    assert "no such folder" in message and "\n" not in message
    assert export_window_dialog(window.panel_b, window.notify, tmp_path / "b.wav") is None
    assert "Open a clip in Clip B" in window.chat.notices()[-1]
