"""The Qt-free session model, settings and view analysis of mellow_desktop.core, on real files: clips to
history rows (with their lengths) and back, an old relative entry found in a folder the user works in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.audio import audio_info
from mellow.generation import GenerationOptions
from mellow_desktop.core.clip_analysis import trace
from mellow_desktop.core.clip_io import open_clip
from mellow_desktop.core.envelope import envelope, envelope_array, envelope_frames, stored_wav_samples
from mellow_desktop.core.history_store import HistoryRecord
from mellow_desktop.core.question import Answer, build_question
from mellow_desktop.core.session import ClipState, clip_ref, describe_file, history_record, reload_plan
from mellow_desktop.core.settings import AppSettings, describe_options
from tests.helpers.audio_files import write_noise


def _stereo(frames: int, seed: int = 4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.integers(-30000, 30000, size=(frames, 2))).astype(np.int16)


def test_a_wav_and_a_flac_of_the_same_audio_draw_the_same_waveform(tmp_path: Path) -> None:
    """The stored-samples WAV path and the streamed FLAC path share one envelope algorithm and binning."""
    data = _stereo(44_101)  # not a multiple of the bins: the last bins are uneven
    wav, flac = tmp_path / "a.wav", tmp_path / "a.flac"
    sf.write(wav, data, 22050, subtype="PCM_16")
    sf.write(flac, data, 22050, subtype="PCM_16")
    for start, stop, bins in ((0, None, 4000), (1234, 40_000, 777)):
        tw, tf = trace(audio_info(wav), start, stop, bins), trace(audio_info(flac), start, stop, bins)
        assert not tw.raw and not tf.raw
        assert (tw.t0, tw.t1) == (tf.t0, tf.t1)
        np.testing.assert_array_equal(tw.lo, tf.lo)
        np.testing.assert_array_equal(tw.hi, tf.hi)


def test_envelope_of_frames_equals_the_in_memory_and_streamed_envelopes(tmp_path: Path) -> None:
    data = _stereo(10_007, seed=9)
    path = tmp_path / "x.wav"
    sf.write(path, data, 8000, subtype="PCM_16")
    by_frames = envelope_frames(data, 100, scale=32768.0, per_channel=True, block=999)
    in_memory = envelope_array(data, 100, per_channel=True)
    streamed = envelope(path, 100, per_channel=True, block=555)
    for a, b, c in zip(by_frames, in_memory, streamed, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
        np.testing.assert_array_equal(a, c)
    mono = envelope_frames(data, 50, scale=32768.0)
    np.testing.assert_array_equal(mono[0], envelope(path, 50)[0])


def test_every_channel_at_once_is_the_union_of_the_channels_for_stored_integers_and_floats() -> None:
    """``all_channels`` (reduced unconverted for integers) equals the per-channel envelope's union."""
    ints = _stereo(30_011, seed=2)
    for data, scale in ((ints, 32768.0), (ints.astype(np.int32) << 16, 2147483648.0),
                        (ints.astype(np.float32) / 32768.0, 1.0)):
        span = {"scale": scale, "start": 13, "stop": 29_000, "block": 1000}
        lo, hi = envelope_frames(data, 97, all_channels=True, **span)
        mins, maxs = envelope_frames(data, 97, per_channel=True, **span)
        assert lo.shape == hi.shape == (97,) and lo.dtype == np.float32
        np.testing.assert_array_equal(lo, mins.min(axis=0))
        np.testing.assert_array_equal(hi, maxs.max(axis=0))
        assert -1.0 <= lo.min() < -0.8 and 0.8 < hi.max() <= 1.0
    floats = ints.astype(np.float32) / 32768.0
    floats[500, 1], floats[900, 0] = np.nan, np.inf  # non-finite samples count as 0
    lo, hi = envelope_frames(floats, 30, all_channels=True)
    assert np.isfinite(lo).all() and np.isfinite(hi).all() and hi.max() < 1.0


def test_only_plain_wav_samples_are_read_as_stored_and_a_cut_wav_gives_its_frames(tmp_path: Path) -> None:
    data = _stereo(8000)
    wav, flac, cut = tmp_path / "a.wav", tmp_path / "a.flac", tmp_path / "cut.wav"
    sf.write(wav, data, 8000, subtype="PCM_16")
    sf.write(flac, data, 8000, subtype="PCM_16")
    stored, scale = stored_wav_samples(audio_info(wav))
    assert scale == 32768.0 and stored.shape == (8000, 2) and stored.dtype == np.int16
    np.testing.assert_array_equal(stored[:], data)
    np.testing.assert_array_equal(stored[1234:5678], data[1234:5678])
    assert stored_wav_samples(audio_info(flac)) is None
    cut.write_bytes(wav.read_bytes()[:-4000])  # the header still says 8000 frames
    short, _ = stored_wav_samples(audio_info(cut))
    assert short.shape == (7000, 2)
    np.testing.assert_array_equal(short[:], data[:7000])


def test_settings_round_trip_and_malformed_values_fall_back() -> None:
    chosen = AppSettings(GenerationOptions(max_len=77, sample=True, temperature=0.7, top_p=0.9, seed=5),
                         device="cpu", input_device="mic 2", output_device="")
    values = chosen.to_values()
    assert values["generation/seed"] == 5 and values["audio/input_device"] == "mic 2"
    assert AppSettings.from_mapping(values) == chosen
    # QSettings hands back strings (INI files): they read the same.
    assert AppSettings.from_mapping({k: str(v) for k, v in values.items()}) == chosen
    broken = AppSettings.from_mapping({"generation/max_len": "lots", "generation/device": "quantum"})
    assert broken.generation == GenerationOptions() and broken.device == "auto"
    out_of_range = AppSettings.from_mapping({"generation/sample": "true", "generation/top_p": "5"})
    assert out_of_range.generation == GenerationOptions()  # refused by GenerationOptions itself
    assert AppSettings.from_mapping({"generation/max_len": "99999"}).generation.max_len == 1024
    assert describe_options(chosen.generation) == "sampling T=0.7 top-p 0.9 seed 5, max 77 tokens"
    assert describe_options(GenerationOptions()) == "as published (greedy), max 300 tokens"


def test_a_question_about_one_clip_becomes_a_history_row(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    sf.write(path, _stereo(8000), 16000, subtype="PCM_16")  # 0.5 s stereo
    state = ClipState.opened(open_clip(path))
    assert describe_file(state.info) == "0.50 s · 16\u2009000 Hz · stereo · WAV 16-bit"
    assert state.heard_text() == ("Model hears: whole 0.50 s, repeated to 10 s (stereo mixed to mono; "
                                  "resampled 16 → 32 kHz)")
    ref = clip_ref(state)
    assert ref is not None and ref.start_s == 0.0 and ref.content_hash is None
    options = GenerationOptions(max_len=12)
    q = build_question("  caption the audio. ", ref, None, options, "cpu")
    assert q.single_clip and q.clip_a == q.clip_b == ref and q.options is options
    record = history_record(Answer(question=q, text="a hum", status="failed", error="boom"))
    assert record.prompt == "caption the audio." and record.clip_a == record.clip_b == str(path)
    assert record.settings == {"max_len": 12, "sample": False, "temperature": 1.0, "top_p": 0.8, "seed": None,
                               "device": "cpu", "single_clip": True, "error": "boom"}


def test_reloading_a_history_entry_opens_what_is_still_there(tmp_path: Path) -> None:
    here = tmp_path / "here.wav"
    sf.write(here, _stereo(800), 8000, subtype="PCM_16")
    gone = tmp_path / "gone.flac"
    pair = reload_plan(HistoryRecord(prompt="p", answer="a", clip_a=str(here), clip_b=str(gone),
                                     start_a=2.0, start_b=3.0))
    assert pair.open == [("A", here, 2.0)] and pair.missing == ["gone.flac"] and not pair.single
    single = reload_plan(HistoryRecord(prompt="p", answer="a", clip_a=str(here), clip_b=str(here),
                                       settings={"single_clip": True}))
    assert single.open == [("A", here, 0.0)] and single.missing == [] and single.single


def test_the_history_row_records_each_clips_length(tmp_path: Path) -> None:
    a = ClipState.opened(open_clip(write_noise(tmp_path / "a.wav", 9.15)))
    b = ClipState.opened(open_clip(write_noise(tmp_path / "b.wav", 2.5, seed=1)))
    q = build_question("which is louder?", clip_ref(a), clip_ref(b), GenerationOptions(max_len=5))
    record = history_record(Answer(question=q, text="a", status="finished"))
    assert record.duration_a == pytest.approx(9.15) and record.duration_b == pytest.approx(2.5)
    single = build_question("caption the audio", clip_ref(a), None, GenerationOptions())
    row = history_record(Answer(question=single, text="x", status="finished"))
    assert row.duration_a == row.duration_b == pytest.approx(9.15)


def test_reload_finds_an_old_relative_entry_in_the_given_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    clip = write_noise(work / "resource_1.wav", 1.0)
    from mellow.audio import clip_content_hash

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # started from another folder
    record = HistoryRecord(prompt="p", answer="a", clip_a="resource_1.wav", clip_b="resource_1.wav",
                           hash_a=clip_content_hash(clip), hash_b=clip_content_hash(clip),
                           settings={"single_clip": True}, start_a=0.0)
    assert reload_plan(record).missing == ["resource_1.wav"]  # not in the working folder
    plan = reload_plan(record, [str(work)])
    assert plan.open == [("A", clip.resolve(), 0.0)] and plan.missing == [] and plan.single
    # A different file of the same name in another folder is not taken for it.
    (elsewhere / "other").mkdir()
    write_noise(elsewhere / "other" / "resource_1.wav", 1.0, seed=5)
    assert reload_plan(record, [str(elsewhere / "other")]).missing == ["resource_1.wav"]
    # An absolute stored path is opened as it is.
    absolute = HistoryRecord(prompt="p", answer="a", clip_a=str(clip), clip_b=str(clip))
    assert reload_plan(absolute).open == [("A", clip, 0.0)]
