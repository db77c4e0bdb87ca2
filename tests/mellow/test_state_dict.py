"""State-dict layout of the v0 model, constructed buffers, and the recipe-v1 weights."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch

from mellow.errors import ConfigError
from mellow.model.config import ModelConfig, config_from_dict, load_config
from mellow.model.model import MellowModel
from mellow.recipe import TIED_KEY, TIED_SOURCE, apply_recipe, draw, recipe_state_dict

RECIPE_TOTAL_SHA256 = "f230fab82d41f8ac113bd07de381d6a083ed3564e4715231d13d1286a56ce91f"
N_KEYS = 479
N_PARAMS = 167_020_951


def _tsv(path: Path) -> list[list[str]]:
    return [line.rstrip("\n").split("\t") for line in path.read_text().splitlines() if line.strip()]


def _dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def _le_bytes(t: torch.Tensor) -> bytes:
    arr = t.detach().contiguous().numpy()
    return arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()


@pytest.mark.slow
def test_v0_state_dict_matches_published_layout(v0_recipe_model: MellowModel, reference_dir: Path) -> None:
    rows = _tsv(reference_dir / "state_dict_v0.tsv")
    assert len(rows) == N_KEYS
    want = {key: (tuple(int(s) for s in shape.strip("[]").split(",") if s.strip()), dtype)
            for key, shape, dtype in rows}
    sd = v0_recipe_model.state_dict()
    got = {key: (tuple(t.shape), _dtype_name(t)) for key, t in sd.items()}
    assert sorted(set(want) - set(got)) == [] and sorted(set(got) - set(want)) == []
    assert got == want
    # 167,020,951 distinct parameters (the tied lm_head counted once; STFT kernels and melW are parameters)
    assert sum(p.numel() for p in v0_recipe_model.parameters()) == N_PARAMS


@pytest.mark.slow
def test_v0_constructed_buffers_are_bit_exact(v0_recipe_model: MellowModel, reference_dir: Path) -> None:
    sd = v0_recipe_model.state_dict()
    with np.load(reference_dir / "constructed_buffers.npz") as ref:
        assert len(ref.files) == 21
        for key in ref.files:
            np.testing.assert_array_equal(sd[key].numpy(), ref[key], err_msg=key)
            assert sd[key].numpy().dtype == ref[key].dtype, key


@pytest.mark.slow
def test_v0_recipe_checksums(v0_recipe_model: MellowModel, reference_dir: Path) -> None:
    """Every one of the 479 recipe tensors has the published SHA-256 and sum; so does their concatenation."""
    sd = v0_recipe_model.state_dict()
    rows = _tsv(reference_dir / "recipe_checksums.tsv")
    assert len(rows) == N_KEYS
    total = hashlib.sha256()
    mismatched = []
    for key, sha, fsum, *_ in rows:
        data = _le_bytes(sd[key])
        total.update(data)
        if hashlib.sha256(data).hexdigest() != sha:
            mismatched.append(key)
        assert sd[key].double().sum().item() == pytest.approx(float(fsum), rel=1e-9, abs=1e-9), key
    assert mismatched == []
    assert total.hexdigest() == RECIPE_TOTAL_SHA256


@pytest.mark.slow
def test_v0_lm_head_tied_and_strict_load_round_trip(v0_recipe_model: MellowModel) -> None:
    lm = v0_recipe_model.caption_decoder.lm
    assert lm.lm_head.weight.data_ptr() == lm.model.embed_tokens.weight.data_ptr()
    fresh = MellowModel(load_config("v0"))
    result = fresh.load_state_dict(v0_recipe_model.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    flm = fresh.caption_decoder.lm
    assert flm.lm_head.weight.data_ptr() == flm.model.embed_tokens.weight.data_ptr()
    assert torch.equal(flm.lm_head.weight, lm.model.embed_tokens.weight)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, v0_recipe_model.state_dict()[key]), key


def test_recipe_examples_from_recipe_md() -> None:
    starts = {
        "audio_encoder.base.htsat.bn0.running_var": (64, [1.1032526, 0.7924417, 1.4207463]),
        "caption_decoder.lm.model.norm.weight": (576, [0.9335630, 1.0049533, 1.1202594]),
    }
    for key, (n, first) in starts.items():
        np.testing.assert_allclose(draw(key, (n,))[:3].numpy(), first, atol=5e-7)
    emb = draw("caption_decoder.lm.model.embed_tokens.weight", (4, 576))  # the first rows of the real draw
    np.testing.assert_allclose(emb[0, :3].numpy(), [-0.0884388, -0.0357995, -0.0313134], atol=5e-7)


def test_draw_into_existing_storage_equals_fresh_draw() -> None:
    target = torch.empty(300, 70)
    out = draw("some.layer.weight", target.shape, out=target)
    assert out.data_ptr() == target.data_ptr()
    assert torch.equal(target, draw("some.layer.weight", (300, 70)))


def test_tiny_recipe_state_dict_equals_applied_model(tiny_model: MellowModel) -> None:
    sd = recipe_state_dict(tiny_model)
    assert sd[TIED_KEY] is sd[TIED_SOURCE]
    model_sd = tiny_model.state_dict()
    assert sd.keys() == model_sd.keys()
    for key, value in model_sd.items():
        assert torch.equal(sd[key], value), key
    fresh = MellowModel(load_config("tiny"))
    fresh.load_state_dict(sd, strict=True)
    lm = fresh.caption_decoder.lm
    assert lm.lm_head.weight.data_ptr() == lm.model.embed_tokens.weight.data_ptr()


def test_apply_recipe_keeps_tie_and_is_deterministic() -> None:
    a = apply_recipe(MellowModel(load_config("tiny")))
    b = apply_recipe(MellowModel(load_config("tiny")))
    lm = a.caption_decoder.lm
    assert lm.lm_head.weight.data_ptr() == lm.model.embed_tokens.weight.data_ptr()
    for (key, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), key


def test_config_validation() -> None:
    tiny = load_config("tiny")
    assert tiny.audio_tokens == 129 and tiny.prefix_len == 389
    assert ModelConfig().htsat.final_dim == 768
    with pytest.raises(ConfigError, match="out_dim"):
        config_from_dict({"htsat": {"out_dim": 512}})
    with pytest.raises(ConfigError, match="hidden_size"):
        config_from_dict({"decoder": {"hidden_size": 64}})
    with pytest.raises(ConfigError, match="unknown keys"):
        config_from_dict({"htsat": {"bogus": 1}})
    with pytest.raises(ConfigError, match="no model config"):
        load_config("does-not-exist")
