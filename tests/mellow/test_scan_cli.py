"""``mellow scan`` run for real (``python -m mellow scan``) with the tiny model: folders with a broken
file, SIGKILL and Ctrl-C mid-scan then a rerun, label/Raven exports, pair scans, and the user errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.cli.main import main
from mellow.scan.clock import CLOCK_FIELDS
from mellow.scan.plan import ScanRange, plan_scan
from mellow.scan.writers import audacity, jsonl, raven, table
from tests.helpers.audio_files import write_recording as _wav
from tests.helpers.paths import ROOT
from tests.helpers.processes import offline_user
from tests.helpers.processes import run_mellow as _run
from tests.helpers.waits import wait_for_lines as _wait_for_rows

YES_NO = "is there a dog barking? answer yes or no"


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A user with nothing installed and no network; one thread per child."""
    return offline_user(tmp_path, monkeypatch)


def _scan_args(paths: list[Path], out: Path, ckpt: Path, gguf: Path, *extra: str) -> list[str]:
    return ["scan", *map(str, paths), "--out", str(out), "--model", str(ckpt), "--tokenizer", str(gguf),
            "--config", "tiny", "--device", "cpu", "--max-len", "2", *extra]


def _windows(paths: list[Path], **rng: float) -> list[tuple[str, float]]:
    return [(str(w.file), w.start_s) for w in plan_scan(paths, ScanRange(**rng)).windows]


@pytest.mark.subprocess
def test_folder_scan_reports_the_broken_file_and_answers_every_window_once(
        tiny_ckpt: Path, gguf: Path, tiny_model, tokenizer, env: dict[str, str], tmp_path: Path) -> None:
    from mellow.audio import Clip
    from mellow.generation import Engine, GenerationOptions

    folder = tmp_path / "site A"
    long = _wav(folder / "dawn chorus, 3 min.wav", 185.0)
    odd = _wav(folder / "sub" / "Früh 'quoted'.wav", 14.5, rate=44100, seed=1)
    (folder / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt nonsense")
    out = tmp_path / "scan.csv"
    proc = _run(_scan_args([folder], out, tiny_ckpt, gguf, "--prompt", "caption the audio."), env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: 1 file could not be scanned") and "Traceback" not in proc.stderr
    assert sum("broken.wav" in line and "not a readable audio file" in line for line in lines) >= 2
    rows = table.read(out)
    want = _windows([folder])
    assert [(r.file, r.start_s) for r in rows] == want and len(want) == 19 + 2
    assert all(r.score is None and r.model and r.tokens for r in rows)
    engine = Engine(tiny_model, tokenizer, device="cpu")
    for r in (rows[0], rows[18], rows[-1]):  # an inner window, the end-aligned last one, a 44.1 kHz window
        clip = Clip(r.file, r.start_s)
        alone = engine.generate([(clip, clip, "caption the audio.")], GenerationOptions(max_len=2))[0]
        assert r.text == alone.text and r.tokens == alone.tokens
    assert rows[-1].file == str(odd) and rows[-1].start_s == pytest.approx(4.5)

    again = _run(_scan_args([folder], out, tiny_ckpt, gguf, "--prompt", "caption the audio."), env)
    assert again.returncode == 2 and f"all {len(want)} windows already in" in again.stderr
    assert table.read(out) == rows
    assert long.exists()


@pytest.mark.subprocess
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_sigkill_mid_scan_then_rerun_gives_every_window_exactly_once(
        fmt: str, tiny_ckpt: Path, gguf: Path, env: dict[str, str], tmp_path: Path) -> None:
    """Killed while it writes; the rerun keeps what was finished and adds each missing window once.  The CSV
    case names its file with a newline and a quote, so a cut row must be recognised inside a quoted cell."""
    name = "long.wav" if fmt == "jsonl" else 'site\nB "north".wav'
    audio = _wav(tmp_path / name, 100.0)
    out = tmp_path / f"scan.{fmt}"
    args = _scan_args([audio], out, tiny_ckpt, gguf, "--prompt", YES_NO, "--hop", "1", "--batch", "4")
    want = _windows([audio], hop_s=1)
    proc = subprocess.Popen([sys.executable, "-m", "mellow", *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _wait_for_rows(proc, out, 30 * name.count("\n") + 31)  # a CSV row of this file has two newlines
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    module = {"jsonl": jsonl, "csv": table}[fmt]
    before, _ = module.parse(out.read_bytes())
    assert 25 <= len(before) < len(want)

    again = _run(args, env)
    assert again.returncode == 0, again.stderr[-3000:]
    rows, whole = module.parse(out.read_bytes())
    assert whole, "the output parses to its last byte"
    assert [(r.file, r.start_s) for r in rows] == want, "every window exactly once, in window order"
    assert len({r.key for r in rows}) == len(want)
    assert rows[: len(before)] == before, "rows finished before the kill are kept as they were"
    assert all(r.score is not None and 0.0 <= r.score <= 1.0 for r in rows)
    print(f"\nscan ({fmt}): killed after {len(before)} of {len(want)} windows; the rerun added "
          f"{len(want) - len(before)}")


@pytest.mark.subprocess
def test_ctrl_c_stops_after_the_batch_and_a_rerun_finishes(tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                                           tmp_path: Path) -> None:
    audio = _wav(tmp_path / "long.wav", 100.0)
    out = tmp_path / "scan.jsonl"
    args = _scan_args([audio], out, tiny_ckpt, gguf, "--prompt", "caption the audio.", "--hop", "1",
                      "--batch", "4")
    proc = subprocess.Popen([sys.executable, "-m", "mellow", *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _wait_for_rows(proc, out, 20)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-3000:]
    assert "Traceback" not in err and "interrupted" in err and "run the same command again" in err
    raw = out.read_bytes()
    assert raw.endswith(b"\n"), "stopped between rows: nothing cut"
    before = jsonl.read(out)
    want = _windows([audio], hop_s=1)
    assert 20 <= len(before) < len(want)
    again = _run(args, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert [(r.file, r.start_s) for r in jsonl.read(out)] == want


@pytest.mark.subprocess
def test_raven_and_audacity_exports_of_a_scored_scan(tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                                     tmp_path: Path) -> None:
    """Scored: the Raven table holds merged detections, Begin Time counting on across files; the journal
    next to it keeps every window, so a rerun with another threshold only rewrites the table."""
    a = _wav(tmp_path / "a.wav", 65.0)
    b = _wav(tmp_path / "b\tc.wav", 32.0, seed=3)
    out = tmp_path / "birds.selections.txt"
    args = _scan_args([a, b], out, tiny_ckpt, gguf, "--prompt", YES_NO, "--threshold", "0")
    proc = _run(args, env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    header = out.read_bytes().split(b"\n")[0].decode()
    assert header == ("Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\t"
                      "High Freq (Hz)\tBegin Path\tBegin File\tFile Offset (s)\tBegin Date\t"
                      "Begin Clock Time\tAnnotation\tAnswer\tScore")
    journal = jsonl.read(tmp_path / "birds.selections.txt.scan.jsonl")
    assert [(r.file, r.start_s) for r in journal] == _windows([a, b])
    sel = raven.read(out)  # threshold 0: every window is a detection, each file one event
    assert [(s.path, s.begin_s, s.end_s, s.file_offset_s) for s in sel] == [(str(a), 0.0, 65.0, 0.0),
                                                                          (str(b), 65.0, 97.0, 0.0)]
    assert sel[0].score == pytest.approx(max(r.score for r in journal if r.file == str(a)), abs=1e-6)

    strict = _run(args[:-1] + ["1.01"], env)
    assert strict.returncode == 2 and "--threshold" in strict.stderr  # not a probability
    median = sorted(r.score for r in journal)[len(journal) // 2]
    again = _run(args[:-1] + [f"{median:.6f}"], env)
    assert again.returncode == 0 and "already in" in again.stderr
    over = [r for r in journal if r.score >= float(f"{median:.6f}")]
    sel = raven.read(out)
    assert 1 <= len(sel) <= len(over)
    assert all(any(s.file_offset_s == r.start_s and s.path == r.file for r in over) for s in sel)

    labels = tmp_path / "captions.txt"
    proc = _run(_scan_args([a], labels, tiny_ckpt, gguf, "--prompt", "caption the audio.", "--score", "none"),
                env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(len(line.split(b"\t")) == 3 for line in labels.read_bytes().split(b"\n")[:-1])
    rows = jsonl.read(tmp_path / "captions.txt.scan.jsonl")
    assert [(x.start_s, x.end_s, x.text) for x in audacity.read(labels)] == [(r.start_s, r.end_s, r.text)
                                                                             for r in rows]


@pytest.mark.subprocess
def test_pair_scan_rows_name_both_files(tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                        tmp_path: Path) -> None:
    a = _wav(tmp_path / "site a.wav", 40.0)
    b = _wav(tmp_path / "site b.wav", 40.0, seed=5)
    out = tmp_path / "diff.jsonl"
    proc = _run(_scan_args([a], out, tiny_ckpt, gguf, "--prompt", "what is the difference between the two "
                           "audios?", "--pair", str(b), "--pair-offset", "2.5"), env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = jsonl.read(out)
    assert [(r.start_s, r.slot2_start_s) for r in rows] == [(0.0, 2.5), (10.0, 12.5), (20.0, 22.5),
                                                           (27.5, 30.0)]
    assert {(r.file, r.slot2_file) for r in rows} == {(str(a), str(b))}
    record = json.loads(out.read_bytes().split(b"\n")[0])
    assert record["slot2_file"] == str(b) and record["file"] == str(a)


@pytest.mark.parametrize(("extra", "words"), [
    (["--hop", "0.5"], "--hop must be at least 1 s"),
    (["--from", "70"], "lies outside"),
    (["--to", "80"], "lies outside"),
    (["--format", "xlsx"], "unknown format"),
    (["--against", "A", "--pair", "A"], "cannot be used together"),
])
def test_user_errors_are_one_line_and_exit_2(extra: list[str], words: str, tmp_path: Path, tiny_ckpt: Path,
                                             gguf: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    audio = _wav(tmp_path / "a.wav", 65.0)
    extra = [str(audio) if x == "A" else x for x in extra]
    out = tmp_path / "out.jsonl"
    assert main(_scan_args([audio], out, tiny_ckpt, gguf, "--prompt", "caption", *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and words in err[-1], err
    assert not out.exists(), "nothing written before the scan could start"


def test_unwritable_output_unknown_suffix_and_missing_model(tmp_path: Path, tiny_ckpt: Path, gguf: Path,
                                                            env: dict[str, str],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    audio = _wav(tmp_path / "a.wav", 12.0)
    cases = [(tmp_path / "no such folder" / "out.csv", tiny_ckpt, "cannot write"),
             (tmp_path / "out.xlsx", tiny_ckpt, "cannot tell the format"),
             (tmp_path / "out.csv", tmp_path / "missing.ckpt", "missing.ckpt")]
    for out, ckpt, words in cases:
        assert main(_scan_args([audio], out, ckpt, gguf, "--prompt", "caption")) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and words in err[-1], err
    nothing = main(_scan_args([tmp_path / "nope.wav"], tmp_path / "o.csv", tiny_ckpt, gguf, "--prompt", "x"))
    assert nothing == 2 and "nothing to scan" in capsys.readouterr().err


@pytest.mark.subprocess
def test_a_file_cut_short_fails_only_its_unreadable_windows(tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                                            tmp_path: Path) -> None:
    """A FLAC whose second half is missing (its header still says 60 s): the windows that can be read are
    answered, the file is named with its reason, the other file is scanned; a rerun asks only again."""
    rng = np.random.default_rng(2)
    cut = tmp_path / "cut.flac"
    sf.write(cut, (0.1 * rng.standard_normal(16000 * 60)).astype(np.float32), 16000)
    os.truncate(cut, cut.stat().st_size // 2)
    good = _wav(tmp_path / "good.wav", 20.0)
    out = tmp_path / "scan.jsonl"
    args = _scan_args([cut, good], out, tiny_ckpt, gguf, "--prompt", "caption the audio.")
    proc = _run(args, env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1].startswith("error: 1 file could not be scanned")
    assert "cut.flac could not be decoded" in proc.stderr and "Traceback" not in proc.stderr
    rows = jsonl.read(out)
    done_cut = [r.start_s for r in rows if r.file == str(cut)]
    assert 1 <= len(done_cut) < 6 and done_cut == [10.0 * i for i in range(len(done_cut))]
    assert [r.start_s for r in rows if r.file == str(good)] == [0.0, 10.0]
    again = _run(args, env)
    assert again.returncode == 2 and jsonl.read(out) == rows


def test_an_existing_file_of_another_kind_is_never_overwritten(tmp_path: Path, tiny_ckpt: Path, gguf: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    audio = _wav(tmp_path / "a.wav", 12.0)
    notes = {"notes.txt": "shopping list\nmilk\n", "table.selections.txt": "Selection\tBegin\n1\t2\n",
             "data.csv": "name,age\nann,3\n", "log.jsonl": '{"event": "start"}\n'}
    for name, text in notes.items():
        out = tmp_path / name
        out.write_text(text)
        assert main(_scan_args([audio], out, tiny_ckpt, gguf, "--prompt", "caption")) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("error: ") and "another output file" in err[-1], err
        assert out.read_text() == text


@pytest.mark.subprocess
def test_ray_flag_gives_the_rows_of_the_local_scan(tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                                   tmp_path: Path) -> None:
    """``--ray`` answers the batches on a local Ray cluster: the same rows (text, tokens, score, key)."""
    audio = _wav(tmp_path / "a.wav", 35.0)
    local, distributed = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    for out, extra in ((local, []), (distributed, ["--ray"])):
        proc = _run(_scan_args([audio], out, tiny_ckpt, gguf, "--prompt", YES_NO, *extra), env)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert jsonl.read(distributed) == jsonl.read(local) and len(jsonl.read(local)) == 4


# ------------------------------------------------------------------------------------------- question sets
def test_adding_a_question_to_a_finished_scan_asks_only_it(tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                                           tmp_path: Path, fixtures_dir: Path) -> None:
    """A one-question .jsonl in the layout written before question sets: rerun, nothing is asked; with a
    second --prompt only the new question is asked, the old rows stay byte for byte."""
    audio = _wav(tmp_path / "a.wav", 25.0)
    out = tmp_path / "scan.jsonl"
    first = _run(_scan_args([audio], out, tiny_ckpt, gguf, "--prompt", YES_NO), env)
    assert first.returncode == 0, first.stderr[-3000:]
    legacy_fields = list(json.loads((fixtures_dir / "scan" / "scan_before_question_sets.jsonl").read_text()
                                    .splitlines()[0]))
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.pop("question") for r in records] == ["dog barking"] * 3
    for r in records:  # the clock-time columns came after question sets; the fixture has neither
        assert [r.pop(name) for name in CLOCK_FIELDS][:3] == ["", "", ""]
    assert all(list(r) == legacy_fields for r in records)
    legacy = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
    out.write_bytes(legacy)

    again = _run(_scan_args([audio], out, tiny_ckpt, gguf, "--prompt", YES_NO), env)
    assert again.returncode == 0 and "all 3 windows already in" in again.stderr and out.read_bytes() == legacy
    both = _scan_args([audio], out, tiny_ckpt, gguf, "--prompt", YES_NO, "--prompt", "caption the audio.")
    added = _run(both, env)
    assert added.returncode == 0, added.stderr[-3000:]
    assert "scanned 3 windows (3 answers)" in added.stderr and "6 of 6 answers (2 questions)" in added.stderr
    data = out.read_bytes()
    assert data.startswith(legacy)
    rows = jsonl.read(out)
    assert [(r.start_s, r.question) for r in rows[3:]] == [(t, "caption the audio") for t in (0, 10, 15)]
    assert all(r.score is None and r.tokens and r.prompt == "caption the audio." for r in rows[3:])
    questions = tmp_path / "mine.csv"
    questions.write_text(f"name,prompt\ndogs,{YES_NO}\ncaption,caption the audio.\n")
    named = _run(_scan_args([audio], out, tiny_ckpt, gguf, "--questions", str(questions)), env)
    assert named.returncode == 0 and "all 6 answers (2 questions) already in" in named.stderr
    assert out.read_bytes() == data, "renaming questions asks nothing again"


def test_a_preset_scan_writes_a_raven_table_labelled_by_question(tiny_ckpt: Path, gguf: Path,
                                                                 env: dict[str, str], tmp_path: Path) -> None:
    from mellow.scan.questions import preset

    audio = _wav(tmp_path / "night.wav", 12.0)
    out = tmp_path / "night.selections.txt"
    proc = _run(_scan_args([audio], out, tiny_ckpt, gguf, "--preset", "soundscape", "--threshold", "0"), env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "scanned 2 windows (16 answers)" in proc.stderr and "wrote" in proc.stderr
    journal = jsonl.read(tmp_path / "night.selections.txt.scan.jsonl")
    names = list(preset("soundscape").names)
    assert [(r.start_s, r.question) for r in journal] == [(s, n) for s in (0.0, 2.0) for n in names]
    selections = raven.read(out)  # threshold 0: each question's two windows merge into one detection
    assert [(s.annotation, s.begin_s, s.end_s) for s in selections] == [(n, 0.0, 12.0) for n in names]
    for s in selections:
        assert s.score == pytest.approx(max(r.score for r in journal if r.question == s.annotation), abs=1e-6)


@pytest.mark.parametrize(("extra", "words"), [
    ([], "say what to ask: --prompt TEXT, --questions FILE or --preset NAME"),
    (["--preset", "jungle"], "unknown question preset 'jungle'"),
    (["--questions", "Q"], "Q.csv: row 2 has no prompt"),
    (["--prompt", "caption the audio.", "--prompt", "caption the audio."], "two questions have the prompt"),
])
def test_question_errors_are_one_line_and_exit_2(extra: list[str], words: str, tmp_path: Path,
                                                 tiny_ckpt: Path, gguf: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    audio = _wav(tmp_path / "a.wav", 12.0)
    bad = tmp_path / "Q.csv"
    bad.write_text("name,prompt\nx,\n")
    extra = [str(bad) if x == "Q" else x for x in extra]
    out = tmp_path / "out.jsonl"
    assert main(_scan_args([audio], out, tiny_ckpt, gguf, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and words in err[-1], err
    assert not out.exists()
