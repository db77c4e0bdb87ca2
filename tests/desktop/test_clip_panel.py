"""Clip panels with real files: drawing, the analysis window, drag-and-drop, bad files, swap, comparison."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from mellow_desktop.core.clip_analysis import mel_centers_hz
from tests.helpers.waits import wait_loaded


def test_open_draws_envelope_and_model_spectrogram(qtbot, window, long_tone: Path) -> None:
    panel = window.panel_a
    panel.open_file(long_tone)
    wait_loaded(qtbot, panel, long_tone)

    x, y = panel.waveform.drawn_data()
    # 15 s at 16 kHz is more than the overview's bins: a min/max envelope drawn as vertical pairs.
    assert x.size == y.size and x.size % 2 == 0 and x.size > 1000
    assert 0.0 <= x.min() and x.max() <= 15.0
    assert np.isclose(y.max(), 0.5, atol=0.01) and np.isclose(y.min(), -0.5, atol=0.01)

    image = panel.spectrogram.image_data()
    assert image.shape == (64, 1001)  # 64 mel bands x 1001 frames: the encoder's input layout
    loudest_band = int(np.argmax(image.mean(axis=1)))
    assert abs(mel_centers_hz()[loudest_band] - 1000.0) < 120.0
    assert panel.state().start_s == 0.0
    assert "16\u2009000 Hz" in panel.facts_label.text() and "mono" in panel.facts_label.text()
    assert window.comparison.cell_text("Dominant frequency", 0) in ("1000.0 Hz", "1.00 kHz")
    assert window.windowFilePath() == str(long_tone) and "Mellow Desktop" not in window.windowTitle()


def test_dragging_the_window_reanalyses_that_part(qtbot, window, tmp_path: Path) -> None:
    import soundfile as sf

    rate = 16000
    quiet, loud = np.zeros(5 * rate), 0.5 * np.sin(2 * np.pi * 2000 * np.arange(15 * rate) / rate)
    path = tmp_path / "silence-then-tone.wav"
    sf.write(path, np.concatenate([quiet, loud]), rate)
    panel = window.panel_b
    panel.open_file(path)
    wait_loaded(qtbot, panel, path, facts=False)
    before = panel.spectrogram.image_data().copy()

    with qtbot.waitSignal(panel.window_changed, timeout=10000):
        panel.waveform.region.setRegion((7.0, 17.0))  # what a mouse drag ends with
    state = panel.state()
    assert state.start_s == 7.0
    assert panel.waveform.region.getRegion() == (7.0, 17.0)
    after = panel.spectrogram.image_data()
    # The first window (0-10 s) is half silence; the new one (7-17 s) is all tone.
    sounding = lambda img: float(np.mean(img.max(axis=0) > -40.0))  # noqa: E731
    assert abs(sounding(before) - 0.5) < 0.02 and sounding(after) > 0.99
    assert "0:07" not in panel.window_label.text()  # below a minute: shown as seconds
    assert "7.00 s–17.00 s" in panel.window_label.text()

    # The engine is given that window.
    from mellow_desktop.core.session import clip_ref

    assert clip_ref(state).start_s == 7.0


def test_short_stereo_clip_says_repeated_and_mixed(qtbot, window, short_stereo: Path) -> None:
    panel = window.panel_a
    panel.open_file(short_stereo)
    wait_loaded(qtbot, panel, short_stereo, facts=False)
    text = panel.window_label.text()
    assert "repeated to 10 s" in text and "stereo mixed to mono" in text and "44.1 → 32 kHz" in text
    assert "repeated" in panel.waveform.note.textItem.toPlainText()
    assert not panel.waveform.region.movable
    seams = panel.spectrogram.seam_times()
    assert np.allclose(seams, [3.0, 6.0, 9.0], atol=1e-6)


def _drop(widget, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    with warnings.catch_warnings():  # PySide6 marks the QPoint constructor deprecated; it is the only one
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(
            pos.toPoint(),
            Qt.DropAction.CopyAction,
            mime,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        pos, Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, drop)
    assert drop.isAccepted()


def test_drop_a_file_on_a_panel(qtbot, window, noise_clip: Path) -> None:
    _drop(window.panel_b, noise_clip)
    wait_loaded(qtbot, window.panel_b, noise_clip)
    assert window.panel_b.name_label.text() == "noise.flac"
    assert window.panel_a.state() is None
    assert window.comparison.cell_text("Sample rate", 1) == "32\u2009000 Hz"


def test_bad_file_shows_error_and_keeps_previous_clip(qtbot, window, long_tone: Path, tmp_path: Path) -> None:
    panel = window.panel_a
    panel.open_file(long_tone)
    wait_loaded(qtbot, panel, long_tone)
    bad = tmp_path / "not audio.wav"
    bad.write_text("this is a text file, not a WAV\n")
    panel.open_file(bad)
    qtbot.waitUntil(lambda: panel.error_text() != "", timeout=10000)
    assert "not audio.wav" in panel.error_text()
    assert "still holds long tone.wav" in panel.error_text()
    assert panel.state().path == long_tone
    assert panel.name_label.text() == "long tone.wav"
    assert "not audio.wav" in window.statusBar().currentMessage()

    panel.open_file(tmp_path / "missing.wav")
    qtbot.waitUntil(lambda: "missing.wav" in panel.error_text(), timeout=10000)
    assert panel.state().path == long_tone


def test_swap_and_differences(qtbot, window, long_tone: Path, noise_clip: Path) -> None:
    window.panel_a.open_file(long_tone)
    window.panel_b.open_file(noise_clip)
    wait_loaded(qtbot, window.panel_a, long_tone)
    wait_loaded(qtbot, window.panel_b, noise_clip)
    assert window.comparison.cell_text("Duration", 2) == "+11.00 s"
    window.swap_clips()
    assert window.panel_a.state().path == noise_clip and window.panel_b.state().path == long_tone
    assert window.comparison.cell_text("Duration", 2) == "-11.00 s"
    window.panel_a.clear()
    assert window.panel_a.state() is None
    assert window.comparison.cell_text("Duration", 2) == ""


def test_spectrogram_stft_mode_and_hover(qtbot, window, long_tone: Path) -> None:
    panel = window.panel_a
    panel.open_file(long_tone)
    wait_loaded(qtbot, panel, long_tone, facts=False)
    assert panel.spectrogram.describe_point(2.0, 20.5).startswith("t = 2.00 s · f = ")
    window.set_spectrogram_mode("stft")
    image = panel.spectrogram.image_data()
    assert image.shape == (513, 1001)
    assert int(np.argmax(image.mean(axis=1))) == 32  # 1 kHz = bin 32 of 1024 at 32 kHz
    assert "f = 1 kHz" in panel.spectrogram.describe_point(5.0, 1000.0)
    assert panel.spectrogram.describe_point(12.0, 1000.0) == ""  # outside the window


def test_zooming_in_draws_a_finer_envelope_and_double_click_fits(qtbot, window, long_tone: Path) -> None:
    panel = window.panel_a
    panel.open_file(long_tone)
    wait_loaded(qtbot, panel, long_tone, facts=False)
    overview_x, _ = panel.waveform.drawn_data()
    vb = panel.waveform.getPlotItem().getViewBox()
    vb.setXRange(2.0, 3.0, padding=0)

    def detailed() -> None:
        x, _ = panel.waveform.drawn_data()
        assert x.size > 1000 and x.min() >= 2.0 - 1e-6 and x.max() <= 3.0

    qtbot.waitUntil(detailed, timeout=10000)  # 2000 bins over 1 s instead of ~270 overview bins
    qtbot.mouseDClick(panel.waveform.viewport(), Qt.MouseButton.LeftButton)
    x0, x1 = vb.viewRange()[0]
    assert x0 <= 0.01 and x1 >= 14.99
    qtbot.waitUntil(lambda: panel.waveform.drawn_data()[0].size == overview_x.size, timeout=10000)
