"""The freedesktop menu entry: written under XDG_DATA_HOME, valid for desktop-file-validate, runs the app.

desktop-file-validate (package desktop-file-utils, installed by .ci/run) is required in CI and skipped
locally when missing.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mellow_desktop.core.desktop_entry import (
    APP_ID,
    AUDIO_MIME_TYPES,
    find_launcher,
    install_desktop_entry,
    uninstall_desktop_entry,
    xdg_data_home,
)
from mellow_desktop.core.package_data import app_icon_file
from tests.helpers.required import component_missing

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg data"  # a space on purpose
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    return home


def _validate(path: Path) -> None:
    tool = shutil.which("desktop-file-validate")
    if tool is None:
        component_missing("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


def _entry(path: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(path.read_text(encoding="utf-8"))
    return parser["Desktop Entry"]


def _exec_argv(value: str) -> list[str]:
    """Split an Exec value as the Desktop Entry spec says: undo the string escaping, then split at spaces
    outside double quotes; inside them a backslash escapes ``"``, `````, ``$`` and ``\\``."""
    text = value.replace("\\\\", "\\")
    args: list[str] = []
    current, quoted, i = None, False, 0
    while i < len(text):
        c = text[i]
        if quoted and c == "\\" and text[i + 1:i + 2] in ('"', "`", "$", "\\"):
            current, i = (current or "") + text[i + 1], i + 2
            continue
        if c == '"':
            quoted, current = not quoted, current or ""
        elif c == " " and not quoted:
            if current is not None:
                args.append(current)
            current = None
        else:
            current = (current or "") + c
        i += 1
    assert not quoted, f"unbalanced quotes in {value!r}"
    return args + ([current] if current is not None else [])


def test_entry_and_icon_are_written_under_xdg_data_home(data_home: Path) -> None:
    assert xdg_data_home() == data_home
    launcher = find_launcher()
    assert launcher == Path(sys.executable).parent / APP_ID  # the venv's installed launcher
    entry = install_desktop_entry()
    assert entry.desktop_file == data_home / "applications" / f"{APP_ID}.desktop"
    assert entry.icon == data_home / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert entry.icon.read_bytes() == app_icon_file().read_bytes()
    assert str(entry.desktop_file) in entry.message() and str(launcher) in entry.message()

    keys = _entry(entry.desktop_file)
    assert keys["Type"] == "Application" and keys["Name"] == "Mellow Desktop"
    assert keys["Terminal"] == "false" and keys["Categories"] == "AudioVideo;Audio;"
    assert keys["Icon"] == str(entry.icon)
    assert keys["MimeType"].split(";")[:-1] == list(AUDIO_MIME_TYPES)
    argv = _exec_argv(keys["Exec"])
    assert argv == [str(launcher), "%F"] and os.access(argv[0], os.X_OK)
    _validate(entry.desktop_file)

    again = install_desktop_entry()  # a second run refreshes the same two files
    assert again == entry and sorted(p.name for p in (data_home / "applications").iterdir()
                                     if not p.name.endswith(".cache")) == [f"{APP_ID}.desktop"]
    assert uninstall_desktop_entry() == [entry.desktop_file, entry.icon]
    assert not entry.desktop_file.exists() and not entry.icon.exists()
    assert uninstall_desktop_entry() == []


def test_a_launcher_path_with_shell_characters_is_quoted(data_home: Path, tmp_path: Path) -> None:
    odd = tmp_path / 'my "apps" $HOME 100%' / "bin" / APP_ID
    odd.parent.mkdir(parents=True)
    shutil.copy2(find_launcher(), odd)
    entry = install_desktop_entry(launcher=odd)
    keys = _entry(entry.desktop_file)
    assert _exec_argv(keys["Exec"].replace("%%", "%")) == [str(odd), "%F"]
    assert keys["TryExec"] == str(odd)
    _validate(entry.desktop_file)


@pytest.mark.subprocess
def test_the_command_line_flag_needs_no_window(tmp_path: Path) -> None:
    """``mellow-desktop --install-desktop-entry`` works where no Qt platform can start."""
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "share"), QT_QPA_PLATFORM="no-such-platform",
               MELLOW_DATA_DIR=str(tmp_path / "data"))
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run([str(find_launcher()), "--install-desktop-entry"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    desktop_file = tmp_path / "share" / "applications" / f"{APP_ID}.desktop"
    assert str(desktop_file) in proc.stdout
    assert _exec_argv(_entry(desktop_file)["Exec"]) == [str(find_launcher()), "%F"]
    _validate(desktop_file)
