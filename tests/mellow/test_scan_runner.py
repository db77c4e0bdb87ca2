"""The batched scan runner answers every window exactly as asking it alone through the Engine does."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from mellow.audio import Clip
from mellow.errors import MellowError
from mellow.generation import Engine, GenerationOptions
from mellow.scan.driver import ScanDriver
from mellow.scan.runner import ScanRunner
from mellow.scan.scores import ChoiceScore, YesNoScore, parse_options, scoring_for
from mellow.scan.types import Window
from tests.helpers.audio_files import write_changing
from tests.helpers.engines import lively_tiny_model as _lively_tiny_model
from tests.helpers.scans import asked_alone, windows_of

YES_NO_PROMPT = "is there a dog barking in the audio? answer yes or no"
CHOICE_PROMPT = "which sound is loudest? a) a dog b) rain c) music"


@pytest.fixture(scope="module")
def engine(tokenizer) -> Engine:
    return Engine(_lively_tiny_model(), tokenizer, device="cpu")


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_changing(tmp_path_factory.mktemp("scan") / "field recording.wav", 150.0)


# ------------------------------------------------------------------------------------------------ identity
def test_tiny_scan_equals_one_window_at_a_time(engine: Engine, recording: Path) -> None:
    windows = windows_of(recording, 150.0, hop=7.0)
    assert len(windows) == 21 and windows[-1].start_s == 140.0
    free = GenerationOptions(max_len=10, stop_token=None)
    free_alone = [asked_alone(engine, w, YES_NO_PROMPT, free) for w in windows]
    assert len({tuple(r.tokens) for r in free_alone}) > 3  # the windows really get different answers
    # A stop token that rows produce at different steps (or never), so rows stop one by one.
    firsts = Counter(r.tokens.index(t) for r in free_alone for t in set(r.tokens[1:]))
    stop = Counter(t for r in free_alone for t in set(r.tokens[1:8])).most_common(1)[0][0]
    opts = GenerationOptions(max_len=10, stop_token=stop)
    alone = [asked_alone(engine, w, YES_NO_PROMPT, opts) for w in windows]
    lengths = {len(r.tokens) for r in alone}
    assert len(lengths) > 1 and firsts, lengths
    want_scores = YesNoScore.for_tokenizer(engine.tokenizer)(
        torch.stack([engine.first_logits(Clip(w.file, w.start_s), Clip(w.file, w.start_s), YES_NO_PROMPT)
                     for w in windows]))
    for batch_size in (1, 3, 8):
        runner = ScanRunner(engine, YES_NO_PROMPT, opts, batch_size=batch_size)
        assert runner.scoring == "yes-no"
        got = list(runner.run(windows))
        assert [r.window for r in got] == windows
        assert [r.tokens for r in got] == [r.tokens for r in alone], batch_size
        assert [r.text for r in got] == [r.text for r in alone], batch_size
        assert all(r.error is None and r.choices is None for r in got)
        np.testing.assert_allclose([r.score for r in got], want_scores, rtol=0, atol=2e-6)
        assert runner.timings.windows == len(windows)


def test_against_and_pair_slots(engine: Engine, recording: Path, tmp_path: Path) -> None:
    other = write_changing(tmp_path / "site B.flac", 40.0, rate=32000, seed=5)
    opts = GenerationOptions(max_len=6, stop_token=None)
    prompt = "explain the difference between the two audios."
    against = windows_of(recording, 40.0, hop=10.0, slot2_file=other, slot2_start_s=12.5)
    pair = [Window(w.file, w.start_s, w.end_s, slot2_file=other, slot2_start_s=w.start_s) for w in against]
    for windows in (against, pair):
        runner = ScanRunner(engine, prompt, opts, batch_size=3)
        assert runner.scoring is None
        got = list(runner.run(windows))
        alone = [asked_alone(engine, w, prompt, opts) for w in windows]
        assert [(r.text, r.tokens, r.score) for r in got] == [(a.text, a.tokens, None) for a in alone]


def test_choices_scores_match_single_window_logits(engine: Engine, recording: Path) -> None:
    windows = windows_of(recording, 40.0, hop=10.0)
    runner = ScanRunner(engine, CHOICE_PROMPT, GenerationOptions(max_len=3, stop_token=None), batch_size=4)
    assert runner.scoring == "choices"
    got = list(runner.run(windows))
    scorer = ChoiceScore.for_prompt(engine.tokenizer, CHOICE_PROMPT)
    for r in got:
        clip = Clip(r.window.file, r.window.start_s)
        [want] = scorer(engine.first_logits(clip, clip, CHOICE_PROMPT)[None])
        assert set(r.choices) == {"a", "b", "c"} and abs(sum(r.choices.values()) - 1) < 1e-5
        for letter in "abc":
            assert abs(r.choices[letter] - want[letter]) < 2e-6


# ------------------------------------------------------------------------------------------------ behaviour
def test_the_driver_reports_unreadable_windows_counts_progress_and_cancels_between_batches(
        engine: Engine, recording: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really")
    windows = windows_of(recording, 60.0, hop=10.0)
    windows.insert(2, Window(file=broken, start_s=0.0, end_s=10.0))
    windows.insert(4, Window(file=tmp_path / "gone.wav", start_s=0.0, end_s=10.0))
    opts = GenerationOptions(max_len=4, stop_token=None)
    runner = ScanRunner(engine, "caption the audio.", opts, batch_size=3)
    driver = ScanDriver(runner, list(enumerate(windows)))
    batches = list(driver.batches())
    assert [len(b.answered) + len(b.failed) for b in batches] == [3, 3, 2]  # whole batches
    assert [(b.progress.done, b.progress.total) for b in batches] == [(3, 8), (6, 8), (8, 8)]
    assert batches[-1].progress.failed == 2 and "2 unreadable" in batches[-1].progress.text()
    failed = {i: r for b in batches for i, r in b.failed}
    assert sorted(failed) == [2, 4]
    assert "broken.wav" in failed[2].error and "\n" not in failed[2].error and "not found" in failed[4].error
    assert failed[2].text == "" and failed[2].tokens == []
    assert [p.file for p in driver.problems] == [broken, tmp_path / "gone.wav"]
    good = {i: r for b in batches for i, r in b.answered}
    assert sorted(good) == [0, 1, 3, 5, 6, 7] and all(good[i].window == windows[i] for i in good)
    assert all(len(r.tokens) == 4 for r in good.values())
    assert good[0].text == asked_alone(engine, windows[0], "caption the audio.", opts).text
    assert (driver.answered, driver.failed, driver.cancelled) == (6, 2, False)

    cancel = threading.Event()
    driver = ScanDriver(ScanRunner(engine, "caption the audio.", opts, batch_size=2),
                        list(enumerate(windows))[3:], total=len(windows))
    seen = []
    for batch in driver.batches(cancel):
        seen.append(batch)
        cancel.set()  # the batch in flight finished; nothing after it
    assert len(seen) == 1 and [i for i, _ in seen[0].answered + seen[0].failed] == [3, 4]
    assert seen[0].progress.done == 5 and driver.cancelled


def test_model_id_and_auto_batch(engine: Engine, tiny_ckpt: Path, gguf: Path) -> None:
    import hashlib

    runner = ScanRunner(engine, "caption the audio.")
    assert runner.model_id.startswith("tiny sha256:") and len(runner.model_id.split(":")[1]) == 12
    assert 1 <= runner.batch_size <= 16 and engine.chunk_rows == 1 and engine.prefill_rows(129) == 8
    loaded = Engine.load("tiny", model=tiny_ckpt, tokenizer=gguf, device="cpu")
    digest = hashlib.sha256(tiny_ckpt.read_bytes()).hexdigest()[:12]
    assert ScanRunner(loaded, "caption the audio.").model_id == f"tiny sha256:{digest}"
    with pytest.raises(MellowError, match="unknown score"):
        ScanRunner(engine, "caption the audio.", score="maybe")


def test_bfloat16_scan_runs(tokenizer, recording: Path) -> None:
    """bfloat16 end to end: the encoder (after its float32 front end) and the decoder; a twin made from a
    float32 engine converts copies and leaves the float32 weights as they were."""
    engine32 = Engine(_lively_tiny_model(), tokenizer, device="cpu")
    engine = engine32.in_dtype("bfloat16")
    weights = (engine.model.audio_encoder.projection.linear1.weight, engine.lm.model.embed_tokens.weight)
    assert [w.dtype for w in weights] == [torch.bfloat16] * 2
    assert engine32.model.audio_encoder.projection.linear1.weight.dtype == torch.float32
    assert engine32.lm.model.embed_tokens.weight.dtype == torch.float32
    windows = windows_of(recording, 30.0, hop=10.0)
    runner = ScanRunner(engine, YES_NO_PROMPT, GenerationOptions(max_len=3, stop_token=None), batch_size=2)
    got = list(runner.run(windows))
    assert runner.model_id.endswith(" bfloat16")
    alone = [asked_alone(engine, w, YES_NO_PROMPT, runner.options) for w in windows]
    assert [r.tokens for r in got] == [a.tokens for a in alone]
    assert all(0.0 <= r.score <= 1.0 for r in got)


# ------------------------------------------------------------------------------------------------ scores
def test_yes_no_token_ids_of_the_smollm2_tokenizer(tokenizer) -> None:
    score = YesNoScore.for_tokenizer(tokenizer)
    assert score.yes_ids == [9230, 9805, 10407, 10539]  # " Yes", " yes", "yes", "Yes"
    assert score.no_ids == [787, 2838, 4607, 5230, 10921, 13465]  # " no", " No", "no", "No", " NO", "NO"
    assert [tokenizer.decode([i]) for i in score.yes_ids] == [" Yes", " yes", "yes", "Yes"]
    assert all(tokenizer.encode(w) != [i] for w in ("yesterday", " yesterday") for i in score.yes_ids)
    logits = torch.full((2, tokenizer.vocab_size), -30.0)
    logits[0, 9805], logits[0, 787] = 2.0, 0.0  # p(yes) / (p(yes) + p(no)) = e^2 / (e^2 + 1)
    logits[1, 10539], logits[1, 13465], logits[1, 4607] = 0.0, 0.0, 0.0
    got = score(logits)
    assert got[0] == pytest.approx(np.exp(2) / (np.exp(2) + 1), abs=1e-6)
    assert got[1] == pytest.approx(1 / 3, abs=1e-6)


def test_choice_token_ids_and_option_parsing(tokenizer) -> None:
    assert parse_options("which? a) a dog, b) rain or c) music.") == [("a", "a dog"), ("b", "rain"),
                                                                       ("c", "music")]
    assert parse_options("caption the audio (a) only") == []
    score = ChoiceScore.for_prompt(tokenizer, "which? a) dog b) a cat c) music")
    # a: letters "A" 49, " A" 330 and " dog" 2767, "dog" 22676; "a" 81 and " a" 253 are also the first
    # tokens of "a cat" (option b), so they count for neither.  b: letters "B" 50, "b" 82, " b" 278,
    # " B" 389 (its text's first tokens were the shared ones).  c: letters and " music" 2477, "music" 33764.
    assert score.option_ids == {"a": [49, 330, 2767, 22676], "b": [50, 82, 278, 389],
                                "c": [51, 83, 265, 340, 2477, 33764]}
    assert [tokenizer.decode([i]) for i in score.option_ids["a"]] == ["A", " A", " dog", "dog"]
    logits = torch.full((1, tokenizer.vocab_size), -30.0)
    logits[0, 49], logits[0, 2767], logits[0, 50], logits[0, 81] = 0.0, 0.0, 0.0, 5.0  # 81 is ambiguous
    [shares] = score(logits)
    assert shares["a"] == pytest.approx(2 / 3, abs=1e-5) and shares["b"] == pytest.approx(1 / 3, abs=1e-5)
    assert scoring_for("Is it raining? Answer  yes or no.") == "yes-no"
    assert scoring_for("which? a) x b) y") == "choices"
    assert scoring_for("caption the audio.") is None
    assert scoring_for("caption the audio.", "yes-no") == "yes-no"
    assert scoring_for("which? a) x b) y", None) is None
    with pytest.raises(MellowError, match="a\\) … b\\)"):
        scoring_for("caption the audio.", "choices")


# ------------------------------------------------------------------------------------------------ full size
@pytest.mark.slow
def test_v0_scan_equals_one_window_at_a_time(v0_recipe_model, tokenizer, tmp_path: Path) -> None:
    engine = Engine(v0_recipe_model, tokenizer, device="cpu")
    path = write_changing(tmp_path / "v0.wav", 30.0, seed=3)
    windows = windows_of(path, 30.0, hop=10.0)
    for prompt, opts in ((YES_NO_PROMPT, GenerationOptions(max_len=8)),
                         ("caption the audio.", GenerationOptions(max_len=12, stop_token=None))):
        got = list(ScanRunner(engine, prompt, opts, batch_size=3).run(windows))
        alone = [asked_alone(engine, w, prompt, opts) for w in windows]
        assert [(r.text, r.tokens) for r in got] == [(a.text, a.tokens) for a in alone]
        if prompt == YES_NO_PROMPT:
            scorer = YesNoScore.for_tokenizer(tokenizer)
            clips = [Clip(w.file, w.start_s) for w in windows]
            want = [scorer(engine.first_logits(c, c, prompt)[None])[0] for c in clips]
            np.testing.assert_allclose([r.score for r in got], want, rtol=0, atol=1e-5)


def test_prompt_logits_do_not_depend_on_the_rows_prefilled_together(engine: Engine) -> None:
    """Scores come from the prompt prefill's logits: a window's must be bit for bit the same whether its
    prompt is prefilled alone (a single question, a live window) or with 7 others (a scan's batch)."""
    n, hidden = 8, engine.lm.config.hidden_size
    tokens = (engine.config.audio_positions - 2) // 2
    torch.manual_seed(3)
    a, b = torch.randn(n, tokens, hidden), torch.randn(n, tokens, hidden)
    ids = torch.tensor([engine.tokenizer.encode_prompt(f"is there a sound number {i}? answer yes or no").ids
                        for i in range(n)])
    together = engine.new_cache(n, 1)
    engine.prefill_audio(a, b, together)
    batched = engine.prefill_prompt(ids, together)
    for i in range(n):
        alone = engine.new_cache(1, 1)
        engine.prefill_audio(a[i:i + 1], b[i:i + 1], alone)
        assert torch.equal(engine.prefill_prompt(ids[i:i + 1], alone)[0], batched[i]), i
