"""``mellow download``: fetch the published weights and the tokenizer into a model folder (resumable)."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from mellow.cli import common


def add_parser(sub: Any) -> None:
    """Register ``mellow download``."""
    d = sub.add_parser("download", help="fetch the published weights and tokenizer (about 0.7 GB)")
    d.add_argument("--dir", default=None, help="destination folder (default: the user data folder)")
    d.add_argument("--model", default="v0", help="checkpoint name on soham97/Mellow: v0 (default) or v0_s")


class _DownloadBars:
    """One tqdm bar per file, fed by download_model's progress callback."""

    def __init__(self) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self.bars: dict[str, Any] = {}

    def __call__(self, name: str, done: int, total: int | None) -> None:
        bar = self.bars.get(name)
        if bar is None:
            bar = self.bars[name] = self._tqdm(total=total, initial=0, unit="B", unit_scale=True,
                                               unit_divisor=1024, desc=name, file=sys.stderr)
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Download with a progress bar per file; Ctrl-C leaves a resumable download (exit 130)."""
    from mellow.download import download_model

    bars = _DownloadBars()
    try:
        files = download_model(args.dir, progress=bars, model=args.model)
    except KeyboardInterrupt:
        bars.close()
        print("\ndownload interrupted; run `mellow download` again to resume", file=sys.stderr)
        return common.EXIT_INTERRUPTED
    bars.close()
    print(f"checkpoint: {files.checkpoint}", file=out)
    print(f"tokenizer:  {files.tokenizer}", file=out)
    return 0
