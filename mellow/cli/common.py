"""What the ``mellow`` commands share: exit statuses, the usage error, argument types and groups, and
opening the engine the arguments name."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from mellow.errors import MellowError

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


class UsageError(MellowError):
    """A bad command-line argument or input file."""


# ----------------------------------------------------------------------------------------- argument types
def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def seconds(text: str) -> float:
    """An argparse type: zero or more (finite) seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (value >= 0.0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"must be zero or more seconds: {text}")
    return value


def number(text: str) -> float:
    """An argparse type: any finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a finite number: {text}")
    return value


def probability(text: str) -> float:
    """An argparse type: a number from 0 to 1."""
    value = number(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


# ----------------------------------------------------------------------------------------- argument groups
def add_model_args(p: argparse.ArgumentParser) -> None:
    """--model, --tokenizer, --config, --device."""
    p.add_argument("--model", default="v0", help="checkpoint file or folder, or an installed name (v0, v0_s)")
    p.add_argument("--tokenizer", default=None, help="folder with tokenizer.json, or a SmolLM2 .gguf file")
    p.add_argument("--config", default="v0", help="model config name or YAML file (default v0)")
    p.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")


def add_decoding_args(p: argparse.ArgumentParser) -> None:
    """--max-len and the sampling options."""
    p.add_argument("--max-len", type=positive_int, default=300, help="most tokens to generate (default 300)")
    p.add_argument("--sample", action="store_true",
                   help="sample instead of the published greedy decoding (answers then differ from upstream)")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (with --sample)")
    p.add_argument("--top-p", type=float, default=0.8, help="nucleus size (with --sample)")
    p.add_argument("--seed", type=int, default=None, help="random seed (with --sample)")


def add_clock_args(p: argparse.ArgumentParser, relative_to: str) -> None:
    """--timezone and --start FILE=TIME (``relative_to`` names where FILE is also looked for)."""
    p.add_argument("--timezone", default="UTC", metavar="ZONE",
                   help="zone of times that carry none (IANA name such as Europe/Berlin, or +05:30); "
                        "default UTC, AudioMoth's default")
    p.add_argument("--start", action="append", default=[], metavar="FILE=TIME",
                   help="override a file's start (ISO 8601; without an offset, read in --timezone); FILE "
                        f"relative to the current folder or to {relative_to}; repeatable")


def clock_zone(text: str) -> tzinfo:
    """``--timezone``'s zone; a UsageError naming the flag when it is not one."""
    from mellow.recordings import RecordingsError, parse_zone

    try:
        return parse_zone(text)
    except RecordingsError as exc:
        raise UsageError(f"--timezone: {exc}") from None


def start_overrides(specs: Sequence[str], folders: Sequence[Path], zone: tzinfo) -> dict[Path, datetime]:
    """``--start FILE=TIME`` -> {path: start}; FILE is relative to the current folder or to one of
    ``folders`` (the first where it exists)."""
    from mellow.recordings import RecordingsError, parse_iso_time

    overrides: dict[Path, datetime] = {}
    for spec in specs:
        name, sep, when = spec.rpartition("=")
        if not sep or not name or not when:
            raise UsageError(f"--start wants FILE=TIME, got {spec!r}")
        path = Path(name).expanduser()
        if not path.is_file():
            path = next((folder / path for folder in folders if (folder / path).is_file()), path)
        if not path.is_file():
            raise UsageError(f"--start: no such file: {name}")
        try:
            overrides[path] = parse_iso_time(when, zone)
        except RecordingsError as exc:
            raise UsageError(f"--start {name}: {exc}") from None
    return overrides


# --------------------------------------------------------------------------------------------- helpers
def add_question_args(p: Any, ask: str) -> None:
    """--prompt (repeatable), --questions FILE and --preset NAME on a parser or group; ``ask``: what they
    are asked of ("every 10 s window")."""
    p.add_argument("--prompt", action="append", default=[], metavar="TEXT",
                   help=f'asked of {ask}, e.g. "is there a bird singing? answer yes or no" (repeat it to ask '
                        "several)")
    p.add_argument("--questions", default=None, metavar="FILE",
                   help="a .csv or .yaml file of questions: prompt, and optionally name and threshold")
    p.add_argument("--preset", default=None, metavar="NAME",
                   help="a packaged question set, e.g. soundscape (an unknown name lists them)")


def question_set(args: argparse.Namespace) -> Any:
    """The QuestionSet of --preset, then --questions, then each --prompt (a prompt is named after itself,
    numbered when a question has that name already); UsageError when none is given."""
    from mellow.scan.questions import QuestionSet, load_questions, preset

    sets = []
    if args.preset:
        sets.append(preset(args.preset))
    if args.questions:
        sets.append(load_questions(Path(args.questions).expanduser()))
    if not sets and not args.prompt:
        raise UsageError("say what to ask: --prompt TEXT, --questions FILE or --preset NAME")
    given = [q for qs in sets for q in qs]
    return QuestionSet.of([*given, *args.prompt], "+".join(qs.name for qs in sets if qs.name))


def generation_options(args: argparse.Namespace) -> Any:
    """The :class:`~mellow.generation.GenerationOptions` of :func:`add_decoding_args`' arguments (validated:
    a bad value is an OptionsError, so "error: ..." and exit 2)."""
    from mellow.generation import GenerationOptions

    return GenerationOptions(max_len=args.max_len, sample=args.sample, temperature=args.temperature,
                             top_p=args.top_p, seed=args.seed)


def check_audio(path: str | Path) -> None:
    """Fail fast (before loading the model) on a missing or unreadable audio file."""
    from mellow.audio import audio_info

    audio_info(path)


def open_engine(args: argparse.Namespace) -> Any:
    """The engine of :func:`add_model_args`' arguments (and ``args.dtype`` when there is one); a device note
    (e.g. the GPU could not take the model) is printed as a warning."""
    from mellow.wrapper import open_engine as open_wrapped

    engine = open_wrapped(args.config, args.model, args.tokenizer, args.device, getattr(args, "dtype", None))
    if engine.device_note:
        print(f"warning: {engine.device_note}", file=sys.stderr)
    return engine
