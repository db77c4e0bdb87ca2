"""Recording defects of issue 11: a silent input is named in a notice on the clip (9), on the real audio stack
(PulseAudio null sink, PortAudio): nothing plays into the sink, so its monitor delivers digital silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audio_stack import PulseStack, pulse_audio  # noqa: F401 - fixture
from tests.desktop.helpers import wait_loaded

pytestmark = pytest.mark.audio


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
    from tests.audio_stack import play_file, stop_process
    from tests.desktop.helpers import write_tone

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
    from tests.audio_stack import play_file, stop_process
    from tests.desktop.helpers import write_tone

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
