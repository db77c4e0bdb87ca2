"""A freedesktop menu entry for Mellow Desktop: ``mellow-desktop --install-desktop-entry``.

Writes ``$XDG_DATA_HOME/applications/mellow-desktop.desktop`` (default ``~/.local/share``) that starts the
installed ``mellow-desktop`` launcher by its absolute path, opens audio files given by the file manager
(``%F``), and shows the packaged icon, copied to ``$XDG_DATA_HOME/icons/hicolor/scalable/apps/``. Both
files are written atomically; running it again refreshes them (e.g. after moving the virtual environment).
No Qt here: it runs without creating a window.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mellow.errors import MellowError, one_line
from mellow.files import write_atomic
from mellow_desktop.core.package_data import app_icon_file

APP_ID = "mellow-desktop"  # the desktop file's id, the icon's name and the launcher's name
ICON_SUBDIR = Path("icons") / "hicolor" / "scalable" / "apps"
#: The audio types the app opens (libsndfile's formats), as registered in shared-mime-info.
AUDIO_MIME_TYPES = (
    "audio/x-wav", "audio/flac", "audio/ogg", "audio/x-vorbis+ogg", "audio/x-opus+ogg", "audio/mpeg",
    "audio/x-aiff", "audio/basic", "audio/x-w64", "audio/x-caf",
)


RESERVED_EXEC_CHARS = frozenset(" \t\n\"'\\><~|&;$*?#()`%")  # need quoting in Exec (and "%" doubling)


class DesktopEntryError(MellowError):
    """The desktop entry could not be written (no launcher found, folder not writable)."""


@dataclass(frozen=True)
class InstalledEntry:
    """Where the entry and its icon were written, and the launcher it starts."""

    desktop_file: Path
    icon: Path
    launcher: Path

    def message(self) -> str:
        return (f"Installed the menu entry {self.desktop_file} (it starts {self.launcher}) "
                f"and its icon {self.icon}.")


def xdg_data_home() -> Path:
    """``$XDG_DATA_HOME`` when it is an absolute path (the spec ignores others), else ``~/.local/share``."""
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if os.path.isabs(value) else Path.home() / ".local" / "share"


def find_launcher() -> Path:
    """The absolute path of the installed ``mellow-desktop`` launcher.

    The one next to this Python (a venv's or pipx's ``bin/``) comes first, then the command that is running
    when it is that launcher, then the one on ``PATH``.
    """
    names = (APP_ID, f"{APP_ID}.exe")
    candidates = [Path(sys.executable).parent / n for n in names]
    if Path(sys.argv[0]).name in names:
        candidates.append(Path(sys.argv[0]))
    candidates += [Path(found) for found in map(shutil.which, names) if found]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate.absolute()
    raise DesktopEntryError(
        f"the {APP_ID} launcher was not found next to {sys.executable} or on PATH: install the package "
        "(pip install . or pipx install .) and run this from the installed mellow-desktop")


def exec_argument(path: Path) -> str:
    """``path`` as the program of an ``Exec`` key: quoted when needed, per the Desktop Entry spec."""
    text = str(path)
    if not any(c in RESERVED_EXEC_CHARS for c in text):
        return text
    for c in ("\\", '"', "`", "$"):
        text = text.replace(c, "\\" + c)
    return f'"{text}"'.replace("%", "%%")


def _escape_value(text: str) -> str:
    """A string value of a desktop file (backslash, newline, tab and CR escaped)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def desktop_file_text(launcher: Path, icon: Path) -> str:
    """The ``.desktop`` file for ``launcher`` with ``icon`` (absolute path)."""
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.4",
        "Name=Mellow Desktop",
        "GenericName=Sound Analysis",
        "Comment=Ask questions about sounds with the Mellow audio-language model, offline",
        f"Exec={_escape_value(exec_argument(launcher))} %F",
        f"TryExec={_escape_value(str(launcher))}",
        f"Icon={_escape_value(str(icon))}",
        "Terminal=false",
        "Categories=AudioVideo;Audio;",
        f"MimeType={';'.join(AUDIO_MIME_TYPES)};",
        "Keywords=audio;sound;caption;question;compare;",
        "StartupNotify=true",
    ]
    return "\n".join(lines) + "\n"


def install_desktop_entry(data_home: Path | None = None, launcher: Path | None = None) -> InstalledEntry:
    """Write the icon and the ``.desktop`` file under ``data_home`` (default :func:`xdg_data_home`)."""
    home = xdg_data_home() if data_home is None else Path(data_home)
    launcher = find_launcher() if launcher is None else Path(launcher).absolute()
    icon = home / ICON_SUBDIR / f"{APP_ID}.svg"
    desktop_file = home / "applications" / f"{APP_ID}.desktop"
    try:
        write_atomic(icon, app_icon_file().read_bytes(), mode=0o644, make_parents=True)
        write_atomic(desktop_file, desktop_file_text(launcher, icon).encode("utf-8"), mode=0o644,
                     make_parents=True)
    except OSError as exc:
        raise DesktopEntryError(f"cannot write the desktop entry: {one_line(exc)}") from None
    _refresh_menu_caches(home)
    return InstalledEntry(desktop_file=desktop_file, icon=icon, launcher=launcher)


def uninstall_desktop_entry(data_home: Path | None = None) -> list[Path]:
    """Remove the ``.desktop`` file and the icon; returns the files that were removed."""
    home = xdg_data_home() if data_home is None else Path(data_home)
    removed = []
    for path in (home / "applications" / f"{APP_ID}.desktop", home / ICON_SUBDIR / f"{APP_ID}.svg"):
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise DesktopEntryError(f"cannot remove the desktop entry: {one_line(exc)}") from None
    _refresh_menu_caches(home)
    return removed


def _refresh_menu_caches(home: Path) -> None:
    """Tell the desktop about the new MIME types (best effort: the tool is optional)."""
    tool = shutil.which("update-desktop-database")
    if tool is not None and (home / "applications").is_dir():
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run([tool, str(home / "applications")], capture_output=True, timeout=30, check=False)


def run_command(uninstall: bool = False) -> int:
    """``mellow-desktop --install-desktop-entry`` (or ``--uninstall-desktop-entry``): the exit code."""
    try:
        if uninstall:
            removed = uninstall_desktop_entry()
            print("Removed " + ", ".join(map(str, removed)) if removed else "No desktop entry was installed.")
        else:
            print(install_desktop_entry().message())
    except DesktopEntryError as exc:
        print(f"mellow-desktop: {one_line(exc)}", file=sys.stderr)
        return 1
    return 0
