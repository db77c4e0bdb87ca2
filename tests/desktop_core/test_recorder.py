"""The recorder against the real audio stack: PulseAudio null sink, PortAudio's ``pulse`` device."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf

from mellow.audio_io.devices import AudioUnavailable, recording_unavailable_reason
from mellow.audio_io.wav_writer import marker_path
from mellow_desktop.core.audio_io.recorder import Recorder, RecorderStatus
from mellow_desktop.core.measurements import measure_file
from tests.helpers.audio_files import write_tone
from tests.helpers.audio_stack import PulseStack, play_file, private_pulse, stop_process

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def wait_for(recorder: Recorder, ok: Callable[[RecorderStatus], bool], timeout: float) -> RecorderStatus:
    deadline = time.monotonic() + timeout
    status = recorder.poll()
    while not ok(status):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last status {status}")
        time.sleep(0.05)
        status = recorder.poll()
    return status


@pytest.mark.audio
def test_records_a_440_hz_tone_played_into_the_null_sink(pulse_audio: PulseStack, tmp_path: Path) -> None:
    tone = write_tone(tmp_path / "tone.wav", 8.0, 44100, freq=440.0)
    player = play_file(tone, sink=pulse_audio.sink)
    recorder = Recorder(tmp_path / "recordings", device=pulse_audio.device)
    try:
        path = recorder.start()
        assert path.parent == tmp_path / "recordings" and marker_path(path).exists()
        status = wait_for(recorder, lambda s: s.elapsed_s >= 1.0, 10)
        levels = []
        while status.elapsed_s < 2.5:
            levels.append(status.level)
            time.sleep(0.05)
            status = recorder.poll()
        # The file is a readable WAV while the recording runs (header sizes updated on flush).
        assert sf.info(str(path)).frames > 1.5 * recorder.samplerate
        assert status.state == "recording" and status.error is None
        final = recorder.stop()
    finally:
        recorder.close()
        stop_process(player)
    done = recorder.poll()
    assert final == path and done.state == "stopped" and not marker_path(path).exists()
    assert max(levels) > 0.3, "the live level never showed the tone"
    info = sf.info(str(path))
    assert info.samplerate == recorder.samplerate and info.channels == 1
    assert abs(info.frames / info.samplerate - done.written_s) < 1e-6
    assert done.written_s >= 2.5
    m = measure_file(path)
    assert abs(m.dominant_hz - 440.0) < 1.0
    assert m.peak_dbfs == pytest.approx(-6.0, abs=1.5)


@pytest.mark.audio
def test_device_disappearing_stops_the_recording_and_keeps_the_audio(
    pulse_audio: PulseStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A private PulseAudio daemon is the 'device'; it is killed mid-recording (a pulled cable)."""
    folder = tmp_path / "private-pulse"
    monkeypatch.delenv("PULSE_SINK", raising=False)  # the session sink lives on the shared daemon
    monkeypatch.delenv("PULSE_SOURCE", raising=False)
    with private_pulse(folder) as server:
        monkeypatch.setenv("PULSE_SERVER", server)
        tone = write_tone(tmp_path / "tone.wav", 10.0, 44100, freq=440.0)
        player = play_file(tone, server=server)
        recorder = Recorder(tmp_path / "rec", device=pulse_audio.device)
        try:
            path = recorder.start()
            before = wait_for(recorder, lambda s: s.elapsed_s >= 1.5, 10)
            os.kill(int((folder / "pid").read_text()), signal.SIGKILL)
            failed = wait_for(recorder, lambda s: s.state == "failed", 10)
            final = recorder.stop()
        finally:
            recorder.close()
            stop_process(player)
    assert failed.error is not None and "what was recorded is kept" in failed.error
    assert "\n" not in failed.error
    assert final == path and path.exists() and not marker_path(path).exists()
    assert recorder.poll().state == "failed"
    kept = sf.info(str(path)).frames / recorder.samplerate
    assert kept >= before.elapsed_s - 0.01
    assert abs(measure_file(path).dominant_hz - 440.0) < 1.0


def test_unknown_device_gives_a_reason_and_leaves_no_file(tmp_path: Path) -> None:
    reason = recording_unavailable_reason("no such microphone 42")
    assert reason is not None and "no such microphone 42" in reason and "\n" not in reason
    recorder = Recorder(tmp_path, device="no such microphone 42")
    assert recorder.poll().state == "idle"
    with pytest.raises(AudioUnavailable):
        recorder.start()
    with pytest.raises(RuntimeError):
        recorder.stop()
    assert list(tmp_path.iterdir()) == []


NO_PORTAUDIO = """
import ctypes.util
real = ctypes.util.find_library
ctypes.util.find_library = lambda name: None if "portaudio" in name else real(name)  # libportaudio2 "missing"
import tempfile
from mellow_desktop.core.audio_io import Player, Recorder, portaudio_problem, recording_unavailable_reason
from mellow_desktop.core.audio_io import AudioUnavailable, list_input_devices, playback_unavailable_reason
import numpy as np
print("PROBLEM", portaudio_problem())
print("RECORD", recording_unavailable_reason())
print("PLAY", playback_unavailable_reason())
print("DEVICES", list_input_devices())
try:
    Recorder(tempfile.mkdtemp()).start()
except AudioUnavailable as exc:
    print("START", exc)
player = Player()
player.load(np.zeros(100), 8000)
try:
    player.play()
except AudioUnavailable as exc:
    print("PLAYER", exc)
"""


@pytest.mark.subprocess
def test_missing_portaudio_disables_audio_with_a_reason() -> None:
    """The PortAudio library is hidden from ``sounddevice`` in a child process; nothing else breaks."""
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(NO_PORTAUDIO)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert "PortAudio library not found" in lines["PROBLEM"] and "libportaudio2" in lines["PROBLEM"]
    for key in ("RECORD", "PLAY", "START", "PLAYER"):
        assert lines[key] == lines["PROBLEM"], key
    assert lines["DEVICES"] == "[]"


FIXTURE_USER = """
from tests.helpers.audio_stack import pulse_audio  # noqa: F401


def test_needs_audio(pulse_audio):
    assert pulse_audio.device == "pulse"
"""


@pytest.mark.subprocess
@pytest.mark.parametrize(("ci", "outcome"), [("true", "1 error"), ("", "1 skipped")])
def test_pulse_audio_fixture_fails_in_ci_and_skips_locally(tmp_path: Path, ci: str, outcome: str) -> None:
    """Without the PulseAudio tools on PATH the fixture must fail under CI=true, never silently skip."""
    test_file = tmp_path / "test_fixture_user.py"
    test_file.write_text(FIXTURE_USER)
    env = dict(os.environ, PATH=str(tmp_path / "empty-bin"), PYTHONPATH=str(REPO), CI=ci)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", str(test_file)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert outcome in result.stdout, result.stdout[-3000:]
    assert "real audio stack unavailable: missing pulseaudio" in result.stdout
