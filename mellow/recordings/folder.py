"""Which files of a folder are audio files: the containers libsndfile reads, found recursively, hidden files
and folders (names starting with ".", such as macOS ``._`` copies) left out, sorted by path."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import soundfile as sf

# Suffixes of the containers libsndfile reads, by its format name.
_SUFFIXES_BY_FORMAT = {
    "WAV": (".wav", ".wave"), "WAVEX": (".wav",), "RF64": (".rf64",), "W64": (".w64",), "FLAC": (".flac",),
    "OGG": (".ogg", ".oga", ".opus"), "MP3": (".mp3",), "AIFF": (".aif", ".aiff", ".aifc"),
    "AU": (".au", ".snd"), "CAF": (".caf",),
}


def audio_suffixes() -> frozenset[str]:
    """Lower-case suffixes (with the dot) of the audio files that this soundfile build reads."""
    available = sf.available_formats()
    return frozenset(s for fmt, suffixes in _SUFFIXES_BY_FORMAT.items() if fmt in available for s in suffixes)


def _walk(folder: Path, problems: list[str]) -> Iterator[Path]:
    def unreadable(exc: OSError) -> None:
        problems.append(f"folder not read: {exc.filename} ({exc.strerror or exc})")

    for root, dirs, names in os.walk(folder, onerror=unreadable, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if not name.startswith("."):
                yield Path(root) / name


def audio_files_in(folder: Path) -> tuple[list[Path], list[str]]:
    """(the audio files under ``folder``, absolute and sorted; the subfolders that could not be read)."""
    suffixes = audio_suffixes()
    problems: list[str] = []
    files = sorted(p for p in _walk(folder.absolute(), problems) if p.suffix.lower() in suffixes)
    return files, problems
