"""The whole-file overview: coarse first then exact, the envelope of the one envelope algorithm, the engine's
mel bands (a tone lands in its band), cached per file content and found again without rereading."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.errors import AudioError
from mellow.model.features import slaney_mel_edges_hz
from mellow_desktop.core import clip_io, overview_cache
from mellow_desktop.core.envelope import envelope
from mellow_desktop.core.overview import overview_chunks
from mellow_desktop.core.overview_cache import cached_overview, file_overview


def _tone_then_noise(path: Path, rate: int = 48000) -> Path:
    """60 s stereo: 30 s of a 3 kHz tone (left 0.5, right 0.25), then 30 s of quiet noise."""
    t = np.arange(30 * rate) / rate
    tone = np.sin(2 * np.pi * 3000 * t)
    noise = 0.01 * np.random.default_rng(0).standard_normal(30 * rate)
    left = np.concatenate([0.5 * tone, noise])
    right = np.concatenate([0.25 * tone, noise])
    sf.write(path, np.stack([left, right], axis=1).astype(np.float32), rate, subtype="PCM_16")
    return path


def test_snapshots_go_from_coarse_to_exact_and_match_the_one_envelope(tmp_path: Path) -> None:
    wav = _tone_then_noise(tmp_path / "tone.wav")
    snapshots = list(overview_chunks(wav, columns=120))
    first, last = snapshots[0], snapshots[-1]
    assert first.done == 0 and not first.complete and first.columns == 120
    assert last.complete and [s.done for s in snapshots] == sorted(s.done for s in snapshots)
    assert last.duration_s == pytest.approx(60.0) and (last.sample_rate, last.channels) == (48000, 2)
    mins, maxs = envelope(wav, 120, per_channel=True)  # the engine's envelope of the whole file at once
    np.testing.assert_array_equal(last.env_max, maxs.max(axis=0))  # the same bins, the same values
    np.testing.assert_array_equal(last.env_min, mins.min(axis=0))
    assert last.mel_db.shape == (64, 120) and np.isfinite(last.mel_db).all()
    edges = slaney_mel_edges_hz(64, 50.0, 14000.0)
    band = int(np.argmin(np.abs(edges[1:-1] - 3000.0)))  # the band centred nearest 3 kHz
    tone_cols = last.mel_db[:, :55]
    assert (tone_cols.argmax(axis=0) == band).all(), "the tone is loudest in its own mel band"
    assert tone_cols[band].mean() > last.mel_db[band, 65:].mean() + 30, "tone far above the quiet noise"
    assert (first.mel_db[:, :55].argmax(axis=0) == band).all(), "the coarse pass already shows it"
    assert last.column_of(45.0) == 90 and last.column_of(1e9) == 119


def test_a_wav_read_as_stored_and_a_streamed_flac_give_the_same_exact_overview(tmp_path: Path) -> None:
    """The exact pass reads a PCM WAV's stored samples in place and a FLAC through soundfile: same result."""
    wav = _tone_then_noise(tmp_path / "tone.wav", rate=16000)
    flac = tmp_path / "tone.flac"
    data, rate = sf.read(wav, dtype="int16")
    sf.write(flac, data, rate, subtype="PCM_16")
    by_map, by_stream = (list(overview_chunks(path, columns=90))[-1] for path in (wav, flac))
    assert by_map.complete and by_stream.complete
    np.testing.assert_array_equal(by_map.env_min, by_stream.env_min)
    np.testing.assert_array_equal(by_map.env_max, by_stream.env_max)
    np.testing.assert_allclose(by_map.mel_db, by_stream.mel_db, atol=1e-3)


def test_the_overview_is_cached_by_content_and_found_again_without_recomputing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MELLOW_DATA_DIR", str(tmp_path / "data"))
    wav = _tone_then_noise(tmp_path / "dawn.wav")
    computed = list(file_overview(wav, columns=100))
    assert len(computed) >= 2 and computed[-1].complete
    folder = overview_cache.cache_dir(create=False)
    assert folder == tmp_path / "data" / "overview-cache" and len(list(folder.glob("*.npz"))) == 1

    def fail(*args: object, **kw: object) -> None:
        raise AssertionError("recomputed")

    monkeypatch.setattr(overview_cache, "overview_chunks", fail)
    again = list(file_overview(wav, columns=100))
    assert len(again) == 1 and again[0].complete
    assert np.array_equal(again[0].mel_db, computed[-1].mel_db)
    assert np.array_equal(again[0].env_max, computed[-1].env_max)
    copy = tmp_path / "copy of dawn.wav"  # same content elsewhere: not yet seen by path
    copy.write_bytes(wav.read_bytes())
    assert cached_overview(copy, columns=100) is None
    monkeypatch.undo()
    monkeypatch.setenv("MELLOW_DATA_DIR", str(tmp_path / "data"))
    list(file_overview(copy, columns=100))
    assert len(list(folder.glob("*.npz"))) == 1, "one cache file per content"
    _tone_then_noise(wav, rate=44100)  # the file changes: its old overview no longer counts
    os.utime(wav, ns=(1, 1))
    assert cached_overview(wav, columns=100) is None


def test_unreadable_files_fail_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt nonsense")
    with pytest.raises(AudioError, match="not a readable audio file") as info:
        next(overview_chunks(bad))
    assert "\n" not in str(info.value)
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(500, np.float32), 16000)
    only = list(overview_chunks(short))
    assert only[-1].complete and only[-1].columns == 1 and np.isfinite(only[-1].mel_db).all()


def test_the_first_snapshot_samples_columns_across_the_file_and_the_next_fills_them(tmp_path: Path) -> None:
    wav = _tone_then_noise(tmp_path / "tone.wav")
    it = overview_chunks(wav, columns=1024)
    sparse, full = next(it), next(it)
    assert sparse.columns == full.columns == 1024 and sparse.done == full.done == 0
    assert np.array_equal(sparse.mel_db[:, 0::4], full.mel_db[:, 0::4]), "the sampled columns stay"
    assert np.array_equal(sparse.mel_db[:, 1], sparse.mel_db[:, 0]), "neighbours copied at first"
    assert not np.array_equal(full.mel_db[:, 1:1000:4], full.mel_db[:, 0:1000:4]), "then each its own"
    assert (sparse.mel_db[:, 900:] < sparse.mel_db[:, :400].max() - 30).all(), "the noise half is quiet"
    it.close()


def test_a_long_streamed_file_is_drawn_first_from_the_coarse_overview_then_exactly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past ``STREAMED_TRACE_SAMPLES`` a FLAC's first waveform is the overview's coarse snapshot (no whole
    read before the first draw); a WAV is read exactly at once; the complete overview gives the exact one."""
    monkeypatch.setenv("MELLOW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(clip_io, "STREAMED_TRACE_SAMPLES", 100_000)  # a 60 s file counts as long
    wav = _tone_then_noise(tmp_path / "tone.wav", rate=16000)
    flac = tmp_path / "tone.flac"
    sf.write(flac, sf.read(wav, dtype="int16")[0], 16000, subtype="PCM_16")
    first = clip_io.open_clip(flac).overview
    assert not first.exact and not first.raw and (first.t0, first.t1) == (0.0, pytest.approx(60.0))
    assert clip_io.open_clip(wav).overview.exact
    last = list(file_overview(flac))[-1]
    exact = clip_io.overview_trace(last)
    mins, maxs = envelope(flac, last.columns, per_channel=True)
    assert exact.exact and exact.lo.shape == (last.columns,)
    np.testing.assert_array_equal(exact.lo, mins.min(axis=0))
    np.testing.assert_array_equal(exact.hi, maxs.max(axis=0))
    assert clip_io.open_clip(flac).overview.exact, "seen before: drawn exactly from the cached overview"
