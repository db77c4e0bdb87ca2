"""Bad model files loaded by the app: a clear one-line reason in the window, clips keep working, and a good
model loads afterwards in the same window.  The hostile pickle's payload never runs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tests.helpers.paths import A_WAV, B_WAV
from tests.helpers.waits import TIMEOUT_MS, settled


class _Payload:
    """Unpickling this calls ``open(marker, "w")``: the file appears if a loader ever runs pickled code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.marker), "w")


def _bad_files(folder: Path, tiny_ckpt: Path, gguf: Path) -> list[tuple[str, Path, Path, str]]:
    """(name, checkpoint, tokenizer, words the message must contain)."""
    import gguf as gguf_lib

    hostile = folder / "hostile.ckpt"
    torch.save({"state_dict": _Payload(folder / "PWNED")}, hostile)
    truncated = folder / "truncated.ckpt"
    raw = tiny_ckpt.read_bytes()
    truncated.write_bytes(raw[: len(raw) // 2])
    other = folder / "other.ckpt"
    torch.save(torch.nn.Linear(4, 3).state_dict(), other)
    weights_gguf = folder / "weights.gguf"
    writer = gguf_lib.GGUFWriter(str(weights_gguf), "llama")
    writer.add_block_count(1)
    writer.add_tensor("x", np.zeros(4, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tok_dir = folder / "tokenizer"
    tok_dir.mkdir()
    (tok_dir / "tokenizer_config.json").write_text("{}")
    return [
        ("hostile pickle", hostile, gguf, "refusing to load"),
        ("truncated checkpoint", truncated, gguf, "truncated"),
        ("other architecture", other, gguf, "another model"),
        ("GGUF without a tokenizer", tiny_ckpt, weights_gguf, "no tokenizer"),
        ("tokenizer folder missing files", tiny_ckpt, tok_dir, "tokenizer.json"),
    ]


def _factory(ckpt: Path, tok: Path) -> Callable[[Callable[[str], None]], Any]:
    def build(progress: Callable[[str], None]) -> Any:
        from mellow.generation import Engine

        return Engine.load(config="tiny", model=str(ckpt), tokenizer=str(tok), device="cpu")

    return build


def test_bad_model_files_are_reported_and_the_app_stays_usable(qtbot: Any, window: Any,
                                                               tiny_ckpt: Path, gguf: Path,
                                                               tmp_path: Path) -> None:
    w = window
    w.panel_a.open_file(A_WAV)
    qtbot.waitUntil(settled(w.panel_a), timeout=TIMEOUT_MS)
    for name, ckpt, tok, words in _bad_files(tmp_path, tiny_ckpt, gguf):
        w.model.load_custom(_factory(ckpt, tok), model_id=name)
        qtbot.waitUntil(lambda: w.model.state == "failed", timeout=TIMEOUT_MS)
        label = w.model_label.text()
        assert words in label and "\n" not in label, f"{name}: {label!r}"
        assert not (tmp_path / "PWNED").exists(), "the hostile pickle ran code"
        # Clips still open and asking explains why there is no answer.
        w.panel_b.open_file(B_WAV)
        qtbot.waitUntil(settled(w.panel_b), timeout=TIMEOUT_MS)
        assert w.panel_b.state() is not None and w.panel_b.error_text() == ""
        w.panel_b.clear()
        w.prompt.set_text("caption the audio.")
        w.prompt.send()
        assert not w.host.busy() and "could not be loaded" in w.chat.notices()[-1], name
    w.model.load_custom(_factory(tiny_ckpt, gguf), model_id="tiny")
    qtbot.waitUntil(w.model.is_ready, timeout=TIMEOUT_MS)
    w.prompt.set_text("caption the audio.")
    w.prompt.send()
    assert w.host.busy()
    qtbot.waitUntil(lambda: not w.host.busy() and len(w.store) == 1, timeout=TIMEOUT_MS)
    assert w.store.all()[0].status == "finished"
