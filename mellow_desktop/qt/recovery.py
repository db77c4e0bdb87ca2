"""Start-up checks of the window: recordings left unfinished by a crash, and whether recording can work."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

from mellow.errors import MellowError
from mellow_desktop.core import paths
from mellow_desktop.qt.jobs import failure_message


def recover_recordings(chat: Any, open_link: Callable[[str], None]) -> list[Path]:
    """Repair recordings left unfinished by a crash and offer them in ``chat`` (links ``"A|file-uri"``)."""
    from mellow.audio_io.wav_writer import find_unfinished_recordings, repair_wav

    recovered = []
    for path in find_unfinished_recordings(paths.recordings_dir()):
        try:
            result = repair_wav(path)
        except MellowError as exc:
            chat.add_notice(f"An unfinished recording could not be repaired: {exc}")
            continue
        recovered.append(path)
        link = path.as_uri()
        label = chat.add_notice(
            f"Recovered an unfinished recording: <b>{escape(path.name)}</b> ({result.duration_s:.1f} s). "
            f'<a href="A|{link}">Open as Clip A</a> · <a href="B|{link}">Open as Clip B</a>'
        )
        label.linkActivated.connect(open_link)
    return recovered


def audio_problem(input_device: str | None) -> str | None:
    """Why recording cannot work (no PortAudio, no input device), or None."""
    from mellow.audio_io.devices import recording_unavailable_reason

    try:
        return recording_unavailable_reason(input_device)
    except Exception as exc:  # a broken audio stack must not stop the app
        return failure_message(exc, "checking the audio devices")
