"""Window defects of issue 11: the title names the clips once and leaves the app name to the platform (16)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from tests.desktop.helpers import wait_loaded


def test_the_title_follows_the_platform_convention(qtbot, window, long_tone: Path, noise_clip: Path) -> None:
    app = QApplication.instance()
    old_name = app.applicationDisplayName()
    app.setApplicationDisplayName("Mellow Desktop")  # as main() does: Qt adds it to every window title
    try:
        handle = window.windowHandle()
        assert handle.title() == ""  # no clip: the platform shows just the app name
        window.panel_a.open_file(long_tone)
        wait_loaded(qtbot, window.panel_a, long_tone, facts=False)
        assert window.windowFilePath() == str(long_tone)
        assert handle.title() == "long tone.wav"
        window.panel_b.open_file(noise_clip)
        wait_loaded(qtbot, window.panel_b, noise_clip, facts=False)
        assert handle.title() == "long tone.wav vs noise.flac"
        assert "Mellow Desktop" not in handle.title()
        window.panel_a.clear()
        window.panel_b.clear()
        assert handle.title() == "" and window.windowFilePath() == ""
    finally:
        app.setApplicationDisplayName(old_name)
