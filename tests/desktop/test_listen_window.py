"""Listen mode in the window with the tiny real model: a file played fast fills the lanes and the detections
list, the session lands in History as scans that export, a detection's kept clip opens in Clip A; Stop ends
a session cleanly mid-file (asking waits meanwhile); and the input device path through PulseAudio's null
sink."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from mellow.listen import read_rows
from mellow.scan.writers import table
from mellow_desktop.core.scan_export import export_scan
from mellow_desktop.qt.actions import find_action
from mellow_desktop.qt.widgets.listen_panel import FILE_INPUT
from tests.helpers.audio_files import write_recording
from tests.helpers.audio_stack import PulseStack, play_file, pulse_audio, stop_process  # noqa: F401 - fixture
from tests.helpers.listening import BIRD, YES_NO


def _listen_to(w: Any, tmp_path: Path, path: Path, speed: float, threshold: float = 0.0) -> Any:
    flow = w.listening
    flow.folder = tmp_path / "station"
    flow.options = {"max_len": 1, "max_lag_s": 600.0}
    find_action(w, "listen").trigger()
    assert flow.dock.isVisible()
    flow.panel.use_file(path, speed)
    flow.panel.prompt.setText(YES_NO)
    flow.panel.threshold.setValue(threshold)
    flow.panel.start_button.click()
    assert flow.running() and not flow.panel.start_button.isEnabled()
    return flow


def test_a_file_heard_fast_fills_lanes_and_detections_and_lands_in_history(
        ready_window: Any, qtbot: Any, tmp_path: Path) -> None:
    w = ready_window
    audio = write_recording(tmp_path / "dawn.wav", 40.0)
    flow = _listen_to(w, tmp_path, audio, speed=20.0)
    detected: list[Any] = []
    flow.detected.connect(detected.append)
    with qtbot.waitSignal(flow.stored, timeout=120000) as stored:
        pass
    assert flow.panel.start_button.isEnabled() and not flow.running()
    session = next((tmp_path / "station").iterdir())
    rows = read_rows(session)
    assert [r.scan.start_s for r in rows] == [0.0, 10.0, 20.0, 30.0] and all(r.detection for r in rows)
    # The lane holds every window's P(yes) with the threshold; the list holds the detections, newest first.
    (lane,) = flow.panel.lanes.lanes()
    assert lane.threshold == 0.0 and list(lane.scores) == [r.score for r in rows]
    assert [d.score for d in detected] == [r.score for r in rows]
    assert [i.clock for i in flow.panel.items] == [r.clock_start for r in reversed(rows)]
    assert flow.panel.counts.text() == f"Today: {rows[0].scan.question} 4"
    assert "answers take" in flow.panel.margin_label.text()
    # No tray offscreen: the detection is a notice in the panel instead.
    newest = detected[-1]
    assert flow.panel.notice.text() == \
        f"Detection: {newest.question} at {newest.time_text} (P(yes) {newest.score:.2f})"
    assert flow.panel.state_label.text() == "Listening ended: 4 windows, 4 detections, 0 skipped."
    # History: the session is a scan of the file with its four windows, exported through the scan code.
    (scan_id,) = stored.args[0]
    loaded = w.store.scans.load(scan_id)
    assert loaded.record.file == str(audio) and [r.window.start_s for r in loaded.results] == [0, 10, 20, 30]
    assert [r.score for r in loaded.results] == pytest.approx([r.score for r in rows])
    out = export_scan(loaded, tmp_path / "session.csv")
    assert [r.start_s for r in table.read(out)] == [0.0, 10.0, 20.0, 30.0]
    assert json.loads((session / "history.json").read_text()) == {"scans": [scan_id]}
    # The newest detection's kept clip opens in Clip A, with its window in view.
    first = flow.panel.detections.topLevelItem(0)
    flow.panel.detections.setCurrentItem(first)
    first.setSelected(True)
    assert flow.panel.open_button.isEnabled()
    qtbot.mouseClick(flow.panel.open_button, Qt.MouseButton.LeftButton)
    clip = flow.panel.items[0].clip
    assert clip is not None and clip.parent.name == "clips"
    qtbot.waitUntil(lambda: w.panel_a.state() is not None and w.panel_a.state().path == clip, timeout=20000)
    # Re-opened from History like any scan: its table, and its recording in Clip A.
    assert w.scans.open_scan(scan_id) is not None and w.scans.pane.model.rowCount() == 4
    qtbot.waitUntil(lambda: w.panel_a.state().path == audio, timeout=20000)


def test_stop_ends_a_session_mid_file_and_asking_waits_meanwhile(ready_window: Any, qtbot: Any,
                                                                 tmp_path: Path) -> None:
    w = ready_window
    audio = write_recording(tmp_path / "long.wav", 240.0)
    flow = _listen_to(w, tmp_path, audio, speed=8.0, threshold=1.0)
    qtbot.waitUntil(lambda: flow.view is not None and flow.view.rows >= 1, timeout=60000)
    w.ask("what do you hear?")  # the model is listening: the question is refused with the reason
    assert w.host.current is None and w.host.listening is not None
    with qtbot.waitSignal(flow.listen_ended, timeout=60000) as ended:
        flow.panel.stop_button.click()
    assert ended.args == [""] and not flow.running() and w.host.listening is None
    session = next((tmp_path / "station").iterdir())
    info = json.loads((session / "session.json").read_text())
    assert info["ended"] and info["answered"] == len(read_rows(session)) < 24
    assert "Listening ended" in flow.panel.state_label.text() and not flow.panel.items
    qtbot.waitUntil(lambda: (session / "history.json").exists(), timeout=30000)


@pytest.mark.audio
def test_the_input_device_is_heard_through_portaudio(ready_window: Any, qtbot: Any, tmp_path: Path,
                                                      pulse_audio: PulseStack) -> None:  # noqa: F811
    """Listen… lists the input devices; the null sink's monitor (through PortAudio) is heard: the birdsong
    played into it shows in the live waveform, windows are answered, Stop ends it; a kept clip plays."""
    w = ready_window
    flow = w.listening
    flow.folder, flow.options = tmp_path / "station", {"max_len": 1}
    find_action(w, "listen").trigger()
    panel = flow.panel
    names = [panel.input.itemData(i) for i in range(panel.input.count())]
    assert pulse_audio.device in names and names[-1] == FILE_INPUT
    panel.input.setCurrentIndex(names.index(pulse_audio.device))
    assert not panel.file_path.isVisible()
    panel.threshold.setValue(0.0)  # every window a detection, its clip kept
    panel.keep_stream.setChecked(True)  # History can re-open every window of a device's session
    panel.start_button.click()
    qtbot.waitUntil(lambda: flow.view is not None and flow.view.heard_s > 0.5, timeout=30000)
    player = play_file(BIRD, sink=pulse_audio.sink)
    try:
        qtbot.waitUntil(lambda: flow.view.rows >= 1 and panel.waveform.points()[1].max() > 0.05,
                        timeout=120000)
    finally:
        stop_process(player)
    with qtbot.waitSignal(flow.listen_ended, timeout=60000) as ended:
        panel.stop_button.click()
    assert ended.args == [""]
    (session,) = (tmp_path / "station").iterdir()
    info = json.loads((session / "session.json").read_text())
    assert info["input"].startswith(pulse_audio.device) and info["answered"] >= 1
    assert flow.panel.lanes.lanes()[0].scores
    qtbot.waitUntil(lambda: (session / "history.json").exists(), timeout=30000)
    (scan_id,) = json.loads((session / "history.json").read_text())["scans"]
    scanned = w.store.scans.load(scan_id).record.files
    assert scanned and all(Path(f.path).parent == session / "stream" for f in scanned)
    # A kept clip plays from the list (in Clip A, on the null sink).
    w.panel_a.output_device = pulse_audio.device
    panel.detections.setCurrentItem(panel.detections.topLevelItem(0))
    panel.play_button.click()
    qtbot.waitUntil(lambda: w.panel_a.play_button.text() == "Pause", timeout=20000)
    assert w.panel_a.state().path == panel.items[0].clip
    w.panel_a.stop_audio()


def test_closing_the_window_while_listening_ends_the_session_and_stores_it(ready_window: Any, qtbot: Any,
                                                                           tmp_path: Path) -> None:
    w = ready_window
    flow = _listen_to(w, tmp_path, write_recording(tmp_path / "long.wav", 240.0), speed=8.0)
    qtbot.waitUntil(lambda: flow.view is not None and flow.view.rows >= 1, timeout=60000)
    w.close()
    assert not w.host.thread.isRunning()
    session = next((tmp_path / "station").iterdir())
    info = json.loads((session / "session.json").read_text())
    (scan_id,) = json.loads((session / "history.json").read_text())["scans"]
    assert info["ended"] and info["error"] is None
    assert len(w.store.scans.load(scan_id).results) == info["answered"] == len(read_rows(session))
