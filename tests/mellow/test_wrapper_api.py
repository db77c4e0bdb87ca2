"""The published API completely: the v0_s checkpoint by name (hub download, own folder) and ``stop_token``.

The hub is the local look-alike of tests/helpers/hub.py serving the tiny model's checkpoint as ``v0_s.ckpt``,
so the downloaded file really loads and answers.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mellow.errors import CheckpointError
from mellow.model_files import KNOWN_MODELS, MODEL_REPO, ModelFiles, default_model_dir, find_model_files
from tests.helpers.hub import HubServer
from tests.helpers.paths import A_WAV, B_WAV, ROOT


def test_known_models_name_v0_and_v0_s() -> None:
    assert list(KNOWN_MODELS) == ["v0", "v0_s"]
    assert all(isinstance(text, str) and text for text in KNOWN_MODELS.values())


@pytest.mark.subprocess
def test_v0_s_downloads_into_its_own_folder_and_answers(hub: HubServer, env: Path,
                                                        tiny_ckpt: Path, gguf: Path) -> None:
    from mellow import MellowWrapper

    with pytest.raises(CheckpointError, match="mellow download --model v0_s"):
        find_model_files("v0_s")
    hub.add(MODEL_REPO, "v0_s.ckpt", tiny_ckpt.read_bytes())
    proc = subprocess.run([sys.executable, "-m", "mellow", "download", "--model", "v0_s"], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    folder = env / "data" / "models" / "v0_s"
    assert default_model_dir("v0_s") == folder
    assert (folder / "v0_s.ckpt").read_bytes() == tiny_ckpt.read_bytes()
    assert find_model_files("v0_s") == ModelFiles(folder / "v0_s.ckpt", folder / "tokenizer")
    assert [s.path for s in hub.seen if s.path.endswith(".ckpt")] and not any(
        s.path.endswith("/v0.ckpt") for s in hub.seen)  # only v0_s was fetched
    with pytest.raises(CheckpointError, match="`mellow download`"):
        find_model_files("v0")  # v0 is a different model, still not installed

    by_name = MellowWrapper(config="tiny", model="v0_s", device="cpu", tokenizer=gguf)
    assert Path(by_name.engine.paths["checkpoint"]) == folder / "v0_s.ckpt"
    by_path = MellowWrapper(config="tiny", model=tiny_ckpt, device="cpu", tokenizer=gguf)
    examples = [[str(A_WAV), str(B_WAV), "caption the audio."]]
    assert by_name.generate(examples, max_len=6) == by_path.generate(examples, max_len=6)


def test_stop_token_none_gives_exactly_max_len_tokens(tiny_ckpt: Path, gguf: Path) -> None:
    from mellow import MellowWrapper
    from mellow.audio import Clip
    from mellow.generation import GenerationOptions

    mellow = MellowWrapper(config="tiny", model=tiny_ckpt, device="cpu", tokenizer=gguf)
    examples = [[str(A_WAV), str(B_WAV), "caption the audio."], [str(B_WAV), str(A_WAV), "what do you hear?"]]
    max_len = 12
    texts = mellow.generate(examples, max_len=max_len, top_p=0.8, temperature=1.0, stop_token=None)
    batch = [(Clip(a), Clip(b), p) for a, b, p in examples]
    results = mellow.engine.generate(batch, GenerationOptions(max_len=max_len, stop_token=None))
    assert [len(r.tokens) for r in results] == [max_len, max_len]  # no early stop, whatever comes out
    assert texts == [r.text for r in results]

    # Any token can end the answer: stopping at the first token the model produces gives an empty answer,
    # while the default (stop at <|endoftext|>, id 0) is the published behaviour.
    first = results[0].tokens[0]
    assert mellow.generate(examples[:1], max_len=max_len, stop_token=first) == [""]
    default = mellow.engine.generate(batch, GenerationOptions(max_len=max_len))
    assert mellow.generate(examples, max_len=max_len) == [r.text for r in default]
    assert mellow.generate(examples, max_len=max_len, stop_token=0) == [r.text for r in default]
