"""Asking questions through the window with a real (small) model: streaming, cancel, history, no model."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt

from mellow.audio import Clip
from mellow.generation import GenerationOptions
from tests.helpers.waits import wait_loaded


def _load_two(qtbot, window, a: Path, b: Path) -> None:
    window.panel_a.open_file(a)
    window.panel_b.open_file(b)
    wait_loaded(qtbot, window.panel_a, a)
    wait_loaded(qtbot, window.panel_b, b)


def test_ctrl_enter_streams_the_engines_answer(
    qtbot, ready_window, long_tone: Path, noise_clip: Path, tiny_engine
) -> None:
    w = ready_window
    _load_two(qtbot, w, long_tone, noise_clip)
    with qtbot.waitSignal(w.panel_a.window_changed, timeout=10000):
        w.panel_a.waveform.region.setRegion((4.0, 14.0))
    w.generation = replace(w.generation, max_len=12)
    prompt = "explain the difference between the two audios in few words."
    qtbot.keyClicks(w.prompt.edit, prompt)
    assert w.prompt.token_count() == tiny_engine.tokenizer.count_tokens(prompt)
    qtbot.waitUntil(lambda: w.prompt.count_label.text() == f"{w.prompt.token_count()} / 129 tokens")

    with qtbot.waitSignal(w.answer_shown, timeout=60000) as finished:
        qtbot.keyClick(w.prompt.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    answer = finished.args[0]
    entry = w.chat.entry(answer.question.id)
    assert answer.status == "finished" and answer.pieces > 1 and len(entry.pieces) == answer.pieces
    assert answer.question.clip_a.start_s == 4.0 and not answer.question.single_clip

    expected = "".join(
        tiny_engine.stream(
            Clip(long_tone, 4.0), Clip(noise_clip, 0.0), prompt, options=GenerationOptions(max_len=12)
        )
    )
    assert expected and entry.answer_text() == expected == answer.text
    assert entry.answer_label.text().replace("\u200b", "") == expected.strip()  # may hold wrap points
    assert "tokens/s" in entry.status_label.text()
    assert "A: long tone.wav (4.00 s–14.00 s)" in entry.findChildren(type(entry.status_label))[0].text()
    assert w.prompt.send_button.isEnabled() and not w.prompt.stop_button.isEnabled()

    record = w.store.all()[-1]
    assert (record.prompt, record.answer, record.status) == (prompt, expected, "finished")
    assert record.start_a == 4.0 and record.hash_a and record.hash_b and record.model_id.startswith("tiny")
    assert w.history.list.count() == 1


def test_stop_cancels_mid_answer(qtbot, ready_window, long_tone: Path) -> None:
    w = ready_window
    w.panel_a.open_file(long_tone)
    wait_loaded(qtbot, w.panel_a, long_tone)
    w.generation = replace(w.generation, max_len=1000)
    w.prompt.set_text("caption the audio.")
    w.prompt.send()
    qtbot.waitUntil(lambda: bool(w.chat.entries()[-1].pieces), timeout=60000)  # the answer is streaming
    assert w.prompt.stop_button.isEnabled() and not w.prompt.send_button.isEnabled()
    with qtbot.waitSignal(w.answer_shown, timeout=60000) as finished:
        qtbot.keyClick(w.prompt.edit, Qt.Key.Key_Escape)  # Esc stops the answer
    answer = finished.args[0]
    assert answer.status == "cancelled"
    assert 1 <= answer.pieces < 1000
    entry = w.chat.entry(answer.question.id)
    qtbot.waitUntil(lambda: entry.status_label.text().startswith("stopped"))
    assert "one clip, sent in both slots" in entry.findChildren(type(entry.status_label))[0].text()
    assert answer.question.clip_b.path == long_tone
    assert w.store.all()[-1].status == "cancelled"
    assert not w.host.busy()


def test_history_survives_a_restart(
    qtbot, make_window, ready_window, noise_clip: Path, settings, store, tiny_engine, tmp_path: Path
) -> None:
    w = ready_window
    w.panel_a.open_file(noise_clip)
    wait_loaded(qtbot, w.panel_a, noise_clip)
    w.generation = replace(w.generation, max_len=5)
    with qtbot.waitSignal(w.answer_shown, timeout=60000) as finished:
        w.prompt.set_text("is there a cat in the audio? answer yes or no")
        w.prompt.send()
    text = finished.args[0].text
    w.close()
    store.close()

    from mellow_desktop.core.history_store import HistoryStore

    reopened = HistoryStore.open(tmp_path / "history.sqlite3")
    try:
        w2 = make_window(store=reopened)
        assert w2.history.list.count() == 1
        assert w2.history.list.item(0).text().startswith("is there a cat in the audio?")
        assert text[:10] in w2.history.list.item(0).text()
        w2.history.search.setText("zebra")
        qtbot.waitUntil(lambda: w2.history.list.count() == 0)
        w2.history.search.setText("a cat in")
        qtbot.waitUntil(lambda: w2.history.list.count() == 1)
        # Double-click re-uses the prompt; "Reload clips" opens the clip again.
        item = w2.history.list.item(0)
        w2.history.list.setCurrentItem(item)
        w2.history.list.itemDoubleClicked.emit(item)
        assert w2.prompt.text() == "is there a cat in the audio? answer yes or no"
        w2.history.reload_button.click()
        wait_loaded(qtbot, w2.panel_a, noise_clip)
        assert w2.panel_b.state() is None
        out = w2.history.export("md", tmp_path / "export.md")
        assert out is not None and "is there a cat" in out.read_text()
        out = w2.history.export("json", tmp_path / "export.json")
        assert out is not None and '"mellow-history"' in out.read_text()
        w2.history.list.setCurrentItem(item)
        w2.history.delete_selected(confirm=False)
        assert w2.history.list.count() == 0 and len(reopened) == 0
        w2.close()
    finally:
        reopened.close()


def test_without_a_model_asking_explains_how_to_install(qtbot, window, noise_clip: Path) -> None:
    window.model.start()  # no checkpoint in this test's data dir
    assert window.model.state == "not installed"
    assert "not installed" in window.model_label.text()
    window.prompt.set_text("caption the audio.")
    window.prompt.send()
    assert "Load a clip first" in window.chat.notices()[-1]
    window.panel_a.open_file(noise_clip)
    wait_loaded(qtbot, window.panel_a, noise_clip)
    window.prompt.send()
    assert "Download Mellow v0" in window.chat.notices()[-1]
    window.prompt.set_text("explain the difference between the two audios in detail.")
    window.prompt.send()
    assert "compares two clips" in window.chat.notices()[-1]
    assert window.chat.entries() == []
    qtbot.waitUntil(lambda: window.model.tokenizer is not None, timeout=30000)  # token count keeps working
    assert window.prompt.count_label.text().endswith("/ 129 tokens")
