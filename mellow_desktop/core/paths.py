"""Where Mellow Desktop keeps its data: Mellow's one data folder, ``mellow.model_files.data_dir``.

That folder is the platform's per-user data directory for "Mellow" (``~/.local/share/Mellow`` on Linux) or
``$MELLOW_DATA_DIR``; it holds the models (``models/``), the history database and the recordings. Versions
before 0.2 kept the desktop's data in a separate ``mellow-desktop`` folder: see
:mod:`mellow_desktop.core.data_migration`. No Qt here.
"""

from __future__ import annotations

from pathlib import Path

from mellow.model_files import data_dir as engine_data_dir

ENV_VAR = "MELLOW_DATA_DIR"
HISTORY_DB_NAME = "history.sqlite3"
RECORDINGS_DIR_NAME = "recordings"
QUESTION_SETS_DIR_NAME = "question_sets"


def data_dir(create: bool = True) -> Path:
    """Mellow's data folder (``$MELLOW_DATA_DIR`` or the platform user data dir), created when asked."""
    path = engine_data_dir()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def recordings_dir(create: bool = True) -> Path:
    """Folder for recordings made in the app (``<data dir>/recordings``)."""
    path = data_dir(create) / RECORDINGS_DIR_NAME
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def history_db_path(create_dir: bool = True) -> Path:
    """The SQLite history database file (``<data dir>/history.sqlite3``)."""
    return data_dir(create_dir) / HISTORY_DB_NAME


def question_sets_dir(create: bool = True) -> Path:
    """Folder of the user's saved question sets (``<data dir>/question_sets``, YAML files)."""
    path = data_dir(create) / QUESTION_SETS_DIR_NAME
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
