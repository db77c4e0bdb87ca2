"""The desktop window (offscreen, in-process) against bad audio files, a missing GPU and a GPU out of memory.

One window serves the whole bad-audio matrix: each case is opened into Clip A after a good clip; a broken file
must show a message in the window and leave the previous clip in place, a valid one must load and be measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from tests.helpers.audio_files import write_tone
from tests.helpers.bad_audio import MAGIC, cases
from tests.helpers.paths import A_WAV, B_WAV
from tests.helpers.waits import TIMEOUT_MS, settled


def test_clip_panel_over_the_bad_audio_matrix(qtbot: Any, window: Any, tmp_path: Path) -> None:
    panel = window.panel_a
    folder = tmp_path / "matrix"
    folder.mkdir()
    good = A_WAV
    panel.open_file(good)
    qtbot.waitUntil(settled(panel), timeout=TIMEOUT_MS)
    assert panel.state().path == good and panel.error_text() == ""
    previous = good
    tried: list[str] = []
    for case in cases():
        path = case.make(folder)
        panel.open_file(path)
        qtbot.waitUntil(settled(panel), timeout=TIMEOUT_MS)
        error, state = panel.error_text(), panel.state()
        if case.valid:
            assert error == "", f"{case.name}: {error}"
            assert state.path == path and state.facts is not None, case.name
            assert state.info.duration > 0, case.name
            previous = path
        else:
            assert error, f"{case.name}: no message shown"
            assert "\n" not in error.strip(), f"{case.name}: {error!r}"
            assert path.name in error and case.reason in error.lower(), f"{case.name}: {error!r}"
            assert f"still holds {previous.name}" in error, f"{case.name}: {error!r}"
            assert state.path == previous, f"{case.name}: the previous clip was not kept"
            assert path.name in window.statusBar().currentMessage(), case.name
        tried.append(case.name)
    assert len(tried) == len(cases())
    assert window.panel_b.state() is None  # the other slot untouched


def test_clip_panel_over_fuzzed_files(qtbot: Any, window: Any, tmp_path: Path) -> None:
    """80 seeded random files (some behind real container signatures): each shows a message and keeps the
    previous clip, or (if it happens to decode) loads; the window never breaks."""
    rng = np.random.default_rng(11)
    panel = window.panel_b
    good = B_WAV
    panel.open_file(good)
    qtbot.waitUntil(settled(panel), timeout=TIMEOUT_MS)
    previous, errors = good, 0
    for i in range(80):
        path = tmp_path / f"fuzz{i}{['.wav', '.flac', '.ogg', '.mp3'][i % 4]}"
        path.write_bytes(MAGIC[i % len(MAGIC)] + rng.bytes(int(rng.integers(0, 3000))))
        panel.open_file(path)
        qtbot.waitUntil(settled(panel), timeout=TIMEOUT_MS)
        if panel.error_text():
            errors += 1
            assert path.name in panel.error_text() and panel.state().path == previous
        else:
            assert panel.state().path == path
            previous = path
    assert errors > 0
    print(f"\nclip panel fuzz: 80 files, {errors} refused with a message, {80 - errors} loaded")


# ----------------------------------------------------------------------------------------------- devices
def _tiny_engine(tiny_model: Any, tokenizer: Any, device: str) -> Any:
    from mellow.generation import Engine

    return Engine(tiny_model, tokenizer, device=device)


def _long_tone(path: Path) -> Path:
    return write_tone(path, 12.0, 16000, freq=700.0, amplitude=0.4)


def _load_clips(qtbot: Any, window: Any, a: Path, b: Path) -> None:
    window.panel_a.open_file(a)
    window.panel_b.open_file(b)
    for p in (window.panel_a, window.panel_b):
        qtbot.waitUntil(settled(p), timeout=TIMEOUT_MS)


def _ask(qtbot: Any, window: Any, prompt: str) -> Any:
    """Send ``prompt`` from the prompt box; the history record of its answer once the window stored it."""
    before = len(window.store)
    window.prompt.set_text(prompt)
    window.prompt.send()
    assert window.host.busy()
    qtbot.waitUntil(lambda: not window.host.busy() and len(window.store) == before + 1, timeout=TIMEOUT_MS)
    return window.store.all()[-1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_falls_back_to_the_cpu_with_a_message(
        qtbot: Any, window: Any, tiny_model: Any, tokenizer: Any, tmp_path: Path) -> None:
    window.model.load_custom(lambda progress: _tiny_engine(tiny_model, tokenizer, "cuda"), model_id="tiny")
    qtbot.waitUntil(window.model.is_ready, timeout=TIMEOUT_MS)
    label = window.model_label.text()
    assert "CPU" in label and "CUDA is not available" in label, label
    _load_clips(qtbot, window, _long_tone(tmp_path / "tone.wav"), B_WAV)
    answer = _ask(qtbot, window, "caption the audio.")
    assert answer.status == "finished"


def test_out_of_memory_during_an_answer_falls_back_to_the_cpu_with_a_message(
        qtbot: Any, window: Any, tiny_model: Any, tokenizer: Any, tmp_path: Path) -> None:
    """The fault CUDA would raise, injected at the 4th decoding step of an engine that believes it is on
    "cuda" (this machine has no GPU; its weights stay on the CPU): the app's answer equals the plain CPU
    answer and the window says what happened."""
    from dataclasses import replace

    from mellow.audio import Clip
    from mellow.generation import GenerationOptions

    tone = _long_tone(tmp_path / "tone.wav")
    engine = _tiny_engine(tiny_model, tokenizer, "cpu")
    max_len = 12
    want = engine.answer(Clip(tone), Clip(B_WAV), "caption the audio.",
                         GenerationOptions(max_len=max_len))
    engine.clear_caches()
    steps = {"n": 0}

    def fault(stage: str) -> None:
        if stage == "step" and engine.device.type == "cuda":
            steps["n"] += 1
            if steps["n"] == 4:
                raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 64.00 MiB")

    engine.fault_hook = fault
    engine._device = torch.device("cuda")  # noqa: SLF001 - see the docstring
    window.model.load_custom(lambda progress: engine, model_id="tiny")
    qtbot.waitUntil(window.model.is_ready, timeout=TIMEOUT_MS)
    _load_clips(qtbot, window, tone, B_WAV)
    window.generation = replace(window.generation, max_len=max_len)
    answer = _ask(qtbot, window, "caption the audio.")
    assert steps["n"] == 4, "the fault was injected"
    assert answer.status == "finished" and answer.answer == want
    assert engine.device.type == "cpu" and "out of memory" in (engine.device_note or "")
    shown = " ".join([window.model_label.text(), window.statusBar().currentMessage(), *window.chat.notices()])
    assert "out of memory" in shown.lower(), f"the window does not say the GPU ran out of memory: {shown!r}"
