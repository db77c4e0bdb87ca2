"""What a recording is beyond its samples, and a folder of them as a deployment (no Qt, no torch).

Reads headers and metadata only, never samples.  The parts:

- :mod:`~mellow.recordings.records`: :class:`Recording`, :class:`Device`, :class:`Location`,
  :class:`TimeCandidate`, the start-time sources in the order they are tried;
- :mod:`~mellow.recordings.zones`: ``--timezone`` parsing, naive times read in a zone, ISO 8601 output;
- :mod:`~mellow.recordings.names`: start times in recorder file names (AudioMoth, Song Meter, SM3, Frontier
  Labs); :mod:`~mellow.recordings.metadata` and :mod:`~mellow.recordings.riff`: GUANO (via the ``guano``
  package) and the AudioMoth comment from the WAV's chunks; :mod:`~mellow.recordings.reading`: one file;
- :mod:`~mellow.recordings.deployment`: a folder grouped by recorder, in clock order, with effort, gaps and
  overlaps; :mod:`~mellow.recordings.table`: rows for CSV and JSON Lines.

Typical use::

    from mellow.recordings import list_deployment, parse_zone

    deployment = list_deployment("SD01", zone=parse_zone("Europe/Berlin"))
    for seq in deployment.recorders:
        print(seq.recorder_id, len(seq.recordings), seq.recorded_s, len(seq.gaps))
"""

from __future__ import annotations

from mellow.recordings.deployment import (
    GAP_TOLERANCE_S,
    Deployment,
    Interval,
    RecorderSequence,
    Transition,
    build_deployment,
    check_folder,
    list_deployment,
    merge_intervals,
    read_recordings,
)
from mellow.recordings.folder import audio_files_in, audio_suffixes
from mellow.recordings.names import NameStamp, stamp_from_name
from mellow.recordings.reading import read_recording
from mellow.recordings.records import (
    NO_TIME,
    TIME_SOURCES,
    Device,
    Location,
    Recording,
    RecordingsError,
    TimeCandidate,
)
from mellow.recordings.zones import DEFAULT_ZONE, iso, localize, parse_iso_time, parse_zone

__all__ = [
    "DEFAULT_ZONE", "GAP_TOLERANCE_S", "NO_TIME", "TIME_SOURCES", "Deployment", "Device", "Interval",
    "Location", "NameStamp", "RecorderSequence", "Recording", "RecordingsError", "TimeCandidate",
    "Transition",
    "audio_files_in", "audio_suffixes", "build_deployment", "check_folder", "iso", "list_deployment",
    "localize", "merge_intervals", "parse_iso_time", "parse_zone", "read_recording", "read_recordings",
    "stamp_from_name",
]
