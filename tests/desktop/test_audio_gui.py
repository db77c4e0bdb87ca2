"""Record and play through the clip panel on the real audio stack (PulseAudio null sink, PortAudio): the
recording in the clip, its live waveform, a silent input named in a notice on the clip (nothing played into
the sink: its monitor delivers digital silence), playback with a moving playhead, long files."""

from __future__ import annotations

from pathlib import Path

import pytest

from mellow_desktop.core.measurements import measure_file
from tests.helpers.audio_files import write_tone
from tests.helpers.audio_stack import PulseStack, play_file, pulse_audio, stop_process  # noqa: F401 - fixture
from tests.helpers.waits import wait_loaded

pytestmark = pytest.mark.audio


def test_record_button_records_the_input_into_the_clip(
    qtbot,
    window,
    pulse_audio: PulseStack,  # noqa: F811
    tmp_path: Path,
    isolated_data_dir: Path,
) -> None:
    panel = window.panel_a
    panel.input_device = pulse_audio.device
    panel.set_recording_unavailable(None)
    tone = write_tone(tmp_path / "tone440.wav", 6.0, 44100, freq=440.0)
    player = play_file(tone, sink=pulse_audio.sink)
    try:
        qtbot.wait(300)
        panel.record_button.click()
        assert panel.is_recording() and panel.meter.isVisible()
        qtbot.waitUntil(lambda: panel.meter.level_db() > -20.0, timeout=5000)
        qtbot.waitUntil(
            lambda: "0:0" in panel.elapsed_label.text() or "1." in panel.elapsed_label.text(), timeout=5000
        )
        qtbot.wait(1500)
        panel.record_button.click()
    finally:
        stop_process(player)
    assert not panel.is_recording()
    wait_loaded(qtbot, panel, facts=True)
    state = panel.state()
    assert state.path.parent == isolated_data_dir / "recordings"
    assert state.info.duration > 1.0
    assert abs(state.facts.measurements.dominant_hz - 440.0) < 5.0


def test_play_button_plays_the_window_with_a_moving_playhead(
    qtbot,
    window,
    pulse_audio: PulseStack,  # noqa: F811
    tmp_path: Path,
) -> None:
    from mellow_desktop.core.audio_io.recorder import Recorder

    clip = write_tone(tmp_path / "tone1k.wav", 2.0, 48000, freq=1000.0)
    panel = window.panel_b
    panel.output_device = pulse_audio.device
    panel.open_file(clip)
    wait_loaded(qtbot, panel, clip, facts=False)
    recorder = Recorder(tmp_path / "monitor", device=pulse_audio.device)
    recorder.start()
    try:
        panel.play_button.click()
        qtbot.waitUntil(
            lambda: panel.waveform.playhead.isVisible() and panel.waveform.playhead.value() > 0.3,
            timeout=5000,
        )
        assert panel.play_button.text() == "Pause"
        qtbot.waitUntil(lambda: not panel.waveform.playhead.isVisible(), timeout=8000)  # played to the end
    finally:
        recorded = recorder.stop()
        recorder.close()
    assert panel.play_button.text() == "Play"
    assert abs(measure_file(recorded).dominant_hz - 1000.0) < 5.0


def test_closing_the_window_while_recording_keeps_a_complete_file(
    qtbot,
    make_window,
    pulse_audio: PulseStack,  # noqa: F811
    isolated_data_dir: Path,
) -> None:
    import soundfile as sf

    window = make_window()
    panel = window.panel_b
    panel.input_device = pulse_audio.device
    panel.set_recording_unavailable(None)
    panel.record_button.click()
    assert panel.is_recording()
    qtbot.wait(800)
    window.close()
    recordings = sorted((isolated_data_dir / "recordings").glob("*.wav"))
    assert len(recordings) == 1
    info = sf.info(str(recordings[0]))
    assert info.frames > 0 and info.duration > 0.3
    assert not list((isolated_data_dir / "recordings").glob("*.recording"))  # finished, not "unfinished"


def test_playback_streams_a_long_file_from_the_window_start(
    qtbot,
    window,
    pulse_audio: PulseStack,  # noqa: F811
    tmp_path: Path,
) -> None:
    """Playback of a file longer than 600 s starts at its window start; the playhead is in file time."""
    clip = write_tone(tmp_path / "long.wav", 700.0, 8000, freq=500.0)  # longer than 600 s
    panel = window.panel_a
    panel.output_device = pulse_audio.device
    panel.open_file(clip, start_s=650.0)
    wait_loaded(qtbot, panel, clip, facts=False)
    qtbot.waitUntil(lambda: panel.state().start_s == 650.0, timeout=10000)
    panel.toggle_playback()
    try:
        qtbot.waitUntil(
            lambda: panel.waveform.playhead.isVisible() and panel.waveform.playhead.value() > 650.2,
            timeout=5000,
        )
        assert panel.waveform.playhead.value() < 660.0 and panel.play_button.text() == "Pause"
    finally:
        panel.stop_audio()
    assert not panel.waveform.playhead.isVisible()


def test_playing_a_long_file_shows_its_position_and_a_click_on_the_overview_seeks(
    qtbot,
    window,
    pulse_audio: PulseStack,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A 4-minute file: the playhead and the h:mm:ss readout advance; a second Play click during start-up
    keeps it playing; a click on the overview while playing moves playback there and leaves the window."""
    from PySide6.QtCore import QPoint, Qt

    from mellow.timefmt import format_seconds

    clip = write_tone(tmp_path / "four minutes.wav", 240.0, 8000, freq=500.0)
    panel = window.panel_a
    panel.output_device = pulse_audio.device
    panel.open_file(clip, start_s=70.0)
    wait_loaded(qtbot, panel, clip, facts=False)
    qtbot.waitUntil(lambda: panel.state().start_s == 70.0, timeout=10000)
    strip, readout = panel.navigator.strip, panel.navigator.position_label
    assert readout.text() == "" and strip.playhead is None
    panel.play_button.click()
    panel.play_button.click()  # at once, before the first samples reached the device: ignored
    try:
        assert panel.transport.is_playing() and panel.play_button.text() == "Pause"
        qtbot.waitUntil(lambda: strip.playhead is not None and strip.playhead > 70.3, timeout=5000)
        first = strip.playhead
        assert readout.text().startswith("▶ 1:1")
        qtbot.waitUntil(lambda: strip.playhead is not None and strip.playhead > first + 0.5, timeout=5000)
        assert readout.text() == f"▶ {format_seconds(strip.playhead)}"
        assert strip.seek_on_click
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(round(strip.x_of(180.0)), 10))
        per_px = 240.0 / strip.width()
        player = panel.transport._player
        assert player.poll().state == "playing"
        assert 180.0 - 2 * per_px <= player.position_s < 180.0 + 2 * per_px + 1.0
        qtbot.waitUntil(lambda: strip.playhead is not None and strip.playhead > 180.0 - per_px, timeout=5000)
        assert readout.text().startswith("▶ 3:0") or readout.text().startswith("▶ 2:5")
        assert panel.state().start_s == 70.0 and strip.window_start == 70.0  # the window did not move
        # A seek while playing restarts the stream: clicks are ignored until it delivers again (on a loaded
        # machine that can outlast the playhead's move).
        qtbot.waitUntil(lambda: not panel.transport.is_starting(), timeout=5000)
        panel.play_button.click()  # playing for a while now: this click pauses
        assert panel.play_button.text() == "Play" and not strip.seek_on_click
    finally:
        panel.stop_audio()
    assert strip.playhead is None and readout.text() == ""
    # Not playing: a click centres the analysis window again.
    qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(round(strip.x_of(120.0)), 10))
    qtbot.waitUntil(lambda: abs(panel.state().start_s - 115.0) <= 2 * per_px, timeout=10000)


# ------------------------------------------------------------------------------------------ recording notices
def test_a_silent_recording_gets_a_notice_naming_the_input(
    qtbot, window, pulse_audio: PulseStack,  # noqa: F811
) -> None:
    panel = window.panel_a
    panel.input_device = pulse_audio.device
    panel.set_recording_unavailable(None)
    messages: list[str] = []
    panel.message.connect(messages.append)
    panel.record_button.click()
    assert panel.is_recording()
    # While recording: after 2 s of silence the notice shows, once.
    qtbot.waitUntil(lambda: "The input was silent" in panel.error_text(), timeout=8000)
    assert pulse_audio.device in panel.error_text() and "below -60 dBFS" in panel.error_text()
    assert any(m.startswith("The input was silent") for m in messages)
    panel.record_button.click()
    wait_loaded(qtbot, panel, facts=True)
    # The finished file is measured whole: the notice stays on the clip with its measured peak.
    state = panel.state()
    assert state.path.parent.name == "recordings" and state.facts.measurements.peak_dbfs < -60.0
    qtbot.waitUntil(lambda: "The input was silent" in panel.error_text(), timeout=5000)
    assert pulse_audio.device in panel.error_text()


def test_a_recorded_tone_gets_no_silence_notice(qtbot, window, pulse_audio: PulseStack,  # noqa: F811
                                               tmp_path: Path) -> None:
    panel = window.panel_a
    panel.input_device = pulse_audio.device
    panel.set_recording_unavailable(None)
    player = play_file(write_tone(tmp_path / "t.wav", 6.0, 44100), sink=pulse_audio.sink)
    try:
        qtbot.wait(300)
        panel.record_button.click()
        qtbot.wait(2600)
        assert panel.error_text() == ""
        panel.record_button.click()
    finally:
        stop_process(player)
    wait_loaded(qtbot, panel, facts=True)
    qtbot.wait(100)
    assert panel.error_text() == ""


def test_while_recording_the_panel_shows_the_live_waveform(
    qtbot, window, pulse_audio: PulseStack, tmp_path: Path, long_tone: Path,  # noqa: F811
) -> None:
    import os

    from mellow.timefmt import format_seconds

    panel = window.panel_a
    panel.open_file(long_tone)  # an old clip: it must not stay on screen while recording
    wait_loaded(qtbot, panel, long_tone)
    panel.input_device = pulse_audio.device
    panel.set_recording_unavailable(None)
    # 1.5 s of silence, then a tone: the envelope must show both.
    tone = write_tone(tmp_path / "t.wav", 6.0, 44100, amplitude=0.5)
    panel.record_button.click()
    qtbot.wait(1500)
    player = play_file(tone, sink=pulse_audio.sink)
    try:
        qtbot.wait(2000)
        folder = os.environ.get("MELLOW_SHOTS_DIR")
        if folder:
            window.grab().save(str(Path(folder) / "recording_live.png"))
        live = panel.live_waveform
        assert live.isVisible() and not panel.waveform.isVisible() and not panel.spectrogram.isVisible()
        times, levels = live.points()
        assert times[-1] > 3.0 and live.elapsed_text() == f"● Recording {format_seconds(times[-1])}"
        quiet = levels[times < 1.0]
        loud = levels[times > times[-1] - 1.0]
        assert quiet.size and loud.size and quiet.max() < 0.01 and loud.max() > 0.2
        panel.record_button.click()
    finally:
        stop_process(player)
    wait_loaded(qtbot, panel, facts=True)
    assert not panel.live_waveform.isVisible()
    assert panel.waveform.isVisible() and panel.spectrogram.isVisible()
    assert panel.state().path.parent.name == "recordings"
