"""Issue 11 items 11 and 15 wired into the session model: clip lengths reach the history row, and reloading
finds the file of an old relative entry in a folder the user works in (never a different file of that name).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from mellow.generation import GenerationOptions
from mellow_desktop.core.clip_io import open_clip
from mellow_desktop.core.history_store import HistoryRecord
from mellow_desktop.core.question import Answer, build_question
from mellow_desktop.core.session import ClipState, clip_ref, history_record, reload_plan


def _write(path: Path, seconds: float, rate: int = 16000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    sf.write(path, 0.1 * rng.standard_normal(int(seconds * rate)), rate, subtype="PCM_16")
    return path


def test_the_history_row_records_each_clips_length(tmp_path: Path) -> None:
    a = ClipState.opened(open_clip(_write(tmp_path / "a.wav", 9.15)))
    b = ClipState.opened(open_clip(_write(tmp_path / "b.wav", 2.5, seed=1)))
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
    clip = _write(work / "resource_1.wav", 1.0)
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
    _write(elsewhere / "other" / "resource_1.wav", 1.0, seed=5)
    assert reload_plan(record, [str(elsewhere / "other")]).missing == ["resource_1.wav"]
    # An absolute stored path is opened as it is.
    absolute = HistoryRecord(prompt="p", answer="a", clip_a=str(clip), clip_b=str(clip))
    assert reload_plan(absolute).open == [("A", clip, 0.0)]
