"""Issue 4, bad audio input: every awkward file either loads correctly or fails with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mellow.audio import WINDOW_SAMPLES, Clip, load_window
from mellow.errors import AudioError
from tests.helpers.audio_files import tone
from tests.helpers.bad_audio import AudioCase, cases, make_unreadable
from tests.helpers.processes import child_env

CASES = cases()


def dominant_hz(wave: np.ndarray, rate: int = 32000) -> float:
    """Frequency of the strongest FFT bin of a Hann-windowed signal (DC removed)."""
    x = wave - wave.mean()
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_loader_matrix(case: AudioCase, tmp_path: Path) -> None:
    path = case.make(tmp_path)
    if not case.valid:
        with pytest.raises(AudioError) as info:
            load_window(path)
        message = str(info.value)
        assert "\n" not in message and message
        assert case.reason in message.lower(), message
        return
    wave = load_window(path).numpy()
    assert wave.shape == (WINDOW_SAMPLES,) and wave.dtype == np.float32
    assert np.isfinite(wave).all()
    assert np.abs(wave).max() <= 1.01
    if case.tone_hz is not None:
        assert abs(dominant_hz(wave) - case.tone_hz) < 2.0


def test_window_start_is_honoured_for_a_long_file(tmp_path: Path) -> None:
    rate = 44100
    # 20 s: a 500 Hz tone for the first 10 s, 2 kHz afterwards.
    x = np.concatenate([tone(10.0, rate, freq=500.0), tone(10.0, rate, freq=2000.0)])
    path = tmp_path / "two_halves.wav"
    sf.write(str(path), x, rate, subtype="PCM_16")
    assert abs(dominant_hz(load_window(Clip(path, 0.0)).numpy()) - 500.0) < 2.0
    assert abs(dominant_hz(load_window(Clip(path, 10.0)).numpy()) - 2000.0) < 2.0
    # A start past the end is clamped: the last 10 s.
    assert abs(dominant_hz(load_window(Clip(path, 99.0)).numpy()) - 2000.0) < 2.0


@pytest.mark.subprocess  # as root: checked in a child process run as 'nobody'
def test_unreadable_file_gives_permission_message(tmp_path: Path) -> None:
    path = make_unreadable(tmp_path)
    if os.geteuid() != 0:
        with pytest.raises(AudioError, match="permission denied"):
            load_window(path)
        return
    # root reads everything: check as an unprivileged user in a real child process.
    tmp_path.chmod(0o755)
    code = textwrap.dedent(f"""
        import os, sys
        import torch, torchaudio  # noqa: F401  (the interpreter's files are not readable by 'nobody')
        from mellow.audio import load_window, resample
        from mellow.errors import AudioError
        resample(torch.zeros(100), 16000)
        os.setgid(65534); os.setuid(65534)
        try:
            load_window({str(path)!r})
        except AudioError as exc:
            print(exc)
            sys.exit(3)
    """)
    env = child_env()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd="/", timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "permission denied" in proc.stdout


def _peak_rss_child(path: Path, start: float) -> int:
    code = textwrap.dedent(f"""
        import resource, torch
        from mellow.audio import Clip, load_window
        import mellow.audio
        mellow.audio.resample(torch.zeros(1000), 22050)  # warm up torch/torchaudio before the baseline
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        w = load_window(Clip({str(path)!r}, {start}))
        assert w.shape == (320000,)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
    """)
    env = child_env()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return int(proc.stdout.split()[-1]) * 1024  # ru_maxrss is in KiB on Linux


@pytest.mark.slow
@pytest.mark.subprocess
def test_two_hour_file_memory_stays_bounded(tmp_path: Path) -> None:
    rate, seconds = 22050, 2 * 3600
    path = tmp_path / "two_hours.wav"
    block = (tone(60.0, rate, amplitude=0.3) * 32767).astype(np.int16)
    with sf.SoundFile(str(path), "w", rate, 1, subtype="PCM_16") as f:
        for _ in range(seconds // 60):
            f.write(block)
    size = path.stat().st_size
    assert size > 300_000_000
    grown = _peak_rss_child(path, start=3600.0)
    # A full-length float32 copy alone would be 2 * size; the window path needs a few MB.
    assert grown < 100_000_000, f"peak RSS grew by {grown / 1e6:.0f} MB for a {size / 1e6:.0f} MB file"


_WAV_HEADER = bytes.fromhex("52494646") + (36).to_bytes(4, "little") + b"WAVEfmt "


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(st.binary(min_size=0, max_size=2048),
                         st.binary(min_size=0, max_size=512).map(lambda b: _WAV_HEADER + b)))
def test_fuzz_loader_gives_only_clean_errors(payload: bytes, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.wav"
    path.write_bytes(payload)
    try:
        wave = load_window(path)
    except AudioError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert wave.shape == (WINDOW_SAMPLES,) and np.isfinite(wave.numpy()).all()
