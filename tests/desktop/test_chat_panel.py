"""The conversation (chat panel): the view follows a streaming answer unless the user scrolled away and rests
with the last card's end in view; every card's footer names its generation settings; the last conversation
is back after a restart."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QPoint

from mellow.generation import GenerationOptions
from mellow_desktop.core.question import Answer, ClipRef, Question, build_question
from mellow_desktop.core.settings import describe_options
from mellow_desktop.qt.widgets.chat_panel import ChatPanel

WORDS = ("a dog barks twice while rain falls on a metal roof and a car passes in the distance " * 3).split()


def _question(prompt: str = "caption the audio.") -> Question:
    ref = ClipRef(Path("/clips/rain.wav"), 0.0, None, "whole 9.15 s, repeated to 10 s", 9.15)
    return build_question(prompt, ref, None, GenerationOptions(max_len=80))


def _shot(widget: ChatPanel, name: str) -> None:
    folder = os.environ.get("MELLOW_SHOTS_DIR")
    if folder:
        widget.window().grab().save(str(Path(folder) / name))


def _end_in_view(chat: ChatPanel, qtbot) -> None:
    """The last card's lower edge is inside the viewport, with no more than a margin of blank below it."""
    last = chat.entries()[-1]

    def check() -> None:
        bottom = last.mapTo(chat.viewport(), QPoint(0, last.height())).y()
        assert 0 < bottom <= chat.viewport().height()
        if chat.verticalScrollBar().maximum() > 0:  # more than fits: no blank space under the last card
            assert chat.viewport().height() - bottom <= 16

    qtbot.waitUntil(check, timeout=3000)


def _stream(chat: ChatPanel, qtbot, q: Question, words: list[str], status: str = "finished") -> Answer:
    chat.add_question(q)
    for w in words:
        chat.add_piece(q.id, w + " ")
        qtbot.wait(2)
    answer = Answer(question=q, text=" ".join(words), status=status, n_tokens=len(words),
                    tokens_per_s=12.5 if status == "finished" else None)
    chat.finish(answer)
    return answer


def test_the_conversation_follows_the_answer_and_rests_at_the_last_cards_end(qtbot) -> None:
    chat = ChatPanel()
    qtbot.addWidget(chat)
    chat.resize(420, 300)
    chat.show()
    for i in range(4):
        _stream(chat, qtbot, _question(f"question {i}: caption the audio."), WORDS)
        _end_in_view(chat, qtbot)
    _shot(chat, "chat_after_finish.png")
    # A resize while the answer streams keeps following it.
    q = _question("describe it")
    chat.add_question(q)
    for i, w in enumerate(WORDS):
        chat.add_piece(q.id, w + " ")
        if i == 10:
            chat.resize(300, 260)
        qtbot.wait(2)
    _end_in_view(chat, qtbot)
    chat.finish(Answer(question=q, text=" ".join(WORDS), status="cancelled", n_tokens=len(WORDS)))
    _end_in_view(chat, qtbot)
    _shot(chat, "chat_after_stop.png")


def test_a_user_who_scrolled_up_is_not_pulled_down(qtbot) -> None:
    chat = ChatPanel()
    qtbot.addWidget(chat)
    chat.resize(420, 300)
    chat.show()
    for i in range(3):
        _stream(chat, qtbot, _question(f"question {i}"), WORDS)
    bar = chat.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    q = _question("one more")
    chat.add_question(q)
    chat.add_piece(q.id, "first ")
    qtbot.wait(20)
    bar.setValue(0)  # the user scrolls up to read an older answer
    for w in WORDS:
        chat.add_piece(q.id, w + " ")
        qtbot.wait(2)
    chat.finish(Answer(question=q, text="done", status="finished", n_tokens=3))
    qtbot.wait(50)
    assert bar.value() == 0
    # Scrolling back to the end follows again.
    bar.setValue(bar.maximum())
    _stream(chat, qtbot, _question("last"), WORDS)
    _end_in_view(chat, qtbot)


def test_every_card_names_the_generation_settings(qtbot) -> None:
    chat = ChatPanel()
    qtbot.addWidget(chat)
    settings = describe_options(GenerationOptions(max_len=80))
    for status in ("finished", "cancelled", "failed"):
        q = _question()
        chat.add_question(q)
        chat.add_piece(q.id, "a dog ")
        answer = Answer(question=q, text="a dog", status=status, n_tokens=2,
                        error="boom" if status == "failed" else None)
        chat.finish(answer)
        footer = chat.entry(q.id).status_label.text()
        assert settings in footer, (status, footer)
        assert "2 tokens" in footer, (status, footer)
    assert chat.entries()[1].status_label.text().startswith("stopped · 2 tokens")


def test_the_last_conversation_is_back_after_a_restart_and_history_opens_entries(
    qtbot, make_window, store, tmp_path: Path
) -> None:
    from mellow_desktop.core.history_store import HistoryRecord

    clip = str(tmp_path / "rain.wav")
    old = HistoryRecord(prompt="an old question", answer="old", clip_a=clip, clip_b=clip, created=1000.0,
                        settings={"single_clip": True})
    store.add(old)
    for i, status in enumerate(("finished", "cancelled")):
        store.add(HistoryRecord(prompt=f"recent {i}", answer=f"answer {i}", status=status, clip_a=clip,
                                clip_b=str(tmp_path / "hum.wav"), start_a=2.0, duration_a=12.0,
                                duration_b=4.0, n_tokens=3, tokens_per_s=9.5 if i == 0 else None,
                                settings={"max_len": 50, "sample": False, "single_clip": False},
                                created=100_000.0 + 60 * i))
    w = make_window()
    entries = w.chat.entries()
    assert [e.question.prompt for e in entries] == ["recent 0", "recent 1"]  # the last sitting only
    assert entries[0].answer_text() == "answer 0"
    assert entries[0].status_label.text() == "3 tokens · 9.5 tokens/s · as published (greedy), max 50 tokens"
    assert entries[1].status_label.text().startswith("stopped · 3 tokens · as published (greedy), max 50")
    meta = entries[0].findChildren(type(entries[0].status_label))[0].text()
    assert "A: rain.wav (2.00 s–12.00 s)" in meta
    assert "B: hum.wav (whole 4.00 s, repeated to 10 s)" in meta
    assert "The last conversation, from History:" in w.chat.notices()[-1]
    # History ▸ Open as conversation adds the selected entry as a card.
    history = w.history
    row = next(i for i in range(history.list.count()) if "an old question" in history.list.item(i).text())
    history.list.setCurrentRow(row)
    assert history.conversation_button.isEnabled()
    history.conversation_button.click()
    assert w.chat.entries()[-1].question.prompt == "an old question"
    assert w.chat.entries()[-1].question.single_clip and w.chat.notices()[-1] == "From History:"
