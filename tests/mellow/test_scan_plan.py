"""Window planning of whole-recording scans (mellow.scan.plan) and detection merging (mellow.scan.merge)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mellow.audio import Clip, load_window, read_audio, resample_to_32k, to_mono
from mellow.scan.merge import merge_detections
from mellow.scan.plan import ScanRange, ScanSetupError, find_audio_files, plan_scan, slot_two
from mellow.scan.types import Window, WindowResult
from mellow.timefmt import format_seconds
from tests.helpers.audio_files import write_noise as _wav


def _starts(plan) -> list[float]:
    return [w.start_s for w in plan.windows]


def test_65_s_file_with_hop_10_ends_its_last_window_at_the_end(tmp_path: Path) -> None:
    plan = plan_scan([_wav(tmp_path / "a.wav", 65.0)], ScanRange(hop_s=10))
    assert _starts(plan) == [0, 10, 20, 30, 40, 50, 55]
    assert [w.end_s for w in plan.windows] == [10, 20, 30, 40, 50, 60, 65]
    assert plan.problems == [] and plan.range_s == pytest.approx(65.0)


def test_a_range_ending_on_a_window_boundary_gets_no_extra_window(tmp_path: Path) -> None:
    plan = plan_scan([_wav(tmp_path / "a.wav", 60.0)], ScanRange(hop_s=10))
    assert _starts(plan) == [0, 10, 20, 30, 40, 50]


def test_a_file_shorter_than_a_window_is_one_tiled_window(tmp_path: Path) -> None:
    short = _wav(tmp_path / "short.wav", 3.5)
    plan = plan_scan([short], ScanRange(hop_s=2, from_s=1.0))
    assert [(w.start_s, w.end_s) for w in plan.windows] == [(0.0, 3.5)]
    want = resample_to_32k(to_mono(read_audio(short)[0]), 16000)
    assert torch.equal(load_window(Clip(short, 0.0))[: want.shape[0]], want)  # tiled from the file's start


def test_overlapping_hops_and_a_from_to_range(tmp_path: Path) -> None:
    path = _wav(tmp_path / "a.wav", 65.0)
    assert _starts(plan_scan([path], ScanRange(hop_s=4))) == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44,
                                                                48, 52, 55]
    assert _starts(plan_scan([path], ScanRange(from_s=12.5, to_s=40, hop_s=5))) == [12.5, 17.5, 22.5, 27.5,
                                                                                   30.0]
    # A range shorter than a window: one window at its start, moved back so that it fits in the file.
    assert _starts(plan_scan([path], ScanRange(from_s=20, to_s=24))) == [20.0]
    assert _starts(plan_scan([path], ScanRange(from_s=60, to_s=64))) == [55.0]


def test_planned_windows_are_the_windows_a_single_question_cuts(tmp_path: Path) -> None:
    """At 44.1 kHz the last window's start is a sample of the 32 kHz grid, and Clip(file, start) cuts
    exactly the planned samples out of the whole file resampled."""
    path = _wav(tmp_path / "odd.wav", 23.3, rate=44100, channels=2)
    plan = plan_scan([path], ScanRange(hop_s=7))
    whole = resample_to_32k(to_mono(read_audio(path)[0]), 44100)
    assert plan.files[0].duration_s == whole.shape[0] / 32000
    for w in plan.windows:
        start = round(w.start_s * 32000)
        assert start / 32000 == w.start_s and round(w.end_s * 32000) == start + 320000
        assert torch.allclose(load_window(Clip(path, w.start_s)), whole[start:start + 320000], atol=1e-6)
    assert round(plan.windows[-1].end_s * 32000) == whole.shape[0]


def test_bad_hop_and_range_are_refused(tmp_path: Path) -> None:
    path = _wav(tmp_path / "a.wav", 30.0)
    with pytest.raises(ScanSetupError, match="the hop must be at least 1 s") as hop:
        ScanRange(hop_s=0.5)
    assert hop.value.in_terms({"hop": "--hop"}) == "--hop must be at least 1 s, got 0.5 s"
    with pytest.raises(ScanSetupError) as order:
        ScanRange(from_s=20, to_s=10)
    assert str(order.value) == "the end of the range (10 s) must come after the start of the range (20 s)"
    assert order.value.in_terms({"from": "From", "to": "To"}) == "To (10 s) must come after From (20 s)"
    with pytest.raises(ScanSetupError) as both:  # a value is never read as a setting's name
        slot_two(tmp_path / "{hop}.wav", 0.0, None, 0.0)
    assert both.value.in_terms({"against": "--against"}).startswith("--against: ") and "{hop}.wav" in str(
        both.value)
    for rng in (ScanRange(from_s=30), ScanRange(to_s=31)):
        plan = plan_scan([path], rng)
        assert plan.windows == [] and "outside" in plan.problems[0].reason
        assert "30.00 s long" in plan.problems[0].reason  # under a minute: seconds, not h:mm:ss


def test_folders_recursively_sorted_with_problems_reported(tmp_path: Path) -> None:
    root = tmp_path / "site"
    b = _wav(root / "b.wav", 12.0)
    a = _wav(root / "sub" / "a.flac", 11.0)
    c = _wav(root / "a.wav", 11.0)
    (root / "notes.txt").write_text("not audio")
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    _wav(root / ".hidden" / "x.wav", 11.0)
    files, problems = find_audio_files([root, tmp_path / "missing.wav"])
    assert files == [c, b, root / "broken.wav", a] and len(problems) == 1
    assert "not found" in problems[0].reason
    plan = plan_scan([root])
    assert [f.path for f in plan.files] == [c, b, a]
    assert [p.file for p in plan.problems] == [root / "broken.wav"]
    assert "not a readable audio file" in plan.problems[0].reason
    assert all(w.file_hash and len(w.file_hash) == 40 for w in plan.windows)


def test_pair_scans_the_overlap_of_both_recordings(tmp_path: Path) -> None:
    a = _wav(tmp_path / "a.wav", 65.0)
    b = _wav(tmp_path / "b.wav", 40.0)
    plan = plan_scan([a], ScanRange(hop_s=10), slot_two(pair=b, pair_offset=-5.0))
    # B's time t - 5 exists for t in [5, 45): A's windows 5..35 and the last one ending at 45.
    assert _starts(plan) == [5, 15, 25, 35]
    assert [w.slot2_start_s for w in plan.windows] == [0, 10, 20, 30]
    assert all(w.slot2_file == b and w.slot2_hash for w in plan.windows)
    plan = plan_scan([a], ScanRange(hop_s=10), slot_two(pair=b, pair_offset=3.0))
    assert _starts(plan) == [0, 10, 20, 27] and plan.windows[-1].slot2_start_s == 30.0
    far = plan_scan([a], ScanRange(), slot_two(pair=b, pair_offset=50.0))
    assert far.windows == [] and "do not overlap" in far.problems[0].reason


def test_against_puts_one_fixed_clip_in_slot_two(tmp_path: Path) -> None:
    a = _wav(tmp_path / "a.wav", 25.0)
    ref = _wav(tmp_path / "ref.wav", 12.0)
    plan = plan_scan([a], ScanRange(hop_s=10), slot_two(against=ref, against_start=1.5))
    assert _starts(plan) == [0, 10, 15]
    assert {(w.slot2_file, w.slot2_start_s) for w in plan.windows} == {(ref, 1.5)}
    with pytest.raises(ScanSetupError, match="together"):
        slot_two(against=ref, pair=a)
    with pytest.raises(ScanSetupError, match="the reference clip: audio file not found") as missing:
        slot_two(against=tmp_path / "nope.wav")
    assert missing.value.in_terms({"against": "--against"}).startswith("--against: audio file not found")


def test_times_for_people_use_h_mm_ss_over_a_minute() -> None:
    assert [format_seconds(s) for s in (5, 42.5, 65, 7200, 3599.6)] == ["5.00 s", "42.50 s", "1:05.0",
                                                                      "2:00:00.0", "59:59.6"]


def _result(file: str, start: float, score: float | None, hop: float = 10.0) -> WindowResult:
    return WindowResult(Window(Path(file), start, start + 10.0), text=f"{file}@{start}", score=score)


def test_merge_joins_consecutive_windows_over_the_threshold() -> None:
    scores = [0.2, 0.6, 0.9, 0.5, 0.1, 0.7, None, 0.8]
    results = [_result("a.wav", 10.0 * i, s) for i, s in enumerate(scores)]
    results += [_result("b.wav", 0.0, 0.95), _result("b.wav", 10.0, 0.3)]
    events = merge_detections(results)
    assert [(str(d.file), d.start_s, d.end_s, d.n_windows) for d in events] == [
        ("a.wav", 10.0, 40.0, 3), ("a.wav", 50.0, 60.0, 1), ("a.wav", 70.0, 80.0, 1), ("b.wav", 0.0, 10.0, 1)]
    assert events[0].max_score == 0.9 and events[0].text == "a.wav@20.0"
    assert merge_detections(results, threshold=0.85)[0].start_s == 20.0


def test_merge_with_overlap_and_across_files() -> None:
    """Hop 5: windows overlap; the end-aligned last window merges with its neighbour; a new file starts
    a new event even when both are over the threshold."""
    starts = [0, 5, 10, 15, 20, 22]
    results = [_result("a.wav", s, 0.9) for s in starts] + [_result("b.wav", 0, 0.9)]
    events = merge_detections(results)
    assert [(str(d.file), d.start_s, d.end_s, d.n_windows) for d in events] == [("a.wav", 0, 32, 6),
                                                                                ("b.wav", 0, 10, 1)]
