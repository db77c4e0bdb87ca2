"""Real models and engines with the deterministic recipe weights (``mellow.recipe``), never fake ones.

The session fixtures of tests/conftest.py (``tiny_model``, ``v0_recipe_model``, ``tokenizer``, ``tiny_ckpt``,
``tiny_engine``) are built with these; a test that must change a model builds its own.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from mellow.generation import Engine
    from mellow.model.model import MellowModel


def recipe_model(config: str) -> MellowModel:
    """A MellowModel of ``config`` ("tiny" or "v0") with the recipe-v1 weights, float32 CPU, eval mode."""
    from mellow.model.config import load_config
    from mellow.model.model import MellowModel
    from mellow.recipe import apply_recipe

    return apply_recipe(MellowModel(load_config(config))).eval()


def lively_tiny_model(seed: int = 0) -> MellowModel:
    """A tiny-config model whose decoder has large random weights, so greedy answers vary token to token."""
    model = recipe_model("tiny")
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.caption_decoder.lm.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            p.copy_(1 + 0.1 * noise if name.endswith("norm.weight") else 0.3 * noise)
    return model


def save_published_checkpoint(model: MellowModel, path: Path) -> Path:
    """``model`` saved as the published checkpoint is: a plain state dict with "module." keys."""
    torch.save({"module." + k: v for k, v in model.state_dict().items()}, path)
    return path


def tiny_engine_factory(gguf: str | Path, device: str = "cpu") -> Callable[[Callable[[str], None]], Engine]:
    """An engine factory for ``ModelManager.load_custom``: tiny config, recipe weights, the real tokenizer."""

    def build(progress: Callable[[str], None]) -> Any:
        from mellow.generation import Engine
        from mellow.model.tokenizer import PromptTokenizer

        progress("building the tiny model…")
        return Engine(recipe_model("tiny"), PromptTokenizer.load(gguf), device=device)

    return build
