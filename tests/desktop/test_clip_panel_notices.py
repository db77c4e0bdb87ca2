"""The clip panel's notices: the error banner can be dismissed and clears on the panel's next good load;
Record's disabled reason shows in the panel, not only in a tooltip."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt

from tests.helpers.waits import wait_loaded


def test_the_error_banner_has_a_close_button_and_clears_on_the_next_good_load(
    qtbot, window, tmp_path: Path, noise_clip: Path, long_tone: Path
) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really audio")
    a, b = window.panel_a, window.panel_b
    a.open_file(bad)
    qtbot.waitUntil(lambda: "Could not open bad.wav" in a.error_text(), timeout=10000)
    banner = a.error_label
    assert banner.isVisible() and banner.close_button.isVisible()
    qtbot.mouseClick(banner.close_button, Qt.MouseButton.LeftButton)
    assert not banner.isVisible() and a.error_text() == ""
    a.open_file(bad)
    qtbot.waitUntil(lambda: "Could not open bad.wav" in a.error_text(), timeout=10000)
    b.open_file(noise_clip)  # a good load in the other panel leaves this panel's message alone
    wait_loaded(qtbot, b, noise_clip)
    assert "Could not open bad.wav" in a.error_text()
    a.open_file(long_tone)
    wait_loaded(qtbot, a, long_tone)
    assert a.error_text() == "" and not banner.isVisible()


def test_records_disabled_reason_shows_in_each_panel_and_the_status_bar(qtbot, window) -> None:
    window.input_device = "no such microphone"
    window.check_audio()
    for panel in (window.panel_a, window.panel_b):
        note = panel.info_rows.record_note
        assert not panel.record_button.isEnabled()
        assert note.isVisible() and note.text().startswith("Recording is unavailable: ")
        assert note.text() == panel.record_button.toolTip()  # one reason, same words
        assert len(note.text()) > len("Recording is unavailable: ")
    assert window.statusBar().currentMessage().startswith("Recording disabled: ")
    window.clips.set_recording_unavailable(None)
    assert not window.panel_a.info_rows.record_note.isVisible() and window.panel_a.record_button.isEnabled()
