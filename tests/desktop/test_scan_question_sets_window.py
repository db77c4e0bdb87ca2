"""A question set scanned from the window with the tiny real model over a folder of two timed recordings:
the stored answers are the engine runner's for each (window, question), the timeline draws one lane per
question at its own threshold, the table names and filters the question, the Activity chart charts the
question picked, exports carry the question, and a question added afterwards is the only one asked."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from mellow.generation import GenerationOptions
from mellow.scan.questions import Question, QuestionSet
from mellow.scan.runner import ScanRunner
from mellow.scan.writers import raven, table
from mellow_desktop.core.scan_record import ScanRecord, set_label
from tests.helpers.audio_files import write_recording
from tests.helpers.scans import YES_NO

SPEECH = "is someone speaking? answer yes or no"
SET = QuestionSet((Question("tone", YES_NO, 0.0), Question("speech", SPEECH, 1.0)), "pair")


def _scan(qtbot: Any, w: Any, record: ScanRecord) -> None:
    with qtbot.waitSignal(w.scans.scan_ended, timeout=120000) as ended:
        assert w.scans.start(record, w.panel_a, batch_size=3)
    assert ended.args == ["finished"]


def test_a_set_over_a_folder_gives_lanes_a_question_filter_and_a_question_picker(
        qtbot: Any, ready_window: Any, tiny_engine: Any, tmp_path: Path) -> None:
    w = ready_window
    root = tmp_path / "SD01"
    for hh in (5, 6):  # two AudioMoth files of 15 s (two windows each) on one morning
        write_recording(root / f"20260501_{hh:02d}0000.WAV", 15.0, seed=hh)
    record = ScanRecord(file=str(root), prompt=set_label(SET), questions=SET, max_len=2, zone="UTC")
    _scan(qtbot, w, record)
    stored = w.store.scans.load(w.scans.record.id)
    assert stored.record.questions == SET and len(stored.results) == 8
    windows = list(dict.fromkeys(r.window for r in stored.results))
    alone = list(ScanRunner(tiny_engine, SET, GenerationOptions(max_len=2), batch_size=2).run(windows))
    assert [(r.window, r.question, r.text) for r in stored.results] == [
        (r.window, r.question, r.text) for r in alone]
    assert [r.score for r in stored.results] == pytest.approx([r.score for r in alone], abs=1e-6)

    pane, view = w.scans.pane, w.scans.view
    timeline = pane.timeline
    assert timeline.lanes() == ("tone", "speech") and timeline.minimumHeight() >= 112
    tone, speech = timeline.lane_rect("tone"), timeline.lane_rect("speech")
    assert tone.bottom() == pytest.approx(speech.top()) and tone.height() == pytest.approx(speech.height())
    assert timeline.threshold_y("tone") == pytest.approx(timeline._score_rect("tone").bottom())  # at 0
    assert len(view.detections(question="tone")) == 2 and view.detections(question="speech") == []
    timeline.set_threshold(0.9, "speech")
    assert view.threshold_of("speech") == 0.9 and view.threshold_of("tone") == 0.0

    assert pane.model.headers()[:3] == ("File", "Clock time", "Question") and pane.model.rowCount() == 8
    assert pane.question.isVisibleTo(pane) and pane.question.itemText(2) == "speech"
    pane.choose_question("speech")
    rows = pane.model.rows
    assert len(rows) == 4 and {r.question for r in rows} == {"speech"}
    assert pane.model.data(pane.model.index(0, 2)) == "speech"

    activity = w.scans.activity
    assert activity.questions.isVisibleTo(activity) and activity.question() == "tone"
    cell = activity.chart.grid.cell(date(2026, 5, 1), 6)
    assert (cell.windows, cell.detections) == (2, 2)  # tone at threshold 0: every window
    activity.questions.setCurrentIndex(1)  # speech at 0.9
    cell = activity.chart.grid.cell(date(2026, 5, 1), 6)
    assert (cell.windows, cell.detections) == (2, sum(r.score >= 0.9 for r in stored.results[4:]
                                                      if r.question == "speech"))

    rows = table.read(w.scans.export("csv", tmp_path / "sd01.csv"))
    assert [r.question for r in rows] == [r.question for r in stored.results]
    selections = raven.read(w.scans.export("raven", tmp_path / "sd01.selections.txt"))
    assert {s.annotation for s in selections} == {"tone"}  # speech has no window at 0.9 or above

    # A question added afterwards: only it is asked of every window, the stored answers stay.
    asked: list[str] = []
    w.host.worker.scan_batch.connect(lambda _job, batch: asked.extend(r.question for _, r in batch.answered))
    with qtbot.waitSignal(w.scans.scan_ended, timeout=120000) as ended:
        assert w.scans.add_question("caption the audio.")
    assert ended.args == ["finished"] and asked == ["caption the audio"] * 4
    again = w.store.scans.load(w.scans.record.id)
    assert again.record.question_set.names == ("tone", "speech", "caption the audio")
    assert [(r.window, r.text) for r in again.results if r.question != "caption the audio"] == [
        (r.window, r.text) for r in stored.results]
    assert timeline.lanes() == ("tone", "speech", "caption the audio") and pane.model.rowCount() == 4
    pane.choose_question(None)  # the filter kept "speech" until All is chosen
    assert pane.model.rowCount() == 12 and pane.question.count() == 4
