"""The desktop's package data (``mellow_desktop/core/data/``), found through ``importlib.resources``.

So a wheel, ``pip install .`` or pipx install finds the same files as the checkout: the prompt presets, the
two sample clips (made by ``resources/make_samples.py``) and the application icon. No Qt here.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DATA_DIR = "data"  # inside the mellow_desktop.core package
PRESETS_NAME = "prompt_presets.json"
SAMPLES_NAME = "samples"
ICON_NAME = "mellow-desktop.svg"


def data_path(*parts: str) -> Path:
    """A path inside the package data folder (the package is a regular folder in every supported install)."""
    return Path(str(resources.files("mellow_desktop.core").joinpath(DATA_DIR, *parts)))


def presets_file() -> Path:
    """The prompt presets (JSON)."""
    return data_path(PRESETS_NAME)


def samples_dir() -> Path:
    """Folder of the sample clips (``birdsong.flac``, ``hum.flac``)."""
    return data_path(SAMPLES_NAME)


def app_icon_file() -> Path:
    """The application icon (SVG), used by the desktop entry."""
    return data_path(ICON_NAME)
