"""Moving the old ``mellow-desktop`` data folder into Mellow's data folder, on first start, losing nothing.

Before 0.2 the desktop kept its history database, recordings and logs in its own folder
(:func:`legacy_data_dir`) while the models lived in Mellow's. On start,
:func:`migrate_old_data_folder` moves everything found there into :func:`~mellow_desktop.core.paths.data_dir`
and returns one message for the status bar:

- the history database is checkpointed and moved with its ``-wal``/``-shm`` files; when the new folder already
  has a history, the old records are added to it (each once, so a rerun adds nothing twice) and the old file
  is kept next to it as ``history-from-mellow-desktop.sqlite3`` (added entries get absolute clip paths like
  any new entry; that file keeps old relative ones verbatim);
- every other file keeps its relative path; a name already taken by a different file gets a
  ``-from-mellow-desktop`` suffix, an identical file is not copied twice;
- a file that cannot be moved stays where it is, is named in the message, and is tried again next start.
  Files are linked (or copied, then renamed) into place before the old copy is deleted, and never overwrite.
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from mellow.errors import one_line
from mellow.model_files import platform_data_dir
from mellow_desktop.core.history_store import HistoryError, HistoryRecord, HistoryStore
from mellow_desktop.core.paths import ENV_VAR, HISTORY_DB_NAME, RECORDINGS_DIR_NAME, data_dir

SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
LEGACY_APP_NAME = "mellow-desktop"  # the desktop's own data folder before it moved into Mellow's
CLASH_SUFFIX = "-from-mellow-desktop"


def legacy_data_dir() -> Path | None:
    """The old ``mellow-desktop`` data folder, or None when ``$MELLOW_DATA_DIR`` is set (it then was, and is,
    that folder for both)."""
    if os.environ.get(ENV_VAR):
        return None
    return platform_data_dir(LEGACY_APP_NAME)


@dataclass
class MigrationReport:
    """What one migration did: names are relative to the old folder."""

    old: Path
    new: Path
    history_records: int | None = None  # None: no history database in the old folder
    history_merged: bool = False  # added to a history that was already in the new folder
    moved: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (old name, name in the new folder)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (old name, reason)

    def message(self) -> str | None:
        """One line for the user, or None when there was nothing to move."""
        parts = []
        if self.history_records is not None:
            where = ", added to the history already there" if self.history_merged else ""
            parts.append(f"your history ({_count(self.history_records, 'answer')}{where})")
        recordings = sum(1 for name in self.moved if name.startswith(RECORDINGS_DIR_NAME + "/"))
        others = len(self.moved) - recordings
        parts += [_count(recordings, "recording")] if recordings else []
        parts += [_count(others, "other file")] if others else []
        if not parts and not self.failed:
            return None
        text = f"Moved {' and '.join(parts)} from {self.old} to {self.new}." if parts else ""
        if self.renamed:
            pairs = ", ".join(f"{a} → {b}" for a, b in self.renamed)
            text += f" Names already taken, so renamed: {pairs}."
        if self.failed:
            reasons = "; ".join(f"{name}: {why}" for name, why in self.failed)
            text += (f" Could not move {_count(len(self.failed), 'file')}, left in {self.old} "
                     f"(tried again next start): {reasons}.")
        return text.strip()


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def migrate_old_data_folder(old: Path | None = None, new: Path | None = None) -> str | None:
    """Move the old ``mellow-desktop`` folder's contents into the data folder; the message to show, or None.

    ``old``/``new`` default to :func:`legacy_data_dir` and
    :func:`~mellow_desktop.core.paths.data_dir` (nothing to do when ``MELLOW_DATA_DIR`` is set).
    """
    report = migrate(old, new)
    return report.message() if report is not None else None


def migrate(old: Path | None = None, new: Path | None = None) -> MigrationReport | None:
    """The migration itself (see the module docstring); None when there is no old folder."""
    old = legacy_data_dir() if old is None else Path(old)
    if old is None or not old.is_dir():
        return None
    new = data_dir() if new is None else Path(new)
    new.mkdir(parents=True, exist_ok=True)
    if os.path.samefile(old, new):
        return None
    report = MigrationReport(old=old, new=new)
    if (old / HISTORY_DB_NAME).is_file():
        _migrate_history(old, new, report)
    db_files = {HISTORY_DB_NAME, *(HISTORY_DB_NAME + s for s in SQLITE_COMPANIONS)}
    for src in sorted(p for p in old.rglob("*") if p.is_file() or p.is_symlink()):
        rel = src.relative_to(old).as_posix()
        if rel not in db_files:
            _move_one(src, rel, new, report)
    _remove_empty_dirs(old)
    return report


def _migrate_history(old: Path, new: Path, report: MigrationReport) -> None:
    """Move (or merge) the old history database into the new folder."""
    src, dst = old / HISTORY_DB_NAME, new / HISTORY_DB_NAME
    try:
        with HistoryStore.open(src) as store:  # closing checkpoints the WAL into the main file
            records = store.all()
        if dst.exists():
            report.history_merged = True
            _add_missing(records, dst)
            _move_db(src, _free_name(new / (Path(HISTORY_DB_NAME).stem + CLASH_SUFFIX + ".sqlite3")))
        else:
            _move_db(src, dst)
    except (HistoryError, OSError) as exc:
        report.failed.append((HISTORY_DB_NAME, one_line(exc)))
        return
    report.history_records = len(records)


def _record_key(r: HistoryRecord) -> tuple[object, ...]:
    return (r.created, r.prompt, r.answer, r.clip_a, r.clip_b, r.start_a, r.start_b, r.model_id)


def _add_missing(records: list[HistoryRecord], db: Path) -> None:
    """Add each record that ``db`` does not hold yet (a rerun after a failure adds nothing twice)."""
    with HistoryStore.open(db) as target:
        have = {_record_key(r) for r in target.all()}
        for record in records:
            if _record_key(record) not in have:
                record.id = None
                target.add(record)


def _move_db(src: Path, dst: Path) -> None:
    """Move a (checkpointed) database file and whatever companions are left, under ``dst``'s name."""
    for suffix in SQLITE_COMPANIONS:  # companions first: the main file moving last marks the move done
        companion = Path(str(src) + suffix)
        if companion.exists():
            _move_file(companion, Path(str(dst) + suffix))
    _move_file(src, dst)


def _move_one(src: Path, rel: str, new: Path, report: MigrationReport) -> None:
    dst = new / rel
    try:
        if dst.is_file() and filecmp.cmp(src, dst, shallow=False):
            src.unlink()  # the same bytes are already there
            report.moved.append(rel)
            return
        if dst.exists() or dst.is_symlink():
            dst = _free_name(dst.with_name(dst.stem + CLASH_SUFFIX + dst.suffix))
            report.renamed.append((rel, dst.name))
        _move_file(src, dst)
        report.moved.append(rel)
    except OSError as exc:
        report.failed.append((rel, one_line(exc)))


def _free_name(path: Path) -> Path:
    """``path``, or ``stem-2.suffix``, ``stem-3.suffix``... whichever does not exist yet."""
    candidate, n = path, 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
    return candidate


def _move_file(src: Path, dst: Path) -> None:
    """Move ``src`` to ``dst`` (which must not exist), never overwriting; across file systems by copying."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst, follow_symlinks=False)  # atomic, and fails if dst exists
    except FileExistsError:
        raise
    except OSError:  # another file system, or one without hard links
        tmp = dst.with_name(f".{dst.name}.moving")
        shutil.copy2(src, tmp, follow_symlinks=False)
        if dst.exists():
            tmp.unlink()
            raise FileExistsError(17, "already exists", str(dst)) from None
        os.replace(tmp, dst)
    src.unlink()


def _remove_empty_dirs(root: Path) -> None:
    """Remove the folders under ``root`` (and ``root``) that the move left empty."""
    folders = sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True)
    for folder in [*folders, root]:
        with contextlib.suppress(OSError):  # not empty: something stayed behind
            folder.rmdir()
