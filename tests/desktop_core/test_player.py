"""The player: played through the real null sink and recorded back from its monitor."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.audio_io.devices import AudioUnavailable, resolve_device
from mellow.errors import AudioError
from mellow_desktop.core.audio_io.player import Player, PlayerStatus
from mellow_desktop.core.audio_io.recorder import Recorder
from mellow_desktop.core.measurements import measure_file
from tests.helpers.audio_files import tone
from tests.helpers.audio_stack import PulseStack

pytestmark = pytest.mark.timeout(120)


def play_to_end(player: Player, timeout: float) -> list[PlayerStatus]:
    seen = [player.poll()]
    deadline = time.monotonic() + timeout
    while seen[-1].state == "playing":
        assert time.monotonic() < deadline, f"still playing: {seen[-1]}"
        time.sleep(0.05)
        seen.append(player.poll())
    return seen


def start_recording(pulse: PulseStack, folder: Path) -> Recorder:
    recorder = Recorder(folder, device=pulse.device)
    recorder.start()
    deadline = time.monotonic() + 10
    while recorder.poll().elapsed_s < 0.3:
        assert time.monotonic() < deadline, "the monitor delivers no audio"
        time.sleep(0.05)
    return recorder


@pytest.mark.audio
def test_played_array_comes_back_from_the_monitor(pulse_audio: PulseStack, tmp_path: Path) -> None:
    recorder = start_recording(pulse_audio, tmp_path)
    player = Player(device=pulse_audio.device)
    try:
        player.load(tone(1.5, 44100, freq=660.0, amplitude=0.4), 44100)
        assert player.poll() == PlayerStatus("stopped", 0.0, 1.5, None, None)
        player.play()
        seen = play_to_end(player, 10)
        time.sleep(0.3)
        path = recorder.stop()
    finally:
        recorder.close()
        player.close()
    positions = [s.position_s for s in seen]
    assert seen[-1].state == "finished" and seen[-1].position_s == pytest.approx(1.5)
    assert all(b >= a for a, b in zip(positions, positions[1:], strict=False)), "the playhead went backwards"
    assert len({round(p, 2) for p in positions}) >= 5, "the playhead did not move smoothly"
    m = measure_file(path)
    assert abs(m.dominant_hz - 660.0) < 1.0
    assert m.peak_dbfs == pytest.approx(20 * np.log10(0.4), abs=1.5)


@pytest.mark.audio
def test_played_file_streams_from_the_window_start(pulse_audio: PulseStack, tmp_path: Path) -> None:
    """A stereo 48 kHz file played from 2 s: 1 s of 880 Hz follows 2 s of 330 Hz in the file."""
    clip = tmp_path / "clip.wav"
    signal = np.concatenate([tone(2.0, 48000, freq=330.0, amplitude=0.4),
                             tone(1.0, 48000, freq=880.0, amplitude=0.4)])
    sf.write(clip, np.stack([signal, signal], axis=1), 48000, subtype="PCM_16")
    recorder = start_recording(pulse_audio, tmp_path / "rec")
    player = Player(device=pulse_audio.device)
    try:
        player.play(clip, start_s=2.0)
        first = player.poll()
        seen = play_to_end(player, 10)
        time.sleep(0.3)
        path = recorder.stop()
    finally:
        recorder.close()
        player.close()
    assert first.path == clip and first.state == "playing" and first.position_s >= 1.85
    assert seen[-1].state == "finished" and seen[-1].position_s == pytest.approx(3.0)
    assert abs(measure_file(path).dominant_hz - 880.0) < 1.0


@pytest.mark.audio
def test_pause_resume_seek_and_stop(pulse_audio: PulseStack, tmp_path: Path) -> None:
    player = Player(device=pulse_audio.device)
    clip = tmp_path / "long.wav"
    sf.write(clip, tone(6.0, 22050, freq=500.0), 22050)
    try:
        player.play(clip)
        time.sleep(0.6)
        assert player.delivering  # samples reached the device
        player.pause()
        assert not player.delivering
        paused = player.poll()
        time.sleep(0.3)
        assert player.poll() == paused and paused.state == "paused" and 0.2 < paused.position_s < 1.2
        player.seek(4.0)
        assert player.poll().position_s == pytest.approx(4.0)
        player.resume()
        time.sleep(0.5)
        moving = player.poll()
        assert moving.state == "playing" and 4.0 < moving.position_s < 5.0
        player.seek(5.5)  # while playing
        assert play_to_end(player, 5)[-1].state == "finished"
        player.play()  # after the end: from the start again
        assert player.poll().position_s < 0.5
        player.stop()
        assert player.poll().state == "stopped" and player.position_s == 0.0
    finally:
        player.close()


def test_transport_without_a_device(tmp_path: Path) -> None:
    player = Player()
    assert player.poll().state == "empty" and not player.delivering
    with pytest.raises(RuntimeError):
        player.play()
    player.load(np.zeros((8000, 2)), 8000)
    player.seek(0.25)
    assert player.position_s == 0.25 and player.duration_s == 1.0
    player.seek(99)
    assert player.position_s == 1.0
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(AudioError) as info:
        player.load_file(bad)
    assert "bad.wav" in str(info.value)
    assert player.duration_s == 1.0, "a failed load keeps the previous clip"


@pytest.mark.audio
def test_a_rate_the_device_refuses_is_one_line_and_the_recorder_falls_back(
        pulse_audio: PulseStack, tmp_path: Path) -> None:
    """Both go through devices.open_stream: the player has one rate to offer, the recorder several."""
    player = Player(device=pulse_audio.device)
    player.load(np.zeros(1000), 10_000_000)
    with pytest.raises(AudioUnavailable) as info:
        player.play()
    assert str(info.value) == f"cannot play on {pulse_audio.device}: it does not support 10000000 Hz"
    assert player.poll().state == "stopped"
    clip = tmp_path / "clip.wav"
    sf.write(clip, tone(440.0, 0.2, 8000, 0.1), 8000)
    with pytest.raises(AudioUnavailable, match="^audio output device 'no such speaker 42' is not available$"):
        Player(device="no such speaker 42").play(clip)
    recorder = Recorder(tmp_path, device=pulse_audio.device, samplerate=10_000_000)
    try:
        path = recorder.start()
    finally:
        recorder.close()
    default_rate = int(resolve_device(pulse_audio.device, "input").default_samplerate)
    assert recorder.samplerate == default_rate == sf.info(str(path)).samplerate  # the first fallback
