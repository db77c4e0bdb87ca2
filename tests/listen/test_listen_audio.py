"""Listening on the real audio path: the packaged birdsong played into PulseAudio's null sink while a listener
records its monitor through PortAudio.  Detections land on the windows that heard it, the kept clip holds it
(cross-correlation) with its pre-roll; the input removed and restored mid-run; the full-size model once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from mellow.audio import resample
from mellow.listen import DeviceSource, FileSource, Listener, ListenSettings, read_rows
from tests.helpers.audio_stack import AudioStackError, PulseStack, play_file, private_pulse, stop_process
from tests.helpers.listening import BIRD, ROOT, YES_NO, events_of, listen_args, session_of, wait_for
from tests.helpers.processes import child_env
from tests.helpers.required import component_missing

pytestmark = pytest.mark.subprocess  # `mellow listen` children on PulseAudio, its daemon killed mid-run


def _zero_window_score(engine) -> float:
    """P(yes) of the question about 10 s of digital silence (what the null sink's monitor gives)."""
    from mellow.generation import GenerationOptions
    from mellow.scan.runner import ScanRunner
    from mellow.scan.types import Window

    runner = ScanRunner(engine, YES_NO, GenerationOptions(max_len=1),
                        read_window=lambda w: torch.zeros(320000))
    return next(runner.run([Window(Path("silence"), 0.0, 10.0)])).score


def _bird_at(wave: np.ndarray, rate: int) -> tuple[float, float]:
    """Where the birdsong starts in ``wave`` (s) and the normalised correlation there."""
    data, bird_rate = sf.read(BIRD, dtype="float32")
    bird = resample(data, bird_rate, rate).numpy()
    spec = np.fft.rfft(wave, len(wave) + len(bird))
    corr = np.fft.irfft(spec * np.conj(np.fft.rfft(bird, len(wave) + len(bird))))[:len(wave) - len(bird)]
    lag = int(np.argmax(corr))
    seg = wave[lag:lag + len(bird)]
    return lag / rate, float(corr[lag] / (np.linalg.norm(seg) * np.linalg.norm(bird) + 1e-12))


def test_a_bird_played_into_the_sink_is_detected_where_it_was_heard(pulse_audio: PulseStack, tiny_model,
                                                                     tokenizer, tmp_path: Path) -> None:
    from mellow.generation import Engine

    engine = Engine(tiny_model, tokenizer, device="cpu")
    silence = _zero_window_score(engine)
    settings = ListenSettings(questions=(YES_NO,), threshold=silence + 2e-5, max_len=1, keep_stream=True)
    source = DeviceSource(pulse_audio.device, refresh=False)
    listener = Listener(engine, source, settings, tmp_path / "station")
    session = listener.start()
    try:
        rate = source.rate
        wait_for(lambda: listener.ring.end >= 10.5 * rate, "10.5 s of input")
        player = play_file(BIRD, sink=pulse_audio.sink)
        wait_for(lambda: listener.status().answered >= 4, "4 windows answered", timeout=180)
        stop_process(player)
    finally:
        listener.stop(timeout=60)
    status = listener.status()
    assert status.state == "finished" and status.error is None and status.skipped == 0
    rows = read_rows(session.dir)[:4]
    (stream_file,) = (session.dir / "stream").glob("*.wav")
    stream, stream_rate = sf.read(stream_file, dtype="float32")
    assert stream_rate == rate
    start, corr = _bird_at(stream, rate)
    assert corr > 0.8 and 10.0 < start < 14.0, (start, corr)
    heard = [bool(np.any(stream[round(r.stream_s * rate):round((r.stream_s + 10) * rate)])) for r in rows]
    assert heard[1] and not heard[0] and not heard[3], heard  # played from 10.5 s on, 8 s long
    assert [r.detection for r in rows] == heard, "a detection exactly where the bird was heard"
    assert all(r.score == silence for r, h in zip(rows, heard, strict=True) if not h), "silence is zeros"
    first = next(r for r in rows if r.detection)
    assert first.clip_offset_s == 5.0, "the clip starts 5 s before the window (pre-roll)"
    clip, clip_rate = sf.read(session.dir / first.clip, dtype="float32")
    in_clip, corr = _bird_at(clip, clip_rate)
    assert corr > 0.8
    assert in_clip == pytest.approx(start - (first.stream_s - 5.0), abs=1e-3), "the played audio, in place"


def _kill_daemon(folder: Path) -> None:
    os.kill(int((folder / "pid").read_text()), signal.SIGKILL)


def test_the_input_removed_and_restored_mid_run(pulse_audio: PulseStack, tiny_ckpt: Path, gguf: Path,
                                                tmp_path: Path) -> None:
    """A throw-away PulseAudio daemon is the input; killed, the listener says so and retries; a new one on
    the same socket, and it resumes in the same session with windows that start after the gap."""
    out, daemon = tmp_path / "station", tmp_path / "pulse"
    env = child_env(tmp_path)
    for key in ("PULSE_SINK", "PULSE_SOURCE"):
        env.pop(key, None)
    args = listen_args(out, tiny_ckpt, gguf, "--input-device", "pulse", "--silence-alert", "3")
    try:
        with private_pulse(daemon) as server:
            env["PULSE_SERVER"] = server
            proc = subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            wait_for(lambda: out.exists() and any(out.glob("*/rows.jsonl"))
                     and next(out.glob("*/rows.jsonl")).read_bytes().count(b"\n") >= 1, "a first row", proc)
            _kill_daemon(daemon)
            session = session_of(out)
            wait_for(lambda: events_of(session, "device-lost"), "device-lost", proc)
        time.sleep(4)  # at least one retry fails while the daemon is away
        with private_pulse(daemon):
            wait_for(lambda: events_of(session, "device-back"), "device-back", proc)
            before = len(read_rows(session))
            wait_for(lambda: len(read_rows(session)) > before, "a row after the gap", proc)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
    except AudioStackError as exc:
        component_missing(f"a private PulseAudio daemon cannot run: {exc}")
    assert proc.returncode == 0, err[-3000:]
    assert "warning: the input" in err and "stopped" in err and "note: the input pulse is back" in err
    assert events_of(session, "silence"), "digital silence from a null sink is reported as a dead microphone"
    rows = read_rows(session)
    gap = next(i for i in range(1, len(rows)) if rows[i].stream_s - rows[i - 1].stream_s != 10.0)
    lost = datetime.fromisoformat(events_of(session, "device-lost")[0]["at"])
    back = datetime.fromisoformat(events_of(session, "device-back")[0]["at"])
    clock = [(datetime.fromisoformat(r.clock_start), datetime.fromisoformat(r.clock_end)) for r in rows]
    assert all(end <= lost for _, end in clock[:gap]), "windows before the gap were heard before it"
    assert back - timedelta(seconds=1) <= clock[gap][0] <= back, "windows start again when the input is back"


@pytest.mark.slow
def test_the_full_size_model_listens_like_it_scans(v0_recipe_model, tokenizer, tmp_path: Path) -> None:
    from mellow.generation import Engine, GenerationOptions
    from mellow.scan.runner import ScanRunner
    from mellow.scan.types import Window

    data, rate = sf.read(BIRD, dtype="float32")
    audio = tmp_path / "bird.wav"
    sf.write(audio, np.concatenate([resample(data, rate).numpy(), np.zeros(64000, np.float32)]), 32000,
             subtype="PCM_16")
    engine = Engine(v0_recipe_model, tokenizer, device="cpu")
    listener = Listener(engine, FileSource(audio, speed=10), ListenSettings(questions=(YES_NO,), max_len=2),
                        tmp_path / "station")
    session = listener.start()
    assert listener.wait(timeout=900)
    (row,) = read_rows(session.dir)
    alone = next(ScanRunner(engine, YES_NO, GenerationOptions(max_len=2)).run([Window(audio, 0.0, 10.0)]))
    assert (row.text, row.scan.tokens, row.score) == (alone.text, alone.tokens, alone.score)
    assert row.scan.model.startswith("v0 sha256:")
