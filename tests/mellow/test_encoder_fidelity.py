"""Encoder fidelity against the reference (full-size v0, recipe weights); encoder unit checks (tiny)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mellow.audio import load_window
from mellow.model.config import AudioConfig, load_config
from mellow.model.features import slaney_mel_matrix
from mellow.model.htsat import (
    HTSAT,
    MASK_VALUE,
    PatchMerging,
    merge_windows,
    partition_windows,
    relative_position_index,
    shifted_window_mask,
)
from mellow.model.model import MellowModel
from tests.helpers.engines import recipe_model

# Measured on CPU, float32, 2 threads (max |ours - reference|):
#   clip_embedding 4.1e-6 (values up to 4.3), clip_proj 3.9e-6, prefix 3.9e-6 (SEP and prompt rows exact).
EMBEDDING_ATOL = 1e-5
PROJECTION_ATOL = 1e-5
PREFIX_ATOL = 1e-5


def _max_diff(a: torch.Tensor, b: np.ndarray) -> float:
    return float(np.max(np.abs(a.numpy() - b)))


@pytest.fixture(scope="module")
def v0_outputs(v0_recipe_model: MellowModel, reference_dir: Path) -> dict[str, torch.Tensor]:
    """The v0 model's embedding, projection and audio tokens for a.wav and b.wav, read from the files."""
    waves = torch.stack([load_window(reference_dir / "a.wav"), load_window(reference_dir / "b.wav")])
    with torch.inference_mode():
        emb = v0_recipe_model.embed_audio(waves)
        proj = v0_recipe_model.project(emb)
        tokens = v0_recipe_model.downsample(proj)
    return {"waves": waves, "embedding": emb, "projection": proj, "tokens": tokens}


# ------------------------------------------------------------------------------------------------ v0 fidelity
@pytest.mark.slow
def test_clip_embedding(v0_outputs: dict, expected: dict) -> None:
    np.testing.assert_array_equal(v0_outputs["waves"].numpy(), expected["clip_wave"])
    emb = v0_outputs["embedding"]
    assert emb.shape == (2, 1025, 768) and emb.dtype == torch.float32
    assert _max_diff(emb, expected["clip_embedding"]) <= EMBEDDING_ATOL


@pytest.mark.slow
def test_clip_projection(v0_outputs: dict, expected: dict, v0_recipe_model: MellowModel) -> None:
    proj = v0_outputs["projection"]
    assert proj.shape == (2, 1025, 576)
    assert _max_diff(proj, expected["clip_proj"]) <= PROJECTION_ATOL
    with torch.inference_mode():  # the projection alone, on the reference's embedding: measured 3.1e-6
        alone = v0_recipe_model.project(torch.from_numpy(expected["clip_embedding"]))
    assert _max_diff(alone, expected["clip_proj"]) <= PROJECTION_ATOL


@pytest.mark.slow
def test_prefix(v0_outputs: dict, expected: dict, v0_recipe_model: MellowModel) -> None:
    tokens = v0_outputs["tokens"]
    assert tokens.shape == (2, 129, 576)
    pairs = torch.from_numpy(expected["pair_index"])
    ids = torch.from_numpy(expected["prompt_ids"])
    with torch.inference_mode():
        prefix = v0_recipe_model.build_prefix(tokens[pairs[:, 0]], tokens[pairs[:, 1]], ids)
    ref = expected["prefix"]
    assert prefix.shape == ref.shape == (3, 389, 576)
    assert _max_diff(prefix, ref) <= PREFIX_ATOL
    # SEP (positions 129, 259) and the prompt (260:389) are embedding lookups: exact.
    np.testing.assert_array_equal(prefix[:, [129, 259]].numpy(), ref[:, [129, 259]])
    np.testing.assert_array_equal(prefix[:, 260:].numpy(), ref[:, 260:])


@pytest.mark.slow
def test_encode_is_batch_independent(v0_outputs: dict, v0_recipe_model: MellowModel) -> None:
    with torch.inference_mode():
        single = v0_recipe_model.encode_audio(v0_outputs["waves"][1:])
    assert single.shape == (1, 129, 576)
    assert torch.max(torch.abs(single[0] - v0_outputs["tokens"][1])).item() <= 1e-5


# ------------------------------------------------------------------------------------------------ tiny model
def test_tiny_shapes(tiny_model: MellowModel) -> None:
    cfg = tiny_model.config
    wave = torch.randn(3, cfg.audio.clip_samples, generator=torch.Generator().manual_seed(0)) * 0.1
    ids = torch.randint(0, cfg.decoder.vocab_size, (3, cfg.prompt.prompt_len))
    with torch.inference_mode():
        latent, framewise = tiny_model.audio_encoder.base.htsat(wave)
        emb = tiny_model.embed_audio(wave)
        proj = tiny_model.project(emb)
        tokens = tiny_model.encode_audio(wave)
        prefix = tiny_model.build_prefix(tokens, tokens.flip(0), ids)
    hidden = cfg.decoder.hidden_size
    assert latent.shape == (3, cfg.htsat.final_dim) and framewise.shape == (3, 1024, cfg.htsat.num_classes)
    assert framewise.min() > 0 and framewise.max() < 1
    assert torch.equal(framewise[:, 0::32], framewise[:, 31::32])  # each of the 32 steps repeated 32 times
    assert emb.shape == (3, 1025, cfg.htsat.out_dim) and torch.equal(emb[:, 0], latent)
    assert proj.shape == (3, 1025, hidden) and tokens.shape == (3, 129, hidden)
    torch.testing.assert_close(tokens[:, 1], proj[:, 1:9].mean(dim=1))
    assert torch.equal(tokens[:, 0], proj[:, 0])
    assert prefix.shape == (3, 389, hidden)
    sep = tiny_model.caption_decoder.lm.model.embed_tokens.weight[cfg.prompt.sep_token_id]
    assert torch.equal(prefix[1, 129], sep) and torch.equal(prefix[1, 259], sep)
    assert torch.equal(prefix[:, 130:259], tokens.flip(0))


def test_tiny_encoder_depends_on_audio(tiny_model: MellowModel) -> None:
    g = torch.Generator().manual_seed(1)
    waves = torch.randn(2, 320000, generator=g) * torch.tensor([[0.01], [0.5]])
    with torch.inference_mode():
        out = tiny_model.encode_audio(waves)
        again = tiny_model.encode_audio(waves)
    assert torch.equal(out, again)
    assert torch.max(torch.abs(out[0] - out[1])).item() > 1e-3


def test_reduced_precision_encoder_keeps_float32_front_end() -> None:
    # A bfloat16 model still computes the spectrogram and dB floor in float32 (1e-10 would underflow).
    model = recipe_model("tiny")
    wave = torch.randn(1, 320000, generator=torch.Generator().manual_seed(3)) * 0.05
    wave[:, :64000] = 0.0  # 2 s of digital silence: power 0 -> the 1e-10 floor
    with torch.inference_mode():
        ref = model.encode_audio(wave)
        model.to(torch.bfloat16)
        mel = model.audio_encoder.base.htsat.log_mel(wave)
        low = model.encode_audio(wave)
    assert mel.dtype == torch.bfloat16 and torch.isfinite(mel).all()
    assert low.dtype == torch.bfloat16 and torch.isfinite(low).all()
    assert torch.max(torch.abs(low.float() - ref)).item() < 0.5


# ------------------------------------------------------------------------------------------------ pieces
def test_spectrogram_matches_torch_stft() -> None:
    cfg = AudioConfig()
    enc = HTSAT(load_config("tiny").htsat, cfg)
    wave = torch.randn(2, 16000, generator=torch.Generator().manual_seed(2), dtype=torch.float64).float()
    with torch.inference_mode():
        ours = enc.spectrogram_extractor(wave)
    window = torch.hann_window(cfg.win_length, periodic=True, dtype=torch.float64)
    ref = torch.stft(wave.double(), cfg.n_fft, cfg.hop_length, cfg.win_length, window, center=True,
                     pad_mode="reflect", return_complex=True).abs().square().transpose(1, 2)[:, None]
    assert ours.shape == (2, 1, 51, 513)
    torch.testing.assert_close(ours.double(), ref, rtol=1e-4, atol=1e-3)


def test_mel_matrix_matches_torchaudio() -> None:
    import torchaudio

    ours = slaney_mel_matrix(32000, 1024, 64, 50.0, 14000.0)
    ref = torchaudio.functional.melscale_fbanks(513, 50.0, 14000.0, 64, 32000, norm="slaney",
                                                mel_scale="slaney")
    assert ours.shape == (513, 64)
    torch.testing.assert_close(ours, ref, rtol=0, atol=1e-7)


def test_image_layout_stacks_time_chunks() -> None:
    enc = HTSAT(load_config("tiny").htsat, AudioConfig())
    frames = torch.arange(1024, dtype=torch.float32)
    mel = (frames[:, None] * 100 + torch.arange(64)[None]).view(1, 1, 1024, 64)
    image = enc.to_image(mel)
    assert image.shape == (1, 1, 256, 256)
    # row = chunk * 64 + mel bin, column = frame within the chunk
    for chunk, mel_bin, col in [(0, 0, 0), (1, 5, 7), (3, 63, 255), (2, 10, 100)]:
        assert image[0, 0, chunk * 64 + mel_bin, col].item() == (chunk * 256 + col) * 100 + mel_bin


def test_window_partition_round_trip_and_order() -> None:
    x = torch.arange(16 * 16, dtype=torch.float32).view(1, 16, 16, 1)
    w = partition_windows(x, 8)
    assert w.shape == (1, 4, 64, 1)
    assert w[0, 1, 0, 0].item() == 8 and w[0, 2, 0, 0].item() == 128  # windows in row-major order
    assert torch.equal(merge_windows(w, 8, 16, 16), x)


def test_shifted_window_mask_regions() -> None:
    mask = shifted_window_mask(16, 8, 4)
    assert mask.shape == (4, 64, 64)
    assert torch.all(mask[0] == 0)  # the top-left window holds one region
    assert set(mask.unique().tolist()) == {0.0, MASK_VALUE}
    assert torch.equal(mask, mask.transpose(1, 2))
    # last window: 4 regions of 16 tokens each, so every token sees exactly 16 tokens (itself included)
    assert torch.all((mask[3] == 0).sum(dim=1) == 16)


def test_relative_position_index_is_a_table_row() -> None:
    idx = relative_position_index(8)
    assert idx.shape == (64, 64) and idx.min() == 0 and idx.max() == 224
    assert torch.all(idx.diagonal() == 7 * 15 + 7)
    assert idx[0, 63].item() == 0 and idx[63, 0].item() == 224


def test_patch_merging_neighbour_order() -> None:
    merge = PatchMerging(1, 4)
    with torch.no_grad():
        merge.norm.weight.fill_(1.0)
        merge.norm.bias.zero_()
        merge.reduction.weight.copy_(torch.eye(4)[:2])  # keep (even,even) and (odd,even)
    x = torch.arange(16, dtype=torch.float32).view(1, 16, 1)  # grid value = row * 4 + col
    parts = torch.stack([x.view(4, 4)[0::2, 0::2], x.view(4, 4)[1::2, 0::2],
                         x.view(4, 4)[0::2, 1::2], x.view(4, 4)[1::2, 1::2]], dim=-1).view(1, 4, 4)
    want = F.layer_norm(parts, (4,), eps=1e-5)[..., :2]
    torch.testing.assert_close(merge(x), want)
