"""Prompt presets and token count; a damaged history database; recording unavailable; the settings dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from mellow_desktop.core.presets import load_presets, needs_two_clips
from mellow_desktop.qt.widgets.prompt_box import PromptBox


def test_presets_cover_the_published_prompt_styles() -> None:
    presets = {p.name: p for p in load_presets()}
    texts = [p.text for p in presets.values()]
    assert "caption the audio." in texts
    assert "what can you infer about the surroundings from the audio?" in texts
    assert sum("explain the difference between the two audios" in t for t in texts) == 3
    yes_no = presets["Yes / no question"]
    assert yes_no.blanks == ["thing"]
    assert yes_no.fill({"thing": "dog"}) == "is there a dog in the audio? answer yes or no"
    choice = presets["Multiple choice"]
    assert choice.fill({}).endswith("a) dog barking b) chirping birds c) car engine d) clapping")
    assert all(p.clips == 2 for p in presets.values() if needs_two_clips(p.text))
    assert all(p.clips == 1 for p in presets.values() if not needs_two_clips(p.text))


def test_preset_menu_fills_blanks_and_token_count_warns(qtbot, tokenizer) -> None:
    asked = []

    def answer_blanks(preset):  # what the user types into the blanks dialog
        asked.append(preset.blanks)
        return preset.fill({"hypothesis": "a train passes a level crossing"})

    box = PromptBox(ask_blanks=answer_blanks)
    qtbot.addWidget(box)
    box.show()
    box.set_tokenizer(tokenizer.count_tokens)
    action = next(a for a in box.presets_menu.actions() if a.text().startswith("Hypothesis"))
    action.trigger()
    assert asked == [["hypothesis"]]
    assert '"a train passes a level crossing"? a) It is definitely true' in box.text()
    n = tokenizer.count_tokens(box.text())
    assert box.count_label.text() == f"{n} / 129 tokens"

    box.set_text("caption the audio. " * 40)
    n = tokenizer.count_tokens(box.text())
    assert n > 129
    assert box.count_label.text().startswith(f"⚠ {n} / 129 tokens") and "first 129" in box.count_label.text()

    sent = []
    box.send_requested.connect(sent.append)
    box.set_busy(True)
    box.send()
    assert sent == []  # no second question while one is being answered
    box.set_busy(False)
    box.send()
    assert sent == [box.text()]


def test_damaged_history_database_is_kept_aside(qtbot, isolated_data_dir: Path, settings: QSettings) -> None:
    from mellow_desktop.core import paths
    from mellow_desktop.qt.main_window import MainWindow

    db = paths.history_db_path()
    db.write_bytes(b"this is not a database" * 100)
    w = MainWindow(settings=settings)  # opens the store in the data dir itself
    qtbot.addWidget(w)
    try:
        notice = w.chat.notices()[-1]
        assert "damaged" in notice and "new, empty history" in notice
        assert any(p.name.startswith("history.sqlite3.corrupt") for p in db.parent.iterdir())
        assert w.history.list.count() == 0 and w.store.integrity_check() == "ok"
    finally:
        w.close()


def test_recording_disabled_with_the_reason(qtbot, window) -> None:
    window.input_device = "no such microphone"
    window.check_audio()
    for panel in (window.panel_a, window.panel_b):
        assert not panel.record_button.isEnabled()
        assert panel.record_button.toolTip().startswith("Recording is unavailable:")
        assert (
            "no such microphone" in panel.record_button.toolTip() or "audio" in panel.record_button.toolTip()
        )
    assert "Recording disabled" in window.statusBar().currentMessage()
    assert window.panel_a.open_button.isEnabled()  # loading clips still works


def test_settings_dialog_round_trip(qtbot) -> None:
    from mellow.generation import GenerationOptions
    from mellow_desktop.core.settings import AppSettings
    from mellow_desktop.qt.dialogs.settings_dialog import SettingsDialog

    dialog = SettingsDialog(AppSettings(generation=GenerationOptions(max_len=120)))
    qtbot.addWidget(dialog)
    assert dialog.greedy.isChecked() and not dialog.temperature.isEnabled()
    dialog.sampling.setChecked(True)
    dialog.fixed_seed.setChecked(True)
    dialog.seed.setValue(42)
    dialog.temperature.setValue(0.5)
    dialog.device.setCurrentIndex(dialog.device.findData("cpu"))
    s = dialog.chosen()
    g = s.generation
    assert (g.max_len, g.sample, g.seed, g.temperature, s.device) == (120, True, 42, 0.5, "cpu")
