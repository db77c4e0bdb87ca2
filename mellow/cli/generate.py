"""``mellow generate A B PROMPT``: stream the answer to one prompt about two clips to stdout."""

from __future__ import annotations

import argparse
import threading
from typing import Any, TextIO

from mellow.cli import common


def add_parser(sub: Any) -> None:
    """Register ``mellow generate``."""
    g = sub.add_parser("generate", help="answer one prompt about two clips, streaming the text")
    g.add_argument("a", help="first audio file")
    g.add_argument("b", help="second audio file (give the first again for one-clip questions)")
    g.add_argument("prompt", help='e.g. "caption the audio."')
    g.add_argument("--start-a", type=common.seconds, default=0.0,
                   help="start of the 10 s window in A (seconds)")
    g.add_argument("--start-b", type=common.seconds, default=0.0,
                   help="start of the 10 s window in B (seconds)")
    common.add_model_args(g)
    common.add_decoding_args(g)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Check both files, load the model, write the answer piece by piece."""
    from mellow.audio import Clip

    for path in (args.a, args.b):
        common.check_audio(path)
    options = common.generation_options(args)
    engine = common.open_engine(args)
    for piece in engine.stream(Clip(args.a, args.start_a), Clip(args.b, args.start_b), args.prompt,
                               options=options, cancel=threading.Event()):
        out.write(piece)
        out.flush()
    out.write("\n")
    out.flush()
    return 0
