"""A question about one clip: with two clips, the prompt area says which clip a single-clip question is about
and lets the user choose A or B; the chosen clip goes to the model in both slots (tiny engine, real
answers)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt

from mellow.audio import Clip
from mellow.generation import GenerationOptions
from tests.helpers.waits import wait_loaded


def test_a_single_clip_question_is_aimed_at_the_chosen_clip(
    qtbot, ready_window, long_tone: Path, noise_clip: Path, tiny_engine
) -> None:
    w = ready_window
    prompt = w.prompt
    assert not prompt.about_row.isVisible() and prompt.about() is None
    w.panel_a.open_file(long_tone)
    wait_loaded(qtbot, w.panel_a, long_tone)
    assert not prompt.about_row.isVisible()  # one clip: nothing to choose
    w.panel_b.open_file(noise_clip)
    wait_loaded(qtbot, w.panel_b, noise_clip)
    prompt.set_text("caption the audio.")
    assert prompt.about_row.isVisible() and prompt.about() == "A"
    assert prompt.about_label.text() == "About Clip A only: long tone.wav"
    qtbot.mouseClick(prompt.about_buttons["B"], Qt.MouseButton.LeftButton)
    assert prompt.about() == "B" and prompt.about_label.text() == "About Clip B only: noise.flac"
    # A comparison is about both: no choice offered.
    prompt.set_text("explain the difference between the two audios.")
    assert prompt.about() is None and not prompt.about_buttons["A"].isVisible()
    assert prompt.about_label.text().startswith("About both clips: long tone.wav and noise.flac")
    # Sent about B: B goes in both slots, and the answer is the engine's for B alone.
    w.generation = replace(w.generation, max_len=8)
    prompt.set_text("caption the audio.")
    with qtbot.waitSignal(w.answer_shown, timeout=60000) as shown:
        prompt.send()
    q = shown.args[0].question
    assert q.single_clip and q.clip_a.path == q.clip_b.path == noise_clip
    expected = "".join(tiny_engine.stream(Clip(noise_clip, 0.0), Clip(noise_clip, 0.0), "caption the audio.",
                                          options=GenerationOptions(max_len=8)))
    assert shown.args[0].text == expected
    assert "About noise.flac" in w.chat.entry(q.id).findChildren(type(prompt.about_label))[0].text()
    record = w.store.all()[-1]
    assert record.clip_a == record.clip_b == str(noise_clip) and record.settings["single_clip"] is True
    w.panel_b.clear()
    assert not prompt.about_row.isVisible() and prompt.about() is None
