"""The spectrogram view: a fixed, settable dB colour scale with a colour bar, silence dark; the hover read-out
has a place of its own over the plot, so nothing moves on hover; its axes with and without a clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from mellow_desktop.qt.widgets.spectrogram_view import DB_RANGES, DB_UNITS
from tests.helpers.audio_files import write_noise
from tests.helpers.waits import wait_loaded


def _clips(tmp_path: Path) -> tuple[Path, Path]:
    silence = tmp_path / "silence.wav"
    sf.write(silence, np.zeros(32000 * 11), 32000, subtype="PCM_16")
    noise = tmp_path / "noise only.wav"
    write_noise(noise, 11.0, 32000, seed=0, level=0.05)
    return silence, noise


def _plot_center_color(view) -> QColor:
    vb = view.getPlotItem().getViewBox()
    center = view.mapFromScene(vb.sceneBoundingRect().center())
    return view.grab().toImage().pixelColor(center)


def test_fixed_db_scale_with_colour_bar_and_dark_silence(qtbot, window, tmp_path: Path) -> None:
    silence, noise = _clips(tmp_path)
    window.panel_a.open_file(silence)
    window.panel_b.open_file(noise)
    wait_loaded(qtbot, window.panel_a, silence, facts=False)
    wait_loaded(qtbot, window.panel_b, noise, facts=False)
    a, b = window.panel_a.spectrogram, window.panel_b.spectrogram
    qtbot.waitUntil(lambda: a.image_data() is not None and b.image_data() is not None)
    # The same scale for both, whatever their content (no rescaling per window).
    for view in (a, b):
        assert tuple(view.image.getLevels()) == DB_RANGES["mel"]
        assert DB_UNITS in view.color_bar.getAxis("left").labelText
    silent = _plot_center_color(a)
    assert silent.lightness() < 40, silent.name()  # digital silence is dark, not bright yellow
    noisy = _plot_center_color(b)
    assert noisy.lightness() > silent.lightness() + 40
    assert noisy.lightness() < 200  # quiet noise (-26 dBFS RMS) is not drawn saturated
    # The range can be set, per mode; the STFT has its own default.
    b.set_db_range(-100.0, -20.0)
    assert tuple(b.image.getLevels()) == (-100.0, -20.0) and b.db_range() == (-100.0, -20.0)
    assert _plot_center_color(b).lightness() > noisy.lightness()  # louder-looking on a lower scale
    window.set_spectrogram_mode("stft")
    assert tuple(b.image.getLevels()) == DB_RANGES["stft"]
    window.set_spectrogram_mode("mel")
    assert tuple(b.image.getLevels()) == (-100.0, -20.0)
    with pytest.raises(ValueError, match="low < high"):
        b.set_db_range(10.0, 10.0)


def _geometries(root: QWidget) -> dict[str, tuple[int, int, int, int]]:
    out = {}
    for i, w in enumerate(root.findChildren(QWidget)):
        g = w.geometry()
        out[f"{i}:{type(w).__name__}:{w.objectName()}"] = (g.x(), g.y(), g.width(), g.height())
    return out


def test_hovering_the_spectrogram_moves_nothing(qtbot, window, tmp_path: Path) -> None:
    window.resize(1100, 700)
    silence, noise = _clips(tmp_path)
    window.panel_a.open_file(silence)
    window.panel_b.open_file(noise)
    wait_loaded(qtbot, window.panel_a, silence)
    wait_loaded(qtbot, window.panel_b, noise)
    view = window.panel_b.spectrogram
    qtbot.wait(100)
    before = _geometries(window)
    readouts: list[str] = []
    view.readout.connect(readouts.append)
    vb = view.getPlotItem().getViewBox()
    view.scene().sigMouseMoved.emit(QPointF(vb.sceneBoundingRect().center()))
    qtbot.wait(100)
    assert readouts and readouts[-1].startswith("t = ") and " dB" in readouts[-1]
    assert view.hover_text.isVisible() and view.hover_text.text() == readouts[-1]
    # Drawn inside the plotted area, top right.
    area = view.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    assert area.contains(view.hover_text.geometry().topLeft())
    assert area.contains(view.hover_text.geometry().topRight())
    after = _geometries(window)
    moved = {k: (before[k], after[k]) for k in before
             if k in after and before[k] != after[k] and not k.endswith(":spectrogramReadout")}
    assert moved == {}
    view.scene().sigMouseMoved.emit(QPointF(-50.0, -50.0))  # outside the plot
    assert not view.hover_text.isVisible()


def test_an_empty_spectrogram_keeps_its_frequency_axis(qtbot, window) -> None:
    """With no clip (and after Clear) the plot shows the frequency scale of its mode, not a ±0.4 axis."""
    view = window.panel_b.spectrogram
    plot = view.getPlotItem()
    assert view.image_data() is None
    assert plot.getViewBox().viewRange()[1] == pytest.approx([0.0, 64.0])  # the 64 mel bands
    labels = [text for ticks in plot.getAxis("left")._tickLevels or [] for _, text in ticks]
    assert "1kHz" in labels and "8kHz" in labels


def test_the_spectrogram_time_axis_reads_h_mm_ss_past_a_minute(qtbot, window, tmp_path: Path) -> None:
    """A window an hour into a file is labelled 1:09:02 …, not 4142 s; a clip's first seconds stay in s."""
    path = tmp_path / "long.wav"
    sf.write(path, np.zeros((8000 * 4200, 1), np.int16), 8000, subtype="PCM_16")
    panel = window.panel_a
    panel.open_file(path)
    wait_loaded(qtbot, panel, path, facts=False)
    plot = panel.spectrogram.getPlotItem()
    axis = plot.getAxis("bottom")
    assert axis.tickStrings([2.0, 4.0], 1.0, 2.0) == ["2", "4"] and "time (s)" in axis.labelText
    panel.set_window_start(4140.0)
    qtbot.waitUntil(lambda: panel.state().start_s == 4140.0, timeout=10000)
    assert axis.tickStrings([4142.0, 4144.0], 1.0, 2.0) == ["1:09:02", "1:09:04"]
    assert axis.labelText == "time"
