"""Which model to load and how a loaded engine is described, without Qt.

:func:`engine_factory` builds the v0 engine with ``mellow.generation.Engine.load``; device problems (no CUDA,
a GPU that fails while the model is placed on it, out of memory) are handled by the engine's one CPU fallback
policy (:mod:`mellow.generation.devices`), which leaves a ``device_note`` that :class:`EngineReady` carries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = (
    "No Mellow model is installed yet. Use <b>Model ▸ Download Mellow v0…</b> (about 0.7 GB, "
    "from Hugging Face) or <b>Model ▸ Open checkpoint…</b> if you already have <i>v0.ckpt</i>. "
    "Everything else — opening, recording, playing and measuring clips — works without it."
)

Progress = Callable[[str], None]
EngineFactory = Callable[[Progress], Any]


@dataclass(frozen=True)
class EngineReady:
    """A loaded engine as the status bar describes it."""

    model_id: str
    device: str  # "CPU" or "CUDA:0"
    note: str = ""  # e.g. "CUDA is not available here; using the CPU instead of cuda"

    @classmethod
    def of(cls, engine: Any, model_id: str) -> EngineReady:
        note = getattr(engine, "device_note", "") or ""
        return cls(model_id=model_id, device=device_text(engine), note=note)

    def status_text(self) -> str:
        """``Model: v0 (v0.ckpt) ready on CPU (note)``."""
        note = f" ({self.note})" if self.note else ""
        return f"Model: {self.model_id} ready on {self.device}{note}"


def device_text(engine: Any) -> str:
    """``CPU`` / ``CUDA:0`` for an engine's torch device."""
    dev = getattr(engine, "device", "cpu")
    kind, index = getattr(dev, "type", str(dev)), getattr(dev, "index", None)
    if kind == "cuda":
        return f"CUDA:{index or 0}"
    return kind.upper()


def engine_factory(checkpoint: Path, tokenizer: Path | None, device: str) -> EngineFactory:
    """A factory that builds the v0 engine from these files (called on the model's thread)."""

    def build(progress: Progress) -> Any:
        from mellow.generation import Engine

        progress(f"reading {checkpoint.name}…")
        tok = str(tokenizer) if tokenizer is not None else None
        return Engine.load(config="v0", model=str(checkpoint), tokenizer=tok, device=device)

    return build


def model_id_for(checkpoint: Path) -> str:
    """The label of answers from this checkpoint: ``v0 (v0.ckpt)``."""
    return f"v0 ({checkpoint.name})"


def not_ready_message(state: str, description: str) -> str:
    """What to tell a user who asks while the model is not ready (``state`` of the model manager)."""
    if state == "loading":
        return "The model is still loading — ask again in a moment."
    if state == "failed":
        return (
            f"The model could not be loaded: {description}. "
            "Try Model ▸ Open checkpoint… or Model ▸ Download Mellow v0…."
        )
    return INSTALL_HINT
