"""Crash safety of recordings: SIGKILL mid-recording, repair, and a full disk, with real processes."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.audio_io.wav_writer import (
    WavWriter,
    find_unfinished_recordings,
    marker_path,
    repair_wav,
)
from mellow.errors import AudioError
from mellow_desktop.core.measurements import measure_file
from tests.helpers.audio_files import write_tone
from tests.helpers.audio_stack import PulseStack, play_file, stop_process

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def child(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(proc: subprocess.Popen[str], prefix: str, timeout: float = 30) -> str:
    """The first stdout line starting with ``prefix`` (fails if the child exits or stays silent)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read() if proc.stderr else ""
            raise AssertionError(f"child ended before {prefix!r}: {err[-2000:]}")
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise AssertionError(f"no {prefix!r} line")


RECORDER_CHILD = """
import sys, time
from mellow_desktop.core.audio_io.recorder import Recorder
recorder = Recorder(sys.argv[1], device=sys.argv[2])
path = recorder.start()
print("RECORDING", path, flush=True)
while True:
    status = recorder.poll()
    print("STATUS", status.state, status.elapsed_s, status.error, flush=True)
    if status.state != "recording":
        recorder.stop()
        print("STOPPED", recorder.poll().written_s, flush=True)
        print("ERROR", recorder.poll().error, flush=True)
        break
    time.sleep(0.1)
"""


@pytest.mark.audio
@pytest.mark.subprocess
def test_sigkilled_recording_is_found_repaired_and_loses_under_a_second(
    pulse_audio: PulseStack, tmp_path: Path
) -> None:
    folder = tmp_path / "recordings"
    tone = write_tone(tmp_path / "tone.wav", 12.0, 44100, freq=440.0)
    player = play_file(tone, sink=pulse_audio.sink)
    proc = child(RECORDER_CHILD, str(folder), pulse_audio.device)
    try:
        path = Path(read_line(proc, "RECORDING "))
        started = time.monotonic()
        time.sleep(3.0)
        proc.send_signal(signal.SIGKILL)
        elapsed = time.monotonic() - started
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait(timeout=10)
        stop_process(player)
    assert proc.returncode == -signal.SIGKILL
    assert marker_path(path).exists()
    assert find_unfinished_recordings(folder) == [path]
    result = repair_wav(path)
    assert result.path == path and result.samplerate == 48000 and result.channels == 1
    assert not marker_path(path).exists() and find_unfinished_recordings(folder) == []
    info = sf.info(str(path))
    assert info.frames == result.frames
    lost = elapsed - info.frames / info.samplerate
    print(f"SIGKILL after {elapsed:.2f} s: kept {info.frames / info.samplerate:.2f} s, lost {lost:.2f} s")
    assert lost <= 1.0, f"lost {lost:.2f} s of {elapsed:.2f} s"
    assert abs(measure_file(path).dominant_hz - 440.0) < 1.0
    assert repair_wav(path).changed is False  # idempotent


DISK_FULL_CHILD = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
""" + RECORDER_CHILD


@pytest.mark.audio
@pytest.mark.subprocess
def test_disk_full_while_recording_stops_with_a_message_and_keeps_the_file(
    pulse_audio: PulseStack, tmp_path: Path
) -> None:
    limit = 150_000  # bytes: about 1.5 s of 48 kHz 16-bit mono
    folder = tmp_path / "recordings"
    proc = child(DISK_FULL_CHILD, str(folder), pulse_audio.device, str(limit))
    try:
        path = Path(read_line(proc, "RECORDING "))
        written = float(read_line(proc, "STOPPED ", timeout=30))
        error = read_line(proc, "ERROR ")
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert "disk full or file too large" in error and "were kept" in error
    assert path.stat().st_size <= limit and not marker_path(path).exists()
    data, sr = sf.read(str(path))
    assert len(data) / sr == pytest.approx(written, abs=1e-6)
    assert written >= (limit - 100) / (2 * 48000) - 0.05
    assert find_unfinished_recordings(folder) == []


WRITER_CHILD = """
import sys
import numpy as np
from mellow.audio_io.wav_writer import WavWriter
sr = 16000
writer = WavWriter(sys.argv[1], sr, 2, sys.argv[2])
n = 0
while True:
    t = (n + np.arange(160)) / sr
    writer.write(np.stack([0.5 * np.sin(2 * np.pi * 300 * t), 0.25 * np.sin(2 * np.pi * 700 * t)], axis=1))
    n += 160
    if n % 1600 == 0:
        writer.flush(fsync=False)
    print("WROTE", n, flush=True)
"""


@pytest.mark.subprocess
@pytest.mark.parametrize("subtype", ["PCM_16", "FLOAT"])
def test_killed_writer_loses_nothing_it_wrote(tmp_path: Path, subtype: str) -> None:
    """Every block ``write`` returned for is in the repaired file, sample for sample."""
    path = tmp_path / "take.wav"
    proc = child(WRITER_CHILD, str(path), subtype)
    try:
        frames = 0
        while frames < 40_000:
            frames = int(read_line(proc, "WROTE "))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert find_unfinished_recordings(tmp_path) == [path]
    result = repair_wav(path)
    assert result.frames >= frames and result.channels == 2
    data, sr = sf.read(str(path), dtype="float64")
    t = np.arange(len(data)) / sr
    expected = np.stack([0.5 * np.sin(2 * np.pi * 300 * t), 0.25 * np.sin(2 * np.pi * 700 * t)], axis=1)
    tolerance = 1.0 / 32767 if subtype == "PCM_16" else 1e-6
    np.testing.assert_allclose(data, expected, atol=tolerance)


WRITER_FULL_CHILD = """
import resource, signal, sys
import numpy as np
from mellow.audio_io.wav_writer import WavWriteError, WavWriter
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (50_001, 50_001))
writer = WavWriter(sys.argv[1], 8000, 1, "PCM_16")
try:
    for _ in range(1000):
        writer.write(np.full(333, 0.25))
except WavWriteError as exc:
    print("ERROR", writer.frames_written, exc, flush=True)
writer.close()
"""


@pytest.mark.subprocess
def test_disk_full_in_the_writer_keeps_whole_frames_and_a_valid_header(tmp_path: Path) -> None:
    path = tmp_path / "full.wav"
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WRITER_FULL_CHILD), str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ERROR "), result.stdout
    frames = int(result.stdout.split()[1])
    assert "disk full or file too large" in result.stdout and "were kept" in result.stdout
    data, sr = sf.read(str(path))
    assert len(data) == frames and frames == (50_001 - 44) // 2
    np.testing.assert_allclose(data, 0.25, atol=1 / 32767)
    assert not marker_path(path).exists()


def test_live_recordings_are_not_offered_and_bad_files_are_refused(tmp_path: Path) -> None:
    live = WavWriter(tmp_path / "live.wav", 8000, 1)
    try:
        live.write(np.zeros(800))
        live.flush()
        assert find_unfinished_recordings(tmp_path) == []  # its writer (this process) is alive
    finally:
        live.close()
    orphan_marker = tmp_path / "gone.wav.recording"
    orphan_marker.write_text(json.dumps({"pid": 1, "started": 0}))
    assert find_unfinished_recordings(tmp_path) == [] and not orphan_marker.exists()
    not_wav = tmp_path / "notes.wav"
    not_wav.write_bytes(b"hello, this is text")
    with pytest.raises(AudioError):
        repair_wav(not_wav)
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(b"RIFF" + struct.pack("<I", 4) + b"WAVE")
    with pytest.raises(AudioError):
        repair_wav(header_only)
    assert os.path.exists(tmp_path / "live.wav")
