"""The silent-input notice on real recordings from the test session's own PulseAudio null sink (PortAudio)."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from mellow_desktop.core.audio_io.recorder import Recorder
from mellow_desktop.core.audio_io.silence import (
    SILENT_PEAK_DBFS,
    SilenceWatch,
    input_device_name,
    is_silent,
    recording_silence_notice,
    silent_input_notice,
)
from mellow_desktop.core.measurements import format_db, measure_file
from tests.helpers.audio_files import write_tone
from tests.helpers.audio_stack import PulseStack, play_file, stop_process

pytestmark = pytest.mark.timeout(120)


def record(
    stack: PulseStack, folder: Path, seconds: float, tone_dbfs: float | None
) -> tuple[Path, list[str | None]]:
    """Record ``seconds`` from the session sink's monitor while a 1 kHz tone at ``tone_dbfs`` plays (or
    nothing: the monitor of an idle null sink is digital silence); the watch's answer at every poll."""
    player = None
    if tone_dbfs is not None:
        tone = write_tone(folder / "tone.wav", seconds + 6.0, 44100, freq=1000.0,
                          amplitude=10 ** (tone_dbfs / 20.0))
        player = play_file(tone, sink=stack.sink)
        time.sleep(0.5)  # let the stream reach the sink before recording starts
    recorder = Recorder(folder / "recordings", device=stack.device)
    watch = SilenceWatch(input_device_name(stack.device))
    answers: list[str | None] = []
    try:
        path = recorder.start()
        status = recorder.poll()
        while status.elapsed_s < seconds:
            assert status.error is None, status.error
            answers.append(watch.update(status.level, status.elapsed_s))
            time.sleep(0.03)
            status = recorder.poll()
        recorder.stop()
    finally:
        recorder.close()
        if player is not None:
            stop_process(player)
    return path, answers


@pytest.mark.audio
def test_a_recording_of_digital_silence_says_the_input_was_silent(
    pulse_audio: PulseStack, tmp_path: Path
) -> None:
    path, answers = record(pulse_audio, tmp_path, 3.0, tone_dbfs=None)
    name = input_device_name(pulse_audio.device)
    assert name == "pulse"
    notice = recording_silence_notice(path, name)
    assert notice is not None and notice.startswith("The input was silent")
    assert "“pulse”" in notice and "-inf dBFS" in notice and "\n" not in notice
    early = answers[:5]
    assert early == [None] * len(early), "spoke before the recording had run for a while"
    assert answers[-1] == notice, "the live watch and the finished file disagree"


@pytest.mark.audio
@pytest.mark.parametrize(("tone_dbfs", "silent"), [(-6.0, False), (-45.0, False), (-72.0, True)])
def test_the_notice_follows_the_peak_of_a_real_tone(
    pulse_audio: PulseStack, tmp_path: Path, tone_dbfs: float, silent: bool
) -> None:
    """A tone far below -60 dBFS (a muted-but-not-zero input) still counts as silent; audible ones do not."""
    path, answers = record(pulse_audio, tmp_path, 2.5, tone_dbfs=tone_dbfs)
    peak = measure_file(path).peak_dbfs
    assert peak == pytest.approx(tone_dbfs, abs=3.0), "the tone did not reach the recording"
    notice = recording_silence_notice(path, "pulse")
    assert (notice is not None) is silent, notice
    assert (answers[-1] is not None) is silent, answers[-1]
    if notice is not None:
        assert format_db(peak) in notice  # the measured peak is quoted


def test_threshold_and_message() -> None:
    assert is_silent(-math.inf) and is_silent(SILENT_PEAK_DBFS - 0.1)
    assert not is_silent(SILENT_PEAK_DBFS) and not is_silent(-12.0) and not is_silent(math.nan)
    assert silent_input_notice(-20.0, "USB mic") is None
    text = silent_input_notice(-75.04, "USB mic")
    assert text is not None and "“USB mic”" in text and "-75.0 dBFS" in text and "below -60 dBFS" in text
    watch = SilenceWatch("USB mic")
    assert watch.update(0.0, 0.5) is None and watch.peak_dbfs == -math.inf
    assert watch.update(0.0, 2.5) is not None
    assert watch.update(0.2, 2.6) is None  # one loud block is enough: the input works
    assert watch.update(0.0, 9.0) is None and watch.peak_dbfs == pytest.approx(-13.98, abs=0.01)


def test_an_unknown_device_is_still_named() -> None:
    assert input_device_name("no such microphone 42") == "no such microphone 42"
