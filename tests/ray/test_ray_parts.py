"""The pieces of the Ray scan that need a cluster but no model: rows, pool shape, shipped model files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mellow.errors import CheckpointError, MellowError
from mellow.scan.types import Window

HOSTILE = ["plain.wav", "with space.wav", "tab\there.wav", "new\nline.wav", 'quo"te\'s.wav',
           "Zürich été 鳥.flac", os.fsdecode(b"latin1-\xe9t\xe9.wav")]  # the last: not UTF-8


@pytest.mark.subprocess
@pytest.mark.parametrize("name", HOSTILE)
def test_windows_travel_unchanged(ray_cluster, tmp_path: Path, name: str) -> None:
    """A window goes through Ray Data and back equal to itself, whatever its file names."""
    from mellow.scan.ray_actor import batch_rows, window_from_json, window_json

    windows = [Window(tmp_path / name, 12.5, 22.5, "abc123"),
               Window(tmp_path / name, 0.1, 10.1, "h", slot2_file=tmp_path / ("b " + name),
                      slot2_start_s=3.25, slot2_hash="h2")]
    assert [window_from_json(window_json(w)) for w in windows] == windows
    rows = ray_cluster.data.from_items(batch_rows([(w, ("q",)) for w in windows], 1)).take_all()
    assert [window_from_json(r["windows"][0]) for r in sorted(rows, key=lambda r: r["first"])] == windows


def test_rows_are_cut_like_the_local_batches() -> None:
    """One row per batch of exactly the batch size, the rest last: the local runner's batches; with
    several questions, whole windows of at most that many (window, question) rows."""
    import json

    from mellow.scan.ray_actor import batch_rows, window_from_json

    windows = [Window(Path("/r.wav"), float(s), s + 10.0) for s in range(0, 110, 10)]
    rows = batch_rows([(w, ("q",)) for w in windows], 4)
    assert [r["first"] for r in rows] == [0, 4, 8]
    assert [[window_from_json(t).start_s for t in r["windows"]] for r in rows] == [
        [0, 10, 20, 30], [40, 50, 60, 70], [80, 90, 100]]
    asks = [(w, ("a", "b") if i != 2 else ("b",)) for i, w in enumerate(windows[:5])]
    rows = batch_rows(asks, 3)
    assert [r["first"] for r in rows] == [0, 1, 3, 4]
    assert [[json.loads(a) for a in r["asks"]] for r in rows] == [[["a", "b"]], [["a", "b"], ["b"]],
                                                                  [["a", "b"]], [["a", "b"]]]


@pytest.mark.subprocess
def test_pool_shape_on_two_cpus(ray_cluster) -> None:
    """CPU-only: one actor with all CPUs by default, or N actors sharing them; too many is a clear error."""
    from mellow.scan.ray_pipeline import pool_shape

    default, two = pool_shape(), pool_shape(actors=2)
    assert (default.actors, default.num_cpus, default.num_gpus) == (1, 2, 0)
    assert (two.actors, two.num_cpus, two.num_gpus) == (2, 1, 0)
    with pytest.raises(MellowError, match="need more CPUs"):
        pool_shape(actors=3)
    with pytest.raises(MellowError, match="need more CPUs"):
        pool_shape(actors=1, threads=4)


@pytest.mark.subprocess
def test_shipped_file_is_written_once_per_node(ray_cluster, tmp_path: Path) -> None:
    """A file shipped through the object store comes back byte for byte, under its own name, and a second
    actor on the same node reuses the copy; a corrupt copy is refused."""
    from dataclasses import replace

    from mellow.scan.ray_actor import local_model_file, materialize, ship_file

    source = tmp_path / "model.ckpt"
    source.write_bytes(os.urandom(100_000))
    shipped = ship_file(source)
    cache = tmp_path / "cache"
    copy = materialize(shipped, cache)
    assert copy.name == "model.ckpt" and copy.read_bytes() == source.read_bytes()
    mtime = copy.stat().st_mtime_ns
    assert materialize(shipped, cache) == copy and copy.stat().st_mtime_ns == mtime
    with pytest.raises(CheckpointError, match="corrupt"):
        materialize(replace(shipped, sha256="0" * 64), cache)
    assert local_model_file(str(source), None) == source  # the node has it: used in place
    with pytest.raises(CheckpointError, match="does not exist on node"):
        local_model_file(str(tmp_path / "elsewhere.ckpt"), None)
