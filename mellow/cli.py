"""``mellow``: ask Mellow about audio from the shell.

    mellow generate A.wav B.wav "caption the audio."   stream the answer to stdout
    mellow batch pairs.csv --out results.jsonl           answer every row (resumable)
    mellow scan dawn.wav --prompt TEXT --out dawn.csv    every 10 s window of long recordings (resumable)
    mellow download [--dir PATH]                        fetch v0.ckpt and the tokenizer
    mellow convert v0.ckpt                              write v0.safetensors next to it (faster loads)
    mellow info                                         where the files are, model facts

A mistake a user can make (missing file, bad audio, wrong checkpoint, bad CSV) prints one ``error: ...``
line on stderr and exits with status 2; Ctrl-C exits with 130.

This module holds the parser, the small commands and :func:`main`; ``batch`` and ``scan`` live in
:mod:`mellow.batch_cli` and :mod:`mellow.scan_cli`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from mellow.errors import MellowError, one_line

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class UsageError(MellowError):
    """A bad command-line argument or input file."""


# --------------------------------------------------------------------------------------------- parser
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value >= 0.0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be zero or more seconds: {text}")
    return value


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", default="v0", help="checkpoint file or folder, or an installed name (v0, v0_s)")
    p.add_argument("--tokenizer", default=None, help="folder with tokenizer.json, or a SmolLM2 .gguf file")
    p.add_argument("--config", default="v0", help="model config name or YAML file (default v0)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")


def _add_decoding_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--max-len", type=_positive_int, default=300, help="most tokens to generate (default 300)")
    p.add_argument("--sample", action="store_true",
                   help="sample instead of the published greedy decoding (answers then differ from upstream)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (with --sample)")
    p.add_argument("--top-p", type=float, default=0.8, help="nucleus size (with --sample)")
    p.add_argument("--seed", type=int, default=None, help="random seed (with --sample)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mellow",
                                     description="Ask the Mellow audio-language model about sounds.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (stderr)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    g = sub.add_parser("generate", help="answer one prompt about two clips, streaming the text")
    g.add_argument("a", help="first audio file")
    g.add_argument("b", help="second audio file (give the first again for one-clip questions)")
    g.add_argument("prompt", help='e.g. "caption the audio."')
    g.add_argument("--start-a", type=_seconds, default=0.0, help="start of the 10 s window in A (seconds)")
    g.add_argument("--start-b", type=_seconds, default=0.0, help="start of the 10 s window in B (seconds)")
    _add_model_args(g)
    _add_decoding_args(g)

    from mellow.batch_cli import add_batch_command

    add_batch_command(sub)

    d = sub.add_parser("download", help="fetch the published weights and tokenizer (about 0.7 GB)")
    d.add_argument("--dir", default=None, help="destination folder (default: the user data folder)")
    d.add_argument("--model", default="v0", help="checkpoint name on soham97/Mellow: v0 (default) or v0_s")

    c = sub.add_parser("convert", help="write <name>.safetensors next to a checkpoint for fast loading")
    c.add_argument("checkpoint")
    c.add_argument("--out", default=None, help="output path (default: next to the checkpoint)")

    i = sub.add_parser("info", help="show where the model files are and what the model is")
    _add_model_args(i)

    from mellow.scan_cli import add_scan_command

    add_scan_command(sub)
    return parser


# --------------------------------------------------------------------------------------------- helpers
def _options(args: argparse.Namespace) -> Any:
    from mellow.generation import GenerationOptions

    # GenerationOptions validates the values (OptionsError, a MellowError: "error: ..." and exit 2).
    return GenerationOptions(max_len=args.max_len, sample=args.sample, temperature=args.temperature,
                             top_p=args.top_p, seed=args.seed)


def _check_audio(path: str | Path) -> None:
    """Fail fast (before loading the model) on a missing or unreadable audio file."""
    from mellow.audio import audio_info

    audio_info(path)


def _open_engine(args: argparse.Namespace) -> Any:
    from mellow.wrapper import open_engine

    engine = open_engine(args.config, args.model, args.tokenizer, args.device, getattr(args, "dtype", None))
    if engine.device_note:
        print(f"warning: {engine.device_note}", file=sys.stderr)
    return engine


def _human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


# --------------------------------------------------------------------------------------------- commands
def cmd_generate(args: argparse.Namespace, out: TextIO) -> int:
    from mellow.audio import Clip

    for path in (args.a, args.b):
        _check_audio(path)
    options = _options(args)
    engine = _open_engine(args)
    for piece in engine.stream(Clip(args.a, args.start_a), Clip(args.b, args.start_b), args.prompt,
                               options=options, cancel=threading.Event()):
        out.write(piece)
        out.flush()
    out.write("\n")
    out.flush()
    return 0


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


def cmd_download(args: argparse.Namespace, out: TextIO) -> int:
    from mellow.download import download_model

    bars = _DownloadBars()
    try:
        files = download_model(args.dir, progress=bars, model=args.model)
    except KeyboardInterrupt:
        bars.close()
        print("\ndownload interrupted; run `mellow download` again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    bars.close()
    print(f"checkpoint: {files.checkpoint}", file=out)
    print(f"tokenizer:  {files.tokenizer}", file=out)
    return 0


def cmd_convert(args: argparse.Namespace, out: TextIO) -> int:
    from mellow.checkpoint import convert_to_safetensors

    path = convert_to_safetensors(args.checkpoint, args.out)
    print(path, file=out)
    return 0


def _count_parameters(config: str) -> tuple[str, int]:
    """(config name, parameter count) without allocating weights (meta device)."""
    import torch

    from mellow.config import load_config
    from mellow.model import MellowModel

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
    from mellow.model_files import (
        DEFAULT_MODEL,
        KNOWN_MODELS,
        default_model_dir,
        find_model_files,
        find_tokenizer,
    )
    from mellow.wrapper import published_device

    name, n_params = _count_parameters(args.config)
    yield f"model:       Mellow {name} ({n_params:,} parameters, float32 {_human_bytes(n_params * 4)})"
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
        yield f"checkpoint:  {checkpoint} ({_human_bytes(checkpoint.stat().st_size)}) — installed"
        from mellow.checkpoint import safetensors_sibling

        sibling = safetensors_sibling(checkpoint)
        yield f"safetensors: {sibling if sibling else 'none (mellow convert makes loads faster)'}"
    except (CheckpointError, TokenizerError) as exc:
        yield f"checkpoint:  not installed ({exc})"
    try:
        yield f"tokenizer:   {find_tokenizer(args.tokenizer)}"
    except TokenizerError as exc:
        yield f"tokenizer:   not found ({exc})"


def cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    for line in _info_lines(args):
        print(line, file=out)
    return 0


def cmd_batch(args: argparse.Namespace, out: TextIO) -> int:
    from mellow.batch_cli import cmd_batch as batch

    return batch(args, out)


def cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    from mellow.scan_cli import cmd_scan as scan

    return scan(args, out)


COMMANDS = {"generate": cmd_generate, "batch": cmd_batch, "download": cmd_download, "convert": cmd_convert,
            "info": cmd_info, "scan": cmd_scan}


# --------------------------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mellow`` command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command](args, sys.stdout)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `mellow generate ... | head -c 10`
        sys.stderr.close()
        return 0
    except (MellowError, OSError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
