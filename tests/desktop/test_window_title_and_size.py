"""The main window's title and size: the title names the clips once and leaves the app name to the platform;
the first start fits a small screen, and the layout stays usable at 1024×640."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QApplication

from tests.helpers.audio_files import write_noise
from tests.helpers.waits import wait_loaded


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


def test_the_first_start_fits_a_small_screen(window) -> None:
    """With no saved geometry the window opens at 1500×940, shrunk to the screen's free area when smaller
    (it opened wider than a 1024×640 screen)."""
    from mellow_desktop.qt.window_state import first_size

    free = window.screen().availableGeometry()
    size = first_size(window)
    assert (size.width(), size.height()) == (min(1500, free.width()), min(940, free.height()))


def test_a_usable_layout_at_1024_by_640(qtbot, window, tmp_path: Path) -> None:
    long_name = write_noise(tmp_path / "a rather long file name of a field recording at dawn.wav", 3.0,
                            seed=0)
    window.panel_a.open_file(long_name)
    wait_loaded(qtbot, window.panel_a, long_name, facts=False)
    window.resize(1024, 640)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 640)
    assert window.minimumSizeHint().width() <= 1024
    for panel in (window.panel_a, window.panel_b):
        controls = panel.controls
        qtbot.waitUntil(controls.compact)  # icons only: the text does not fit
        for b in controls.buttons():
            assert b.isVisible() and b.toolTip() and b.width() >= b.iconSize().width()
            assert controls.rect().contains(b.geometry())  # none cut off
    name = window.panel_a.name_label
    assert name.text() == long_name.name and name.toolTip() == str(long_name)
    qtbot.waitUntil(lambda: "…" in name.shown_text())  # once the row is laid out with icon-only buttons
    shown = name.shown_text()
    assert shown.startswith("a rat") and shown.endswith(".wav")  # elided in the middle
    assert name.width() >= name.fontMetrics().horizontalAdvance("x" * 8)
    field = window.panel_a.navigator.start_field  # the window's start stays readable when squeezed
    assert field.width() >= field.fontMetrics().horizontalAdvance("0:00:00.0")
    # With room, the buttons show their text again and the whole name.
    window.resize(1800, 900)
    qtbot.waitUntil(lambda: not window.panel_a.controls.compact())
    qtbot.waitUntil(lambda: window.panel_a.name_label.shown_text() == long_name.name)
