"""The generation engine: reference tokens end to end, streaming, caches, cancelling, sampling, devices."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch

from mellow.audio import Clip, load_window
from mellow.errors import DeviceError, MellowError
from mellow.generation import Engine, GenerationOptions, GenerationResult, resolve_device
from mellow.generation.decoding import TextStream
from mellow.model.tokenizer import PromptTokenizer
from tests.helpers.engines import lively_tiny_model

PROMPTS = ["caption the audio.", "explain the difference between the two audios in detail.",
           "is there a cat in the audio? answer yes or no"]


@pytest.fixture(scope="module")
def clips(reference_dir: Path) -> tuple[Path, Path]:
    return reference_dir / "a.wav", reference_dir / "b.wav"


@pytest.fixture(scope="module")
def reference_rows(reference_dir: Path) -> list[dict]:
    return json.loads((reference_dir / "expected.json").read_text())["rows"]


def _run(engine: Engine, a, b, prompt: str, opts: GenerationOptions) -> GenerationResult:
    """Stream an answer to its end and return the stream's result."""
    stream = engine.stream(a, b, prompt, opts)
    pieces = list(stream)
    assert "".join(pieces) == stream.result.text
    return stream.result


@pytest.fixture(scope="module")
def tiny_engine(tokenizer: PromptTokenizer) -> Engine:
    """This module's tiny engine: lively decoder weights (the session's ``tiny_engine`` has the recipe's)."""
    return Engine(lively_tiny_model(), tokenizer, device="cpu")


# ------------------------------------------------------------------------------------------------ full size
@pytest.fixture(scope="module")
def v0_engine(v0_recipe_model, tokenizer: PromptTokenizer) -> Engine:
    return Engine(v0_recipe_model, tokenizer, device="cpu")


@pytest.mark.slow
def test_v0_stream_gives_reference_text_and_reuses_audio(v0_engine: Engine, clips, reference_rows,
                                                          expected) -> None:
    a, b = clips
    v0_engine.clear_caches()
    opts = GenerationOptions(max_len=24)
    for i, prompt in enumerate(PROMPTS):
        result = _run(v0_engine, a, b, prompt, opts)
        stats = result.stats
        assert result.tokens == expected["tokens"][i].tolist()
        assert result.text == reference_rows[i]["reference_returned_text"]
        assert stats.n_tokens == 24 and stats.stopped == "max_len"
        assert stats.audio_cache_hit == (i > 0) and stats.encoder_cache_hit == (i > 0)
        assert stats.first_token_s > 0 and stats.decode_tokens_per_s > 0


@pytest.mark.slow
def test_v0_follow_up_equals_cold_run(v0_engine: Engine, clips) -> None:
    a, b = clips
    opts = GenerationOptions(max_len=8, stop_token=None)
    v0_engine.clear_caches()
    first = _run(v0_engine, a, b, "what can you infer about the surroundings from the audio?", opts)
    follow = _run(v0_engine, a, b, "is there a dog in the audio? answer yes or no", opts)
    assert follow.stats.audio_cache_hit and follow.stats.encoder_cache_hit
    v0_engine.clear_caches()
    cold = _run(v0_engine, a, b, "is there a dog in the audio? answer yes or no", opts)
    assert not cold.stats.audio_cache_hit and not cold.stats.encoder_cache_hit
    assert follow.tokens == cold.tokens and follow.text == cold.text and first.text != follow.text
    # Swapping the clips is another pair: the encoder outputs are reused, the audio K/V are not.
    swapped = _run(v0_engine, b, a, "caption the audio.", opts)
    assert swapped.stats.encoder_cache_hit and not swapped.stats.audio_cache_hit


@pytest.mark.slow
def test_v0_generate_batch_equals_reference(v0_engine: Engine, clips, reference_rows, expected) -> None:
    a, b = clips
    results = v0_engine.generate([(a, b, p) for p in PROMPTS], GenerationOptions(max_len=24))
    texts = [r.text for r in results]
    assert texts == [r["reference_returned_text"] for r in reference_rows]
    assert [r.tokens for r in results] == expected["tokens"].tolist()
    # A preprocessed waveform is an accepted clip and gives the same answer as the file.
    wave_a = torch.from_numpy(expected["clip_wave"][0])
    assert v0_engine.answer(wave_a, b, PROMPTS[0], GenerationOptions(max_len=24)) == texts[0]


# ------------------------------------------------------------------------------------------------ tiny model
def test_stop_token_cuts_stream_and_batch(tiny_engine: Engine, tokenizer: PromptTokenizer, clips) -> None:
    a, b = clips
    free = _run(tiny_engine, a, b, "caption the audio.", GenerationOptions(max_len=12, stop_token=None))
    ids = free.tokens
    assert len(ids) == 12 and free.text == tokenizer.decode(ids) and free.stats.stopped == "max_len"
    stop = next(t for t in ids[2:] if t not in ids[:2])  # a token that first appears after two others
    cut = ids.index(stop)
    opts = GenerationOptions(max_len=12, stop_token=stop)
    stopped = _run(tiny_engine, a, b, "caption the audio.", opts)
    assert stopped.text == tokenizer.decode(ids[:cut])
    assert stopped.stats.stopped == "stop_token" and stopped.stats.n_tokens == cut + 1
    assert stopped.tokens == ids[:cut + 1]
    [row] = tiny_engine.generate([(a, b, "caption the audio.")], opts)
    assert (row.text, row.tokens, row.stats.stopped, row.stats.n_tokens) == \
        (stopped.text, stopped.tokens, "stop_token", cut + 1)


def test_batch_equals_one_by_one(tiny_engine: Engine, clips) -> None:
    a, b = clips
    items = [(a, b, "caption the audio."), (b, a, "what is the primary sound event?"), (a, a, "yes or no")]
    free = GenerationOptions(max_len=10, stop_token=None)
    singles = [_run(tiny_engine, x, y, p, free) for x, y, p in items]
    single_ids = [r.tokens for r in singles]
    batch = tiny_engine.generate(items, free)
    assert [r.text for r in batch] == [r.text for r in singles]
    assert [r.tokens for r in batch] == single_ids
    # With a stop token, rows stop at different steps; the loop runs until every row has produced it.
    stop = single_ids[0][4]
    opts = GenerationOptions(max_len=10, stop_token=stop)
    batch = tiny_engine.generate(items, opts)
    one_by_one = [_run(tiny_engine, x, y, p, opts) for x, y, p in items]
    assert [(r.text, r.tokens) for r in batch] == [(r.text, r.tokens) for r in one_by_one]
    assert batch[0].tokens[-1] == stop and batch[0].stats.stopped == "stop_token"


def test_stream_pieces_and_cancel(tiny_engine: Engine, clips) -> None:
    a, b = clips
    opts = GenerationOptions(max_len=30, stop_token=None)
    whole = tiny_engine.answer(a, b, "describe", opts)
    cancel = threading.Event()
    got = []
    stream = tiny_engine.stream(a, b, "describe", opts, cancel=cancel)
    for piece in stream:
        got.append(piece)
        if len(got) == 3:
            cancel.set()
    assert len(got) == 3 and whole.startswith("".join(got))
    assert stream.result.stats.stopped == "cancelled" and stream.result.stats.n_tokens < 30
    cancel_early = threading.Event()
    cancel_early.set()
    assert list(tiny_engine.stream(a, b, "describe", opts, cancel=cancel_early)) == []
    # An abandoned stream leaves the engine usable and the answer unchanged.
    it = tiny_engine.stream(a, b, "describe", opts)
    next(it)
    assert tiny_engine.answer(a, b, "describe", opts) == whole
    it.close()
    assert tiny_engine.answer(a, b, "describe", opts) == whole


def test_interleaved_streams_do_not_disturb_each_other(tiny_engine: Engine, clips) -> None:
    a, b = clips
    opts = GenerationOptions(max_len=12, stop_token=None)
    want_ab = tiny_engine.answer(a, b, "caption the audio.", opts)
    want_ba = tiny_engine.answer(b, a, "what is happening?", opts)
    first = tiny_engine.stream(a, b, "caption the audio.", opts)
    second = tiny_engine.stream(b, a, "what is happening?", opts)
    got_ab, got_ba = [], []
    for x, y in zip(first, second, strict=False):
        got_ab.append(x)
        got_ba.append(y)
    got_ab += list(first)
    got_ba += list(second)
    assert "".join(got_ab) == want_ab and "".join(got_ba) == want_ba
    assert tiny_engine.answer(a, b, "caption the audio.", opts) == want_ab


def test_text_stream_never_splits_a_character(tokenizer: PromptTokenizer) -> None:
    text = "東京 🐱 café — naïve 🎵🎵 done"
    ids = tokenizer.encode(text)
    assert len(ids) > len(text.split())  # multi-byte characters span several byte-level tokens
    stream = TextStream(tokenizer.decode, stop_text=None)
    pieces = [stream.push(i) for i in ids] + [stream.finish()]
    assert all("\ufffd" not in p for p in pieces)
    assert "".join(pieces) == text
    cut = TextStream(tokenizer.decode, stop_text="<|endoftext|>")
    out = "".join(cut.push(i) for i in tokenizer.encode("ok<|endoftext|>more"))
    assert out == "ok" and cut.stopped


def test_sampling_is_seeded_and_greedy_ignores_temperature(tiny_engine: Engine, clips) -> None:
    a, b = clips
    base = GenerationOptions(max_len=10, stop_token=None)
    greedy = tiny_engine.answer(a, b, "caption the audio.", base)
    cold = GenerationOptions(max_len=10, stop_token=None, temperature=0.3, top_p=0.1)
    assert tiny_engine.answer(a, b, "caption the audio.", cold) == greedy
    hot = GenerationOptions(max_len=10, stop_token=None, sample=True, temperature=1.5, top_p=1.0, seed=7)
    one = tiny_engine.answer(a, b, "caption the audio.", hot)
    assert tiny_engine.answer(a, b, "caption the audio.", hot) == one
    others = {tiny_engine.answer(a, b, "caption the audio.",
                                 GenerationOptions(max_len=10, stop_token=None, sample=True, temperature=1.5,
                                                   top_p=1.0, seed=s)) for s in range(4)}
    assert len(others | {greedy}) > 1
    # top_p tiny: only the most likely token survives, so sampling is greedy.
    narrow = GenerationOptions(max_len=10, stop_token=None, sample=True, top_p=1e-6, seed=3)
    assert tiny_engine.answer(a, b, "caption the audio.", narrow) == greedy
    with pytest.raises(MellowError):
        GenerationOptions(sample=True, temperature=0)
    with pytest.raises(MellowError):
        GenerationOptions(max_len=0)


def test_clip_keys_and_encoder_cache(tiny_engine: Engine, clips) -> None:
    a, b = clips
    # a.wav is 4 s: it is tiled, so any start gives the same window and the same key.
    assert tiny_engine.clip_key(Clip(a, 0.0)) == tiny_engine.clip_key(Clip(a, 3.0)) == tiny_engine.clip_key(a)
    assert tiny_engine.clip_key(a) != tiny_engine.clip_key(b)
    wave = load_window(b)
    assert tiny_engine.clip_key(wave) == tiny_engine.clip_key(wave.clone())
    tiny_engine.clear_caches()
    _, first, hit = tiny_engine.encode_clip(b)
    assert not hit
    _, again, hit = tiny_engine.encode_clip(Clip(b, 0.0))
    assert hit and again is first
    _, from_wave, _ = tiny_engine.encode_clip(wave)
    torch.testing.assert_close(from_wave, first, rtol=0, atol=1e-6)
    with pytest.raises(MellowError, match="samples"):
        tiny_engine.encode_clip(torch.zeros(100))


# ------------------------------------------------------------------------------------------------ devices
def test_resolve_device() -> None:
    assert resolve_device("cpu") == (torch.device("cpu"), None)
    auto, note = resolve_device("auto")
    assert note is None and auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    for spec in ("cuda", "cuda:0", 0):
        dev, note = resolve_device(spec)
        if torch.cuda.is_available():
            assert dev.type == "cuda" and note is None
        else:
            assert dev == torch.device("cpu") and "not available" in note
    for bad in ("tpu", "cuda:x", "gpu please"):
        with pytest.raises(DeviceError):
            resolve_device(bad)


def test_out_of_memory_falls_back_to_cpu(tokenizer: PromptTokenizer, clips) -> None:
    """An OOM off the CPU moves the engine to the CPU and the answer continues without repeating text.

    This machine has no GPU, so the engine is told it runs on "cuda" while its model stays on the CPU (inputs
    follow the model's weights); the fault hook raises the error CUDA would raise.
    """
    a, b = clips
    opts = GenerationOptions(max_len=16, stop_token=None)
    engine = Engine(lively_tiny_model(), tokenizer, device="cpu")
    want = engine.answer(a, b, "caption the audio.", opts)
    steps = {"n": 0}

    def hook(stage: str) -> None:
        if stage == "step":
            steps["n"] += 1
            if steps["n"] == 5:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")

    engine.clear_caches()
    engine.fault_hook = hook
    engine._device = torch.device("cuda")
    pieces = list(engine.stream(a, b, "caption the audio.", opts))
    assert "".join(pieces) == want
    assert engine.device == torch.device("cpu") and "out of memory" in engine.device_note
    assert steps["n"] > 5  # the request was run again after the fault

    # Batch path, fault at the start of a request.
    engine._device = torch.device("cuda")
    engine.fault_hook = lambda stage: (_ for _ in ()).throw(RuntimeError("CUDA error: out of memory")) \
        if engine.device.type == "cuda" else None
    engine.clear_caches()
    assert [r.text for r in engine.generate([(a, b, "caption the audio.")], opts)] == [want]
    assert engine.device.type == "cpu"

    # On the CPU there is nowhere to go: a one-line DeviceError.
    engine.fault_hook = lambda stage: (_ for _ in ()).throw(RuntimeError("out of memory\nmore"))
    engine.clear_caches()
    with pytest.raises(DeviceError, match="out of memory") as exc:
        engine.answer(a, b, "caption the audio.", opts)
    assert "\n" not in str(exc.value)


def test_engine_load_from_files(tmp_path: Path, tokenizer: PromptTokenizer, tiny_engine: Engine,
                                clips) -> None:
    pytest.importorskip("mellow.model.checkpoint")
    a, b = clips
    ckpt = tmp_path / "tiny.ckpt"
    torch.save({k: v.contiguous() for k, v in tiny_engine.model.state_dict().items()}, ckpt)
    tokenizer.save(tmp_path / "tok")
    engine = Engine.load("tiny", model=ckpt, tokenizer=tmp_path / "tok", device="cpu")
    opts = GenerationOptions(max_len=8, stop_token=None)
    want = tiny_engine.answer(a, b, "caption the audio.", opts)
    assert engine.answer(a, b, "caption the audio.", opts) == want
    info = engine.model_info()
    assert info["checkpoint"] == str(ckpt) and info["device"] == "cpu" and info["dtype"] == "float32"
    assert info["parameters"] == sum(p.numel() for p in tiny_engine.model.parameters())


def test_bfloat16_option_runs(tokenizer: PromptTokenizer, clips) -> None:
    a, b = clips
    engine = Engine(lively_tiny_model(), tokenizer, device="cpu", dtype="bfloat16")
    assert engine.lm.model.embed_tokens.weight.dtype == torch.bfloat16
    result = _run(engine, a, b, "caption the audio.", GenerationOptions(max_len=6, stop_token=None))
    assert len(result.tokens) == 6 and isinstance(result.text, str)


def test_long_prompt_missing_clip_and_empty_batch(tiny_engine: Engine, clips, tmp_path: Path) -> None:
    from mellow.errors import AudioError

    a, b = clips
    long = " ".join(["loud"] * 300)
    stats = _run(tiny_engine, a, b, long, GenerationOptions(max_len=2)).stats
    assert stats.prompt_truncated
    assert stats.prompt_tokens == tiny_engine.tokenizer.count_tokens(long) > 129
    with pytest.raises(AudioError):
        list(tiny_engine.stream(tmp_path / "nowhere.wav", b, "caption the audio."))
    assert tiny_engine.generate([]) == []


def test_a_clip_file_is_opened_once_per_question_and_not_on_a_cache_hit(
        tokenizer: PromptTokenizer, clips, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every open of the clip's path (hashing, header, samples) is counted by wrapping the real functions."""
    import builtins
    import os
    import shutil

    import soundfile as sf

    path = tmp_path / "clip.wav"
    shutil.copy(clips[1], path)
    opened: list[str] = []
    real_open, real_soundfile, real_info = builtins.open, sf.SoundFile, sf.info

    def spy_open(file, *args, **kwargs):
        if str(file) == str(path):
            opened.append("open")
        return real_open(file, *args, **kwargs)

    class SpySoundFile(real_soundfile):
        def __init__(self, file, *args, **kwargs):
            if str(file) == str(path):
                opened.append("soundfile")
            super().__init__(file, *args, **kwargs)

    def spy_info(file, *args, **kwargs):
        if str(file) == str(path):
            opened.append("info")
        return real_info(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(sf, "SoundFile", SpySoundFile)
    monkeypatch.setattr(sf, "info", spy_info)
    engine = Engine(lively_tiny_model(), tokenizer, device="cpu")
    opts = GenerationOptions(max_len=3, stop_token=None)
    first = engine.answer(Clip(path), Clip(path), "caption the audio.", opts)
    assert opened == ["open"]  # hash, header and window from one open; the second slot reuses it all
    opened.clear()
    assert engine.answer(Clip(path), Clip(path), "what do you hear?", opts)
    assert opened == []  # unchanged (path, size, mtime): proven by a stat, nothing opened
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same bytes, new mtime
    assert engine.answer(Clip(path), Clip(path), "caption the audio.", opts) == first
    assert opened == ["open"]


def test_cpu_fallback_policy() -> None:
    from mellow.generation.devices import fallback_note

    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    oom = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert "ran out of memory" in fallback_note(oom, cuda, placing=False)
    assert "ran out of memory" in fallback_note(RuntimeError("CUDA error: out of memory"), cuda, placing=True)
    broken = RuntimeError("CUDA error: no kernel image is available for execution on the device")
    assert "not usable" in fallback_note(broken, cuda, placing=True)
    assert fallback_note(broken, cuda, placing=False) is None  # mid-request: a real error, not retried
    assert fallback_note(oom, cpu, placing=False) is None  # nowhere to go from the CPU
    assert fallback_note(ValueError("bad"), cuda, placing=True) is None


def test_options_are_validated_once_with_one_error_type() -> None:
    from mellow.generation import OptionsError

    for bad in ({"max_len": 0}, {"max_len": True}, {"max_len": 2.5}, {"top_p": "0.8"},
                {"sample": True, "top_p": 1.5}, {"sample": True, "temperature": -1.0}, {"stop_token": "0"}):
        with pytest.raises(OptionsError) as exc:
            GenerationOptions(**bad)
        assert isinstance(exc.value, MellowError) and isinstance(exc.value, ValueError)
        assert "\n" not in str(exc.value)
    assert GenerationOptions(top_p=5.0).top_p == 5.0  # greedy ignores top_p, so any number is accepted
