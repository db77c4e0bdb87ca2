"""A folder of recordings as a deployment: files grouped by recorder, each recorder's files in clock order,
the time it recorded (effort) and the gaps and overlaps between its consecutive files.

Listing is three steps, so that a caller can show progress or stop between files:
:func:`~mellow.recordings.folder.audio_files_in` (which files), :func:`read_recordings` (one
:class:`~mellow.recordings.records.Recording` per file, headers and metadata only) and
:func:`build_deployment` (grouping, order, effort, gaps); :func:`list_deployment` does all three.

Rules: a recorder's files are ordered by start (files without a start last, by path).  Between two
consecutive files that both have a start and a readable header, ``following.start - previous.end`` is a gap
when it is more than ``gap_tolerance_s``, an overlap when it is less than ``-gap_tolerance_s``.  Effort is
the union of the recorded intervals (exact: a gap within the tolerance is not counted as recorded).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from mellow.recordings.folder import absolute_path, audio_files_in, audio_suffixes
from mellow.recordings.reading import read_recording
from mellow.recordings.records import Recording, RecordingsError
from mellow.recordings.zones import DEFAULT_ZONE

#: Files of one recorder closer than this (seconds) are contiguous: names have whole seconds.
GAP_TOLERANCE_S = 1.0

Overrides = Mapping[str | os.PathLike[str], datetime]


@dataclass(frozen=True)
class Transition:
    """From one file of a recorder to its next: ``seconds`` from the end of ``previous`` to the start of
    ``following`` (negative: they overlap)."""

    previous: Recording
    following: Recording
    seconds: float
    tolerance_s: float = GAP_TOLERANCE_S

    @property
    def is_gap(self) -> bool:
        return self.seconds > self.tolerance_s

    @property
    def is_overlap(self) -> bool:
        return self.seconds < -self.tolerance_s


@dataclass(frozen=True)
class Interval:
    """A stretch of clock time (``start`` <= ``end``, both timezone-aware)."""

    start: datetime
    end: datetime

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _timed(recordings: Iterable[Recording]) -> list[Recording]:
    """The recordings with a start and a readable header (so an end), in the order given."""
    return [r for r in recordings if r.start is not None and r.duration_s is not None]


def merge_intervals(intervals: Iterable[Interval], tolerance_s: float = 0.0) -> list[Interval]:
    """The union of ``intervals``, sorted; intervals apart by at most ``tolerance_s`` are joined."""
    merged: list[Interval] = []
    for item in sorted(intervals, key=lambda i: i.start):
        if merged and (item.start - merged[-1].end).total_seconds() <= tolerance_s:
            if item.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, item.end)
        else:
            merged.append(item)
    return merged


@dataclass(frozen=True)
class RecorderSequence:
    """One recorder's files in clock order, with its effort and the transitions between its files."""

    recorder_id: str
    recordings: tuple[Recording, ...]
    transitions: tuple[Transition, ...]
    effort: tuple[Interval, ...]

    @property
    def gaps(self) -> list[Transition]:
        return [t for t in self.transitions if t.is_gap]

    @property
    def overlaps(self) -> list[Transition]:
        return [t for t in self.transitions if t.is_overlap]

    @property
    def recorded_s(self) -> float:
        """Seconds of clock time recorded (overlapping files counted once)."""
        return sum(i.seconds for i in self.effort)


def _sequence(recorder: str, recordings: Sequence[Recording], tolerance_s: float) -> RecorderSequence:
    ordered = sorted(recordings, key=lambda r: (r.start is None, r.start or datetime.min, str(r.path)))
    timed = _timed(ordered)
    transitions = tuple(Transition(a, b, (b.start - a.end).total_seconds(), tolerance_s)  # type: ignore[operator]
                        for a, b in zip(timed, timed[1:], strict=False))
    effort = merge_intervals(Interval(r.start, r.end) for r in timed)  # type: ignore[arg-type]
    return RecorderSequence(recorder, tuple(ordered), transitions, tuple(effort))


@dataclass(frozen=True)
class Deployment:
    """The recordings of a folder, by recorder (recorders ordered by their first start)."""

    root: Path
    zone: tzinfo
    recorders: tuple[RecorderSequence, ...]
    problems: tuple[str, ...] = ()
    _before: dict[Path, Transition] = field(default_factory=dict, repr=False, compare=False)

    @property
    def recordings(self) -> list[Recording]:
        """Every file, recorder by recorder, each recorder's in clock order."""
        return [r for seq in self.recorders for r in seq.recordings]

    @property
    def unreadable(self) -> list[Recording]:
        return [r for r in self.recordings if not r.readable]

    @property
    def untimed(self) -> list[Recording]:
        return [r for r in self.recordings if r.start is None]

    @property
    def transitions(self) -> list[Transition]:
        return [t for seq in self.recorders for t in seq.transitions]

    @property
    def effort(self) -> list[Interval]:
        """Clock time during which at least one recorder recorded."""
        return merge_intervals(i for seq in self.recorders for i in seq.effort)

    @property
    def recorded_s(self) -> float:
        """Seconds recorded, summed over recorders (two recorders at once count twice)."""
        return sum(seq.recorded_s for seq in self.recorders)

    @property
    def first_start(self) -> datetime | None:
        effort = self.effort
        return effort[0].start if effort else None

    @property
    def last_end(self) -> datetime | None:
        effort = self.effort
        return effort[-1].end if effort else None

    def transition_before(self, recording: Recording) -> Transition | None:
        """The transition from the previous file of the same recorder to ``recording``, if any."""
        return self._before.get(recording.path)


def build_deployment(root: Path, recordings: Iterable[Recording], *, zone: tzinfo = DEFAULT_ZONE,
                     gap_tolerance_s: float = GAP_TOLERANCE_S, problems: Sequence[str] = ()) -> Deployment:
    """Group ``recordings`` by recorder, order them and find effort, gaps and overlaps."""
    by_recorder: dict[str, list[Recording]] = {}
    for rec in recordings:
        by_recorder.setdefault(rec.recorder_id, []).append(rec)
    sequences = [_sequence(rid, recs, gap_tolerance_s) for rid, recs in by_recorder.items()]
    far_future = datetime.max.replace(tzinfo=DEFAULT_ZONE) - timedelta(days=2)
    sequences.sort(key=lambda s: (s.effort[0].start if s.effort else far_future, s.recorder_id))
    before = {t.following.path: t for s in sequences for t in s.transitions}
    return Deployment(root, zone, tuple(sequences), tuple(problems), before)


def _normalized_overrides(overrides: Overrides | None, files: Sequence[Path]) -> dict[Path, datetime]:
    """Overrides keyed by absolute path; a key that names no listed file is an error (it would be lost)."""
    if not overrides:
        return {}
    listed = set(files)
    normalized = {absolute_path(key): start for key, start in overrides.items()}
    strays = [str(p) for p in normalized if p not in listed]
    if strays:
        raise RecordingsError(f"start override for a file that is not in the listing: {strays[0]}")
    return normalized


def read_recordings(root: Path, files: Sequence[Path], *, zone: tzinfo = DEFAULT_ZONE,
                    overrides: Overrides | None = None,
                    guess_from_mtime: bool = False) -> Iterator[Recording]:
    """One :class:`Recording` per file, in the order given (a generator: stop whenever you like)."""
    starts = _normalized_overrides(overrides, files)
    root = absolute_path(root)
    for path in files:
        yield read_recording(path, zone=zone, root=root, override=starts.get(path),
                             guess_from_mtime=guess_from_mtime)


def check_folder(folder: str | os.PathLike[str]) -> Path:
    """``folder`` as an absolute path; RecordingsError when it is missing or not a folder."""
    path = absolute_path(folder)
    if not path.exists():
        raise RecordingsError(f"folder not found: {path}")
    if not path.is_dir():
        raise RecordingsError(f"not a folder: {path}")
    return path


def list_deployment(folder: str | os.PathLike[str], *, zone: tzinfo = DEFAULT_ZONE,
                    overrides: Overrides | None = None, guess_from_mtime: bool = False,
                    gap_tolerance_s: float = GAP_TOLERANCE_S) -> Deployment:
    """Every audio file under ``folder`` as a :class:`Deployment` (headers and metadata only).

    Raises RecordingsError when the folder is missing, holds no audio files, or an override names a file
    that is not listed; a file that cannot be read is a recording with an ``error``, never an exception.
    """
    root = check_folder(folder)
    files, problems = audio_files_in(root)
    if not files:
        kinds = ", ".join(sorted(audio_suffixes()))
        raise RecordingsError(f"no audio files in {root} (looked for {kinds})")
    recordings = list(read_recordings(root, files, zone=zone, overrides=overrides,
                                      guess_from_mtime=guess_from_mtime))
    return build_deployment(root, recordings, zone=zone, gap_tolerance_s=gap_tolerance_s, problems=problems)
