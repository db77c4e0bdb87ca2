"""The desktop's measurements on synthesized signals with known answers, in memory and from real files."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.errors import AudioError
from mellow_desktop.core.envelope import envelope, envelope_array
from mellow_desktop.core.measurements import (
    difference,
    format_db,
    format_hz,
    measure,
    measure_file,
)


def sine(freq: float, seconds: float, sr: int, amp: float = 0.5, phase: float = 0.3) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return amp * np.sin(2 * np.pi * freq * t + phase)


@pytest.mark.parametrize(
    ("sr", "freq"),
    [(8000, 440.0), (11025, 1234.5), (44100, 97.3), (48000, 440.0), (48000, 6321.7), (96000, 15000.25)],
)
def test_dominant_frequency_of_a_tone_within_1_hz(sr: int, freq: float) -> None:
    m = measure(sine(freq, 2.0, sr), sr)
    assert abs(m.dominant_hz - freq) < 1.0, m.dominant_hz


def test_dominant_frequency_of_a_short_tone() -> None:
    """Shorter than one spectral frame: analysed as a single zero-padded frame."""
    m = measure(sine(1000.0, 0.05, 48000), 48000)
    assert abs(m.dominant_hz - 1000.0) < 2.0


def test_dominant_frequency_ignores_dc_offset_and_picks_the_stronger_tone() -> None:
    sr = 44100
    x = 0.3 + sine(440.0, 2.0, sr, 0.2) + sine(3000.0, 2.0, sr, 0.05)
    assert abs(measure(x, sr).dominant_hz - 440.0) < 1.0


@pytest.mark.parametrize("amp", [1.0, 0.5, 0.1, 0.001])
def test_sine_peak_and_rms_dbfs_are_exact(amp: float) -> None:
    sr = 48000
    t = np.arange(sr) / sr
    x = amp * np.sin(2 * np.pi * 1000.0 * t + np.pi / 2)  # whole cycles, hits +-amp exactly
    m = measure(x, sr)
    assert m.peak_dbfs == pytest.approx(20 * math.log10(amp), abs=1e-9)
    assert m.rms_dbfs == pytest.approx(20 * math.log10(amp / math.sqrt(2)), abs=1e-6)


def test_full_scale_square_wave_is_0_dbfs_peak_and_rms() -> None:
    sr = 8000
    x = np.where(np.sin(2 * np.pi * 100 * (np.arange(sr) + 0.5) / sr) >= 0, 1.0, -1.0)
    m = measure(x, sr)
    assert m.peak_dbfs == 0.0
    assert m.rms_dbfs == pytest.approx(0.0, abs=1e-12)


def test_silence_is_minus_inf_and_spectral_values_undefined() -> None:
    m = measure(np.zeros(48000), 48000)
    assert m.peak_dbfs == -math.inf and m.rms_dbfs == -math.inf
    assert math.isnan(m.centroid_hz) and math.isnan(m.dominant_hz)
    rows = dict(m.rows())
    assert rows["Peak"] == "-inf dBFS"
    assert rows["RMS"] == "-inf dBFS"
    assert rows["Dominant frequency"] == "n/a"
    assert format_db(-6.02) == "-6.0 dBFS"
    assert format_hz(440.0) == "440.0 Hz" and format_hz(12000.0) == "12.00 kHz"


def test_white_noise_centroid_is_a_quarter_of_the_sample_rate() -> None:
    sr = 32000
    x = np.random.default_rng(1).uniform(-0.5, 0.5, sr * 4)
    assert measure(x, sr).centroid_hz == pytest.approx(sr / 4, rel=0.02)


def test_non_finite_samples_are_counted_and_ignored() -> None:
    sr = 16000
    x = sine(500.0, 1.0, sr)
    x[100] = np.nan
    x[200] = np.inf
    m = measure(x, sr)
    assert m.non_finite == 2
    assert math.isfinite(m.peak_dbfs) and m.peak_dbfs <= 0.0
    assert abs(m.dominant_hz - 500.0) < 1.0


def test_stereo_levels_use_all_channels_and_spectrum_the_mix() -> None:
    sr = 48000
    left = sine(440.0, 1.0, sr, 0.5)
    right = sine(880.0, 1.0, sr, 0.25)
    m = measure(np.stack([left, right], axis=1), sr)
    assert m.channels == 2 and m.frames == sr
    assert m.peak_dbfs == pytest.approx(20 * math.log10(0.5), abs=1e-3)
    expected_rms = math.sqrt((0.5**2 / 2 + 0.25**2 / 2) / 2)
    assert m.rms_dbfs == pytest.approx(20 * math.log10(expected_rms), abs=1e-3)
    assert abs(m.dominant_hz - 440.0) < 1.0


def test_measure_file_streams_to_the_same_result_as_in_memory(tmp_path: Path) -> None:
    sr = 22050
    rng = np.random.default_rng(2)
    x = np.stack([sine(700.0, 3.3, sr, 0.6), 0.1 * rng.standard_normal(int(3.3 * sr))], axis=1)
    path = tmp_path / "two channels.flac"
    sf.write(path, np.clip(x, -1, 1), sr, subtype="PCM_24")
    data, _ = sf.read(path, dtype="float64")
    in_memory = measure(data, sr)
    streamed = measure_file(path, block=1001)  # block not a multiple of the spectral hop
    assert streamed.frames == in_memory.frames and streamed.channels == 2
    assert streamed.peak_dbfs == pytest.approx(in_memory.peak_dbfs, abs=1e-5)
    assert streamed.rms_dbfs == pytest.approx(in_memory.rms_dbfs, abs=1e-5)
    assert streamed.centroid_hz == pytest.approx(in_memory.centroid_hz, rel=1e-4)
    assert streamed.dominant_hz == pytest.approx(in_memory.dominant_hz, abs=1e-3)
    assert abs(streamed.dominant_hz - 700.0) < 1.0


def test_difference_a_minus_b() -> None:
    sr = 16000
    a = measure(sine(1000.0, 2.0, sr, 0.5), sr)
    b = measure(sine(500.0, 1.0, sr, 0.25), sr)
    d = difference(a, b)
    assert d.duration_s == pytest.approx(1.0)
    assert d.peak_db == pytest.approx(20 * math.log10(2), abs=1e-3)
    assert d.dominant_hz == pytest.approx(500.0, abs=1.0)
    silent = measure(np.zeros(sr), sr)
    both_silent = difference(silent, silent)
    assert math.isnan(both_silent.peak_db)
    assert difference(silent, a).peak_db == -math.inf
    rows = dict(d.rows())
    assert rows["Peak"] == "+6.0 dB" and rows["Duration"] == "+1.00 s"
    assert dict(both_silent.rows())["Peak"] == "n/a"


def test_envelope_of_a_ramp_has_known_bins(tmp_path: Path) -> None:
    x = np.linspace(-1.0, 1.0, 1000, dtype=np.float32)
    mins, maxs = envelope_array(x, 10)
    assert mins.shape == (10,)
    np.testing.assert_allclose(mins, x[::100])
    np.testing.assert_allclose(maxs, x[99::100])
    path = tmp_path / "ramp.wav"
    sf.write(path, x, 8000, subtype="FLOAT")
    fmins, fmaxs = envelope(path, 10, block=37)
    np.testing.assert_array_equal(fmins, mins)
    np.testing.assert_array_equal(fmaxs, maxs)


def test_envelope_per_channel_region_and_more_bins_than_frames(tmp_path: Path) -> None:
    sr = 8000
    x = np.stack([sine(50.0, 2.0, sr, 0.8), sine(50.0, 2.0, sr, 0.2)], axis=1).astype(np.float32)
    path = tmp_path / "st.wav"
    sf.write(path, x, sr, subtype="FLOAT")
    mins, maxs = envelope(path, 200, per_channel=True, block=999)
    assert mins.shape == (2, 200)
    np.testing.assert_allclose(maxs.max(axis=1), [0.8, 0.2], atol=1e-3)
    np.testing.assert_allclose(mins.min(axis=1), [-0.8, -0.2], atol=1e-3)
    a_mins, a_maxs = envelope_array(x, 200, per_channel=True)
    np.testing.assert_array_equal(mins, a_mins)
    np.testing.assert_array_equal(maxs, a_maxs)
    region_mins, region_maxs = envelope(path, 50, start=4000, stop=4020)  # 20 frames -> 20 bins
    mix = x[4000:4020].mean(axis=1)
    np.testing.assert_allclose(region_mins, mix, atol=1e-6)
    np.testing.assert_allclose(region_maxs, mix, atol=1e-6)


def test_long_file_is_measured_with_bounded_memory(tmp_path: Path) -> None:
    """One hour at 8 kHz (28.8 M samples, 230 MB as float64): streaming keeps numpy allocations small."""
    sr, seconds = 8000, 3600
    path = tmp_path / "long.wav"
    chunk = sine(440.0, 60.0, sr, 0.5, phase=0.0).astype(np.float32)  # 60 s holds whole cycles
    with sf.SoundFile(path, "w", samplerate=sr, channels=1, subtype="PCM_16") as f:
        for _ in range(seconds // 60):
            f.write(chunk)
    tracemalloc.start()
    try:
        m = measure_file(path)
        mins, maxs = envelope(path, 2000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert m.duration_s == pytest.approx(seconds)
    assert abs(m.dominant_hz - 440.0) < 1.0
    assert mins.shape == (2000,) and maxs.max() == pytest.approx(0.5, abs=1e-3)
    assert peak < 40 * 1024 * 1024, f"peak traced memory {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("kind", ["missing", "directory", "random", "text"])
def test_unreadable_files_raise_one_line_audio_error(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "bad.wav"
    if kind == "directory":
        path.mkdir()
    elif kind == "random":
        path.write_bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    elif kind == "text":
        path = tmp_path / "notes.mp3"
        path.write_text("this is not audio\n")
    for call in (lambda: measure_file(path), lambda: envelope(path, 100)):
        with pytest.raises(AudioError) as info:
            call()
        assert "\n" not in str(info.value) and path.name in str(info.value)


def test_integer_pcm_arrays_are_scaled_to_full_scale() -> None:
    half = np.array([16384, -16384] * 400, dtype=np.int16)
    assert measure(half, 8000).peak_dbfs == pytest.approx(-6.0206, abs=1e-3)
    unsigned = np.array([192, 64] * 400, dtype=np.uint8)  # 8-bit WAV style: 128 is silence
    assert measure(unsigned, 8000).peak_dbfs == pytest.approx(-6.0206, abs=1e-3)
    assert measure(np.full(800, 128, dtype=np.uint8), 8000).peak_dbfs == -math.inf
