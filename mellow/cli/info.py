"""``mellow info``: the model's size, the device it would run on, and where its files are (or are not)."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any, TextIO

from mellow.cli import common
from mellow.errors import MellowError


def add_parser(sub: Any) -> None:
    """Register ``mellow info``."""
    i = sub.add_parser("info", help="show where the model files are and what the model is")
    common.add_model_args(i)


def human_bytes(n: float) -> str:
    """``512 B``, ``1.5 MB``, ``0.7 GB`` (powers of 1000)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _count_parameters(config: str) -> tuple[str, int]:
    """(config name, parameter count) without allocating weights (meta device)."""
    import torch

    from mellow.model.config import load_config
    from mellow.model.model import MellowModel

    cfg = load_config(config)
    try:
        with torch.device("meta"):
            model = MellowModel(cfg)
    except Exception:  # noqa: BLE001 - some construction step may need real memory; fall back to the CPU
        model = MellowModel(cfg)
    return cfg.name, sum(p.numel() for p in model.parameters())


def _info_lines(args: argparse.Namespace) -> Iterator[str]:
    import torch

    from mellow.errors import CheckpointError, TokenizerError
    from mellow.generation import resolve_device
    from mellow.model.checkpoint import safetensors_sibling
    from mellow.model_files import (
        DEFAULT_MODEL,
        KNOWN_MODELS,
        default_model_dir,
        find_model_files,
        find_tokenizer,
    )
    from mellow.wrapper import published_device

    name, n_params = _count_parameters(args.config)
    yield f"model:       Mellow {name} ({n_params:,} parameters, float32 {human_bytes(n_params * 4)})"
    try:
        dev, note = resolve_device(published_device(args.device, use_cuda=True))
        device = f"{dev}{f' ({note})' if note else ''}"
    except MellowError as exc:
        device = f"unavailable ({exc})"
    cuda = "yes" if torch.cuda.is_available() else "no"
    yield f"device:      {device} (CUDA available: {cuda}, torch {torch.__version__})"
    yield f"model dir:   {default_model_dir(args.model if args.model in KNOWN_MODELS else DEFAULT_MODEL)}"
    try:
        checkpoint = find_model_files(args.model, args.tokenizer).checkpoint
        yield f"checkpoint:  {checkpoint} ({human_bytes(checkpoint.stat().st_size)}) — installed"
        sibling = safetensors_sibling(checkpoint)
        yield f"safetensors: {sibling if sibling else 'none (mellow convert makes loads faster)'}"
    except (CheckpointError, TokenizerError) as exc:
        yield f"checkpoint:  not installed ({exc})"
    try:
        yield f"tokenizer:   {find_tokenizer(args.tokenizer)}"
    except TokenizerError as exc:
        yield f"tokenizer:   not found ({exc})"


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Print the facts, one per line."""
    for line in _info_lines(args):
        print(line, file=out)
    return 0
