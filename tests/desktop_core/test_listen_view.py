"""Listen mode's display state without Qt: rows into lanes, detections and today's counts (the privacy
question's rows stay out), the real-time margin text, and the live spectrogram of a short input."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from mellow.listen import ListenRow, ListenSettings, ListenStatus
from mellow.listen.rows import PRIVACY, QUESTION
from mellow.scan.questions import Question, QuestionSet
from mellow.scan.writers.records import ScanRow
from mellow_desktop.core.clip_analysis import N_MELS
from mellow_desktop.core.listen_view import ListenView, live_analysis, margin_text

SET = QuestionSet((Question("birds", "is there a bird singing? answer yes or no", 0.6),
                   Question("dog", "is a dog barking? answer yes or no")))


def _row(name: str, stream_s: float, score: float, detection: bool, clock: datetime,
         role: str = QUESTION, clip: str | None = None) -> ListenRow:
    scan = ScanRow("/in.wav", stream_s, stream_s + 10, f"{name}?", "yes", score=score, question=name)
    return ListenRow(scan, "s1", 0, role, stream_s, clock.isoformat(), clock.isoformat(), hit=detection,
                     detection=detection, clip=clip, clip_offset_s=5.0 if clip else None)


def test_rows_fill_lanes_detections_and_todays_counts(tmp_path: Path) -> None:
    view = ListenView(ListenSettings(questions=SET, threshold=0.3), tmp_path, today={"dog": 2})
    now = datetime.now().astimezone()
    yesterday = now - timedelta(days=1)
    assert view.add(_row("birds", 0.0, 0.2, False, now)) is None
    item = view.add(_row("birds", 10.0, 0.7, True, now, clip="clips/a.wav"))
    view.add(_row("dog", 10.0, 0.9, True, yesterday))
    assert view.add(_row(PRIVACY, 10.0, 0.9, True, now, role=PRIVACY)) is None
    view.heard_s = 20.0
    birds, dog = view.lanes()
    assert (birds.name, birds.threshold, birds.times, birds.scores) == ("birds", 0.6, (0.0, 10.0), (0.2, 0.7))
    assert (dog.threshold, dog.scores) == (0.3, (0.9,))
    assert item is not None and item.clip == tmp_path / "clips" / "a.wav" and item.clip_offset_s == 5.0
    assert [d.question for d in view.detections] == ["dog", "birds"]  # newest first
    assert view.counts_text() == "Today: birds 1 · dog 2"  # yesterday's detection is not today's
    assert not view.clip_ready(item)
    view.clip_closed("a.wav")
    assert view.clip_ready(item) and view.rows == 3


def test_the_margin_text_says_how_much_of_each_hop_answering_takes() -> None:
    assert margin_text(ListenStatus("listening"), 10.0) == "waiting for the first window…"
    assert margin_text(ListenStatus("listening", answered=3, load=0.31), 10.0) == \
        "answers take 3.1 s of every 10 s"
    assert margin_text(ListenStatus("listening", answered=9, load=1.2, skipped=2, lag_s=14.0), 5.0) == \
        "answers take 6.0 s of every 5 s — too slow to keep up: windows are skipped · 2 windows skipped · " \
        "14 s behind"


def test_the_live_spectrogram_pads_a_short_input_and_ends_at_the_live_edge() -> None:
    rate = 48000
    t = np.arange(3 * rate) / rate
    stereo = np.stack([np.sin(2 * np.pi * 2000 * t)] * 2, axis=1).astype(np.float32)
    a = live_analysis(stereo, rate, 3.0)
    assert a.start_s == pytest.approx(-7.0) and a.mel_db.shape == (1001, N_MELS)
    loud = a.mel_db[-100:].max(axis=1)
    assert loud.min() > 0.0 and a.mel_db[:500].max() < -90.0  # silence before the input began


def test_a_session_of_two_questions_is_stored_as_one_scan_of_its_set(tmp_path: Path) -> None:
    """Rows of two questions over three windows (as mellow listen writes them) become one History scan of
    the set: its questions with their thresholds, every (window, question) answer, stored once."""
    import json

    from mellow.listen.session import ROWS_FILE, SESSION_FILE
    from mellow_desktop.core.listen_history import store_session
    from mellow_desktop.core.scan_session import connect
    from mellow_desktop.core.scan_store import ScanStore

    session = tmp_path / "20261205T120000Z"
    session.mkdir()
    settings = ListenSettings(questions=SET, threshold=0.3).to_dict()
    info = {"settings": settings, "started": "2026-12-05T12:00:00+00:00",
            "ended": "2026-12-05T12:00:30+00:00", "input": "in.wav"}
    (session / SESSION_FILE).write_text(json.dumps(info))
    now = datetime.now().astimezone()
    rows = []
    for k, start in enumerate((0.0, 10.0, 20.0)):
        for q, (name, score) in enumerate((("birds", 0.1 + 0.3 * k), ("dog", 0.5))):
            scan = ScanRow("/in.wav", start, start + 10, SET.get(name).prompt, "yes", score=score,
                           question=name, file_hash="h", key=f"{k}{q}" * 10)
            threshold = settings["questions"][q]["threshold"] or 0.3
            rows.append(ListenRow(scan, session.name, q, QUESTION, start, now.isoformat(), now.isoformat(),
                                  threshold=threshold).to_json())
    (session / ROWS_FILE).write_text("\n".join(rows) + "\n")
    db = tmp_path / "history.sqlite3"
    (scan_id,) = store_session(db, session)
    assert store_session(db, session) == [scan_id], "a session is stored once"
    conn, fts = connect(db)
    try:
        loaded = ScanStore(conn, fts).load(scan_id)
    finally:
        conn.close()
    assert loaded is not None
    record = loaded.record
    assert record.question_set.names == ("birds", "dog") and record.n_windows == 3
    assert [record.threshold_of(n) for n in ("birds", "dog")] == [0.6, 0.3]
    got = sorted((r.window.start_s, r.question, round(r.score, 3)) for r in loaded.results)
    assert got == [(0.0, "birds", 0.1), (0.0, "dog", 0.5), (10.0, "birds", 0.4), (10.0, "dog", 0.5),
                   (20.0, "birds", 0.7), (20.0, "dog", 0.5)]
