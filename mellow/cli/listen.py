"""``mellow listen``: ask a live input every few seconds and keep the audio around what it finds.

    mellow listen --prompt "is there a bird singing? answer yes or no" --out station/
    mellow listen --input dawn.wav --speed 20 --prompt "is a dog barking? answer yes or no" --keep-stream
    mellow listen --prompt "..." --privacy-prompt "is someone speaking? answer yes or no" --max-disk 5GB

Each answered window and question is a row in ``OUT/<session>/rows.jsonl`` (printed as it comes); detections
keep a clip in ``OUT/<session>/clips/``.  Ctrl-C (or SIGTERM) stops after the window in flight.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from mellow.cli import common
from mellow.listen.events import ListenEvent
from mellow.listen.settings import WINDOW_S, DiskLimit, ListenSettings, ListenSetupError, default_folder

DESCRIPTION = ("Listen to an input device (or a file played in real time) and ask every window of 10 s, "
               "every --hop seconds; detections keep their audio with pre- and post-roll. Rows and clips "
               "go to a session folder under --out.")
DTYPES = ("float32", "bfloat16", "float16")
#: Events printed on stderr as notes (the others: as warnings); rows go to stdout.
_QUIET = {"row", "detection", "started"}
_NOTES = {"clip", "device-back", "sound-back", "removed", "repaired", "ended"}


def add_parser(sub: Any) -> None:
    """Register ``mellow listen`` on the ``mellow`` subparsers."""
    s = sub.add_parser("listen", help="ask a live input (or a file in real time) every few seconds",
                       description=DESCRIPTION)
    src = s.add_argument_group("input")
    src.add_argument("--input-device", default=None, metavar="DEV",
                     help="input device: index, name or part of it (default: the system's default input)")
    src.add_argument("--input", default=None, metavar="FILE", help="play FILE in real time instead")
    src.add_argument("--speed", type=common.number, default=1.0, metavar="N",
                     help="with --input: play N times faster than real time (default 1)")
    src.add_argument("--duration", type=common.seconds, default=None, metavar="S",
                     help="stop after S seconds of input (default: until Ctrl-C or the end of --input)")
    q = s.add_argument_group("questions and detections")
    common.add_question_args(q, "every window")
    q.add_argument("--hop", type=common.number, default=WINDOW_S, metavar="S",
                   help="seconds between window starts (default 10; less: overlapping windows)")
    q.add_argument("--threshold", type=common.probability, default=0.5, metavar="P",
                   help="P(yes) at which a window is a hit (default 0.5)")
    q.add_argument("--hits", type=common.positive_int, default=1, metavar="N",
                   help="hits needed within --within windows for a detection (default 1)")
    q.add_argument("--within", type=common.positive_int, default=1, metavar="M",
                   help="windows the --hits must fall within (default 1)")
    q.add_argument("--max-len", type=common.positive_int, default=300, metavar="N",
                   help="most tokens per answer (default 300)")
    q.add_argument("--max-lag", type=common.seconds, default=30.0, metavar="S",
                   help="skip (and count) windows ending more than S seconds behind the input (default 30)")
    k = s.add_argument_group("what is kept")
    k.add_argument("--out", default=None, metavar="FOLDER",
                   help="listening folder, one session folder per run (default: <data dir>/listening)")
    k.add_argument("--pre", type=common.seconds, default=5.0, metavar="S", help="seconds kept before (5)")
    k.add_argument("--post", type=common.seconds, default=5.0, metavar="S", help="seconds kept after (5)")
    k.add_argument("--keep-stream", action="store_true", help="keep the whole input too (hourly WAV files)")
    k.add_argument("--privacy-prompt", default=None, metavar="TEXT",
                   help='windows this yes/no question says yes to keep no audio, e.g. "is someone speaking? '
                        'answer yes or no"')
    k.add_argument("--privacy-threshold", type=common.probability, default=0.5, metavar="P",
                   help="P(yes) of the privacy question from which audio is withheld (default 0.5)")
    k.add_argument("--max-disk", default=None, metavar="SIZE",
                   help="limit for kept audio: 2GB, 500MB or 10%% (of the disk); oldest removed first")
    k.add_argument("--keep-last", type=int, default=5, metavar="N",
                   help="never remove the newest N clips of a question (default 5)")
    k.add_argument("--silence-alert", type=common.number, default=120.0, metavar="S",
                   help="say so when the input stays silent (below -60 dBFS) for S seconds (default 120)")
    k.add_argument("--on-detect", default=None, metavar="CMD",
                   help="shell command run per detection, the row as JSON on stdin (once its clip is kept)")
    s.add_argument("--dtype", choices=DTYPES, default="float32",
                   help="decoder precision; float32 (default) is the published model's")
    common.add_model_args(s)


def _settings(args: argparse.Namespace) -> ListenSettings:
    try:
        limit = DiskLimit.parse(args.max_disk) if args.max_disk else None
        return ListenSettings(
            questions=common.question_set(args), threshold=args.threshold, hop_s=args.hop, hits=args.hits,
            within=args.within, pre_s=args.pre, post_s=args.post, keep_stream=args.keep_stream,
            privacy_prompt=args.privacy_prompt, privacy_threshold=args.privacy_threshold, max_disk=limit,
            keep_last=args.keep_last, max_lag_s=args.max_lag, silence_after_s=args.silence_alert,
            duration_s=args.duration, on_detect=args.on_detect, max_len=args.max_len)
    except ListenSetupError as exc:
        raise common.UsageError(str(exc)) from None


def _source(args: argparse.Namespace) -> Any:
    """The input, checked before the model loads (a missing file or device fails fast)."""
    from mellow.audio_io.devices import AudioUnavailable, resolve_device
    from mellow.listen.sources import DeviceSource, FileSource

    if args.input is not None:
        if args.input_device is not None:
            raise common.UsageError("give --input FILE or --input-device DEV, not both")
        common.check_audio(args.input)
        return FileSource(args.input, speed=args.speed)
    if args.speed != 1.0:
        raise common.UsageError("--speed works with --input FILE only")
    device: int | str | None = args.input_device
    if isinstance(device, str) and device.isdigit():
        device = int(device)
    try:
        resolve_device(device, "input")
    except AudioUnavailable as exc:
        raise common.UsageError(str(exc)) from None
    return DeviceSource(device)


@contextmanager
def _signals_stop(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C and SIGTERM ask the listener to stop after the window in flight (a second Ctrl-C: at once)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _show(event: ListenEvent, out: TextIO) -> None:
    """A row on stdout (tab-separated: clock, seconds of input, question, score, what was kept, answer);
    notices on stderr."""
    row = event.row
    if event.kind == "row" and row is not None:
        score = "" if row.score is None else f"{row.score:.3f}"
        kept = "detection " + (row.clip or f"(no audio: {row.audio_withheld})") if row.detection else \
            ("hit" if row.hit else "")
        out.write("\t".join([row.clock_start, f"{row.stream_s:.2f}", row.scan.question, score, kept,
                             " ".join(row.text.split())]) + "\n")
        out.flush()
    elif event.kind not in _QUIET:
        print(f"{'note' if event.kind in _NOTES else 'warning'}: {event.text}", file=sys.stderr)


def _warn_unscored(prompts: tuple[str, ...]) -> None:
    """Say which questions can never detect: only yes/no questions get a score."""
    from mellow.scan.scores import YES_NO as SCORED
    from mellow.scan.scores import scoring_for

    for prompt in prompts:
        if scoring_for(prompt) != SCORED:
            print(f'warning: "{prompt}" is not a yes/no question (no "answer yes or no"): its windows are '
                  "answered but never detected", file=sys.stderr)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Check, load the model, listen until the input ends, the duration passes or Ctrl-C; summarise."""
    from mellow.listen.listener import Listener
    from mellow.listen.settings import check_folder
    from mellow.listen.sources import SourceError

    settings = _settings(args)
    _warn_unscored(settings.prompts)
    folder = check_folder(Path(args.out).expanduser() if args.out else default_folder())
    source = _source(args)
    engine = common.open_engine(args)
    listener = Listener(engine, source, settings, folder)
    stop = threading.Event()
    with _signals_stop(stop):
        try:
            session = listener.start()
        except SourceError as exc:
            raise common.UsageError(str(exc)) from None
        print(f"listening to {source.label}; session folder {session.dir} (Ctrl-C stops)", file=sys.stderr)
        while not listener.wait(0.2):
            for event in listener.events():
                _show(event, out)
            if stop.is_set():
                listener.stop()
    for event in listener.events():
        _show(event, out)
    status = listener.status()
    print(f"{status.answered} windows answered, {status.skipped} skipped, {status.lost} not whole, "
          f"{status.detections} detections, {status.clips} clips; rows in {session.dir / 'rows.jsonl'}",
          file=sys.stderr)
    if status.error:
        print(f"error: {status.error}", file=sys.stderr)
        return common.EXIT_USER_ERROR
    return 0
