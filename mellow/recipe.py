"""Deterministic test weights, "recipe v1" (tests/fixtures/reference/RECIPE.md).

Every floating-point entry of the state dict is drawn from its own CPU generator seeded with
``zlib.crc32(key)``, so a value depends on its key alone. Constructed entries (integer buffers, STFT kernels,
mel matrix, shifted-window masks) keep the value the model builds; the tied ``lm_head.weight`` gets no draw
and equals the input embedding.

:func:`apply_recipe` writes each draw straight into the model's storage, so applying the recipe needs no
second copy of the weights (the v0 model is 167 M parameters, about 0.67 GB in float32).
"""

from __future__ import annotations

import zlib

import torch
from torch import nn

#: Standard deviation of matrices, conv kernels, biases, embeddings, bias tables and running means.
STD = 0.07
#: Standard deviation of 1-D ``.weight`` scales around 1 (LayerNorm, RMSNorm, BatchNorm).
STD_NORM = 0.05
#: Offset of ``running_var`` draws: 0.5 + U[0, 1).
RUNNING_VAR_OFFSET = 0.5
#: The output embedding, tied to the input embedding.
TIED_KEY = "caption_decoder.lm.lm_head.weight"
TIED_SOURCE = "caption_decoder.lm.model.embed_tokens.weight"
_CONSTRUCTED_MARKERS = ("spectrogram_extractor", "logmel_extractor")


def is_constructed(key: str, tensor: torch.Tensor) -> bool:
    """True for the entries the recipe keeps as the model builds them (rules 1 and 2)."""
    return (not tensor.is_floating_point() or any(m in key for m in _CONSTRUCTED_MARKERS)
            or key.endswith("attn_mask"))


def seed_for(key: str) -> int:
    """The generator seed of a key: unsigned crc32 of its UTF-8 bytes."""
    return zlib.crc32(key.encode("utf-8"))


def draw(key: str, shape: torch.Size | tuple[int, ...], out: torch.Tensor | None = None) -> torch.Tensor:
    """The recipe value of a drawn key, float32 of ``shape`` (written into ``out`` when given).

    ``out`` must be a contiguous float32 CPU tensor of that shape; drawing into it produces the same values as
    drawing into a fresh tensor.
    """
    g = torch.Generator(device="cpu")
    g.manual_seed(seed_for(key))
    size = tuple(shape)
    if key.endswith("running_var"):
        t = torch.rand(size, generator=g, dtype=torch.float32, out=out)
        return t.add_(RUNNING_VAR_OFFSET)
    t = torch.randn(size, generator=g, dtype=torch.float32, out=out)
    if len(size) == 1 and key.endswith(".weight"):
        return t.mul_(STD_NORM).add_(1.0)
    return t.mul_(STD)


def recipe_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The full recipe state dict for ``model``'s keys (a separate copy; prefer :func:`apply_recipe` to load).

    Constructed entries are clones of the model's own values; the tied key is the same tensor as its source.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if key == TIED_KEY:
            continue
        if is_constructed(key, value):
            out[key] = value.detach().clone()
        else:
            out[key] = draw(key, value.shape)
    if TIED_KEY in model.state_dict():
        out[TIED_KEY] = out[TIED_SOURCE]
    return out


@torch.no_grad()
def apply_recipe(model: nn.Module) -> nn.Module:
    """Overwrite ``model``'s weights in place with recipe v1 (float32 CPU), keeping the lm_head tie.

    Each tensor is drawn directly into its parameter's storage, so peak memory stays at one model. Every
    drawn key must belong to a float32 CPU tensor. Returns ``model``.
    """
    state = model.state_dict(keep_vars=True)
    for key, value in state.items():
        if key == TIED_KEY or is_constructed(key, value):
            continue
        target = value.data
        if target.dtype != torch.float32 or target.device.type != "cpu":
            raise ValueError(f"apply_recipe needs float32 CPU weights; {key} is {target.dtype} "
                             f"on {target.device}")
        if target.is_contiguous():
            draw(key, target.shape, out=target)
        else:
            target.copy_(draw(key, target.shape))
    if TIED_KEY in state and state[TIED_KEY].data_ptr() != state[TIED_SOURCE].data_ptr():
        state[TIED_KEY].data.copy_(state[TIED_SOURCE].data)
    return model
