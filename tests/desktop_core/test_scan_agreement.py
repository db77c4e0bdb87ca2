"""A scan started in the window and one run with ``mellow scan`` are the same scan: one function builds the
resume keys, so each finishes the other without asking a window again (float32 and bfloat16; JSON lines and
CSV), and the answers agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from mellow.cli.main import main
from mellow.generation import Engine
from mellow.scan.writers import jsonl, table
from mellow.wrapper import open_engine
from mellow_desktop.core.history_store import HistoryStore
from mellow_desktop.core.scan_controller import ScanController
from mellow_desktop.core.scan_export import export_scan
from mellow_desktop.core.scan_record import ScanRecord
from tests.helpers.audio_files import write_recording as recording
from tests.helpers.scans import YES_NO


@pytest.fixture(scope="module")
def engine(tiny_ckpt: Path, gguf: Path) -> Engine:
    """The tiny model loaded from its checkpoint file, as ``mellow scan`` loads it (same model id)."""
    return open_engine("tiny", tiny_ckpt, gguf, "cpu")


def _mellow_scan(audio: Path, out: Path, ckpt: Path, gguf: Path, *extra: str) -> int:
    return main(["scan", str(audio), "--prompt", YES_NO, "--out", str(out), "--model", str(ckpt),
                 "--tokenizer", str(gguf), "--config", "tiny", "--device", "cpu", "--max-len", "2", *extra])


def _window_scan(engine: Engine, record: ScanRecord, db: Path, reuse: Path | None = None) -> ScanController:
    controller = ScanController.start(engine, record, db, batch_size=3, reuse=reuse)
    list(controller.run())
    controller.close()
    return controller


@pytest.mark.parametrize(("dtype", "suffix"), [("float32", ".jsonl"), ("bfloat16", ".csv")])
def test_a_window_scan_exported_is_resumed_by_mellow_scan_with_nothing_asked_again(
        dtype: str, suffix: str, engine: Engine, tiny_ckpt: Path, gguf: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    audio = recording(tmp_path / "dawn chorus.wav", 45.0)
    db = tmp_path / "history.sqlite3"
    record = ScanRecord(file=str(audio), prompt=YES_NO, max_len=2, dtype=dtype)
    scan_id = _window_scan(engine, record, db).scan_id
    with HistoryStore.open(db) as store:
        loaded = store.scans.load(scan_id)
    assert loaded is not None and loaded.record.dtype == dtype and len(loaded.results) == 5
    assert loaded.record.model_id.endswith(" bfloat16") == (dtype == "bfloat16")
    out = export_scan(loaded, tmp_path / f"dawn{suffix}")
    exported = out.read_bytes()
    assert _mellow_scan(audio, out, tiny_ckpt, gguf, "--dtype", dtype) == 0
    assert f"all 5 windows already in {out}" in capsys.readouterr().err
    assert out.read_bytes() == exported


def test_a_partial_mellow_scan_is_finished_in_the_window_asking_only_the_missing_windows(
        engine: Engine, tiny_ckpt: Path, gguf: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    audio = recording(tmp_path / "pond.wav", 65.0)
    part = tmp_path / "first half.jsonl"
    assert _mellow_scan(audio, part, tiny_ckpt, gguf, "--to", "30") == 0  # windows 0, 10, 20
    db = tmp_path / "history.sqlite3"
    record = ScanRecord(file=str(audio), prompt=YES_NO, max_len=2)
    controller = _window_scan(engine, record, db, reuse=part)
    assert controller.driver is not None and controller.driver.answered == 4  # 30, 40, 50, 55 only
    with HistoryStore.open(db) as store:
        loaded = store.scans.load(controller.scan_id)
    assert loaded is not None and loaded.indices == tuple(range(7)) and loaded.record.status == "finished"
    whole = export_scan(loaded, tmp_path / "whole.csv")

    alone = tmp_path / "alone.jsonl"  # the same scan run by mellow scan alone
    capsys.readouterr()
    assert _mellow_scan(audio, alone, tiny_ckpt, gguf) == 0
    mine, theirs = table.read(whole), jsonl.read(alone)
    assert [(r.key, r.start_s, r.text, r.tokens) for r in mine] == [(r.key, r.start_s, r.text, r.tokens)
                                                                     for r in theirs]
    assert [r.score for r in mine] == pytest.approx([r.score for r in theirs], abs=1e-5)
    assert _mellow_scan(audio, whole, tiny_ckpt, gguf) == 0
    assert f"all 7 windows already in {whole}" in capsys.readouterr().err
