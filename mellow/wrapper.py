"""``MellowWrapper``: the published Python API, so upstream's example code runs unchanged.

    from mellow import MellowWrapper
    mellow = MellowWrapper(config="v0", model="v0", device=0 if cuda else "cpu", use_cuda=cuda)
    answers = mellow.generate(examples=[[path1, path2, "caption the audio."]], max_len=300, top_p=0.8,
                              temperature=1.0)

Decoding is greedy, exactly as published (the published loop filters by top-p and then takes the argmax, so
``top_p`` and ``temperature`` are accepted and change nothing).  Sampling is available through
:mod:`mellow.generation` and ``mellow generate --sample``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from mellow.errors import DeviceError

if TYPE_CHECKING:
    from mellow.audio import Clip
    from mellow.generation import Engine
    from mellow.model.config import ModelConfig

PathLike = str | os.PathLike[str]
DeviceLike = int | str | torch.device | None


def published_device(device: DeviceLike = 0, use_cuda: bool | None = False) -> str:
    """Map the published ``device``/``use_cuda`` pair to a device name for :class:`~mellow.generation.Engine`.

    An integer is a CUDA index used only with ``use_cuda`` (the published example passes ``device=0`` with
    ``use_cuda=True``, and ``"cpu"`` otherwise); strings (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"auto"``) and
    torch devices pass through.  The engine falls back to the CPU, with a warning, when CUDA is missing.
    """
    if isinstance(device, bool):
        raise DeviceError(f"device must be a GPU index or a name, not {device!r}")
    if isinstance(device, int) or (isinstance(device, str) and device.strip().isdigit()):
        return f"cuda:{int(device)}" if use_cuda else "cpu"
    if device is None:
        return "auto"
    return str(device)


def open_engine(config: str | Path | ModelConfig = "v0", model: PathLike = "v0",
                tokenizer: PathLike | None = None, device: DeviceLike = "auto",
                dtype: str | None = None) -> Engine:
    """Find the files (failing fast when they are missing), then build, load and return a ready Engine
    (``dtype``: the decoder's precision, float32 by default as published)."""
    from mellow.model_files import find_model_files

    find_model_files(model, tokenizer)  # before anything slow: a missing file fails fast
    from mellow.generation import Engine

    return Engine.load(config, model, tokenizer, device=published_device(device, use_cuda=True), dtype=dtype)


def _clip(item: Clip | PathLike, which: str) -> Clip:
    from mellow.audio import Clip

    if isinstance(item, Clip):
        return item
    if isinstance(item, (str, os.PathLike)):
        return Clip(item)
    raise TypeError(f"{which} must be a file path or mellow.Clip, not {type(item).__name__}")


class MellowWrapper:
    """Load Mellow once and answer questions about pairs of audio clips (the published interface).

    ``config``: ``"v0"`` (or another packaged config name, or a YAML path).  ``model``: ``"v0"`` or ``"v0_s"``
    for installed weights (``mellow download [--model v0_s]``), or a checkpoint file (.ckpt, .safetensors) or
    folder.
    ``tokenizer``: a folder with tokenizer.json or a SmolLM2 ``.gguf``; found automatically when None.
    ``device``/``use_cuda``: as upstream (``device=0, use_cuda=True`` for the first GPU), or ``"cpu"``,
    ``"cuda"``, ``"auto"``.
    """

    def __init__(self, config: str | Path = "v0", model: PathLike = "v0", device: DeviceLike = 0,
                 use_cuda: bool = False, tokenizer: PathLike | None = None) -> None:
        self.engine = open_engine(config, model, tokenizer, published_device(device, use_cuda))

    @property
    def device(self) -> torch.device:
        return self.engine.device

    def generate(self, examples: Sequence[Sequence[Any]], max_len: int = 300, top_p: float = 0.8,
                 temperature: float = 1.0, stop_token: int | None = 0) -> list[str]:
        """Answer each ``[audio1, audio2, prompt]`` (paths or :class:`mellow.Clip`) and return the texts.

        Greedy decoding for at most ``max_len`` tokens, cut at the first ``<|endoftext|>``, as published;
        ``top_p`` and ``temperature`` do not change the result (see the module docstring). ``stop_token`` is
        the token id that ends an answer (0, ``<|endoftext|>``); None generates exactly ``max_len`` tokens.
        """
        from mellow.generation import GenerationOptions

        # Validates max_len, top_p and temperature (a bad value raises OptionsError, also a ValueError).
        options = GenerationOptions(max_len=max_len, sample=False, temperature=temperature, top_p=top_p,
                                    stop_token=stop_token)
        batch = []
        for i, example in enumerate(examples):
            if isinstance(example, (str, bytes)) or len(example) != 3:
                raise ValueError(f"example {i} must be [audio1, audio2, prompt]")
            a, b, prompt = example
            if not isinstance(prompt, str):
                raise TypeError(f"example {i}: the prompt must be a string, not {type(prompt).__name__}")
            batch.append((_clip(a, f"example {i} audio1"), _clip(b, f"example {i} audio2"), prompt))
        if not batch:
            return []
        return [result.text for result in self.engine.generate(batch, options)]

    def __repr__(self) -> str:
        return f"MellowWrapper(model={self.engine.paths.get('checkpoint')!r}, device={str(self.device)!r})"
