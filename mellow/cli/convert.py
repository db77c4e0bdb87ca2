"""``mellow convert CHECKPOINT``: write ``<name>.safetensors`` next to a checkpoint (faster, mapped loads)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO


def add_parser(sub: Any) -> None:
    """Register ``mellow convert``."""
    c = sub.add_parser("convert", help="write <name>.safetensors next to a checkpoint for fast loading")
    c.add_argument("checkpoint")
    c.add_argument("--out", default=None, help="output path (default: next to the checkpoint)")


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Convert (weights_only read, strict checks) and print the new file's path."""
    from mellow.model.checkpoint import convert_to_safetensors

    print(convert_to_safetensors(args.checkpoint, args.out), file=out)
    return 0
