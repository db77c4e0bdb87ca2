"""The listener's rules without a model: which windows are due (gaps, skips), N hits within M windows, clips
with pre- and post-roll cut from the ring (merged when they touch, zeroed where the privacy gate says), the
disk limit, and the settings' plain-word errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.listen.keeping import AudioGate, ClipBook
from mellow.listen.retention import enforce_limit
from mellow.listen.ring import Ring
from mellow.listen.settings import DiskLimit, ListenSettings, ListenSetupError
from mellow.listen.windows import HitRule, WindowSchedule

RATE = 8000
T0 = datetime(2025, 6, 14, 4, 30, tzinfo=timezone(timedelta(hours=2)))


def _signal(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (round(seconds * RATE), 1)).astype(np.float32)


def _ring(*parts: float) -> tuple[Ring, np.ndarray]:
    """A ring holding segments of these lengths (s), each a new segment 60 s of clock time after the last."""
    ring = Ring(RATE, 1, 300.0)
    audio = []
    for i, seconds in enumerate(parts):
        ring.mark_segment(T0 + timedelta(seconds=60 * i))
        block = _signal(seconds, seed=i)
        ring.write(block)
        audio.append(block)
    return ring, np.concatenate(audio)


def test_windows_never_straddle_a_gap_and_late_ones_are_skipped() -> None:
    ring, _ = _ring(25.0, 30.0)
    s = lambda x: round(x * RATE)  # noqa: E731
    schedule = WindowSchedule(s(10), s(10), max_lag=s(1000))
    due = schedule.due(ring, most=100)
    assert due.ready == [0, s(10), s(25), s(35), s(45)]
    assert due.lost == [s(20)] and due.skipped == []
    assert ring.clock_of(s(25)) == T0 + timedelta(seconds=60)  # the second segment's own clock
    assert ring.clock_of(s(24)) == T0 + timedelta(seconds=24)

    late = WindowSchedule(s(10), s(5), max_lag=s(15))
    due = late.due(ring, most=2)  # windows ending more than 15 s before the live edge (55 s) are skipped
    assert due.skipped == [0, s(5), s(10), s(15), s(25)] and due.lost == [s(20)]
    assert due.ready == [s(30), s(35)] and late.decided == s(40)


def test_hits_within_windows() -> None:
    rule = HitRule(threshold=0.5, hits=2, within=3)
    scores = [0.9, 0.1, 0.1, 0.6, 0.2, 0.7, 0.8, None, 0.9]
    assert [rule.push(x) for x in scores] == [False, False, False, False, False, True, True, False, True]
    rule.reset()
    assert rule.push(0.9) is False  # a gap starts over
    single = HitRule(threshold=0.5)
    assert [single.push(x) for x in (0.5, 0.49, None)] == [True, False, False]


def _book(tmp_path: Path, ring: Ring, gate: AudioGate) -> tuple[ClipBook, list[dict], list[tuple]]:
    ready: list[dict] = []
    notes: list[tuple] = []
    book = ClipBook(tmp_path, ring, gate, pre_s=5.0, post_s=5.0, on_ready=ready.append,
                    note=lambda *a: notes.append(a))
    return book, ready, notes


def test_detections_keep_pre_and_post_roll_and_touching_clips_merge(tmp_path: Path) -> None:
    ring = Ring(RATE, 1, 300.0)
    ring.mark_segment(T0)
    audio = _signal(100.0)
    gate = AudioGate(private=False)
    book, ready, _ = _book(tmp_path, ring, gate)
    rule = HitRule(threshold=0.5, hits=2, within=3)
    script = {2: 0.8, 3: 0.9, 4: 0.7, 8: 0.95}  # window index -> P(yes); others 0.1
    w = 10 * RATE
    detected = []
    for k in range(10):  # the input arrives window by window; each is judged once whole
        ring.write(audio[k * w:(k + 1) * w])
        if rule.push(script.get(k, 0.1)):
            detected.append(k)
            path, offset = book.claim(0, "q1", k * w, (k + 1) * w)
            book.when_written(0, (k + 1) * w + 5 * RATE, {"window": k, "clip": path.name, "offset": offset})
        gate.settle((k + 1) * w)
        book.work()
    ring.write(audio[10 * w:])
    gate.settle(ring.end)
    book.work(final=True)
    assert detected == [3, 4]  # window 2 alone is one hit; 8 has no other hit within 3 windows
    clips = sorted(tmp_path.glob("*.wav"))
    assert len(clips) == 1, "the detections at windows 3 and 4 share one clip"
    data, rate = sf.read(clips[0], dtype="float32", always_2d=True)
    assert rate == RATE and len(data) == 30 * RATE  # 5 s before window 3 to 5 s after window 4
    assert np.abs(data - audio[25 * RATE:55 * RATE]).max() < 1.0 / 32767 + 1e-6  # 16-bit PCM
    assert clips[0].name == "20250614T023025Z_q1.wav"  # its first sample's clock time, in UTC
    assert [(r["window"], r["offset"]) for r in ready] == [(3, 5.0), (4, 15.0)]


def test_the_privacy_gate_zeroes_speech_and_unasked_audio(tmp_path: Path) -> None:
    ring, audio = _ring(40.0)
    gate = AudioGate(private=True)
    book, _, _ = _book(tmp_path, ring, gate)
    w = 10 * RATE
    gate.add(0, w, speech=True)
    gate.add(w, 2 * w, speech=False)
    book.claim(0, "q1", w, 2 * w)  # a detection in window 1: its pre-roll lies in window 0 (speech)
    book.work()
    assert next(tmp_path.glob("*.wav")).stat().st_size == 44, "nothing is written before it is decided"
    gate.settle(3 * w)  # window 2 was skipped: its audio is not known to be free of speech
    book.work(final=True)
    data, _ = sf.read(next(tmp_path.glob("*.wav")), dtype="float32", always_2d=True)
    assert len(data) == 20 * RATE  # 5 s before window 1 to 5 s after
    assert not data[:5 * RATE].any() and not data[15 * RATE:].any()
    assert np.abs(data[5 * RATE:15 * RATE] - audio[w:2 * w]).max() < 1.0 / 32767 + 1e-6


def _session(folder: Path, name: str) -> Path:
    (folder / name / "clips").mkdir(parents=True)
    (folder / name / "session.json").write_text("{}")
    return folder / name / "clips"


def test_the_disk_limit_removes_the_oldest_but_never_the_newest_of_a_question(tmp_path: Path) -> None:
    old, new = _session(tmp_path, "20250101T000000Z"), _session(tmp_path, "20250102T000000Z")
    names = [(old, "20250101T000100Z_aaaaaaaa"), (old, "20250101T000200Z_bbbbbbbb"),
             (old, "20250101T000300Z_aaaaaaaa"), (new, "20250102T000100Z_aaaaaaaa"),
             (new, "20250102T000200Z_aaaaaaaa"), (new, "20250102T000300Z_bbbbbbbb")]
    for folder, stem in names:
        (folder / f"{stem}.wav").write_bytes(b"x" * 1000)
    busy = {new / "20250102T000200Z_aaaaaaaa.wav"}
    removed, kept = enforce_limit(tmp_path, budget=2500, keep_last=1, busy=busy)
    assert [p.name for p in removed] == ["20250101T000100Z_aaaaaaaa.wav", "20250101T000200Z_bbbbbbbb.wav",
                                         "20250101T000300Z_aaaaaaaa.wav", "20250102T000100Z_aaaaaaaa.wav"]
    left = sorted(p.name for p in tmp_path.rglob("*.wav"))
    assert left == ["20250102T000200Z_aaaaaaaa.wav", "20250102T000300Z_bbbbbbbb.wav"] and kept == 2000
    assert enforce_limit(tmp_path, budget=0, keep_last=1, busy=set()) == ([], 2000)  # only protected left


def test_settings_and_limits_in_plain_words() -> None:
    assert DiskLimit.parse("500MB").bytes == 500_000_000 and DiskLimit.parse("2").bytes == 2_000_000_000
    assert DiskLimit.parse("3MiB").bytes == 3 * 1024**2 and DiskLimit.parse("10%").share == 0.1
    for bad, words in (("lots", "not a disk limit"), ("0MB", "more than 0"), ("150%", "at most 100")):
        with pytest.raises(ListenSetupError, match=words):
            DiskLimit.parse(bad)
    with pytest.raises(ListenSetupError, match="hits must be between 1 and"):
        ListenSettings(questions=("q",), hits=3, within=2)
    with pytest.raises(ListenSetupError, match="a question to ask"):
        ListenSettings(questions=(" ",))
    with pytest.raises(ListenSetupError, match="hop must be"):
        ListenSettings(questions=("q",), hop_s=0.1)
