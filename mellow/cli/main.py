"""``mellow``: ask Mellow about audio from the shell.

    mellow generate A.wav B.wav "caption the audio."   stream the answer to stdout
    mellow batch pairs.csv --out results.jsonl           answer every row (resumable)
    mellow scan dawn.wav --prompt TEXT --out dawn.csv    every 10 s window of long recordings (resumable)
    mellow recordings SD01 [--timezone Europe/Berlin]    a folder's recordings: start times, gaps, recorders
    mellow listen --prompt TEXT [--out FOLDER]           ask a live input every 10 s, keep clips of detections
    mellow download [--dir PATH]                        fetch v0.ckpt and the tokenizer
    mellow convert v0.ckpt                              write v0.safetensors next to it (faster loads)
    mellow info                                         where the files are, model facts

A mistake a user can make (missing file, bad audio, wrong checkpoint, bad CSV) prints one ``error: ...``
line on stderr and exits with status 2; Ctrl-C exits with 130.  Each command is a module of this package
with ``add_parser(subparsers)`` and ``run(args, out)``; :data:`COMMANDS` lists them in help order.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from mellow.cli import batch, common, convert, download, generate, info, listen, recordings, scan
from mellow.errors import MellowError, one_line

#: Command name -> its module, in the order ``mellow --help`` lists them.
COMMANDS: dict[str, ModuleType] = {"generate": generate, "batch": batch, "download": download,
                                   "convert": convert, "info": info, "scan": scan, "recordings": recordings,
                                   "listen": listen}


def build_parser() -> argparse.ArgumentParser:
    """The ``mellow`` parser with every command of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(prog="mellow",
                                     description="Ask the Mellow audio-language model about sounds.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (stderr)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mellow`` command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return COMMANDS[args.command].run(args, sys.stdout)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return common.EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `mellow generate ... | head -c 10`
        sys.stderr.close()
        return 0
    except (MellowError, OSError) as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return common.EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
