"""The Llama decoder: published state-dict layout, fidelity to the reference logits/tokens, the KV cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from mellow.model.config import DecoderConfig, load_config
from mellow.model.llama import CausalLM, KVCache

LM_PREFIX = "caption_decoder.lm."
AUDIO_POSITIONS = 260  # clip 1 (129) + SEP + clip 2 (129) + SEP


def _tiny_cfg() -> DecoderConfig:
    # Small vocabulary keeps these tests fast; GQA with 2 query heads per kv head, odd hidden/2 avoided.
    return replace(load_config("tiny").decoder, vocab_size=512)


def _random_lm(cfg: DecoderConfig, seed: int = 0) -> CausalLM:
    torch.manual_seed(seed)
    lm = CausalLM(cfg).eval()
    with torch.no_grad():
        for name, p in lm.named_parameters():
            if name.endswith("layernorm.weight") or name == "model.norm.weight":
                p.copy_(1 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.2 * torch.randn_like(p))
    return lm


def _naive_last_logits(lm: CausalLM, seq: torch.Tensor) -> torch.Tensor:
    """The published algorithm: run the whole sequence with a fresh cache, take the last position."""
    return lm(seq, lm.new_cache(seq.shape[0], seq.shape[1]), 0)


# ------------------------------------------------------------------------------------------------ layout
def test_tiny_keys_and_tied_head_survive_loading() -> None:
    cfg = _tiny_cfg()
    lm = CausalLM(cfg)
    keys = list(lm.state_dict())
    assert keys[0] == "model.embed_tokens.weight" and keys[-2:] == ["model.norm.weight", "lm_head.weight"]
    assert keys[1:10] == [f"model.layers.0.{k}.weight" for k in (
        "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
        "mlp.up_proj", "mlp.down_proj", "input_layernorm", "post_attention_layernorm")]
    assert all(b is None for m in lm.modules() if isinstance(m, torch.nn.Linear) for b in [m.bias])
    assert lm.lm_head.weight is lm.model.embed_tokens.weight

    source = _random_lm(cfg, seed=1)
    lm.load_state_dict(source.state_dict(), strict=True)
    assert lm.lm_head.weight.data_ptr() == lm.model.embed_tokens.weight.data_ptr()
    assert torch.equal(lm.lm_head.weight, source.model.embed_tokens.weight)


def test_weights_stay_standard_and_reloading_is_seen() -> None:
    cfg = _tiny_cfg()
    lm = _random_lm(cfg, seed=2)
    before = {k: v.clone() for k, v in lm.state_dict().items()}
    seq = torch.randn(2, 9, cfg.hidden_size)
    ref = _naive_last_logits(lm, seq)
    assert all(p.is_contiguous() for p in lm.parameters())
    for k, v in before.items():
        assert torch.equal(lm.state_dict()[k], v), k  # running changes no weight
    # In-place loading and loading with assign=True (new parameter objects) are both picked up.
    other = _random_lm(cfg, seed=3)
    lm.load_state_dict(other.state_dict())
    torch.testing.assert_close(_naive_last_logits(lm, seq), _naive_last_logits(other, seq), rtol=0, atol=1e-5)
    lm.load_state_dict({k: v.clone() for k, v in before.items()}, assign=True)
    lm.lm_head.weight = lm.model.embed_tokens.weight
    torch.testing.assert_close(_naive_last_logits(lm, seq), ref, rtol=0, atol=1e-5)


def test_dtype_change() -> None:
    cfg = _tiny_cfg()
    lm = _random_lm(cfg, seed=4)
    seq = torch.randn(1, 7, cfg.hidden_size)
    ref = _naive_last_logits(lm, seq).double()
    lm.to(torch.float64)
    got = _naive_last_logits(lm, seq.double())
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, ref, rtol=0, atol=1e-4)


# ----------------------------------------------------------------------------------------- vs transformers
def test_matches_transformers_llama_on_tiny_config() -> None:
    """An independent implementation (transformers' Llama, eager attention, no mask) gives the same logits."""
    transformers = pytest.importorskip("transformers")
    cfg = _tiny_cfg()
    lm = _random_lm(cfg, seed=5)
    hf_cfg = transformers.LlamaConfig(
        vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_hidden_layers, num_attention_heads=cfg.num_attention_heads,
        num_key_value_heads=cfg.num_key_value_heads, head_dim=cfg.head_dim, rms_norm_eps=cfg.rms_norm_eps,
        rope_theta=cfg.rope_theta, max_position_embeddings=cfg.max_position_embeddings,
        tie_word_embeddings=True, attention_bias=False, mlp_bias=False, hidden_act="silu",
        attn_implementation="eager")
    hf = transformers.LlamaForCausalLM(hf_cfg).eval()
    hf.load_state_dict({k: v.contiguous() for k, v in lm.state_dict().items()}, strict=True)
    seq = torch.randn(2, 23, cfg.hidden_size)
    with torch.no_grad():
        want = hf(inputs_embeds=seq, use_cache=False).logits
    got = lm(seq, lm.new_cache(2, 23), 0, all_logits=True)
    torch.testing.assert_close(got, want, rtol=0, atol=2e-5)


# ------------------------------------------------------------------------------------------------ cache
def test_cached_steps_equal_full_recompute() -> None:
    cfg = _tiny_cfg()
    lm = _random_lm(cfg, seed=6)
    torch.manual_seed(7)
    prefix = torch.randn(3, 12, cfg.hidden_size)
    cache = lm.new_cache(3, 12 + 6)
    logits = lm(prefix, cache, 0)
    seq = prefix
    with torch.inference_mode():
        for pos in range(12, 18):
            torch.testing.assert_close(logits, _naive_last_logits(lm, seq), rtol=0, atol=1e-5)
            tok = logits.argmax(-1)
            seq = torch.cat([seq, lm.embed(tok[:, None])], dim=1)
            logits = lm.step(tok, cache, pos)
        torch.testing.assert_close(logits, _naive_last_logits(lm, seq), rtol=0, atol=1e-5)
    # all_logits returns every position; its last row is the default output.
    full = lm(seq, lm.new_cache(3, seq.shape[1]), 0, all_logits=True)
    assert full.shape == (3, seq.shape[1], cfg.vocab_size)
    torch.testing.assert_close(full[:, -1], _naive_last_logits(lm, seq), rtol=0, atol=1e-5)


def test_audio_snapshot_reuse_and_rewind() -> None:
    """Prefill the 'audio' part once, then answer two prompts from the snapshot or by rewinding."""
    cfg = _tiny_cfg()
    lm = _random_lm(cfg, seed=8)
    torch.manual_seed(9)
    audio = torch.randn(1, 10, cfg.hidden_size)
    p1, p2 = torch.randn(1, 5, cfg.hidden_size), torch.randn(1, 5, cfg.hidden_size)
    cache = lm.new_cache(1, 20)
    lm(audio, cache, 0)
    snap = cache.snapshot(10)
    assert snap.k.shape == (cfg.num_hidden_layers, 1, cfg.num_key_value_heads, 10, cfg.head_dim)
    first = lm(p1, cache, 10)
    torch.testing.assert_close(first, _naive_last_logits(lm, torch.cat([audio, p1], 1)), rtol=0, atol=1e-5)
    # Rewind: positions >= 10 are simply overwritten.
    second = lm(p2, cache, 10)
    want2 = _naive_last_logits(lm, torch.cat([audio, p2], 1))
    torch.testing.assert_close(second, want2, rtol=0, atol=1e-5)
    # Fresh cache filled from the snapshot, broadcast to a batch of two.
    fresh = KVCache.empty(cfg, 2, 20)
    assert fresh.load_prefix(snap) == 10
    both = lm(torch.cat([p1, p2]), fresh, 10)
    torch.testing.assert_close(both[1:], want2, rtol=0, atol=1e-5)
    torch.testing.assert_close(both[:1], first, rtol=0, atol=1e-5)


def test_a_prefix_run_for_its_keys_and_values_alone_writes_the_same_cache() -> None:
    """``logits=False`` skips the last layer's attention and MLP (nothing reads them): every key and value
    written is bit for bit the one a full run writes, and a prompt after it gets the same logits."""
    cfg = _tiny_cfg()
    lm = _random_lm(cfg, seed=4)
    torch.manual_seed(5)
    audio, prompt = torch.randn(3, 12, cfg.hidden_size), torch.randn(3, 4, cfg.hidden_size)
    full, kv_only = lm.new_cache(3, 16), lm.new_cache(3, 16)
    assert lm(audio, full, 0).shape == (3, cfg.vocab_size)
    assert lm(audio, kv_only, 0, logits=False) is None
    assert torch.equal(full.k, kv_only.k) and torch.equal(full.v, kv_only.v)
    assert torch.equal(lm(prompt, full, 12), lm(prompt, kv_only, 12))


def test_cache_bounds_are_checked() -> None:
    cfg = _tiny_cfg()
    lm = _random_lm(cfg, seed=10)
    cache = lm.new_cache(1, 4)
    with pytest.raises(ValueError, match="cache length"):
        lm(torch.randn(1, 5, cfg.hidden_size), cache, 0)
    with pytest.raises(ValueError, match="batch"):
        lm(torch.randn(2, 2, cfg.hidden_size), cache, 0)
    with pytest.raises(ValueError, match="does not fit"):
        cache.load_prefix(KVCache.empty(cfg, 1, 6))


# ------------------------------------------------------------------------------------------------ full size
@pytest.mark.slow
def test_v0_state_dict_keys_match_published(v0_recipe_model, reference_dir: Path) -> None:
    lm = v0_recipe_model.caption_decoder.lm
    rows = [line.split("\t") for line in (reference_dir / "state_dict_v0.tsv").read_text().splitlines()]
    want = [(k[len(LM_PREFIX):], shape) for k, shape, _ in rows if k.startswith(LM_PREFIX)]
    got = [(k, str(list(v.shape)).replace(" ", "")) for k, v in lm.state_dict().items()]
    assert got == [(k, s.replace(" ", "")) for k, s in want]
    assert lm.lm_head.weight.data_ptr() == lm.model.embed_tokens.weight.data_ptr()


def _greedy(lm: CausalLM, prefix: torch.Tensor, steps: int,
            audio_first: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """First-step logits (B, vocab) and ``steps`` greedy tokens (B, steps) from a (B, 389, hidden) prefix."""
    b, n, _ = prefix.shape
    cache = lm.new_cache(b, n + steps)
    with torch.inference_mode():
        if audio_first:  # the engine's path: audio part, then the prompt part
            lm(prefix[:, :AUDIO_POSITIONS], cache, 0)
            logits = lm(prefix[:, AUDIO_POSITIONS:], cache, AUDIO_POSITIONS)
        else:
            logits = lm(prefix, cache, 0)
        first = logits.clone()
        tokens = []
        for i in range(steps):
            tok = logits.argmax(-1)
            tokens.append(tok)
            if i + 1 < steps:
                logits = lm.step(tok, cache, n + i)
    return first, torch.stack(tokens, 1)


@pytest.mark.slow
def test_v0_fidelity_batch_and_single(v0_recipe_model, expected) -> None:
    """First-step logits within 1e-4 and the 24 greedy tokens exactly, as a batch of 3 and row by row."""
    lm = v0_recipe_model.caption_decoder.lm
    prefix = torch.from_numpy(expected["prefix"])
    want_logits = torch.from_numpy(expected["first_logits"])
    want_tokens = expected["tokens"]
    first, tokens = _greedy(lm, prefix, want_tokens.shape[1], audio_first=False)
    assert (first - want_logits).abs().max().item() <= 1e-4
    np.testing.assert_array_equal(tokens.numpy(), want_tokens)
    for row in range(prefix.shape[0]):
        first, tokens = _greedy(lm, prefix[row:row + 1], want_tokens.shape[1], audio_first=True)
        assert (first[0] - want_logits[row]).abs().max().item() <= 1e-4
        np.testing.assert_array_equal(tokens[0].numpy(), want_tokens[row])


@pytest.mark.slow
def test_v0_audio_snapshot_serves_another_prompt(v0_recipe_model, expected) -> None:
    """The audio K/V of one clip pair, prefilled once, answers all three prompts exactly."""
    lm = v0_recipe_model.caption_decoder.lm
    prefix = torch.from_numpy(expected["prefix"])
    want_logits = torch.from_numpy(expected["first_logits"])
    cache = lm.new_cache(1, prefix.shape[1])
    with torch.inference_mode():
        lm(prefix[:1, :AUDIO_POSITIONS], cache, 0)
        snap = cache.snapshot(AUDIO_POSITIONS)
        # All three rows share the clips (pair_index): the audio part is identical across rows.
        assert torch.equal(prefix[1, :AUDIO_POSITIONS], prefix[0, :AUDIO_POSITIONS])
        for row in (2, 1):  # rewinding: the prompt positions are overwritten
            logits = lm(prefix[row:row + 1, AUDIO_POSITIONS:], cache, AUDIO_POSITIONS)
            assert (logits[0] - want_logits[row]).abs().max().item() <= 1e-4
        batch = lm.new_cache(3, prefix.shape[1])
        batch.load_prefix(snap)
        logits = lm(prefix[:, AUDIO_POSITIONS:], batch, AUDIO_POSITIONS)
    assert (logits - want_logits).abs().max().item() <= 1e-4
