"""Where Mellow Desktop keeps its data (history database, recordings).

The location is the platform's per-user data directory (via ``platformdirs``); set the environment variable
``MELLOW_DATA_DIR`` to use another folder (tests do this). No Qt here.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "mellow-desktop"
ENV_VAR = "MELLOW_DATA_DIR"


def data_dir(create: bool = True) -> Path:
    """The app's data folder: ``$MELLOW_DATA_DIR`` if set, else the platform user data dir."""
    override = os.environ.get(ENV_VAR)
    path = Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP_NAME, False))
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def recordings_dir(create: bool = True) -> Path:
    """Folder for recordings made in the app (``<data dir>/recordings``)."""
    path = data_dir(create) / "recordings"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path


def history_db_path(create_dir: bool = True) -> Path:
    """The SQLite history database file (``<data dir>/history.sqlite3``)."""
    return data_dir(create_dir) / "history.sqlite3"


def exports_dir(create: bool = True) -> Path:
    """Default folder offered for Markdown/JSON exports (``<data dir>/exports``)."""
    path = data_dir(create) / "exports"
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
