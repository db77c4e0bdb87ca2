"""Dragging in the waveform plot with real mouse events, at several zooms of a long recording: a drag on the
10 s analysis window moves it by the dragged pixels and keeps it under the mouse, a drag on empty space pans
the view and leaves the window where it was; zoomed inside the window a plain drag pans and Shift+drag moves
it; at whole-file zoom of a file where 10 s is under 6 px, the wide marker drags the window. Each is asserted
on the window's start in the panel, the waveform and the overview strip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from mellow_desktop.qt.widgets.waveform_view import MIN_WINDOW_PX
from tests.helpers.audio_files import write_recording
from tests.helpers.waits import wait_loaded

DURATION = 600.0
START = 300.0  # where the window is placed before each drag
DRAG_PX = 80  # how far each drag goes, in viewport pixels
LEFT = Qt.MouseButton.LeftButton
#: Visible spans: the whole file, ~2 min, ~30 s, ~12 s (the window and some space) and 4 s inside the window.
ZOOMS = [DURATION, 120.0, 30.0, 12.0, 4.0]


@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_recording(tmp_path_factory.mktemp("drag") / "ten minutes.wav", DURATION, rate=4000)


def _opened(window: Any, qtbot: Any, path: Path) -> Any:
    panel = window.panel_a
    panel.open_file(path)
    wait_loaded(qtbot, panel, path, facts=False)
    return panel


def _zoomed(panel: Any, qtbot: Any, span: float, centre: float) -> Any:
    """Place the window at START and show ``span`` seconds around ``centre``; returns the view box."""
    panel.set_window_start(START)
    qtbot.waitUntil(lambda: panel.state().start_s == pytest.approx(START), timeout=10000)
    vb = panel.waveform.getPlotItem().getViewBox()
    x0 = min(max(0.0, centre - span / 2), DURATION - span)
    vb.setXRange(x0, x0 + span, padding=0)
    assert vb.viewRange()[0] == pytest.approx([x0, x0 + span])
    return vb


def _x(panel: Any, t: float) -> int:
    """The viewport pixel column of time ``t`` (seconds)."""
    vb = panel.waveform.getPlotItem().getViewBox()
    return panel.waveform.mapFromScene(vb.mapViewToScene(QPointF(t, 0.0))).x()


def _per_px(panel: Any) -> float:
    """Seconds per viewport pixel at the current zoom."""
    vb = panel.waveform.getPlotItem().getViewBox()
    x0, x1 = vb.viewRange()[0]
    return (x1 - x0) / vb.width()


def _drag(panel: Any, qtbot: Any, x: int, dx: int, shift: bool = False) -> None:
    """Hover at column ``x``, press, move ``dx`` pixels in four steps, release, Shift held if ``shift``
    (pyqtgraph drops moves closer than 10 ms apart and starts a drag only past a few pixels)."""
    vp = panel.waveform.viewport()
    mods = Qt.KeyboardModifier.ShiftModifier if shift else Qt.KeyboardModifier.NoModifier
    y = vp.height() // 2
    qtbot.mouseMove(vp, QPoint(x, y))
    qtbot.wait(20)
    qtbot.mousePress(vp, LEFT, mods, QPoint(x, y))
    for k in range(1, 5):
        qtbot.wait(20)
        QTest.mouseEvent(QTest.MouseAction.MouseMove, vp, Qt.MouseButton.NoButton, mods,
                         QPoint(x + dx * k // 4, y))  # qtbot.mouseMove would drop the modifiers
    qtbot.wait(20)
    qtbot.mouseRelease(vp, LEFT, mods, QPoint(x + dx, y))


def _window_at(panel: Any, qtbot: Any, expected: float, tolerance: float) -> None:
    """Wait until the panel's window starts at ``expected``; the waveform and overview strip agree."""
    qtbot.waitUntil(lambda: panel.state().start_s == pytest.approx(expected, abs=tolerance), timeout=10000)
    start = panel.state().start_s
    assert panel.waveform.window_start() == pytest.approx(start)
    assert panel.navigator.strip.window_start == pytest.approx(start)


def _drag_window(panel: Any, qtbot: Any, shift: bool = False) -> None:
    """Drag the window from its centre by DRAG_PX: it moves DRAG_PX pixels' worth, stays under the mouse,
    and the view does not move."""
    vb = panel.waveform.getPlotItem().getViewBox()
    view, per_px = vb.viewRange()[0], _per_px(panel)
    visible = (max(START, view[0]), min(START + 10.0, view[1]))
    grab = _x(panel, (visible[0] + visible[1]) / 2)
    grabbed_at = vb.mapSceneToView(panel.waveform.mapToScene(QPoint(grab, 0))).x() - START
    _drag(panel, qtbot, grab, DRAG_PX, shift=shift)
    expected = START + DRAG_PX * per_px
    _window_at(panel, qtbot, expected, tolerance=2 * per_px)
    assert vb.viewRange()[0] == pytest.approx(view)
    under_mouse = vb.mapSceneToView(panel.waveform.mapToScene(QPoint(grab + DRAG_PX, 0))).x()
    assert under_mouse - panel.state().start_s == pytest.approx(grabbed_at, abs=2 * per_px)


def _drag_empty_space(panel: Any, qtbot: Any, at: float) -> None:
    """Drag from time ``at`` by DRAG_PX: the view pans DRAG_PX pixels' worth earlier, the window stays."""
    vb = panel.waveform.getPlotItem().getViewBox()
    (x0, x1), per_px = vb.viewRange()[0], _per_px(panel)
    _drag(panel, qtbot, _x(panel, at), DRAG_PX)
    shift = min(DRAG_PX * per_px, x0)  # the view stops at the start of the file
    assert vb.viewRange()[0] == pytest.approx([x0 - shift, x1 - shift], abs=2 * per_px)
    qtbot.wait(50)
    _window_at(panel, qtbot, START, tolerance=1e-9)


@pytest.mark.parametrize("span", ZOOMS, ids=[f"{z:g}s" for z in ZOOMS])
def test_dragging_the_window_follows_the_mouse(window: Any, qtbot: Any, ten_minutes: Path,
                                               span: float) -> None:
    """At every zoom where the window has space around it, dragging it moves it by the dragged pixels;
    zoomed inside it, a plain drag pans and Shift+drag moves it."""
    panel = _opened(window, qtbot, ten_minutes)
    _zoomed(panel, qtbot, span, START + 5.0)
    wave = panel.waveform
    assert not wave.marker_shown()
    assert 10.0 / _per_px(panel) >= MIN_WINDOW_PX
    assert wave.region.fills_view() is (span < 10.0)
    _drag_window(panel, qtbot, shift=span < 10.0)


@pytest.mark.parametrize("span", ZOOMS[1:], ids=[f"{z:g}s" for z in ZOOMS[1:]])
def test_dragging_empty_space_pans_and_leaves_the_window(window: Any, qtbot: Any, ten_minutes: Path,
                                                         span: float) -> None:
    """Zoomed in, a drag outside the window (or anywhere, zoomed inside it) pans the view."""
    panel = _opened(window, qtbot, ten_minutes)
    vb = _zoomed(panel, qtbot, span, START + 5.0)
    x0, x1 = vb.viewRange()[0]
    outside = START - (START - x0) / 2 if span > 10.0 else (x0 + x1) / 2  # inside the window at 4 s
    _drag_empty_space(panel, qtbot, outside)


def test_at_whole_file_zoom_empty_space_does_not_move_the_window(window: Any, qtbot: Any,
                                                                  ten_minutes: Path) -> None:
    """The whole file is shown: a drag beside the window neither pans (nothing to pan to) nor moves it."""
    panel = _opened(window, qtbot, ten_minutes)
    vb = _zoomed(panel, qtbot, DURATION, START)
    _drag(panel, qtbot, _x(panel, 100.0), DRAG_PX)
    assert vb.viewRange()[0] == pytest.approx([0.0, DURATION])
    qtbot.wait(50)
    _window_at(panel, qtbot, START, tolerance=1e-9)


def test_the_wide_marker_drags_the_window(window: Any, qtbot: Any, tmp_path: Path) -> None:
    """20 minutes at whole-file zoom: 10 s is under 6 px, the marker shows and the mouse drags it."""
    path = write_recording(tmp_path / "twenty minutes.wav", 1200.0, rate=4000)
    panel = _opened(window, qtbot, path)
    wave = panel.waveform
    panel.set_window_start(START)
    qtbot.waitUntil(lambda: panel.state().start_s == pytest.approx(START), timeout=10000)
    per_px = _per_px(panel)
    assert wave.marker_shown() and 10.0 / per_px < MIN_WINDOW_PX
    grab = _x(panel, START + 5.0)
    _drag(panel, qtbot, grab, DRAG_PX)
    _window_at(panel, qtbot, START + DRAG_PX * per_px, tolerance=2 * per_px)
    assert wave.marker.value() == pytest.approx(panel.state().start_s + 5.0)
    assert abs(_x(panel, wave.marker.value()) - (grab + DRAG_PX)) <= 2
    assert wave.getPlotItem().getViewBox().viewRange()[0] == pytest.approx([0.0, 1200.0])
