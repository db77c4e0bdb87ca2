"""The ``mellow`` command line, run for real as ``python -m mellow`` (plus a few in-process checks)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mellow.cli.batch import finished_keys, read_batch_csv
from mellow.cli.main import main
from tests.helpers.audio_files import write_recording
from tests.helpers.hub import HubServer
from tests.helpers.paths import A_WAV, B_WAV
from tests.helpers.processes import offline_user, run_mellow


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment of a user with nothing installed and no network."""
    return offline_user(tmp_path, monkeypatch)


def _model_args(ckpt: Path, gguf: Path) -> list[str]:
    return ["--model", str(ckpt), "--tokenizer", str(gguf), "--config", "tiny", "--device", "cpu"]


def _assert_user_error(proc: subprocess.CompletedProcess[str], words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error: ") and words in lines[-1], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.subprocess
def test_generate_streams_the_engines_answer(tiny_ckpt: Path, tiny_model, gguf: Path,
                                             env: dict[str, str]) -> None:
    from mellow.audio import Clip
    from mellow.generation import Engine, GenerationOptions
    from mellow.model.tokenizer import PromptTokenizer

    proc = run_mellow(["generate", str(A_WAV), str(B_WAV), "caption the audio.", "--max-len", "12",
                 *_model_args(tiny_ckpt, gguf)], env)
    assert proc.returncode == 0, proc.stderr
    engine = Engine(tiny_model, PromptTokenizer.load(gguf), device="cpu")
    opts = GenerationOptions(max_len=12)
    want = engine.generate([(Clip(A_WAV), Clip(B_WAV), "caption the audio.")], opts)[0].text
    assert proc.stdout == want + "\n"


def test_sampling_options_reach_the_engine(tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    args = ["generate", str(A_WAV), str(B_WAV), "caption the audio.", "--max-len", "10",
            *_model_args(tiny_ckpt, gguf)]
    outputs = []
    for extra in ([], ["--sample", "--seed", "5", "--temperature", "1.5", "--top-p", "1"],
                  ["--sample", "--seed", "5", "--temperature", "1.5", "--top-p", "1"]):
        assert main(args + extra) == 0
        outputs.append(capsys.readouterr().out)
    greedy, sampled, again = outputs
    assert sampled == again  # seeded
    assert sampled != greedy
    assert main(args + ["--sample", "--temperature", "0"]) == 2
    assert "temperature" in capsys.readouterr().err


@pytest.mark.subprocess
def test_user_mistakes_print_one_error_line_and_exit_2(tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                                       tmp_path: Path) -> None:
    bad_audio = tmp_path / "notes.wav"
    bad_audio.write_text("not audio")
    bad_ckpt = tmp_path / "bad.ckpt"
    bad_ckpt.write_bytes(os.urandom(4096))
    _assert_user_error(run_mellow(["generate", str(tmp_path / "missing.wav"), str(B_WAV), "hi",
                                   *_model_args(tiny_ckpt, gguf)], env), "missing.wav")
    _assert_user_error(run_mellow(["generate", str(bad_audio), str(B_WAV), "hi",
                                   *_model_args(tiny_ckpt, gguf)], env), "notes.wav")
    _assert_user_error(run_mellow(["generate", str(A_WAV), str(B_WAV), "hi",
                                   *_model_args(bad_ckpt, gguf)], env), "not a checkpoint")
    # v0 is not installed in this environment
    _assert_user_error(run_mellow(["generate", str(A_WAV), str(B_WAV), "hi", "--tokenizer", str(gguf)], env),
                       "mellow download")


def test_in_process_errors_and_info(tiny_ckpt: Path, gguf: Path, env: dict[str, str], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("x,y\n1,2\n")
    out = str(tmp_path / "o.jsonl")
    assert main(["batch", str(bad_csv), "--out", out, *_model_args(tiny_ckpt, gguf)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "a, b, prompt" in err and err.count("\n") == 1
    assert main(["batch", str(tmp_path / "none.csv"), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    assert main(["convert", str(tmp_path / "none.ckpt")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["download", "--dir", str(tmp_path / "m")]) == 2  # HF_HUB_OFFLINE=1 and nothing cached
    assert "HF_HUB_OFFLINE" in capsys.readouterr().err

    assert main(["info", "--config", "tiny", "--model", str(tiny_ckpt), "--tokenizer", str(gguf)]) == 0
    out = capsys.readouterr().out
    assert "parameters" in out and str(tiny_ckpt) in out and "installed" in out
    assert main(["info"]) == 0  # nothing installed: says so, does not fail
    out = capsys.readouterr().out
    assert "167,020,951 parameters" not in out or "not installed" in out
    assert "not installed" in out


@pytest.mark.subprocess
def test_convert_command(tiny_ckpt: Path, env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "tiny.safetensors"
    proc = run_mellow(["convert", str(tiny_ckpt), "--out", str(out)], env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out) and out.stat().st_size > 0


def _rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()]


@pytest.mark.subprocess
def test_batch_survives_sigkill_and_finishes_every_row_exactly_once(
        tiny_ckpt: Path, gguf: Path, env: dict[str, str], tmp_path: Path) -> None:
    long = write_recording(tmp_path / "long.wav", 30.0, 32000)
    table = tmp_path / "pairs.csv"
    prompts = ["caption the audio.", "is there a cat in the audio? answer yes or no",
               "explain the difference between the two audios in detail."]
    n_rows = 36
    with table.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["a", "b", "prompt", "start_a", "start_b"])
        for i in range(n_rows):  # every row its own window, so no encoder cache makes rows instant
            w.writerow(["long.wav", str(B_WAV), prompts[i % 3], f"{i * 0.5:.1f}", "0"])
    out = tmp_path / "results.jsonl"
    args = ["batch", str(table), "--out", str(out), "--max-len", "16", *_model_args(tiny_ckpt, gguf)]

    proc = subprocess.Popen([sys.executable, "-m", "mellow", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = _rows(out)
    assert 3 <= len(first) < n_rows, "the batch should have been killed mid-run"
    with out.open("ab") as f:  # and as if a crash had also cut a line in half
        f.write(b'{"row": 99, "key": "abc", "answ')

    done = run_mellow(args, env)
    assert done.returncode == 0, done.stderr
    rows = _rows(out)
    assert sorted(r["row"] for r in rows) == list(range(n_rows))
    assert rows[: len(first)] == first  # finished rows were kept, not redone
    assert all(r["error"] is None and isinstance(r["answer"], str) for r in rows)
    assert rows[0]["a"] == str(long) and rows[0]["start_a"] == 0.0
    assert "mellow batch" in done.stderr  # the progress bar

    again = run_mellow(args, env)  # nothing left to do
    assert again.returncode == 0 and _rows(out) == rows


def test_batch_row_keys_and_error_rows_rerun(tmp_path: Path) -> None:
    table = tmp_path / "p.csv"
    table.write_text(f"a,b,prompt\n{A_WAV},{B_WAV},one\n{A_WAV},{B_WAV},two\n")
    rows = read_batch_csv(table)
    assert [r.prompt for r in rows] == ["one", "two"] and rows[0].key != rows[1].key
    out = tmp_path / "o.jsonl"
    out.write_text(json.dumps({"row": 0, "key": rows[0].key, "answer": "x", "error": None}) + "\n"
                   + json.dumps({"row": 1, "key": rows[1].key, "answer": None, "error": "bad audio"}) + "\n"
                   + '{"row": 1, "key"')
    assert finished_keys(out) == {rows[0].key}
    assert _rows(out) == [{"row": 0, "key": rows[0].key, "answer": "x", "error": None}]


@pytest.mark.subprocess
def test_download_command_then_info(env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from mellow.model_files import MODEL_REPO, TOKENIZER_REPO, default_model_dir

    env = {k: v for k, v in env.items() if k != "HF_HUB_OFFLINE"}
    with HubServer() as hub:
        ckpt = hub.add(MODEL_REPO, "v0.ckpt", os.urandom(200_000))
        hub.add(TOKENIZER_REPO, "tokenizer.json", b'{"model": {}}')
        env.update(HF_ENDPOINT=hub.url, NO_PROXY="127.0.0.1,127.0.0.2")
        proc = run_mellow(["download"], env)
    assert proc.returncode == 0, proc.stderr
    folder = default_model_dir()
    assert (folder / "v0.ckpt").read_bytes() == ckpt.data
    assert (folder / "tokenizer" / "tokenizer.json").is_file()
    assert str(folder / "v0.ckpt") in proc.stdout
    assert "v0.ckpt" in proc.stderr and "195k" in proc.stderr.lower()  # tqdm's bar: 200000 B = 195 KiB

    assert main(["info", "--tokenizer", str(folder / "tokenizer")]) == 0
    out = capsys.readouterr().out
    assert f"{folder / 'v0.ckpt'}" in out and "installed" in out and "not installed" not in out
