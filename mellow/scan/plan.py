"""Window planning: which 10 s windows of which files a scan asks about (SPEC.md section 8).

Planning reads file headers only (:func:`mellow.audio.audio_info`), never audio data.  Every position is
computed on the engine's 32 kHz sample grid, exactly as :func:`mellow.audio.load_window` cuts a
``Clip(path, start)``: a window of a file longer than 10 s starts at sample ``round(start * 32000)`` of the
file resampled to 32 kHz (``resampled_length`` samples long); a file of at most 10 s is one window, tiled.

Rules: windows start at ``from_s`` and step by ``hop_s``; when the range does not end on a window boundary,
one more window is placed to end exactly at the range's end (a 65 s file with hop 10: 0, 10, ..., 50, 55).
A range shorter than one window gives one window, starting at the range's start (moved back so that it fits
in the file).  A file that cannot be used becomes a :class:`~mellow.scan.types.FileProblem`; the plan goes on.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mellow.audio import audio_info, clip_content_hash, resampled_length
from mellow.errors import MellowError, one_line
from mellow.model.config import AudioConfig
from mellow.recordings.folder import audio_suffixes, walk_files
from mellow.recordings.records import Recording
from mellow.scan.clock import ClockOptions
from mellow.scan.types import FileProblem, Window
from mellow.timefmt import format_seconds

#: The smallest hop a scan accepts (seconds).
MIN_HOP_S = 1.0
#: ``--to`` may pass the file's end by this much (seconds) and still count as the end.
END_TOLERANCE_S = 0.001

#: How the engine names a scan's settings in its messages.  A caller rewords them in its own terms with
#: :meth:`ScanSetupError.in_terms` (``mellow scan`` names its flags: ``{"hop": "--hop", ...}``).
SETTING_NAMES = {"hop": "the hop", "from": "the start of the range", "to": "the end of the range",
                 "against": "the reference clip", "against_start": "the reference clip's start",
                 "pair": "the paired recording", "pair_offset": "the pair offset"}


class ScanSetupError(MellowError):
    """The scan cannot start as asked (bad hop or range, unreadable reference clip, nothing to scan).

    Made with :meth:`naming`, its message names settings through :data:`SETTING_NAMES` (plain words) and
    :meth:`in_terms` names them in the caller's terms; made with a finished message, it is that message.
    """

    template: str | None = None
    values: dict[str, str] = {}

    @classmethod
    def naming(cls, template: str, **values: object) -> ScanSetupError:
        """An error whose ``template`` names settings as ``{hop}``, ``{from}``, ... and fills other
        ``{name}`` blanks from ``values`` after the settings are named (a file name is never read as one)."""
        err = cls("")
        err.template, err.values = template, {k: str(v) for k, v in values.items()}
        err.args = (err.in_terms({}),)
        return err

    def in_terms(self, names: dict[str, str]) -> str:
        """The message with the settings named as in ``names`` (plain words for the others)."""
        if self.template is None:
            return str(self)
        text = self.template
        for key, plain in SETTING_NAMES.items():
            text = text.replace("{" + key + "}", names.get(key, plain))
        for key, value in self.values.items():
            text = text.replace("{" + key + "}", value)
        return text


def find_audio_files(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[FileProblem]]:
    """Expand files and folders into absolute file paths, in input order; folders recursively, sorted by path.

    A file named directly is taken whatever its suffix; inside folders only audio suffixes count, and
    hidden files and folders (names starting with ".") are skipped.  A path that does not exist is a problem.
    """
    suffixes = audio_suffixes()
    files: list[Path] = []
    problems: list[FileProblem] = []
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw).expanduser().absolute()
        if path.is_dir():
            found = sorted(p for p in walk_files(path) if p.suffix.lower() in suffixes)
            if not found:
                problems.append(FileProblem(path, "the folder holds no audio files"))
        elif path.exists() or path.is_symlink():
            found = [path]
        else:
            problems.append(FileProblem(path, f"audio file not found: {path}"))
            continue
        for p in found:
            if p not in seen:
                seen.add(p)
                files.append(p)
    return files, problems


@dataclass(frozen=True)
class GridInfo:
    """A file as the engine sees it: ``samples`` at 32 kHz after resampling, its content hash."""

    path: Path
    samples: int
    file_hash: str
    rate: int

    @property
    def duration_s(self) -> float:
        return self.samples / self.rate


def grid_info(path: Path, audio: AudioConfig) -> GridInfo:
    """Header facts and content hash of ``path``; raises a one-line MellowError when it cannot be used."""
    info = audio_info(path)
    if info.sample_rate <= 0 or info.frames <= 0:
        raise ScanSetupError(f"{path} contains no audio samples")
    samples = resampled_length(info.frames, info.sample_rate, audio.sample_rate)
    return GridInfo(path, samples, clip_content_hash(path), audio.sample_rate)


@dataclass(frozen=True)
class ScanRange:
    """What to scan of each file: seconds from the start, ``to_s=None`` for the file's end, step ``hop_s``."""

    from_s: float = 0.0
    to_s: float | None = None
    hop_s: float = 10.0

    def __post_init__(self) -> None:
        if not self.hop_s >= MIN_HOP_S or self.hop_s == float("inf"):
            raise ScanSetupError.naming(f"{{hop}} must be at least {MIN_HOP_S:g} s, got {self.hop_s:g} s")
        if not 0 <= self.from_s < float("inf"):
            raise ScanSetupError.naming(f"{{from}} must be zero or more seconds, got {self.from_s:g}")
        if self.to_s is not None and not self.from_s < self.to_s < float("inf"):
            raise ScanSetupError.naming(f"{{to}} ({self.to_s:g} s) must come after {{from}} "
                                        f"({self.from_s:g} s)")


@dataclass(frozen=True)
class SlotTwo:
    """What goes in slot 2: ``mode`` "same" (the window again), "against" (a fixed clip) or "pair"."""

    mode: str = "same"
    file: GridInfo | None = None
    offset_s: float = 0.0  # against: the clip's start; pair: B's time minus A's time


@dataclass(frozen=True)
class ScanFile:
    """One planned file: absolute path, length on the 32 kHz grid (seconds), content hash, its windows, and
    what it is as a recording (start time and its source) when the plan was asked for clock time."""

    path: Path
    duration_s: float
    file_hash: str
    windows: tuple[Window, ...]
    recording: Recording | None = None


@dataclass
class ScanPlan:
    """Every window of a scan, file by file in input order, and the files that could not be planned."""

    files: list[ScanFile] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    range_s: float = 0.0  # seconds of recording covered (for real-time factors)

    @property
    def windows(self) -> list[Window]:
        return [w for f in self.files for w in f.windows]

    @property
    def n_windows(self) -> int:
        return sum(len(f.windows) for f in self.files)

    @property
    def recordings(self) -> dict[str, Recording | None]:
        """Each planned file's recording (None unless the plan was asked for clock time), by path text."""
        return {str(f.path): f.recording for f in self.files}


def window_starts(samples: int, lo: int, hi: int, hop: int, win: int) -> list[int]:
    """Window starts (samples) for the range [lo, hi) of a file ``samples`` long; windows ``win`` long.

    Steps by ``hop`` from ``lo``; adds a last window ending exactly at ``hi`` unless one already does.
    A range of at most one window gives one window at ``lo``, moved back to fit in the file.
    """
    if samples <= win:
        return [0]
    if hi - lo <= win:
        return [max(0, min(lo, samples - win))]
    starts = list(range(lo, hi - win + 1, hop))
    if starts[-1] + win < hi:
        starts.append(hi - win)
    return starts


def _range_samples(f: GridInfo, rng: ScanRange, slot2: SlotTwo, rate: int) -> tuple[int, int]:
    """[lo, hi) of ``f`` to scan, in samples; raises ScanSetupError with the reason when it is empty."""
    lo = round(rng.from_s * rate)
    hi = f.samples if rng.to_s is None else round(rng.to_s * rate)
    if rng.to_s is not None and rng.to_s > f.duration_s + END_TOLERANCE_S or lo >= f.samples:
        asked = f"{format_seconds(rng.from_s)}–{format_seconds(rng.to_s) if rng.to_s is not None else 'end'}"
        raise ScanSetupError.naming("the range {asked} lies outside {path} ({length} long)", asked=asked,
                                    path=f.path, length=format_seconds(f.duration_s))
    hi = min(hi, f.samples)
    if slot2.mode == "pair" and slot2.file is not None:
        off = round(slot2.offset_s * rate)
        lo, hi = max(lo, -off), min(hi, slot2.file.samples - off)
        if hi <= lo:
            raise ScanSetupError.naming("{a} and {b} do not overlap in the range asked (offset {offset} s)",
                                        a=f.path, b=slot2.file.path, offset=f"{slot2.offset_s:g}")
    return lo, hi


def plan_file(f: GridInfo, rng: ScanRange, slot2: SlotTwo, audio: AudioConfig | None = None) -> ScanFile:
    """The windows of one file; raises ScanSetupError when the range lies outside it."""
    audio = audio or AudioConfig()
    rate, win = audio.sample_rate, audio.clip_samples
    lo, hi = _range_samples(f, rng, slot2, rate)
    hop = max(1, round(rng.hop_s * rate))
    windows = []
    for start in window_starts(f.samples, lo, hi, hop, win):
        end = min(start + win, f.samples)
        s2_file, s2_start = None, 0.0
        if slot2.mode == "against" and slot2.file is not None:
            s2_file, s2_start = slot2.file.path, slot2.offset_s
        elif slot2.mode == "pair" and slot2.file is not None:
            s2_file, s2_start = slot2.file.path, (start + round(slot2.offset_s * rate)) / rate
        windows.append(Window(f.path, start / rate, end / rate, f.file_hash, s2_file, s2_start,
                              slot2_hash=slot2.file.file_hash if slot2.file is not None else ""))
    return ScanFile(f.path, f.duration_s, f.file_hash, tuple(windows))


def slot_two(against: str | os.PathLike | None = None, against_start: float = 0.0,
             pair: str | os.PathLike | None = None, pair_offset: float = 0.0,
             audio: AudioConfig | None = None) -> SlotTwo:
    """The slot-2 setting of a scan; raises ScanSetupError for both options or an unreadable file."""
    audio = audio or AudioConfig()
    if against is not None and pair is not None:
        raise ScanSetupError.naming("{against} and {pair} cannot be used together (slot 2 holds one of "
                                    "them)")
    chosen, mode, offset = (against, "against", against_start) if against is not None else (pair, "pair",
                                                                                          pair_offset)
    if chosen is None:
        return SlotTwo()
    if mode == "against" and not 0 <= against_start < float("inf"):
        raise ScanSetupError.naming(f"{{against_start}} must be zero or more seconds, got {against_start:g}")
    if not abs(offset) < float("inf"):
        raise ScanSetupError.naming(f"{{pair_offset}} must be a number of seconds, got {offset:g}")
    path = Path(chosen).expanduser().absolute()
    try:
        info = grid_info(path, audio)
    except MellowError as exc:
        raise ScanSetupError.naming("{" + mode + "}: {reason}", reason=one_line(exc)) from None
    return SlotTwo(mode, info, float(offset))


def plan_scan(paths: Sequence[str | os.PathLike], rng: ScanRange | None = None, slot2: SlotTwo | None = None,
              audio: AudioConfig | None = None, clock: ClockOptions | None = None) -> ScanPlan:
    """Plan every window of ``paths`` (files or folders); unusable files become problems, the rest go on.

    With ``clock``, each file's :class:`~mellow.recordings.Recording` is read too (headers, metadata and
    name only); ScanSetupError when an override names a file that is not scanned.
    """
    rng, slot2, audio = rng or ScanRange(), slot2 or SlotTwo(), audio or AudioConfig()
    files, problems = find_audio_files(paths)
    if clock is not None and (strays := clock.strays(files)):
        raise ScanSetupError(f"start override for a file that is not scanned: {strays[0]}")
    plan = ScanPlan(problems=problems)
    for path in files:
        try:
            scan_file = plan_file(grid_info(path, audio), rng, slot2, audio)
        except MellowError as exc:
            plan.problems.append(FileProblem(path, one_line(exc)))
            continue
        if clock is not None:
            scan_file = dataclasses.replace(scan_file, recording=clock.recording(path))
        plan.files.append(scan_file)
        plan.range_s += _covered_s(scan_file.windows)
    return plan


def _covered_s(windows: Sequence[Window]) -> float:
    """Seconds of recording the windows cover (their union)."""
    total, reach = 0.0, float("-inf")
    for w in windows:
        total += max(0.0, w.end_s - max(w.start_s, reach))
        reach = max(reach, w.end_s)
    return total


