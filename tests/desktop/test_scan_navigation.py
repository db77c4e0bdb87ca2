"""Navigating a long recording in a clip panel: the overview strip (drawn in the background, cached by
content), the analysis window always visible, click on the overview centres the window, dragging it follows
the mouse, the start field reads h:mm:ss, PageUp/PageDown step one hop; each asserted on the window's start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from mellow_desktop.core import clip_io
from mellow_desktop.core.envelope import envelope
from mellow_desktop.core.overview_cache import cached_overview
from mellow_desktop.qt.widgets.overview_strip import MIN_WINDOW_PX
from tests.helpers.audio_files import write_recording as recording
from tests.helpers.waits import wait_loaded

DURATION = 600.0


@pytest.fixture
def ten_minutes(tmp_path: Path) -> Path:
    return recording(tmp_path / "ten minutes.wav", DURATION, rate=8000)


def _start(panel: Any) -> float:
    return panel.state().start_s


def _opened(window: Any, qtbot: Any, path: Path) -> Any:
    panel = window.panel_a
    panel.open_file(path)
    wait_loaded(qtbot, panel, path, facts=False)
    strip = panel.navigator.strip
    qtbot.waitUntil(lambda: strip.overview is not None and strip.overview.complete, timeout=30000)
    return panel


def test_click_drag_typed_time_and_page_keys_place_the_window(window: Any, qtbot: Any,
                                                              ten_minutes: Path) -> None:
    assert not window.panel_a.navigator.isVisible() and not window.panel_b.navigator.isVisible()  # no file
    panel = _opened(window, qtbot, ten_minutes)
    strip = panel.navigator.strip
    assert strip.isVisible() and not window.panel_b.navigator.isVisible()
    assert strip.duration_s == pytest.approx(DURATION)
    per_px = DURATION / strip.width()
    axis = panel.waveform.getPlotItem().getAxis("bottom")  # h:mm:ss on a file over a minute
    assert axis.tickStrings([0.0, 300.0, 3900.0], 1.0, 300.0) == ["0:00", "5:00", "1:05:00"]
    assert axis.tickSpacing(0.0, DURATION, 480)[0] == (120.0, 0.0)
    assert strip.window_rect().width() == pytest.approx(max(MIN_WINDOW_PX, 10.0 / per_px), abs=0.01)
    # A click on the overview centres the window on the clicked time.
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(round(strip.x_of(300.0)), 10))
    qtbot.waitUntil(lambda: _start(panel) == pytest.approx(295.0, abs=per_px), timeout=10000)
    assert panel.waveform.window_start() == pytest.approx(_start(panel))
    assert panel.navigator.start_field.text() == panel.navigator.start_field.text().strip()
    # Dragging the window follows the mouse: grabbed at its centre, it ends centred where released.
    grab = strip.window_rect().center().toPoint()
    qtbot.mousePress(strip, Qt.MouseButton.LeftButton, pos=grab)
    for t in (320.0, 360.0, 400.0):
        qtbot.mouseMove(strip, QPoint(round(strip.x_of(t)), grab.y()))
    qtbot.mouseRelease(strip, Qt.MouseButton.LeftButton, pos=QPoint(round(strip.x_of(400.0)), grab.y()))
    qtbot.waitUntil(lambda: _start(panel) == pytest.approx(395.0, abs=2 * per_px), timeout=10000)
    # The start field takes h:mm:ss(.s) and seconds.
    field = panel.navigator.start_field
    for typed, expected in (("0:07:30", 450.0), ("75.5", 75.5), ("2:05", 125.0)):
        field.setText(typed)
        qtbot.keyClick(field, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda e=expected: _start(panel) == pytest.approx(e), timeout=10000)
    messages: list[str] = []
    panel.message.connect(messages.append)
    field.setText("7:99")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert messages and "below 60" in messages[-1] and "d03030" in field.styleSheet()
    assert _start(panel) == pytest.approx(125.0)
    field.setText("2:00:00")
    qtbot.keyClick(field, Qt.Key.Key_Return)
    assert "past the end" in messages[-1] and _start(panel) == pytest.approx(125.0)
    # PageDown / PageUp: one hop (10 s) later / earlier.
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_PageDown)
    qtbot.waitUntil(lambda: _start(panel) == pytest.approx(135.0), timeout=10000)
    qtbot.keyClick(panel, Qt.Key.Key_PageUp)
    qtbot.keyClick(panel, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: _start(panel) == pytest.approx(115.0), timeout=10000)
    assert field.text() == "1:55.0"


def test_the_overview_is_cached_by_content_and_redrawn_at_once(window: Any, qtbot: Any,
                                                               ten_minutes: Path) -> None:
    panel = _opened(window, qtbot, ten_minutes)
    first = panel.navigator.strip.overview
    qtbot.waitUntil(lambda: cached_overview(ten_minutes) is not None, timeout=20000)  # hashed after drawing
    cached = cached_overview(ten_minutes)
    assert cached is not None and cached.complete and cached.columns == first.columns
    assert (cached.env_max == first.env_max).all()
    snapshots: list[Any] = []
    panel.navigator.strip.overview_ready.connect(snapshots.append)
    panel.clear()
    panel.open_file(ten_minutes)
    qtbot.waitUntil(lambda: bool(snapshots), timeout=10000)
    assert len(snapshots) == 1 and snapshots[0].complete  # the cached one alone, no recomputation
    assert float(snapshots[0].env_max.max()) > 0.2  # the tone's level is drawn


def test_zoomed_out_the_window_is_a_wide_marker_that_drags(window: Any, qtbot: Any, tmp_path: Path) -> None:
    """On a 20-minute file 10 s is under 6 px of the waveform: the window shows as a 6 px marker, which
    drags the window; zoomed in, the shaded region is back."""
    path = recording(tmp_path / "twenty minutes.wav", 1200.0, rate=4000)
    panel = _opened(window, qtbot, path)
    wave = panel.waveform
    assert wave.marker_shown() and wave.marker.value() == pytest.approx(5.0)
    assert wave.marker.pen.width() >= MIN_WINDOW_PX
    wave.marker.setValue(605.0)
    wave.marker.sigPositionChangeFinished.emit(wave.marker)  # what a finished mouse drag emits
    qtbot.waitUntil(lambda: _start(panel) == pytest.approx(600.0), timeout=10000)
    assert wave.window_start() == pytest.approx(600.0) and panel.navigator.strip.window_start == 600.0
    wave.getPlotItem().setXRange(590.0, 640.0, padding=0)
    assert not wave.marker_shown() and wave.region.isVisible()
    wave.fit()
    assert wave.marker_shown() and wave.marker.value() == pytest.approx(605.0)


def test_a_long_flac_is_drawn_at_once_and_its_exact_waveform_fills_in(
        window: Any, qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A long file that is not a plain WAV draws from the coarse overview first; the overview strip's
    snapshots then refine the waveform in place (same zoom, same window) until it is exact."""
    monkeypatch.setattr(clip_io, "STREAMED_TRACE_SAMPLES", 100_000)  # this 5-minute file counts as long
    path = recording(tmp_path / "five minutes.flac", 300.0, rate=8000)
    panel = window.panel_a
    panel.open_file(path)
    wait_loaded(qtbot, panel, path, facts=False)
    wave = panel.waveform
    wave.getPlotItem().setXRange(100.0, 250.0, padding=0)
    panel.set_window_start(120.0)
    qtbot.waitUntil(lambda: panel.state().overview.exact, timeout=30000)
    strip = panel.navigator.strip
    assert strip.overview.complete and _start(panel) == pytest.approx(120.0)
    assert wave.getPlotItem().getViewBox().viewRange()[0] == pytest.approx([100.0, 250.0])
    wave.fit()  # zoomed out again: the whole-file trace is drawn, the exact one by now
    columns = strip.overview.columns
    qtbot.waitUntil(lambda: wave.drawn_data()[1].shape == (2 * columns,), timeout=10000)
    mins, maxs = envelope(path, columns, per_channel=True)
    _, y = wave.drawn_data()
    np.testing.assert_array_equal(y[0::2], mins.min(axis=0))
    np.testing.assert_array_equal(y[1::2], maxs.max(axis=0))


def test_the_strip_draws_the_level_envelope_to_scale_over_the_spectrogram(
        window: Any, qtbot: Any, ten_minutes: Path) -> None:
    """The envelope (one path, scaled from columns and levels to pixels) covers the rows its level reaches."""
    panel = _opened(window, qtbot, ten_minutes)
    strip = panel.navigator.strip
    with_envelope = strip.grab().toImage()
    path, strip._envelope_path = strip._envelope_path, None
    without = strip.grab().toImage()
    strip._envelope_path = path
    h, w = with_envelope.height(), with_envelope.width()
    changed_rows = [y for y in range(h) if any(with_envelope.pixel(x, y) != without.pixel(x, y)
                                               for x in range(0, w, 3))]
    assert changed_rows, "the envelope is drawn"
    top = h / 2 - float(strip.overview.env_max.max()) * h / 2
    bottom = h / 2 - float(strip.overview.env_min.min()) * h / 2
    assert abs(changed_rows[0] - top) <= 2 and abs(changed_rows[-1] - bottom) <= 2


def test_a_finer_waveform_that_arrives_after_zooming_out_is_dropped(
        window: Any, qtbot: Any, ten_minutes: Path) -> None:
    """Zoomed in, a finer envelope of the visible span is drawn; one that arrives late, once the view is
    back on the whole file, must not replace the whole-file trace by a stretch of it."""
    panel = _opened(window, qtbot, ten_minutes)
    wave = panel.waveform
    whole = wave.drawn_data()[1].shape
    details: list[Any] = []
    panel.reader.detail_ready.connect(details.append)
    wave.getPlotItem().setXRange(100.0, 160.0, padding=0)
    qtbot.waitUntil(lambda: bool(details) and wave.drawn_data()[1].shape != whole, timeout=10000)
    assert wave.drawn_data()[0].min() >= 99.0  # the detail covers the visible span
    wave.fit()
    qtbot.waitUntil(lambda: wave.drawn_data()[1].shape == whole, timeout=10000)
    wave.set_detail(details[-1])  # the late result
    assert wave.drawn_data()[1].shape == whole
    wave.getPlotItem().setXRange(120.0, 150.0, padding=0)
    wave.set_detail(details[-1])  # still over the view: drawn
    assert wave.drawn_data()[1].shape != whole
