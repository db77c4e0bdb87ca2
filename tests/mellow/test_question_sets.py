"""Question sets: every (window, question) answer of a set equals asking that window that question alone;
resuming pair by pair; the driver's answers; the set's files and presets; outputs labelled by question, and
outputs written before question sets still read and resume."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from mellow.audio import Clip
from mellow.generation import Engine, GenerationOptions
from mellow.scan.driver import ScanDriver
from mellow.scan.keys import missing_asks, options_text, row_key
from mellow.scan.questions import (
    Question,
    QuestionError,
    QuestionSet,
    load_questions,
    preset,
    preset_names,
    short_name,
)
from mellow.scan.resume import ResultLog
from mellow.scan.runner import ScanRunner
from mellow.scan.scores import ChoiceScore, YesNoScore
from mellow.scan.types import Window, WindowResult
from mellow.scan.writers import audacity, export_bytes, jsonl, raven, table
from mellow.scan.writers.records import ScanRow
from tests.helpers.audio_files import write_changing
from tests.helpers.engines import lively_tiny_model
from tests.helpers.scans import asked_alone, windows_of

YES_NO = "is there a dog barking in the audio? answer yes or no"
BIRDS = "is there a bird singing in the audio? answer yes or no"
CHOICE = "which sound is loudest? a) a dog b) rain c) music"
CAPTION = "caption the audio."
SET = QuestionSet.of([YES_NO, CHOICE, CAPTION, BIRDS])


@pytest.fixture(scope="module")
def engine(tokenizer) -> Engine:
    return Engine(lively_tiny_model(), tokenizer, device="cpu")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_changing(tmp_path_factory.mktemp("qsets") / "night.wav", 80.0, seed=7)


def _stop_token(engine: Engine, windows: list[Window]) -> int:
    """A token the rows produce at different steps (or never), so rows stop one by one."""
    free = GenerationOptions(max_len=8, stop_token=None)
    answers = [asked_alone(engine, w, q.prompt, free).tokens for w in windows[:2] for q in SET]
    seen = Counter(t for tokens in answers for t in set(tokens[1:6]))
    return seen.most_common(1)[0][0]


def _first_logits(engine: Engine, w: Window, prompt: str) -> torch.Tensor:
    clip = Clip(w.file, w.start_s)
    return engine.first_logits(clip, clip, prompt)[None]


# ------------------------------------------------------------------------------------------------ identity
def test_every_answer_of_a_set_equals_the_question_asked_alone(engine: Engine, recording: Path) -> None:
    windows = windows_of(recording, 75.0, hop=10.0)  # 8 windows, the last one end-aligned
    opts = GenerationOptions(max_len=8, stop_token=_stop_token(engine, windows))
    alone = {(w, q.name): asked_alone(engine, w, q.prompt, opts) for w in windows for q in SET}
    assert len({len(r.tokens) for r in alone.values()}) > 1, "rows stop at different steps"
    yes_no = YesNoScore.for_tokenizer(engine.tokenizer)
    choice = ChoiceScore.for_prompt(engine.tokenizer, CHOICE)
    want_yes = {(w, p): yes_no(_first_logits(engine, w, p))[0] for w in windows for p in (YES_NO, BIRDS)}
    want_choice = {w: choice(_first_logits(engine, w, CHOICE))[0] for w in windows}
    for batch_size in (3, 64):  # a window's questions in two groups; all windows and questions at once
        runner = ScanRunner(engine, SET, opts, batch_size=batch_size)
        assert runner.scorings == {"dog barking": "yes-no", "which sound is loudest": "choices",
                                   "caption the audio": None, "bird singing": "yes-no"}
        got = list(runner.run(windows))
        assert [(r.window, r.question) for r in got] == [(w, q.name) for w in windows for q in SET]
        for r in got:
            want = alone[(r.window, r.question)]
            assert (r.text, r.tokens, r.error) == (want.text, want.tokens, None), (batch_size, r.question)
            prompt = SET.get(r.question).prompt
            if prompt in (YES_NO, BIRDS):
                assert r.choices is None and abs(r.score - want_yes[(r.window, prompt)]) < 2e-6
            elif prompt == CHOICE:
                assert r.score is None and all(abs(r.choices[k] - v) < 2e-6
                                               for k, v in want_choice[r.window].items())
            else:
                assert r.score is None and r.choices is None
        assert runner.timings.windows == len(windows) and runner.timings.answers == len(windows) * len(SET)


def test_asking_only_the_missing_pairs(engine: Engine, recording: Path) -> None:
    windows = windows_of(recording, 40.0, hop=10.0)
    opts = GenerationOptions(max_len=3, stop_token=None)
    runner = ScanRunner(engine, SET, opts, batch_size=5)
    done = {runner.key_of(w, name) for w in windows[:2] for name in SET.names}
    done |= {runner.key_of(windows[2], "dog barking"), runner.key_of(windows[3], "caption the audio")}
    asks = missing_asks(windows, SET.names, runner.key_of, done)
    assert asks == {windows[2]: ("which sound is loudest", "caption the audio", "bird singing"),
                    windows[3]: ("dog barking", "which sound is loudest", "bird singing")}
    got = list(runner.run(list(asks), asks=asks))
    assert [(r.window, r.question) for r in got] == [(w, n) for w, names in asks.items() for n in names]
    for r in got:
        assert r.tokens == asked_alone(engine, r.window, SET.get(r.question).prompt, opts).tokens
    with pytest.raises(QuestionError, match="no question named 'rain'"):
        list(runner.run(windows[:1], asks={windows[0]: ("rain",)}))


def test_keys_of_a_one_question_scan_are_those_of_scans_before_sets(engine: Engine) -> None:
    """The key of the fixture's first row, as commit 1b692f9 computed it, and a runner's key agree."""
    w = Window(Path("/recordings/site A/dawn, 1.wav"), 0.0, 10.0, "sha256:" + "ab" * 8)
    opts = options_text(GenerationOptions(max_len=2), "yes-no", "float32")
    prompt = "is there a dog barking? answer yes or no"
    assert row_key(w, prompt, opts, "tiny sha256:0123456789ab") == "1efb86335ace94e6b64d"
    one = ScanRunner(engine, prompt, GenerationOptions(max_len=2))
    several = ScanRunner(engine, [prompt, CAPTION], GenerationOptions(max_len=2))
    assert one.key_of(w) == several.key_of(w, "dog barking") == row_key(w, prompt, opts, one.model_id)
    assert several.key_of(w, "caption the audio") != one.key_of(w)
    renamed = ScanRunner(engine, [Question("dogs", prompt)], GenerationOptions(max_len=2))
    assert renamed.key_of(w) == one.key_of(w), "a name is not part of the key"
    with pytest.raises(QuestionError, match="say which of the 2 questions"):
        several.key_of(w)


def test_the_driver_counts_answers_and_unreadable_windows(engine: Engine, recording: Path,
                                                          tmp_path: Path) -> None:
    windows = windows_of(recording, 40.0, hop=10.0)
    windows.insert(1, Window(tmp_path / "gone.wav", 0.0, 10.0))
    two = QuestionSet.of([YES_NO, CAPTION])
    runner = ScanRunner(engine, two, GenerationOptions(max_len=2, stop_token=None), batch_size=4)
    asks = {windows[3]: ("caption the audio",)}
    driver = ScanDriver(runner, list(enumerate(windows)), total=12, asks=asks)
    batches = list(driver.batches())
    assert [len(b.answered) + len(b.failed) for b in batches] == [4, 3, 2]  # whole windows, <= 4 rows
    last = batches[-1].progress
    assert (last.done, last.total, last.failed, last.unit) == (12, 12, 1, "answers")
    assert last.text().startswith("12 of 12 answers") and "1 unreadable" in last.text()
    failed = [(i, r.question) for b in batches for i, r in b.failed]
    assert failed == [(1, "dog barking"), (1, "caption the audio")]
    assert "not found" in batches[0].failed[0][1].error
    answered = [(i, r.question) for b in batches for i, r in b.answered]
    assert answered == [(0, "dog barking"), (0, "caption the audio"), (2, "dog barking"),
                        (2, "caption the audio"), (3, "caption the audio"), (4, "dog barking"),
                        (4, "caption the audio")]
    assert (driver.answered, driver.windows, driver.failed, driver.cancelled) == (7, 4, 1, False)

    cancel = threading.Event()
    driver = ScanDriver(runner, list(enumerate(windows)))
    seen = []
    for batch in driver.batches(cancel):
        seen.append(batch)
        cancel.set()
    assert len(seen) == 1 and seen[0].progress.done == 4 and seen[0].progress.total == 10 and driver.cancelled

    # Threads reading the next batch ahead (a GPU's default) give the same results and stop the same way.
    ahead = ScanRunner(engine, two, GenerationOptions(max_len=2, stop_token=None), batch_size=4, readers=2)
    assert list(ahead.run(windows, asks=asks)) == list(runner.run(windows, asks=asks))
    first = next(ahead.batches(windows, cancel=threading.Event()))
    assert [r.window for r in first] == [windows[0], windows[0], windows[1], windows[1]]
    cancel = threading.Event()
    got = []
    for batch in ahead.batches(windows, cancel):
        got.append(batch)
        cancel.set()
    assert len(got) == 1


# ------------------------------------------------------------------------------------------------ sets
def test_question_sets_from_prompts_files_and_presets(tmp_path: Path) -> None:
    assert short_name("is there a bird singing in the audio? answer yes or no") == "bird singing"
    assert short_name("Are there any insects?  Answer yes or no.") == "insects"
    assert short_name("caption the audio.") == "caption the audio"
    assert short_name("? answer yes or no") == "question"
    named = QuestionSet.of(["is there a dog? answer yes or no", "is there a dog in the audio? answer yes"])
    assert named.names == ("dog", "dog (2)")
    with pytest.raises(QuestionError, match="two questions have the prompt"):
        QuestionSet.of([CAPTION, CAPTION])
    with pytest.raises(QuestionError, match="two questions have the name 'x'"):
        QuestionSet((Question("x", YES_NO), Question("x", CAPTION)))
    with pytest.raises(QuestionError, match="between 0 and 1"):
        Question("x", YES_NO, 1.5)

    csv_file = tmp_path / "mine.csv"
    csv_file.write_text("\ufeffName,prompt,threshold\nfrogs,is there a frog calling? answer yes or no,0.7\n"
                        ',"caption the audio, please.",\n\n', encoding="utf-8")
    got = load_questions(csv_file)
    assert [(q.name, q.prompt, q.threshold) for q in got] == [
        ("frogs", "is there a frog calling? answer yes or no", 0.7),
        ("caption the audio", "caption the audio, please.", None)]
    yaml_file = tmp_path / "mine.yaml"
    got.save(yaml_file)
    assert load_questions(yaml_file) == QuestionSet(got.questions, "mine")
    (tmp_path / "plain.yml").write_text("- is there rain? answer yes or no\n- name: wind\n"
                                        "  prompt: is there wind? answer yes or no\n  threshold: 0.3\n")
    assert [(q.name, q.threshold) for q in load_questions(tmp_path / "plain.yml")] == [("rain", None),
                                                                                       ("wind", 0.3)]
    bad = {"a.csv": ("prompt,colour\nx,red\n", "the first row must name the columns"),
           "b.csv": ("name,prompt,threshold\nx,is it?,high\n", "threshold 'high' is not a number"),
           "c.csv": ("name,prompt\nx,\n", "row 2 has no prompt"),
           "d.yaml": ("questions: [\n", "not valid YAML"),
           "e.yaml": ("- {name: x, prompt: y, colour: red}\n", "question 1: expected a prompt or a mapping"),
           "f.txt": ("x", "ends in .csv, .yaml or .yml"),
           "g.csv": ("prompt\ncaption\ncaption\n", "two questions have the prompt 'caption'")}
    for name, (text, words) in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(QuestionError) as caught:
            load_questions(tmp_path / name)
        assert words in str(caught.value) and str(tmp_path / name) in str(caught.value)
        assert "\n" not in str(caught.value)
    with pytest.raises(QuestionError, match="cannot read the question file"):
        load_questions(tmp_path / "missing.csv")

    assert {"soundscape", "urban", "household"} <= set(preset_names())
    soundscape = preset("soundscape")
    assert soundscape.name == "soundscape" and soundscape.names == (
        "birds", "insects", "dog", "voices", "vehicle", "aircraft", "rain", "wind")
    assert all(q.prompt.endswith("? answer yes or no") for name in preset_names() for q in preset(name))
    with pytest.raises(QuestionError, match="unknown question preset 'jungle' \\(choose from household"):
        preset("jungle")


# ------------------------------------------------------------------------------------------------ full size
@pytest.mark.slow
def test_v0_set_equals_each_question_alone(v0_recipe_model, tokenizer, tmp_path: Path) -> None:
    engine = Engine(v0_recipe_model, tokenizer, device="cpu")
    path = write_changing(tmp_path / "v0.wav", 20.0, seed=4)
    windows = windows_of(path, 20.0, hop=10.0)
    pair = QuestionSet.of([YES_NO, CAPTION])
    opts = GenerationOptions(max_len=4, stop_token=None)
    got = list(ScanRunner(engine, pair, opts, batch_size=4).run(windows))
    assert [(r.window, r.question) for r in got] == [(w, q.name) for w in windows for q in pair]
    scorer = YesNoScore.for_tokenizer(tokenizer)
    for r in got:
        prompt = pair.get(r.question).prompt
        want = asked_alone(engine, r.window, prompt, opts)
        assert (r.text, r.tokens) == (want.text, want.tokens)
        if prompt == YES_NO:
            np.testing.assert_allclose(r.score, scorer(_first_logits(engine, r.window, prompt))[0], atol=1e-5)


# ------------------------------------------------------------------------------------------------ outputs
def _row(file: str, start: float, question: str, text: str, score: float | None) -> ScanRow:
    w = Window(Path(file), start, start + 10.0, "h")
    prompt = {"birds": BIRDS, "wind": "is there wind? answer yes or no", "caption": CAPTION}[question]
    return ScanRow.from_result(WindowResult(w, text, [1, 0], score, question=question), prompt, "tiny",
                               row_key(w, prompt, "{}", "tiny"))


def test_exports_hold_each_questions_detections_labelled_by_name() -> None:
    rows = []
    for file in ("/rec/a.wav", "/rec/b.wav"):
        for i, start in enumerate((0.0, 10.0, 20.0)):
            rows += [_row(file, start, "birds", "Yes", (0.9, 0.8, 0.2)[i]),
                     _row(file, start, "wind", "No", (0.2, 0.45, 0.1)[i]),
                     _row(file, start, "caption", f"sound {i}", None)]
    durations = {"/rec/a.wav": 30.0, "/rec/b.wav": 30.0}
    scored = ["birds", "wind"]
    selections = raven.parse(export_bytes("raven", rows, durations, scored, 0.5, thresholds={"wind": 0.4}))
    events = [(s.annotation, s.begin_s, s.end_s, s.answer, s.score) for s in selections]
    assert [e for e in events if e[0] != "caption"] == [
        ("birds", 0.0, 20.0, "Yes", 0.9), ("wind", 10.0, 20.0, "No", 0.45),
        ("birds", 30.0, 50.0, "Yes", 0.9), ("wind", 40.0, 50.0, "No", 0.45)]
    assert [(e[1], e[3]) for e in events if e[0] == "caption"] == [(0.0, "sound 0"), (10.0, "sound 1"),
                                                                   (20.0, "sound 2"), (30.0, "sound 0"),
                                                                   (40.0, "sound 1"), (50.0, "sound 2")]
    labels = audacity.parse(export_bytes("audacity", rows, durations, scored, 0.5))
    assert [x.text for x in labels[:3]] == ["a.wav: birds: Yes (0.90)", "a.wav: caption: sound 0",
                                            "a.wav: caption: sound 1"]
    one = [r for r in rows if r.question == "birds" and r.file == "/rec/a.wav"]
    assert [x.text for x in audacity.parse(export_bytes("audacity", one, durations, True, 0.5))] == [
        "Yes (0.90)"], "a one-question, one-file track is labelled as before"


def test_outputs_written_before_question_sets_read_and_resume(fixtures_dir: Path, tmp_path: Path) -> None:
    folder = fixtures_dir / "scan"
    keys = ["1efb86335ace94e6b64d", "8c5d12738651358a5a80", "966bb56d8ef986f5c099"]
    old = jsonl.read(folder / "scan_before_question_sets.jsonl")
    assert [r.key for r in old] == keys and {r.question for r in old} == {"dog barking"}
    assert table.read(folder / "scan_before_question_sets.csv") == old
    [selection] = raven.read(folder / "scan_before_question_sets.selections.txt")
    assert (selection.answer, selection.score, selection.annotation) == ("Yes", 0.75, "")

    new = _row("/rec/a.wav", 0.0, "birds", "Yes", 0.9)
    for fmt in ("jsonl", "csv"):
        path = tmp_path / f"old.{fmt}"
        before = (folder / f"scan_before_question_sets.{fmt}").read_bytes()
        path.write_bytes(before)
        with ResultLog(path, fmt) as log:
            assert log.keys == set(keys) and log.rows == old
            assert log.repaired == (fmt == "csv")  # a CSV gets today's header, rows unchanged; JSONL stays
            log.append(new)
        module = {"jsonl": jsonl, "csv": table}[fmt]
        assert module.read(path) == [*old, new]
        data = path.read_bytes()
        assert data.startswith(before if fmt == "jsonl" else table.header())
