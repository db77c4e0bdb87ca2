"""Starting the app moves the old ``mellow-desktop`` data folder and says so (log, status bar)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[2]


def test_start_moves_the_old_data_folder_and_logs_the_message(tmp_path: Path) -> None:
    xdg = tmp_path / "xdg"
    old = xdg / "mellow-desktop" / "recordings"
    old.mkdir(parents=True)
    sf.write(old / "take 1.wav", np.zeros(1600), 16000, subtype="PCM_16")
    env = {k: v for k, v in os.environ.items() if k != "MELLOW_DATA_DIR"}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_DATA_HOME=str(xdg), XDG_CONFIG_HOME=str(tmp_path / "config"),
               HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"))
    proc = subprocess.run([sys.executable, "main.py", "--quit-after", "2"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    new = xdg / "Mellow"
    assert (new / "recordings" / "take 1.wav").is_file() and not (old / "take 1.wav").exists()
    log = (new / "mellow-desktop.log").read_text()
    assert "data folder: Moved 1 recording from" in log and str(new) in log
