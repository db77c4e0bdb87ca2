"""Audio front end: reference equality, windowed reads of long files, tiling, errors, hashing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mellow.audio import (
    WINDOW_SAMPLES,
    Clip,
    _segment_plan,
    audio_info,
    clip_content_hash,
    fit_window,
    load_window,
    read_audio,
    read_clip,
    resample_to_32k,
    resampled_length,
    to_mono,
)
from mellow.errors import AudioError, ConfigError
from mellow.file_hash import FILE_MEMO
from mellow.model.config import AudioConfig

RATE = 32000


def _write(path: Path, data: np.ndarray, rate: int, subtype: str = "FLOAT") -> Path:
    sf.write(str(path), data, rate, subtype=subtype)
    return path


def _noise(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Band-limited-ish test signal: a few sines plus noise, (frames, channels) float32 in [-1, 1)."""
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    rng = np.random.default_rng(seed)
    cols = [0.3 * np.sin(2 * np.pi * (220 + 330 * c) * t) + 0.2 * rng.standard_normal(n)
            for c in range(channels)]
    return np.clip(np.stack(cols, axis=1), -0.99, 0.99).astype(np.float32)


# ----------------------------------------------------------------------------------------------- reference
@pytest.mark.parametrize("index, name", [(0, "a.wav"), (1, "b.wav")])
def test_matches_reference_clip_wave(reference_dir: Path, expected: dict, index: int, name: str) -> None:
    # a.wav: 44.1 kHz PCM_16, 4 s, resampled and tiled; b.wav: 32 kHz float, 10 s, used as is.
    # Measured max |diff| = 0.0 for both: bit-identical to the reference's torchaudio.load + Resample.
    wave = load_window(reference_dir / name)
    assert wave.dtype == torch.float32 and wave.shape == (WINDOW_SAMPLES,)
    assert not wave.is_inference() and not wave.requires_grad
    np.testing.assert_array_equal(wave.numpy(), expected["clip_wave"][index])


def test_short_clip_is_tiled_and_ignores_start(reference_dir: Path) -> None:
    data, rate = read_audio(reference_dir / "a.wav")
    base = resample_to_32k(to_mono(data), rate)
    assert base.shape[0] == 128000  # 4 s at 32 kHz
    wave = load_window(Clip(reference_dir / "a.wav", start=2.5))
    np.testing.assert_array_equal(wave.numpy(), np.tile(base.numpy(), 3)[:WINDOW_SAMPLES])


def test_read_audio_int16_scaling(tmp_path: Path) -> None:
    ints = np.array([[0], [1], [-32768], [32767], [16384]], dtype=np.int16)
    path = tmp_path / "i16.wav"
    sf.write(str(path), ints, 16000, subtype="PCM_16")
    data, rate = read_audio(path)
    assert rate == 16000 and data.dtype == np.float32 and data.shape == (5, 1)
    np.testing.assert_array_equal(data[:, 0], ints[:, 0].astype(np.float32) / 32768.0)


# ----------------------------------------------------------------------------------------------- windows
@pytest.mark.parametrize("rate", [44100, 48000, 22050, 8000])
def test_windowed_read_equals_whole_file_resampling(tmp_path: Path, rate: int) -> None:
    # The segment read by load_window is phase-aligned with the whole-file resampling, so the samples agree;
    # measured max |diff| = 0.0 at every rate and start tried.
    path = _write(tmp_path / f"long_{rate}.wav", _noise(23.0, rate, seed=rate), rate)
    data, _ = read_audio(path)
    whole = resample_to_32k(to_mono(data), rate)
    assert whole.shape[0] == resampled_length(data.shape[0], rate)
    last = whole.shape[0] - WINDOW_SAMPLES
    for start_s in (0.0, 1.23456, 6.5, last / RATE - 1e-3, last / RATE, 500.0):
        got = load_window(Clip(path, start=start_s))
        start = min(max(0, round(start_s * RATE)), last)
        want = whole[start:start + WINDOW_SAMPLES]
        assert got.shape == (WINDOW_SAMPLES,)
        assert torch.max(torch.abs(got - want)).item() <= 1e-6, (rate, start_s)


def test_windowed_read_at_32k_is_a_plain_slice(tmp_path: Path) -> None:
    data = _noise(12.5, RATE, seed=3)
    path = _write(tmp_path / "long32.wav", data, RATE)
    got = load_window(Clip(path, start=1.0))
    np.testing.assert_array_equal(got.numpy(), data[RATE:RATE + WINDOW_SAMPLES, 0])
    clamped = load_window(Clip(path, start=-4.0))
    np.testing.assert_array_equal(clamped.numpy(), data[:WINDOW_SAMPLES, 0])


@pytest.mark.parametrize("rate", [44100, 48000, 22050, 8000, 96000])
def test_segment_read_is_bounded(rate: int) -> None:
    # A window in the middle of a two-hour file reads about 10 s of input, whatever the file length.
    frames = 2 * 3600 * rate
    n_out = resampled_length(frames, rate)
    start = n_out // 2
    read_start, read_stop, offset = _segment_plan(frames, rate, RATE, start, WINDOW_SAMPLES)
    assert 0 <= read_start < read_stop <= frames
    assert read_stop - read_start < 10 * rate + 10_000  # 10 s plus a few resampler blocks
    assert 0 <= offset and offset + WINDOW_SAMPLES <= resampled_length(read_stop - read_start, rate)


def test_long_file_window_reads_only_a_segment(tmp_path: Path) -> None:
    import tracemalloc

    rate, minutes = 16000, 10
    path = tmp_path / "long.wav"
    block = (_noise(60.0, rate, seed=9) * 32767).astype(np.int16)
    with sf.SoundFile(str(path), "w", rate, 1, subtype="PCM_16") as f:
        for _ in range(minutes):
            f.write(block)
    load_window(Clip(path, start=1.0))  # warm up: first use imports torchaudio and builds the resampler
    tracemalloc.start()
    try:
        wave = load_window(Clip(path, start=7 * 60 + 3.5))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Reading the whole file as float32 would take 38 MB; the window needs ~0.7 MB of input.
    assert peak < 4 * 2**20, peak
    # The file repeats a 60 s block, and 7 min 3.5 s is 3.5 s into a block; the window stays inside it.
    data = block[:, 0].astype(np.float32) / 32768.0
    want = resample_to_32k(data[rate * 5 // 2:], rate)[RATE:RATE + WINDOW_SAMPLES]
    torch.testing.assert_close(wave, want, rtol=0, atol=1e-6)


def test_stereo_is_averaged(tmp_path: Path) -> None:
    data = _noise(3.0, RATE, channels=2, seed=5)
    path = _write(tmp_path / "stereo.wav", data, RATE)
    wave = load_window(path)
    mono = data.mean(axis=1, dtype=np.float32)
    np.testing.assert_array_equal(wave.numpy(), np.tile(mono, 4)[:WINDOW_SAMPLES])


def test_fit_window_rules() -> None:
    short = torch.arange(7, dtype=torch.float32)
    np.testing.assert_array_equal(fit_window(short, 3).numpy(), np.tile(np.arange(7), 45715)[:WINDOW_SAMPLES])
    exact = torch.randn(WINDOW_SAMPLES)
    assert torch.equal(fit_window(exact, 100), exact)
    long = torch.arange(WINDOW_SAMPLES + 50, dtype=torch.float32)
    assert fit_window(long, 20)[0].item() == 20
    assert fit_window(long, 10_000)[0].item() == 50  # clamped to the last full window
    assert fit_window(long, -5)[0].item() == 0
    assert fit_window(torch.ones(10), 0, length=25).shape == (25,)
    with pytest.raises(AudioError):
        fit_window(torch.zeros(0), 0)


def test_load_window_custom_config(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.wav", _noise(1.0, 16000), 16000)
    cfg = AudioConfig(sample_rate=16000, clip_samples=4000)
    wave = load_window(Clip(path, start=0.5), cfg)
    data, _ = read_audio(path)
    np.testing.assert_array_equal(wave.numpy(), data[8000:12000, 0])


# ----------------------------------------------------------------------------------------------- errors
def test_missing_and_directory(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="not found"):
        read_audio(tmp_path / "nope.wav")
    with pytest.raises(AudioError, match="directory"):
        load_window(tmp_path)


def test_empty_and_not_audio(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(AudioError, match="empty"):
        read_audio(empty)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 20)
    with pytest.raises(AudioError, match="not a readable audio file") as info:
        load_window(text)
    assert "\n" not in str(info.value)
    with pytest.raises(AudioError, match="not a readable audio file"):
        audio_info(text)


def test_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros((0, 1), dtype=np.float32), RATE)
    assert path.stat().st_size > 0
    with pytest.raises(AudioError, match="no audio samples"):
        read_audio(path)
    with pytest.raises(AudioError, match="no audio samples"):
        load_window(path)


def test_nan_samples(tmp_path: Path) -> None:
    data = _noise(0.5, RATE)
    data[100, 0] = np.nan
    path = _write(tmp_path / "nan.wav", data, RATE)
    with pytest.raises(AudioError, match="NaN or infinite"):
        read_audio(path)
    data[100, 0] = np.inf
    path = _write(tmp_path / "inf.wav", data, RATE)
    with pytest.raises(AudioError, match="NaN or infinite"):
        load_window(path)


def test_clip_start_must_be_finite() -> None:
    with pytest.raises(AudioError):
        Clip("x.wav", start=float("nan"))
    assert Clip("x.wav", 1.5) == Clip("x.wav", 1.5)
    assert len({Clip("x.wav"), Clip("x.wav", 0.0)}) == 1
    assert not issubclass(AudioError, ConfigError)


# ----------------------------------------------------------------------------------------------- info & hash
def test_audio_info(reference_dir: Path) -> None:
    info = audio_info(reference_dir / "a.wav")
    assert (info.sample_rate, info.channels, info.frames, info.subtype) == (44100, 1, 176400, "PCM_16")
    assert info.duration == pytest.approx(4.0)
    assert audio_info(reference_dir / "b.wav").subtype == "FLOAT"


def test_content_hash(tmp_path: Path, reference_dir: Path) -> None:
    a = reference_dir / "a.wav"
    copy = tmp_path / "copy.wav"
    copy.write_bytes(a.read_bytes())
    h = clip_content_hash(a)
    reads = FILE_MEMO.stats.reads
    assert h == clip_content_hash(copy) == clip_content_hash(a)
    assert FILE_MEMO.stats.reads == reads + 1  # the copy is a new file; `a` is remembered
    assert read_clip(copy, window=False).content_hash == h and FILE_MEMO.stats.reads == reads + 1
    assert h != clip_content_hash(reference_dir / "b.wav")
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    os.utime(copy, ns=(1, 1))  # a new mtime, so the memo entry cannot be reused
    reads = FILE_MEMO.stats.reads
    assert clip_content_hash(copy) != h and FILE_MEMO.stats.reads == reads + 1
    with pytest.raises(AudioError, match="not found"):
        clip_content_hash(tmp_path / "missing.wav")
