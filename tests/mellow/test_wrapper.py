"""MellowWrapper, the published API, end to end on checkpoint files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mellow.errors import CheckpointError, DeviceError
from tests.helpers.engines import save_published_checkpoint
from tests.helpers.paths import A_WAV, B_WAV

PUBLIC_PROMPTS = ["caption the audio.", "explain the difference between the two audios in detail.",
                  "is there a cat in the audio? answer yes or no"]


@pytest.fixture
def no_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MELLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)


def test_wrapper_runs_a_checkpoint_file_like_the_published_example(tiny_ckpt: Path, tiny_model, gguf: Path,
                                                                    no_install: None) -> None:
    from mellow import Clip, MellowWrapper
    from mellow.generation import Engine, GenerationOptions
    from mellow.model.tokenizer import PromptTokenizer

    mellow = MellowWrapper(config="tiny", model=str(tiny_ckpt), device="cpu", use_cuda=False, tokenizer=gguf)
    examples = [[str(A_WAV), str(B_WAV), PUBLIC_PROMPTS[0]],
                [Clip(A_WAV, start=0.0), B_WAV, PUBLIC_PROMPTS[2]]]
    answers = mellow.generate(examples=examples, max_len=8, top_p=0.8, temperature=1.0)
    assert isinstance(answers, list) and len(answers) == 2 and all(isinstance(a, str) for a in answers)

    # the same as the engine on the in-memory model the file was saved from
    direct = Engine(tiny_model, PromptTokenizer.load(gguf), device="cpu")
    want = direct.generate([(Clip(A_WAV), Clip(B_WAV), PUBLIC_PROMPTS[0]), (Clip(A_WAV), Clip(B_WAV),
                                                                             PUBLIC_PROMPTS[2])],
                           GenerationOptions(max_len=8))
    assert answers == [r.text for r in want]
    # greedy as published: top_p and temperature change nothing
    assert mellow.generate(examples, max_len=8, top_p=0.1, temperature=3.0) == answers
    assert mellow.generate([], max_len=8) == []
    with pytest.raises(ValueError, match="max_len"):
        mellow.generate(examples, max_len=0)
    with pytest.raises(ValueError, match=r"\[audio1, audio2, prompt\]"):
        mellow.generate([[str(A_WAV), PUBLIC_PROMPTS[0]]])


def test_v0_without_a_local_copy_says_how_to_download(no_install: None, gguf: Path) -> None:
    from mellow import MellowWrapper

    with pytest.raises(CheckpointError, match="mellow download"):
        MellowWrapper(config="v0", model="v0", device="cpu", tokenizer=gguf)


def test_published_device_arguments() -> None:
    from mellow.wrapper import published_device

    assert published_device(0, use_cuda=False) == "cpu"  # published: device=0 only counts with use_cuda
    assert published_device(1, use_cuda=True) == "cuda:1"
    assert published_device("cpu", use_cuda=True) == "cpu"
    assert published_device("cuda", use_cuda=False) == "cuda"
    assert published_device(None) == "auto"
    with pytest.raises(DeviceError):
        published_device(True)


@pytest.mark.slow
def test_v0_wrapper_reproduces_the_reference_text(v0_recipe_model, reference_dir: Path, gguf: Path,
                                                  tmp_path: Path) -> None:
    """A published-style v0 checkpoint (recipe weights) via the published API gives the reference's text."""
    from mellow import MellowWrapper

    path = save_published_checkpoint(v0_recipe_model, tmp_path / "v0.ckpt")
    mellow = MellowWrapper(config="v0", model=path, device="cpu", tokenizer=gguf)
    expected = json.loads((reference_dir / "expected.json").read_text())
    examples = [[str(A_WAV), str(B_WAV), row["prompt"]] for row in expected["rows"]]
    assert [row["prompt"] for row in expected["rows"]] == PUBLIC_PROMPTS
    answers = mellow.generate(examples=examples, max_len=24, top_p=0.8, temperature=1.0)
    assert answers == [row["reference_returned_text"] for row in expected["rows"]]
