"""Which files of a folder are audio files: the containers libsndfile reads, found recursively, hidden files
and folders (names starting with ".", such as macOS ``._`` copies) left out, sorted by path.  The one place
for this rule: folder scans (:mod:`mellow.scan.plan`) use it too."""

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


def walk_files(folder: Path, problems: list[str] | None = None) -> Iterator[Path]:
    """Every file under ``folder`` (recursively, symbolic links to folders not followed), hidden files and
    folders left out; a folder that cannot be read is added to ``problems`` when given, else skipped."""
    def unreadable(exc: OSError) -> None:
        if problems is not None:
            problems.append(f"folder not read: {exc.filename} ({exc.strerror or exc})")

    for root, dirs, names in os.walk(folder, onerror=unreadable, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if not name.startswith("."):
                yield Path(root) / name


def absolute_path(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute, ``~`` expanded and ``..`` folded (symbolic links are kept as named)."""
    return Path(os.path.normpath(Path(path).expanduser().absolute()))


def audio_files_in(folder: str | os.PathLike[str]) -> tuple[list[Path], list[str]]:
    """(the audio files under ``folder``, absolute and sorted; the subfolders that could not be read)."""
    suffixes = audio_suffixes()
    problems: list[str] = []
    files = sorted(p for p in walk_files(absolute_path(folder), problems) if p.suffix.lower() in suffixes)
    return files, problems
