"""Mellow: a faithful, fast implementation of the Mellow v0 audio-language model (no Qt here)."""

from __future__ import annotations

from typing import Any

__all__ = ["Clip", "MellowWrapper", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Lazy, so that `import mellow` (e.g. for mellow.errors) does not pull in torch.
    if name == "MellowWrapper":
        from mellow.wrapper import MellowWrapper

        return MellowWrapper
    if name == "Clip":
        from mellow.audio import Clip

        return Clip
    raise AttributeError(f"module 'mellow' has no attribute {name!r}")
