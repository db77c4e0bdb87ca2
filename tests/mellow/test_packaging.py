"""A non-editable install works: build the wheel, install it into a fresh venv outside the checkout, run it.

The wheel is built from a copy of the sources (so the checkout gets no build/ folder), installed with
``--no-deps`` into a new virtual environment whose only link to this one is a ``.pth`` line naming this
environment's site-packages (torch, PySide6...; a plain path line, so the editable install of the checkout
that lives there is not activated). Every command then runs from a temporary folder, without PYTHONPATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helpers.paths import ROOT

pytestmark = pytest.mark.subprocess
SOURCES = ("pyproject.toml", "README.md", "mellow", "mellow_desktop")
PACKAGE_DATA = ("mellow/model/configs/v0.yaml", "mellow/model/configs/tiny.yaml",
                "mellow/scan/presets/soundscape.yaml", "mellow/scan/presets/urban.yaml",
                "mellow_desktop/core/data/prompt_presets.json", "mellow_desktop/core/data/mellow-desktop.svg",
                "mellow_desktop/core/data/samples/birdsong.flac", "mellow_desktop/core/data/samples/hum.flac")


def _run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          str(src), "-w", str(dist)], cwd=src)
    (found,) = dist.glob("mellow_desktop-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the installed wheel; this environment's site-packages supply the dependencies."""
    env_dir = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)])
    python = env_dir / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
                        ).stdout.strip())
    (purelib / "project_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
          str(wheel)])
    return env_dir


@pytest.fixture
def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(MELLOW_DATA_DIR=str(tmp_path / "data"), HF_HOME=str(tmp_path / "hf"), HF_HUB_OFFLINE="1",
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_DATA_HOME=str(tmp_path / "share"))
    env.pop("HF_HUB_CACHE", None)
    return env


def test_the_wheel_holds_the_package_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [name for name in PACKAGE_DATA if name not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert not [n for n in names if n.startswith(("configs/", "resources/", "tests/"))]


def test_installed_copy_finds_configs_presets_and_samples(venv: Path, clean_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    code = (
        "import mellow, mellow_desktop\n"
        "from mellow.model.config import config_names, load_config\n"
        "from mellow_desktop.core.package_data import samples_dir, app_icon_file\n"
        "from mellow_desktop.core.presets import load_presets\n"
        "print(mellow.__file__); print(mellow_desktop.__file__)\n"
        "print(','.join(config_names()), load_config('v0').prefix_len)\n"
        "print(len(load_presets()), ','.join(sorted(p.name for p in samples_dir().glob('*.flac'))))\n"
        "print(app_icon_file().stat().st_size > 0)\n"
        "from mellow.scan.questions import preset, preset_names\n"
        "print(','.join(preset_names()), len(preset('soundscape')))\n"
    )
    out = _run([str(venv / "bin" / "python"), "-c", code], cwd=tmp_path, env=clean_env).stdout.splitlines()
    for module_file in out[:2]:
        assert Path(module_file).is_relative_to(venv), f"imported {module_file}, not the installed copy"
        assert not Path(module_file).is_relative_to(ROOT)
    assert out[2] == "tiny,v0 389"
    presets, samples = out[3].split()
    assert int(presets) >= 5 and samples == "birdsong.flac,hum.flac"
    assert out[4] == "True"
    assert out[5] == "household,soundscape,urban 8"


def test_installed_mellow_info_runs_outside_the_checkout(venv: Path, clean_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    out = _run([str(venv / "bin" / "mellow"), "info", "--device", "cpu"], cwd=tmp_path, env=clean_env).stdout
    assert "Mellow v0 (" in out and "parameters" in out  # the packaged v0.yaml was found
    assert f"model dir:   {tmp_path / 'data' / 'models' / 'v0'}" in out
    assert "not installed" in out and "mellow download" in out


def test_installed_window_starts_headless_and_quits(venv: Path, clean_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    clean_env["QT_QPA_PLATFORM"] = "offscreen"
    samples = _run([str(venv / "bin" / "python"), "-c",
                    "from mellow_desktop.core.package_data import samples_dir; print(samples_dir())"],
                   cwd=tmp_path, env=clean_env).stdout.strip()
    assert Path(samples).is_relative_to(venv)
    proc = _run([str(venv / "bin" / "mellow-desktop"), f"{samples}/birdsong.flac", f"{samples}/hum.flac",
                 "--quit-after", "3"], cwd=tmp_path, env=clean_env)
    assert "Traceback" not in proc.stderr, proc.stderr
    log = (tmp_path / "data" / "mellow-desktop.log").read_text(encoding="utf-8")
    assert "exiting with code 0" in log


def test_installed_launcher_writes_a_menu_entry_that_starts_it(venv: Path, clean_env: dict[str, str],
                                                               tmp_path: Path) -> None:
    clean_env["QT_QPA_PLATFORM"] = "no-such-platform"  # proves that no window is made
    out = _run([str(venv / "bin" / "mellow-desktop"), "--install-desktop-entry"], cwd=tmp_path,
               env=clean_env).stdout
    desktop_file = tmp_path / "share" / "applications" / "mellow-desktop.desktop"
    assert str(desktop_file) in out
    lines = desktop_file.read_text(encoding="utf-8").splitlines()
    assert f"Exec={venv / 'bin' / 'mellow-desktop'} %F" in lines
    icon = tmp_path / "share" / "icons" / "hicolor" / "scalable" / "apps" / "mellow-desktop.svg"
    assert f"Icon={icon}" in lines and icon.read_text(encoding="utf-8").lstrip().startswith("<?xml")
