"""The disk limit of a listening folder: when the kept audio (clips and stream files of every session) passes
it, the oldest files go first — never a file being written, never the newest ``keep_last`` clips of a
question.  Rows stay: a row whose clip was removed keeps its score, answer and times."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mellow.audio_io.wav_writer import marker_path
from mellow.listen.session import CLIPS_DIR, STREAM_DIR, session_dirs


@dataclass(frozen=True)
class KeptFile:
    """A kept WAV file: its size, its sort key (UTC start in its name, then path) and, for a clip, the
    question id from its name."""

    path: Path
    size: int
    question: str | None

    @property
    def order(self) -> tuple[str, str]:
        return (self.path.name[:16], str(self.path))


def kept_files(folder: Path) -> list[KeptFile]:
    """Every clip and stream file under the listening ``folder``, oldest first."""
    found = []
    for session in session_dirs(folder):
        for sub in (CLIPS_DIR, STREAM_DIR):
            for path in (session / sub).glob("*.wav"):
                with contextlib.suppress(FileNotFoundError):
                    qid = path.stem.split("_")[1][:8] if sub == CLIPS_DIR and "_" in path.stem else None
                    found.append(KeptFile(path, path.stat().st_size, qid))
    return sorted(found, key=lambda f: f.order)


def _protected_newest(files: Iterable[KeptFile], keep_last: int) -> set[Path]:
    """The newest ``keep_last`` clips of each question."""
    by_question: dict[str, list[KeptFile]] = {}
    for f in files:
        if f.question is not None:
            by_question.setdefault(f.question, []).append(f)
    return {f.path for group in by_question.values() for f in group[len(group) - keep_last:]} \
        if keep_last else set()


def enforce_limit(folder: Path, budget: int, keep_last: int, busy: set[Path]) -> tuple[list[Path], int]:
    """Remove the oldest kept files until they fit ``budget`` bytes (see the module docstring).  Returns the
    files removed and the bytes still kept (more than the budget when only protected files are left)."""
    files = kept_files(folder)
    total = sum(f.size for f in files)
    if total <= budget:
        return [], total
    protected = _protected_newest(files, keep_last) | busy
    removed = []
    for f in files:
        if total <= budget:
            break
        if f.path in protected:
            continue
        try:
            f.path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            continue
        with contextlib.suppress(OSError):
            marker_path(f.path).unlink()
        total -= f.size
        removed.append(f.path)
    return removed, total
