"""``mellow scan``: ask one prompt, or a set of questions, of every 10 s window of long recordings.

    mellow scan dawn.wav --prompt "is there a bird singing? answer yes or no" --out dawn.csv
    mellow scan night/ --preset soundscape --out night.selections.txt
    mellow scan night/ --questions mine.yaml --prompt "is there a frog calling? answer yes or no" --out n.csv
    mellow scan site_a/ --prompt "caption the audio." --hop 5 --out captions.jsonl
    mellow scan a.wav --pair b.wav --prompt "explain the difference between the two audios." --out d.jsonl
    mellow scan SD01/ --prompt "is a bird singing? answer yes or no" --timezone Europe/Berlin --out sd01.csv

Outputs: ``.jsonl``/``.csv`` (one row per window and question, written as the scan goes, resumable pair by
pair), ``.txt`` (Audacity labels) and ``.selections.txt`` (Raven table); the last two hold the merged
detections of each yes/no question (every answer otherwise), labelled by question, and are written whole at
the end, while a journal ``<out>.scan.jsonl`` next to them makes them resumable.  Rows carry clock time
(``recording_start``, ``start_time``, ``end_time``, ``time_source``; :mod:`mellow.scan.clock`) read from
each file's metadata and name, and Raven tables ``Begin Date``, ``Begin Clock Time`` and ``Begin File``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from mellow.cli import common
from mellow.errors import one_line
from mellow.scan.clock import ClockOptions, refresh_clock, with_clock
from mellow.scan.driver import ScanDriver, ScanProgress
from mellow.scan.keys import missing_asks
from mellow.scan.merge import DEFAULT_THRESHOLD
from mellow.scan.plan import MIN_HOP_S, ScanPlan, ScanRange, ScanSetupError, plan_scan, slot_two
from mellow.scan.questions import QuestionSet
from mellow.scan.resume import ResultLog, journal_path
from mellow.scan.types import FileProblem, Window
from mellow.scan.writers import APPENDABLE, EXPORTS, export_bytes, format_for, write_atomic
from mellow.scan.writers.records import ScanRow
from mellow.timefmt import format_seconds

DESCRIPTION = ("Ask one prompt, or a set of questions, of every 10 s window of files or folders "
               "(recursively, sorted by path); each window is encoded once for all its questions. Rerunning "
               "the same command skips the (window, question) answers already in the output, so adding a "
               "question computes only it; Ctrl-C stops after the current batch with the output intact.")
EPILOG = ("Outputs by --format or the suffix: .jsonl and .csv hold one row per window and question and grow "
          "as the scan goes; .txt (Audacity labels) and .selections.txt (Raven) hold the merged detections "
          "of each yes/no question (every answer otherwise), labelled by question, and are written at the "
          "end, with a journal OUT.scan.jsonl kept next to them for resuming.  Rows give each window's clock "
          "time where the file's metadata or name tells when it was recorded (GUANO, AudioMoth, Song Meter, "
          "Frontier Labs; --timezone for times without a zone, --start to give a file's start).")
SCORE_MODES = {"auto": "auto", "yes-no": "yes-no", "none": None}
DTYPES = ("float32", "bfloat16", "float16")
#: The engine's scan settings by this command's flags (:meth:`ScanSetupError.in_terms`).
FLAG_NAMES = {"hop": "--hop", "from": "--from", "to": "--to", "against": "--against",
              "against_start": "--against-start", "pair": "--pair", "pair_offset": "--pair-offset"}


# --------------------------------------------------------------------------------------------- parser
def add_parser(sub: Any) -> None:
    """Register ``mellow scan`` on the ``mellow`` subparsers."""
    s = sub.add_parser("scan", help="ask one prompt or a set of questions of every 10 s window of recordings",
                       description=DESCRIPTION, epilog=EPILOG)
    s.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders")
    common.add_question_args(s, "every 10 s window")
    s.add_argument("--out", required=True, metavar="FILE",
                   help="output file (.jsonl, .csv, .txt, .selections.txt)")
    s.add_argument("--format", default=None, metavar="F",
                   help="jsonl, csv, audacity or raven (default: from the --out suffix)")
    s.add_argument("--hop", type=common.number, default=10.0, metavar="S",
                   help=f"seconds between window starts (>= {MIN_HOP_S:g}, default 10)")
    s.add_argument("--from", dest="from_s", type=common.seconds, default=0.0, metavar="S",
                   help="start of the range (s, default 0)")
    s.add_argument("--to", dest="to_s", type=common.seconds, default=None, metavar="S",
                   help="end of the range (s, default: the end of each file)")
    s.add_argument("--against", default=None, metavar="CLIP", help="a fixed reference clip for slot 2")
    s.add_argument("--against-start", type=common.seconds, default=0.0, metavar="S",
                   help="the reference clip's window start (s)")
    s.add_argument("--pair", default=None, metavar="FILE_B",
                   help="a second recording: its window at the same time goes in slot 2")
    s.add_argument("--pair-offset", type=common.number, default=0.0, metavar="S",
                   help="FILE_B's time minus the recording's time (s, default 0)")
    common.add_clock_args(s, "a folder scanned")
    s.add_argument("--threshold", type=common.probability, default=DEFAULT_THRESHOLD, metavar="P",
                   help="score at which windows count as detections (default 0.5; a question's own "
                        "threshold wins)")
    s.add_argument("--score", choices=list(SCORE_MODES), default="auto",
                   help="yes-no: P(yes) per window; auto: when the prompt asks for yes or no or options")
    s.add_argument("--batch", type=common.positive_int, default=None, metavar="N",
                   help="(window, question) answers decoded together (default: adapts to memory)")
    s.add_argument("--max-len", type=common.positive_int, default=300, metavar="N",
                   help="most tokens per answer (default 300)")
    s.add_argument("--dtype", choices=DTYPES, default="float32",
                   help="decoder precision; float32 (default) is the published model's")
    common.add_model_args(s)
    s.add_argument("--ray", action="store_true", help="answer the batches on a local Ray cluster")
    s.add_argument("--ray-address", default=None, metavar="ADDRESS",
                   help='join the Ray cluster at ADDRESS ("auto" or host:port)')
    s.add_argument("--ray-actors", type=common.positive_int, default=None, metavar="N",
                   help="engine actors on the Ray cluster (default: one per GPU, else one per node)")


# --------------------------------------------------------------------------------------------- setup
def _plan(args: argparse.Namespace) -> ScanPlan:
    """The windows of every file (problems listed, not raised); a setting the engine refuses is a usage
    error in the flags' words."""
    from mellow.model.config import load_config

    audio = load_config(args.config).audio
    try:
        rng = ScanRange(from_s=args.from_s, to_s=args.to_s, hop_s=args.hop)
        slot2 = slot_two(args.against, args.against_start, args.pair, args.pair_offset, audio)
    except ScanSetupError as exc:
        raise common.UsageError(exc.in_terms(FLAG_NAMES)) from None
    zone = common.clock_zone(args.timezone)
    folders = [Path(p).expanduser() for p in args.paths if Path(p).expanduser().is_dir()]
    clock = ClockOptions(zone, common.start_overrides(args.start, folders, zone))
    plan = plan_scan(args.paths, rng, slot2, audio, clock)
    if not plan.n_windows:
        reasons = "; ".join(f"{p.reason}" for p in plan.problems[:3]) or "no audio files"
        raise ScanSetupError(f"nothing to scan: {reasons}")
    return plan


def _check_output(out: Path, fmt: str) -> None:
    """Fail before loading the model when the output (or its journal) cannot be written or is not ours."""
    targets = [out] if fmt in APPENDABLE else [out, journal_path(out)]
    for path in targets:
        try:
            if path.exists():
                with path.open("ab"):
                    pass
            else:
                path.touch()
                path.unlink()
        except OSError as exc:
            raise common.UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    if out.exists() and fmt in APPENDABLE:
        ResultLog(out, fmt).close()  # raises, changing nothing, when it holds something else than scan rows
    elif out.exists() and out.stat().st_size:
        try:
            EXPORTS[fmt].parse(out.read_bytes(), str(out))
        except (ValueError, UnicodeDecodeError) as exc:
            raise common.UsageError(f"{out} is not a {fmt} table (so it is not overwritten): "
                                    f"{one_line(exc)}; choose another output file") from None


# --------------------------------------------------------------------------------------------- running
@contextmanager
def _ctrl_c_stops_after_batch(cancel: threading.Event) -> Iterator[None]:
    """The first Ctrl-C asks the runner to stop after the current batch; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nstopping after this batch (Ctrl-C again to stop now)", file=sys.stderr)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Bar:
    """A tqdm bar on stderr showing the driver's progress (windows, or answers of a question set,
    done/total, then its rates)."""

    def __init__(self, total: int, done: int, unit: str = "windows") -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, initial=done, unit=unit[:-1], file=sys.stderr, desc="mellow scan",
                        dynamic_ncols=True, bar_format="{desc} {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt}"
                        f" {unit}{{postfix}}")

    def show(self, progress: ScanProgress) -> None:
        self.bar.update(progress.done - self.bar.n)
        rates = progress.rates().replace(" · ", ", ")
        self.bar.set_postfix_str(rates + (f", {progress.failed} unreadable" if progress.failed else ""),
                                 refresh=False)

    def warn(self, text: str) -> None:
        self.bar.write(f"warning: {text}", file=sys.stderr)


def _drive(runner: Any, asks: dict[Window, tuple[str, ...]], log: ResultLog, plan: ScanPlan,
           total: int) -> ScanDriver:
    """Ask each window of ``asks`` its questions through the driver, appending each answer's row and
    fsyncing after every batch; unreadable windows are reported (once per file) and left out, so a rerun
    asks them again.  ``total``: answers of the whole scan."""
    cancel = threading.Event()
    driver = ScanDriver(runner, list(enumerate(asks)), total, plan.range_s / max(1, plan.n_windows), asks)
    todo = sum(len(names) for names in asks.values())
    bar = _Bar(total, total - todo, "windows" if len(runner.questions) == 1 else "answers")
    reported, recordings = 0, plan.recordings
    try:
        with _ctrl_c_stops_after_batch(cancel):
            for batch in driver.batches(cancel):
                for _, r in batch.answered:
                    q = runner.questions.get(r.question)
                    row = ScanRow.from_result(r, q.prompt, runner.model_id, runner.key_of(r.window, q))
                    log.append(with_clock(row, recordings.get(str(r.window.file))))
                log.sync()  # the batch's rows are on the disk
                for problem in driver.problems[reported:]:
                    bar.warn(_problem_line(problem))
                reported = len(driver.problems)
                bar.show(batch.progress)
    finally:
        log.sync()
        bar.bar.close()
    return driver


# --------------------------------------------------------------------------------------------- command
def _runner(args: argparse.Namespace, questions: QuestionSet) -> Any:
    """The local batched runner over the engine, or the Ray runner (``--ray``/``--ray-address``)."""
    from mellow.generation import GenerationOptions

    options, score = GenerationOptions(max_len=args.max_len), SCORE_MODES[args.score]
    if args.ray_actors and not (args.ray or args.ray_address):
        raise common.UsageError("--ray-actors needs --ray or --ray-address")
    if args.ray or args.ray_address:
        from mellow.scan.ray_pipeline import RayScanRunner, model_spec

        spec = model_spec(args.config, args.model, args.tokenizer, args.device, args.dtype)
        return RayScanRunner(spec, questions, options, score=score, batch_size=args.batch,
                             address=args.ray_address, actors=args.ray_actors)
    from mellow.scan.runner import ScanRunner

    engine = common.open_engine(args)  # honours args.dtype
    return ScanRunner(engine, questions, options, score=score, batch_size=args.batch)


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Plan, check the output, load the model, ask the (window, question) pairs not yet answered, export,
    summarise."""
    out_path = Path(args.out).expanduser()
    fmt = format_for(out_path, args.format)
    questions = common.question_set(args)
    plan = _plan(args)
    for problem in plan.problems:
        print(f"warning: {_problem_line(problem)}", file=sys.stderr)
    _check_output(out_path, fmt)
    runner = _runner(args, questions)
    try:
        names = {runner.key_of(w, q): q.name for w in plan.windows for q in questions}
        log_path = out_path if fmt in APPENDABLE else journal_path(out_path)
        with ResultLog(log_path, fmt if fmt in APPENDABLE else "jsonl") as log:
            _note_changed_files(plan, log.rows, log_path)
            _update_clock_times(log, plan)
            asks = missing_asks(plan.windows, questions.names, runner.key_of, log.keys)
            driver = _drive(runner, asks, log, plan, len(names)) if asks else None
            if driver is None:
                print(f"all {_answers(len(names), questions)} already in {log_path}", file=sys.stderr)
            # Rows of earlier runs carry the name their question had then: today's name labels the exports.
            rows = [replace(r, question=names[r.key]) for r in log.rows if r.key in names]
    finally:
        getattr(runner, "close", lambda: None)()
    if fmt not in APPENDABLE:
        scored = [q.name for q in questions if runner.scorings[q.name] == "yes-no"]
        _export(args, fmt, out_path, rows, plan, questions, scored)
    return _summary(plan, driver, rows, len(names), log_path, questions)


def _answers(n: int, questions: QuestionSet) -> str:
    """"12 windows", or "96 answers (8 questions)" for a question set."""
    return f"{n} windows" if len(questions) == 1 else f"{n} answers ({len(questions)} questions)"


def _note_changed_files(plan: ScanPlan, rows: list[ScanRow], log_path: Path) -> None:
    """Say which files changed since their rows in the output were written: their windows are asked again
    (the rule the window follows too); the earlier rows stay, told apart by their ``file_hash``."""
    stale: dict[str, int] = {}
    now = {str(f.path): f.file_hash for f in plan.files}
    for row in rows:
        if row.file in now and row.file_hash != now[row.file]:
            stale[row.file] = stale.get(row.file, 0) + 1
    for file, n in stale.items():
        print(f"note: {file} has changed since its {n} rows in {log_path} were written; its windows are "
              "asked again (the earlier rows stay, with the earlier file_hash)", file=sys.stderr)


def _update_clock_times(log: ResultLog, plan: ScanPlan) -> None:
    """Give the rows already in the output the clock times of this run's plan where theirs differ (written
    without them, by an earlier version or the window, or under another --timezone or --start); nothing
    is asked again."""
    refreshed = refresh_clock(log.rows, plan.recordings)
    if refreshed is not None:
        changed = sum(a.start_time != b.start_time for a, b in zip(log.rows, refreshed, strict=True))
        log.rewrite(refreshed)
        print(f"note: clock times of {changed} rows already in {log.path} added or updated (nothing is "
              "asked again)", file=sys.stderr)


def _export(args: argparse.Namespace, fmt: str, out_path: Path, rows: list[ScanRow], plan: ScanPlan,
            questions: QuestionSet, scored: list[str]) -> None:
    """Write a label track or Raven table whole (by rename): the merged detections of each yes/no question
    (at its own threshold, else --threshold), every answer of the others."""
    from mellow.model.config import load_config

    audio = load_config(args.config).audio
    durations = {str(f.path): f.duration_s for f in plan.files}
    thresholds = {q.name: q.threshold for q in questions if q.threshold is not None}
    data = export_bytes(fmt, rows, durations, scored, args.threshold, (audio.f_min, audio.f_max), thresholds)
    write_atomic(out_path, data)
    count = data.count(b"\n") - (fmt == "raven")  # lines, less the header
    what = "detections" if len(scored) == len(questions) else "detections and answers" if scored else \
        "windows" if len(questions) == 1 else "answers"
    print(f"wrote {out_path} ({count} {what})", file=sys.stderr)


def _summary(plan: ScanPlan, driver: ScanDriver | None, rows: list[ScanRow], n_planned: int,
             out_path: Path, questions: QuestionSet) -> int:
    """Print what happened on stderr; the exit status (0, 2 when files failed, 130 when stopped)."""
    problems = plan.problems + (driver.problems if driver is not None else [])
    have = f"{len(rows)} of {_answers(n_planned, questions)}"
    if driver is not None and driver.answered:
        asked = f"{driver.windows} windows" if len(questions) == 1 else \
            f"{driver.windows} windows ({driver.answered} answers)"
        print(f"scanned {asked} in {format_seconds(driver.elapsed_s)} "
              f"({driver.realtime_factor:.1f}× real time); {have} are in {out_path}", file=sys.stderr)
    if problems:
        print(f"{_files(len(problems))} could not be scanned:", file=sys.stderr)
        for p in problems:
            print(f"  {_problem_line(p)}", file=sys.stderr)
    if driver is not None and driver.cancelled:
        print(f"interrupted: {have} are in {out_path}; run the same command again to continue",
              file=sys.stderr)
        return common.EXIT_INTERRUPTED
    if problems:
        print(f"error: {_files(len(problems))} could not be scanned (listed above); the other windows are in "
              f"{out_path}; run the same command again to retry them", file=sys.stderr)
        return common.EXIT_USER_ERROR
    return 0


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n} files"


def _problem_line(problem: FileProblem) -> str:
    """The reason, prefixed with the file unless the reason already names it."""
    name = one_line(str(problem.file))
    return problem.reason if name in problem.reason else f"{name}: {problem.reason}"
