"""Question sets in the window's scans, without Qt: a set scanned by the controller answers each (window,
question) as the engine's runner does and stores each answer under its question; a question added to a
stored scan is the only one asked on resume; a scan stored by the code before question sets (its question row
named after the prompt) opens, keyed as before."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mellow.generation import Engine, GenerationOptions
from mellow.scan.questions import Question, QuestionError, QuestionSet
from mellow.scan.runner import ScanRunner
from mellow_desktop.core.history_store import HistoryStore
from mellow_desktop.core.scan_controller import ScanController
from mellow_desktop.core.scan_record import ScanRecord, set_label
from mellow_desktop.core.scan_session import ScanSession
from mellow_desktop.core.scan_view import ScanView
from tests.helpers.audio_files import write_recording as recording
from tests.helpers.scans import YES_NO, fake_results

SET = QuestionSet((Question("tone", YES_NO, 0.3), Question("caption", "caption the audio.")), "test set")


def test_a_set_is_stored_answer_by_answer_as_the_runner_answers_it(tiny_engine: Engine,
                                                                   tmp_path: Path) -> None:
    audio = recording(tmp_path / "dawn.wav", 25.0)
    db = tmp_path / "history.sqlite3"
    record = ScanRecord(file=str(audio), prompt=set_label(SET), questions=SET, max_len=2, threshold=0.6)
    controller = ScanController.start(tiny_engine, record, db, batch_size=3)
    batches = list(controller.run())
    controller.close()
    assert batches[-1].progress.text().startswith("6 of 6 answers")
    with HistoryStore.open(db) as store:
        loaded = store.scans.load(controller.scan_id)
        assert store.scans.done_counts([controller.scan_id]) == {controller.scan_id: 6}
    assert loaded is not None and loaded.record.questions == SET and loaded.record.status == "finished"
    assert loaded.record.scorings == {"tone": "yes-no", "caption": None}
    assert loaded.record.threshold_of("tone") == 0.3 and loaded.record.threshold_of("caption") == 0.6
    runner = ScanRunner(tiny_engine, SET, GenerationOptions(max_len=2), batch_size=1)
    alone = list(runner.run(sorted({r.window for r in loaded.results}, key=lambda w: w.start_s)))
    assert [(r.window.start_s, r.question, r.text, r.tokens) for r in loaded.results] == [
        (r.window.start_s, r.question, r.text, r.tokens) for r in alone]
    assert [r.score for r in loaded.results] == pytest.approx([r.score for r in alone], abs=1e-6)
    assert [loaded.record.key_of(r.window, r.question) for r in loaded.results] == [
        runner.key_of(r.window, r.question) for r in alone]
    con = sqlite3.connect(db)
    questions = con.execute("SELECT q, name, prompt, threshold, scoring FROM scan_question ORDER BY q")
    assert questions.fetchall() == [(0, "tone", YES_NO, 0.3, "yes-no"),
                                    (1, "caption", "caption the audio.", None, None)]
    assert con.execute("SELECT q, count(*) FROM scan_window GROUP BY q").fetchall() == [(0, 3), (1, 3)]
    con.close()
    view = ScanView.of(loaded)
    assert view.names == ("tone", "caption") and view.has_questions
    assert [r.question for r in view.table(question="caption")] == ["caption"] * 3
    assert len(view.table()) == 6 and view.columns()[0] == "question"
    assert view.detections(question="tone") == view.detections(0.3, "tone")


def _stored(store: HistoryStore, prompt: str = YES_NO) -> ScanRecord:
    record = ScanRecord(prompt=prompt, file="/field/dawn.wav", file_hash="ab" * 20, n_windows=3,
                        scoring="yes-no", model_id="tiny sha256:0123abcd", duration_s=30.0)
    store.scans.create(record)
    store.scans.append_results(record, fake_results(record, ["yes", "no", "yes"], [0.9, 0.1, 0.8]))
    return record


def test_a_question_added_to_a_stored_scan_is_the_only_one_asked(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    with HistoryStore.open(db) as store:
        record = _stored(store)
        keys = [record.key_of(r.window) for _, r in fake_results(record, ["a"] * 3, [None] * 3)]
        with pytest.raises(QuestionError, match="two questions have the prompt"):
            store.scans.add_questions(record, QuestionSet.of(YES_NO))
        assert record.questions is None and record.prompt == YES_NO  # nothing changed
        store.scans.add_questions(record, QuestionSet.of("is someone speaking? answer yes or no"))
        again = store.scans.get(int(record.id or 0))
    assert again is not None and again.question_set.names == ("tone", "someone speaking")
    assert again.prompt == "tone, someone speaking" and again.scorings["someone speaking"] == "yes-no"
    assert again.threshold_of("tone") == 0.5  # the scan's threshold stays the first question's
    # The one question's answers keep their keys; the plan's windows (made by hand here) ask only the new one.
    windows = [r.window for _, r in fake_results(again, ["a"] * 3, [None] * 3)]
    assert [again.key_of(w, "tone") for w in windows] == keys
    with HistoryStore.open(db) as store:
        pairs = store.scans.done_pairs(again)
    assert pairs == {(0, 0), (1, 0), (2, 0)}


def test_a_scan_stored_before_question_sets_opens_and_resumes_nothing(tmp_path: Path) -> None:
    """The code before sets named the one question row after the whole prompt (here longer than a name may
    be); the scan opens with its question, its answers and its keys as they were."""
    audio = recording(tmp_path / "old.wav", 20.0)
    db = tmp_path / "history.sqlite3"
    prompt = "is there a very distant and rather faint bird singing somewhere in the audio? answer yes or no"
    record = ScanRecord(file=str(audio), prompt=prompt, max_len=2, scoring="yes-no", model_id="m")
    with ScanSession.create(db, record) as session:
        windows = [w for _, w in session.windows]
        session.append([(i, r) for i, (_, r) in enumerate(fake_results(record, ["yes", "no"], [0.7, 0.2]))])
    con = sqlite3.connect(db)
    with con:  # as the code before sets wrote it: name = prompt, and answers without a question's name
        con.execute("UPDATE scan_question SET name = prompt")
    con.close()
    with ScanSession.open(db, int(record.id or 0)) as session:
        old = session.record
        assert old.questions is None and old.prompt == prompt and old.n_answers == 2
        assert [w.start_s for w in windows] == [0.0, 10.0] and session.asks() == {}
        assert [old.key_of(w) for w in windows] == [record.key_of(w) for w in windows]
        loaded = session.store.load(int(record.id or 0))
    assert loaded is not None and [r.text for r in loaded.results] == ["yes", "no"]
    assert {r.question for r in loaded.results} == {old.question_set.names[0]}


def test_the_report_of_a_set_names_each_question_and_its_curve(tmp_path: Path) -> None:
    from mellow.scan.types import Window, WindowResult
    from mellow_desktop.core.scan_report import report_html

    with HistoryStore.open(tmp_path / "history.sqlite3") as store:
        record = ScanRecord(prompt=set_label(SET), questions=SET, file="/field/<dawn>.wav", n_windows=2,
                            scorings={"tone": "yes-no", "caption": None}, duration_s=20.0, threshold=0.6)
        store.scans.create(record)
        asked = (("tone", "yes", 0.2), ("caption", "a <bird>", None))
        answers = [(i, WindowResult(Window(Path(record.file), 10.0 * i, 10.0 * i + 10), text=t, tokens=[1],
                                    score=None if s is None else s + 0.5 * i, question=q))
                   for i in (0, 1) for q, t, s in asked]
        store.scans.append_results(record, answers)
        loaded = store.scans.load(int(record.id or 0))
    page = report_html(loaded)  # the file is not there: the report says so and goes on
    assert "Question “tone”" in page and "(threshold 0.30)" in page and "(threshold 0.60)" in page
    assert "<h2>Score: tone</h2>" in page and "Score: caption" not in page
    assert "<th>Question</th>" in page and "a &lt;bird&gt;" in page and "Results (4 answers)" in page
    assert page.count('class="hit"') == 1  # tone at 0.7 ≥ its 0.3; 0.2 is under it
