"""``mellow batch`` interrupted for real (SIGKILL at 500 rows, SIGINT, a full disk), then run again: every row
ends up in results.jsonl exactly once and nothing finished is lost."""

from __future__ import annotations

import csv
import json
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.audio_files import write_tone
from tests.helpers.paths import A_WAV, B_WAV, ROOT
from tests.helpers.processes import child_env

pytestmark = pytest.mark.subprocess

N_ROWS = 500
PROMPTS = ("caption the audio.", "is there a dog in the audio? answer yes or no",
           "what is the difference between the two audios?", "describe the sound in one sentence.")


def _clips(folder: Path) -> list[Path]:
    """Four small WAVs (different tones and rates) plus the two reference clips."""
    out = [A_WAV, B_WAV]
    for i, (freq, rate) in enumerate(((300.0, 16000), (1200.0, 22050), (2500.0, 44100), (700.0, 8000))):
        out.append(write_tone(folder / f"clip {i}.wav", 3.0, rate, freq=freq, amplitude=0.3))
    return out


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_bytes().decode("utf-8").splitlines()]


def test_batch_of_500_rows_killed_midway_finishes_each_row_once(tiny_ckpt: Path, gguf: Path,
                                                                tmp_path: Path) -> None:
    clips = _clips(tmp_path)
    table = tmp_path / "pairs.csv"
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "prompt"])
        for i in range(N_ROWS):
            w.writerow([clips[i % len(clips)], clips[(i * 7 + 1) % len(clips)], PROMPTS[i % len(PROMPTS)]])
    out = tmp_path / "results.jsonl"
    args = [sys.executable, "-m", "mellow", "batch", str(table), "--out", str(out), "--model",
            str(tiny_ckpt), "--tokenizer", str(gguf), "--config", "tiny", "--device", "cpu", "--max-len", "2"]
    env = child_env(tmp_path)

    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    done_at_kill = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and (done_at_kill := out.read_bytes().count(b"\n")) >= N_ROWS // 2:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the batch ended before it could be killed: {proc.stderr.read()!r}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    raw = out.read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]  # a line cut by the kill does not count as a row
    before = [json.loads(line) for line in complete.decode("utf-8").splitlines()]
    assert N_ROWS // 2 <= len(before) < N_ROWS, (done_at_kill, len(before))

    again = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    rows = _rows(out)
    indices = [r["row"] for r in rows]
    assert sorted(indices) == list(range(N_ROWS)), "each row exactly once"
    assert len(set(r["key"] for r in rows)) == N_ROWS
    assert rows[: len(before)] == before, "rows finished before the crash are kept as they were"
    assert all(r["error"] is None and isinstance(r["answer"], str) for r in rows)
    print(f"\nbatch: killed after {len(before)} of {N_ROWS} rows; restart added {N_ROWS - len(before)}")

    third = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0 and _rows(out) == rows and "already" in third.stderr


def _table(folder: Path, n: int) -> Path:
    clips = _clips(folder)
    table = folder / "pairs.csv"
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "prompt"])
        for i in range(n):
            w.writerow([clips[i % len(clips)], clips[(i * 5 + 2) % len(clips)], PROMPTS[i % len(PROMPTS)]])
    return table


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_batch_on_a_full_disk_stops_with_one_error_line_then_finishes(tiny_ckpt: Path, gguf: Path,
                                                                      tmp_path: Path) -> None:
    """The results file hits a size limit (a full disk, as RLIMIT_FSIZE) in the middle of a line: one
    ``error:`` line, exit 2; a later run with space finishes every row exactly once."""
    n = 150
    table = _table(tmp_path, n)
    out = tmp_path / "results.jsonl"
    args = [sys.executable, "-m", "mellow", "batch", str(table), "--out", str(out), "--model",
            str(tiny_ckpt), "--tokenizer", str(gguf), "--config", "tiny", "--device", "cpu", "--max-len", "2"]
    env = child_env(tmp_path)
    limit = 20_000  # rows are about 330 bytes: the limit falls inside row 60 or so
    full = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          preexec_fn=_limit_file_size(limit))
    assert full.returncode == 2, full.stderr[-2000:]
    errors = [line for line in full.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in full.stderr, full.stderr[-2000:]
    assert "too large" in errors[0].lower() or "no space" in errors[0].lower(), errors[0]
    raw = out.read_bytes()
    assert len(raw) == limit and not raw.endswith(b"\n"), "the limit cut a line in half"
    kept = raw[: raw.rfind(b"\n") + 1].decode("utf-8").splitlines()

    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = _rows(out)
    assert sorted(r["row"] for r in rows) == list(range(n))
    assert [json.dumps(r, ensure_ascii=False) for r in rows[: len(kept)]] == kept
    print(f"\nbatch on a full disk: stopped after {len(kept)} complete rows (file cut at {limit} bytes); "
          f"the rerun added {n - len(kept)}; the message: {errors[0]}")


def test_full_disk_message_names_the_results_file(tiny_ckpt: Path, gguf: Path, tmp_path: Path) -> None:
    """The one error line says which file could not be written and that a rerun continues."""
    table = _table(tmp_path, 10)
    out = tmp_path / "results.jsonl"
    args = [sys.executable, "-m", "mellow", "batch", str(table), "--out", str(out), "--model",
            str(tiny_ckpt), "--tokenizer", str(gguf), "--config", "tiny", "--device", "cpu", "--max-len", "2"]
    full = subprocess.run(args, env=child_env(tmp_path), cwd=ROOT, capture_output=True, text=True,
                          timeout=300, preexec_fn=_limit_file_size(1000))
    errors = [line for line in full.stderr.splitlines() if line.startswith("error: ")]
    assert full.returncode == 2 and len(errors) == 1, full.stderr[-2000:]
    assert out.name in errors[0] and "again" in errors[0], errors[0]


def test_ctrl_c_stops_the_batch_cleanly_and_a_rerun_finishes(tiny_ckpt: Path, gguf: Path,
                                                             tmp_path: Path) -> None:
    """SIGINT mid-batch: exit 130, no traceback, finished rows kept; the rerun adds the rest once."""
    n = 300
    table = _table(tmp_path, n)
    out = tmp_path / "results.jsonl"
    args = [sys.executable, "-m", "mellow", "batch", str(table), "--out", str(out), "--model",
            str(tiny_ckpt), "--tokenizer", str(gguf), "--config", "tiny", "--device", "cpu", "--max-len", "2"]
    env = child_env(tmp_path)
    proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 40:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "Traceback" not in err and "interrupted" in err
    before = _rows(out)
    assert 40 <= len(before) < n
    again = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    rows = _rows(out)
    assert sorted(r["row"] for r in rows) == list(range(n)) and rows[: len(before)] == before
