"""Starting and closing the app: process start/exit, the old data folder moved at start, closing mid-answer,
settings kept, lost recordings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QByteArray, Qt

from mellow_desktop.core.package_data import samples_dir
from mellow_desktop.core.settings import describe_options
from mellow_desktop.qt.dialogs.settings_dialog import load_settings
from tests.helpers.paths import ROOT
from tests.helpers.processes import child_env
from tests.helpers.waits import wait_loaded


@pytest.mark.subprocess
def test_main_py_starts_opens_clips_and_exits_cleanly(tmp_path: Path) -> None:
    env = child_env(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "config"))
    samples = sorted(samples_dir().glob("*.flac"))
    proc = subprocess.run(
        [sys.executable, "main.py", *map(str, samples), "--quit-after", "3"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "QThread: Destroyed" not in proc.stderr and "Traceback" not in proc.stderr
    log = (tmp_path / "data" / "mellow-desktop.log").read_text()
    assert "exiting with code 0" in log
    frozen = re.search(r"(\d+) start-up objects kept out of the garbage collector", log)
    assert frozen and int(frozen.group(1)) > 10_000, "the start-up heap is frozen (no 100 ms GUI-thread GCs)"
    assert (tmp_path / "config" / "Mellow" / "Mellow Desktop.conf").is_file()  # window state saved


@pytest.mark.subprocess
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


def test_closing_during_an_answer_cancels_joins_and_keeps_it(
    qtbot, ready_window, noise_clip: Path, store
) -> None:
    w = ready_window
    w.panel_a.open_file(noise_clip)
    wait_loaded(qtbot, w.panel_a, noise_clip)
    w.generation = replace(w.generation, max_len=1000)
    w.prompt.set_text("caption the audio.")
    w.prompt.send()
    qtbot.waitUntil(lambda: bool(w.chat.entries()[-1].pieces), timeout=60000)  # the answer is streaming
    w.close()
    assert not w.host.thread.isRunning()
    records = store.all()
    assert len(records) == 1 and records[0].status == "cancelled" and records[0].answer


def test_settings_and_window_state_are_restored(qtbot, make_window, settings) -> None:
    w = make_window()
    w.generation = replace(w.generation, max_len=77, sample=True, temperature=0.7, seed=5)
    w.set_spectrogram_mode("stft")
    w.main_splitter.setSizes([600, 300])
    w.close()
    assert load_settings(settings).generation.max_len == 77
    w2 = make_window()
    assert w2.generation.max_len == 77 and w2.generation.sample and w2.generation.seed == 5
    assert w2.panel_a.spectrogram.mode() == "stft"
    assert isinstance(settings.value("window/mainSplitter"), QByteArray)
    assert "sampling T=0.7" in describe_options(w2.generation)


def test_unfinished_recording_is_repaired_and_offered(qtbot, window, isolated_data_dir: Path) -> None:
    from mellow.audio_io.wav_writer import WavWriter, marker_path

    folder = isolated_data_dir / "recordings"
    folder.mkdir(parents=True)
    path = folder / "recording-crashed.wav"
    writer = WavWriter(path, samplerate=16000, channels=1)
    import numpy as np

    writer.write(np.zeros((16000, 1), dtype=np.float32))
    writer.flush()
    # Simulate a crash: the header still says 0 frames and the sidecar names a process that is gone.
    marker_path(path).write_text('{"pid": 999999, "started": 0}')
    with open(path, "r+b") as fh:
        fh.seek(40)
        fh.write((0).to_bytes(4, "little"))

    found = window.recover_recordings()
    assert found == [path]
    with wave.open(str(path)) as wf:
        assert wf.getnframes() == 16000
    notice = window.chat.notices()[-1]
    assert "recording-crashed.wav" in notice and "Open as Clip A" in notice
    label = [lbl for lbl in window.chat.widget().findChildren(type(window.chat.placeholder), "chatNotice")][
        -1
    ]
    label.linkActivated.emit(f"B|{path.as_uri()}")
    wait_loaded(qtbot, window.panel_b, path, facts=False)


def test_keyboard_space_plays_focused_panel_but_not_while_typing(qtbot, window, noise_clip: Path) -> None:
    window.panel_b.open_file(noise_clip)
    wait_loaded(qtbot, window.panel_b, noise_clip, facts=False)
    calls = []
    window.panel_b.toggle_playback = lambda: calls.append("B")  # observe the shortcut routing only
    window.panel_b.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(lambda: window.focused_panel() is window.panel_b)
    qtbot.keyClick(window.panel_b, Qt.Key.Key_Space)
    assert calls == ["B"]
    window.prompt.edit.setFocus()
    qtbot.keyClicks(window.prompt.edit, "a b")
    assert calls == ["B"] and window.prompt.edit.toPlainText() == "a b"
