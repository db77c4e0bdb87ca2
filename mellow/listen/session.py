"""A listening session on disk, and the repair of sessions a crash (or SIGKILL) interrupted.

Layout of the listening folder (``--out``; default ``<data dir>/listening``), one folder per session::

    20250614T043000Z/            the session's start (UTC), made unique
      session.json               settings, input, rate, model, questions, start and end (clock times)
      rows.jsonl                 one row per answered window and question (mellow.listen.rows.ListenRow)
      events.jsonl               what happened: device lost/back, windows skipped, silence, clips removed...
      clips/<UTC start>_<question id>.wav    audio kept around detections (pre- and post-roll)
      stream/<UTC start>.wav     the whole input, in files of at most an hour (--keep-stream)

Rows and events are appended one line per write and fsynced, so a killed process leaves whole lines and at
most one cut line at the end; WAV files are written by :class:`~mellow.audio_io.wav_writer.WavWriter` and
flushed often, so they are valid up to their last flush.  :func:`repair_sessions` (run when listening starts)
cuts torn lines, repairs unfinished WAV files and marks interrupted sessions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mellow.audio_io.wav_writer import find_unfinished_recordings, repair_wav
from mellow.errors import MellowError, one_line
from mellow.files import write_atomic
from mellow.listen.rows import ListenRow
from mellow.recordings.zones import iso

SESSION_FILE = "session.json"
ROWS_FILE = "rows.jsonl"
EVENTS_FILE = "events.jsonl"
CLIPS_DIR = "clips"
STREAM_DIR = "stream"


def utc_stamp(moment: datetime) -> str:
    """``20250614T043000Z``: a moment in UTC, whole seconds, sortable as text."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def question_id(prompt: str) -> str:
    """Eight hex characters naming a question in clip file names (the same prompt, the same id)."""
    return hashlib.sha256(" ".join(prompt.split()).encode("utf-8")).hexdigest()[:8]


def unique_path(folder: Path, stem: str, suffix: str = "") -> Path:
    """``folder/stem+suffix``, or with ``-2``, ``-3``... when taken."""
    path, n = folder / f"{stem}{suffix}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


class JsonLines:
    """An append-only JSON-lines file: one write per line, :meth:`sync` makes them durable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def append(self, record: dict[str, Any]) -> None:
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8", "backslashreplace")
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view):]

    def sync(self) -> None:
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1


class Session:
    """A session folder being written: :attr:`rows` and :attr:`events` logs, the clips and stream folders."""

    def __init__(self, folder: Path, started: datetime, info: dict[str, Any]) -> None:
        self.dir = unique_path(folder, utc_stamp(started))
        self.dir.mkdir(parents=True)
        (self.dir / CLIPS_DIR).mkdir()
        self.name = self.dir.name
        self.info = {"session": self.name, "started": iso(started), "ended": None, **info}
        self.save_info()
        self.rows = JsonLines(self.dir / ROWS_FILE)
        self.events = JsonLines(self.dir / EVENTS_FILE)

    @property
    def clips_dir(self) -> Path:
        return self.dir / CLIPS_DIR

    @property
    def stream_dir(self) -> Path:
        return self.dir / STREAM_DIR

    def save_info(self, **changes: Any) -> None:
        self.info.update(changes)
        write_atomic(self.dir / SESSION_FILE, (json.dumps(self.info, indent=1, ensure_ascii=False) + "\n")
                     .encode("utf-8"))

    def close(self, **changes: Any) -> None:
        self.rows.close()
        self.events.close()
        self.save_info(**changes)


# --------------------------------------------------------------------------------------------- reading
def read_json_lines(path: Path) -> list[dict[str, Any]]:
    """The whole lines of a JSON-lines file (a line cut by a crash at the end is left out)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n")[:-1]:
        with contextlib.suppress(ValueError):
            out.append(json.loads(line.decode("utf-8")))
    return out


def read_rows(session_dir: str | os.PathLike[str]) -> list[ListenRow]:
    """The rows of a session folder, in the order they were written."""
    rows = []
    for rec in read_json_lines(Path(session_dir) / ROWS_FILE):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            rows.append(ListenRow.from_dict(rec))
    return rows


def read_events(session_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    return read_json_lines(Path(session_dir) / EVENTS_FILE)


def session_dirs(folder: Path) -> list[Path]:
    """The session folders under a listening folder, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if (p / SESSION_FILE).is_file())


# --------------------------------------------------------------------------------------------- repair
def _cut_torn_line(path: Path) -> bool:
    """Drop text after the last newline (a line a crash cut short); True when something was cut."""
    try:
        with open(path, "r+b") as fh:
            data = fh.read()
            keep = data.rfind(b"\n") + 1
            if keep == len(data):
                return False
            fh.truncate(keep)
            fh.flush()
            os.fsync(fh.fileno())
            return True
    except FileNotFoundError:
        return False


def repair_sessions(folder: Path) -> list[str]:
    """Repair what an interrupted session left under ``folder``: cut torn lines, repair unfinished clips and
    stream files (:func:`~mellow.audio_io.wav_writer.repair_wav`), mark the session "interrupted".  Sessions
    whose process still runs are left alone.  Returns one line per thing repaired."""
    notes = []
    for session in session_dirs(folder):
        unfinished = [p for sub in (CLIPS_DIR, STREAM_DIR) for p in find_unfinished_recordings(session / sub)]
        for wav in unfinished:
            try:
                result = repair_wav(wav)
                notes.append(f"repaired {session.name}/{wav.parent.name}/{wav.name} "
                             f"({result.duration_s:.1f} s kept)")
            except MellowError as exc:
                notes.append(f"could not repair {wav}: {one_line(exc)}")
        info = _read_info(session)
        if info is None or info.get("ended") or _alive(info.get("pid")):
            continue
        for name in (ROWS_FILE, EVENTS_FILE):
            if _cut_torn_line(session / name):
                notes.append(f"cut a row that was being written from {session.name}/{name}")
        info["ended"] = "interrupted"
        write_atomic(session / SESSION_FILE, (json.dumps(info, indent=1, ensure_ascii=False) + "\n")
                     .encode("utf-8"))
        notes.append(f"session {session.name} was interrupted; its rows and clips are kept")
    return notes


def _read_info(session: Path) -> dict[str, Any] | None:
    try:
        info = json.loads((session / SESSION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _alive(pid: object) -> bool:
    """True while process ``pid`` (another listener, maybe this one) runs."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
