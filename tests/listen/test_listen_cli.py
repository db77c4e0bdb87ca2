"""``mellow listen --input FILE --speed N`` run for real with the tiny model: the same answers as a scan, the
stream and clips kept exactly, ``--on-detect`` once each clip holds its post-roll, the privacy question, the
disk limit, SIGKILL then a restart that repairs, and the user's mistakes in one line."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.listen import read_events, read_rows
from mellow.scan.writers import jsonl
from tests.helpers.listening import (
    ROOT,
    YES_NO,
    bird_32k,
    events_of,
    listen_args,
    read_audio,
    run_listen,
    session_of,
    wait_for,
    write_32k,
)
from tests.helpers.processes import child_env

pytestmark = pytest.mark.subprocess  # `mellow listen` child processes, some killed

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?[+-]\d\d:\d\d$")


def _same(kept: np.ndarray, heard: np.ndarray) -> bool:
    """Equal but for 16-bit re-encoding (the writer scales by 32767, reading by 32768: at most 1 LSB)."""
    return kept.shape == heard.shape and float(np.abs(kept - heard).max(initial=0.0)) <= 1.01 / 32768


def _field_recording(path: Path, seconds: float, seed: int = 0) -> Path:
    """Birdsong at a few places over quiet noise, 32 kHz 16-bit (windows differ, samples exact)."""
    rng = np.random.default_rng(seed)
    wave = (0.01 * rng.standard_normal(round(seconds * 32000))).astype(np.float32)
    bird = bird_32k()
    for at in np.arange(3.0, seconds - 8.0, 17.0):
        i = round(at * 32000)
        wave[i:i + len(bird)] += bird
    return write_32k(path, np.clip(wave, -1, 1))


def _scan_answers(tiny_model, tokenizer, audio: Path, starts: list[float], prompt: str = YES_NO) -> list:
    from mellow.generation import Engine, GenerationOptions
    from mellow.scan.runner import ScanRunner
    from mellow.scan.types import Window

    runner = ScanRunner(Engine(tiny_model, tokenizer, device="cpu"), prompt, GenerationOptions(max_len=1))
    return list(runner.run([Window(audio, s, s + 10.0) for s in starts]))


def test_a_file_heard_fast_is_answered_as_a_scan_and_kept_whole(tiny_ckpt: Path, gguf: Path, tiny_model,
                                                                tokenizer, tmp_path: Path) -> None:
    audio = _field_recording(tmp_path / "dawn.wav", 60.0)
    out = tmp_path / "station"
    probe = ("import json,sys,soundfile; r=json.load(sys.stdin); "
             "print(json.dumps([r['key'], soundfile.info(r['clip']).duration]))")
    cmd = f"{shlex.quote(sys.executable)} -c {shlex.quote(probe)} >> ../alerts.jsonl"  # run in the session
    proc = run_listen(listen_args(out, tiny_ckpt, gguf, "--input", str(audio), "--speed", "20", "--max-lag",
                                  "600", "--threshold", "0", "--keep-stream", "--on-detect", cmd),
                      child_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    session = session_of(out)
    rows = read_rows(session)
    want = _scan_answers(tiny_model, tokenizer, audio, [0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
    assert [(r.scan.start_s, r.text, r.scan.tokens, r.score) for r in rows] == \
        [(w.window.start_s, w.text, w.tokens, w.score) for w in want], "the scan runner's answers, exactly"
    assert [r.scan for r in rows] == jsonl.read(session / "rows.jsonl"), "scan readers take the rows as is"
    assert all(r.detection and r.clip == rows[0].clip for r in rows), "touching detections share one clip"
    assert all(ISO.match(r.clock_start) and ISO.match(r.clock_end) for r in rows)
    assert len(proc.stdout.splitlines()) == 6 and proc.stdout.splitlines()[1].split("\t")[1] == "10.00"

    heard = read_audio(audio)
    (stream,) = sorted((session / "stream").glob("*.wav"))
    assert _same(read_audio(stream), heard), "the kept stream is the input, sample for sample"
    assert _same(read_audio(session / rows[0].clip), heard)
    alerts = [json.loads(line) for line in (out / "alerts.jsonl").read_text().splitlines()]
    assert sorted(k for k, _ in alerts) == sorted(r.scan.key for r in rows), "one command per detection"
    offsets = {r.scan.key: r.clip_offset_s for r in rows}
    assert all(seconds >= min(60.0, offsets[k] + 10.0 + 5.0) - 0.01 for k, seconds in alerts), \
        "each command ran once its clip held the post-roll"
    info = json.loads((session / "session.json").read_text())
    assert info["ended"] and info["answered"] == 6 and info["skipped"] == 0 and info["input"] == str(audio)


def test_a_question_set_is_asked_in_one_pass_each_question_at_its_own_threshold(
        tiny_ckpt: Path, gguf: Path, tiny_model, tokenizer, tmp_path: Path) -> None:
    """--questions FILE: every window answered for each question exactly as a scan of that set answers it,
    rows named by question, and a question's own threshold deciding its detections."""
    from mellow.generation import Engine, GenerationOptions
    from mellow.scan.questions import load_questions
    from mellow.scan.runner import ScanRunner
    from mellow.scan.types import Window

    audio = _field_recording(tmp_path / "hide.wav", 30.0, seed=3)
    qfile = tmp_path / "hide.yaml"
    qfile.write_text("questions:\n"
                     f"  - {{name: birds, prompt: '{YES_NO}', threshold: 0.0}}\n"
                     "  - {name: dog, prompt: 'is a dog barking? answer yes or no', threshold: 1.0}\n")
    args = [a for a in listen_args(tmp_path / "out", tiny_ckpt, gguf, "--input", str(audio), "--speed", "20",
                                   "--max-lag", "600", "--questions", str(qfile)) if a != YES_NO]
    args.remove("--prompt")
    proc = run_listen(args, child_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = read_rows(session_of(tmp_path / "out"))
    runner = ScanRunner(Engine(tiny_model, tokenizer, device="cpu"), load_questions(qfile),
                        GenerationOptions(max_len=1))
    want = list(runner.run([Window(audio, s, s + 10.0) for s in (0.0, 10.0, 20.0)]))
    assert [(r.scan.question, r.question_index, r.scan.start_s, r.scan.tokens, r.score) for r in rows] == \
        [(w.question, ("birds", "dog").index(w.question), w.window.start_s, w.tokens, w.score) for w in want]
    assert [(r.scan.question, r.threshold, r.detection) for r in rows] == \
        [("birds", 0.0, True), ("dog", 1.0, False)] * 3


def test_privacy_withholds_the_audio_of_windows_it_says_yes_to(tiny_ckpt: Path, gguf: Path, tiny_model,
                                                               tokenizer, tmp_path: Path) -> None:
    """Loud and quiet birdsong alternate by window; the tiny model's privacy score is higher for the loud
    windows, so a threshold between them makes exactly those "speech"."""
    bird = bird_32k()
    wave = np.zeros(40 * 32000, dtype=np.float32)
    for k, gain in enumerate((1.0, 0.3, 1.0, 0.3)):
        wave[k * 320000:k * 320000 + len(bird)] = gain * bird
    audio = write_32k(tmp_path / "hide.wav", wave)
    privacy = "is someone speaking? answer yes or no"
    scores = [r.score for r in _scan_answers(tiny_model, tokenizer, audio, [0.0, 10.0, 20.0, 30.0], privacy)]
    assert min(scores[0], scores[2]) > max(scores[1], scores[3])
    threshold = (min(scores[0], scores[2]) + max(scores[1], scores[3])) / 2
    out = tmp_path / "station"
    proc = run_listen(listen_args(out, tiny_ckpt, gguf, "--input", str(audio), "--speed", "20", "--max-lag",
                                  "600", "--threshold", "0", "--keep-stream", "--privacy-prompt", privacy,
                                  "--privacy-threshold", repr(threshold)), child_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    session = session_of(out)
    rows = read_rows(session)
    asked = [r for r in rows if r.role == "question"]
    checks = [r for r in rows if r.role == "privacy"]
    assert [r.privacy_score for r in asked] == pytest.approx(scores, abs=1e-6)
    assert [r.hit for r in checks] == [True, False, True, False]
    assert [r.prompt for r in checks] == [privacy] * 4
    assert [r.audio_withheld for r in asked] == ["speech", None, "speech", None]
    assert [r.clip is None for r in asked] == [True, False, True, False]
    heard = read_audio(audio)
    (stream,) = (session / "stream").glob("*.wav")
    kept = read_audio(stream)
    sec = 32000
    assert not kept[:10 * sec].any() and not kept[20 * sec:30 * sec].any(), "speech windows keep no audio"
    assert _same(kept[10 * sec:20 * sec], heard[10 * sec:20 * sec])
    clip = read_audio(session / asked[1].clip)  # from 5 s before window 1 to the end of the input
    assert len(clip) == 35 * sec and asked[1].clip_offset_s == 5.0
    assert not clip[:5 * sec].any() and not clip[15 * sec:25 * sec].any()
    assert _same(clip[5 * sec:15 * sec], heard[10 * sec:20 * sec])


def test_the_disk_limit_keeps_the_newest_clips_and_every_row(tiny_ckpt: Path, gguf: Path,
                                                             tmp_path: Path) -> None:
    audio = _field_recording(tmp_path / "site.wav", 120.0)
    out = tmp_path / "station"
    proc = run_listen(listen_args(out, tiny_ckpt, gguf, "--input", str(audio), "--speed", "20", "--max-lag",
                                  "600", "--threshold", "0", "--hop", "20", "--pre", "2", "--post", "2",
                                  "--max-disk", "100kB", "--keep-last", "2"), child_env(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    session = session_of(out)
    rows = read_rows(session)
    clips = [r.clip for r in rows]
    assert len(rows) == 6 and all(r.detection for r in rows) and len(set(clips)) == 6, "clips apart"
    left = sorted(f"clips/{p.name}" for p in (session / "clips").glob("*.wav"))
    assert left == clips[-2:], "the newest two clips of the question stay, the oldest went first"
    removed = [e["file"] for e in read_events(session) if e["kind"] == "removed"]
    assert [Path(f).name for f in removed] == [Path(c).name for c in clips[:4]]
    assert events_of(session, "limit"), "over the limit with only protected clips left: said so"
    assert "disk limit 100 kB: removed" in proc.stderr


def test_sigkill_then_a_restart_repairs_the_clip_and_the_stream(tiny_ckpt: Path, gguf: Path,
                                                                tmp_path: Path) -> None:
    audio = _field_recording(tmp_path / "night.wav", 150.0)
    out = tmp_path / "station"
    env = child_env(tmp_path)
    args = listen_args(out, tiny_ckpt, gguf, "--input", str(audio), "--speed", "4", "--max-lag", "600",
                       "--threshold", "0", "--keep-stream")
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    rows_file = lambda: next(out.glob("*/rows.jsonl"), None)  # noqa: E731
    wait_for(lambda: rows_file() is not None and rows_file().read_bytes().count(b"\n") >= 3, "3 rows", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    killed = session_of(out)
    (clip,) = (killed / "clips").glob("*.wav")
    (stream,) = (killed / "stream").glob("*.wav")
    assert Path(f"{clip}.recording").exists() and Path(f"{stream}.recording").exists(), "cut mid-write"

    short = _field_recording(tmp_path / "short.wav", 10.0, seed=1)
    again = run_listen(listen_args(out, tiny_ckpt, gguf, "--input", str(short), "--speed", "20"), env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"repaired {killed.name}/clips/{clip.name}" in again.stderr
    assert f"session {killed.name} was interrupted" in again.stderr
    assert not list(killed.rglob("*.recording"))
    info = json.loads((killed / "session.json").read_text())
    assert info["ended"] == "interrupted"
    rows = read_rows(killed)
    assert len(rows) >= 3 and [r.stream_s for r in rows] == [10.0 * k for k in range(len(rows))], \
        "the rows written are whole and consecutive: at most the window in flight is lost"
    heard = read_audio(audio)
    sec = 32000
    # At most a moment is lost: the clip holds at least what the rows before the last had claimed (its
    # post-roll), the stream all but the last keeper tick before the kill.
    at_least = {clip: round((rows[-2].scan.end_s + 5.0) * sec),
                stream: round(rows[-1].scan.end_s * sec) - 2 * sec}
    for path, frames in at_least.items():  # both start where the input starts
        kept = read_audio(path)
        assert len(kept) >= frames and _same(kept, heard[:len(kept)])
    assert sf.info(clip).frames == len(read_audio(clip))


def test_mistakes_are_one_line_before_the_model_loads(tiny_ckpt: Path, gguf: Path, tmp_path: Path) -> None:
    env = child_env(tmp_path)
    out = tmp_path / "station"
    from mellow.audio_io.devices import portaudio_problem

    audio = _field_recording(tmp_path / "a.wav", 12.0)
    no_device = "audio is unavailable" if portaudio_problem() else "no such microphone 42"
    cases = [
        (["--input", str(tmp_path / "missing.wav")], "audio file not found"),
        (["--input-device", "no such microphone 42"], no_device),
        (["--input", str(audio), "--hits", "3", "--within", "2"], "hits must be between 1 and"),
        (["--input", str(audio), "--max-disk", "lots"], "not a disk limit"),
        (["--speed", "3"], "--speed works with --input FILE only"),
    ]
    for extra, words in cases:
        proc = run_listen(listen_args(out, tiny_ckpt, gguf, *extra), env, timeout=120)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert words in lines[0] and "Traceback" not in proc.stderr
