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
