"""One real local Ray cluster per test session (2 CPUs, no dashboard, a modest object store), shut down when
the Ray tests are done, and the recordings and reference scan the Ray tests share.

Locally a machine that cannot start Ray skips these tests; in CI (``CI=true``) that is a failure.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.audio_files import write_recording
from tests.helpers.required import component_missing
from tests.helpers.scans import SCAN_BATCH, SCAN_OPTIONS, YES_NO, ScanReference

OBJECT_STORE_BYTES = 500 * 1024**2
RAY_CPUS = 2


def _unavailable(message: str) -> None:
    component_missing(message)


@pytest.fixture(scope="package")  # every Ray test is in this package: started once, stopped after them
def ray_cluster() -> Iterator[object]:
    """The ``ray`` module, initialised on a fresh local cluster; shut down after the last Ray test.
    ``ray_cluster.startup_s`` is how long ``ray.init`` took."""
    try:
        import ray
    except ImportError as exc:  # `make test` installs the cluster extra
        _unavailable(f"ray is not installed (pip install -e '.[cluster]'): {exc}")
    t0 = time.perf_counter()
    try:
        ray.init(num_cpus=RAY_CPUS, include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES,
                 logging_level=logging.WARNING)
    except Exception as exc:  # any failure to start is the environment's, reported the same way
        _unavailable(f"cannot start a local Ray cluster: {type(exc).__name__}: {exc}")
    ray.startup_s = time.perf_counter() - t0
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def long_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 3-minute, 48 kHz stereo float WAV (the resampling path), 18 windows at hop 10."""
    return write_recording(tmp_path_factory.mktemp("long") / "field recording.wav", 180.0, 48000, 2, seed=1,
                           subtype="FLOAT")


@pytest.fixture(scope="session")
def recording_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of several recordings: 44.1 kHz stereo, 32 kHz mono FLAC, a clip shorter than 10 s, a name
    with a tab, quotes and non-ASCII letters, and one file that is not audio."""
    folder = tmp_path_factory.mktemp("folder")
    write_recording(folder / "a site.wav", 25.0, 44100, 2, seed=2, subtype="FLOAT")
    write_recording(folder / "b.flac", 21.0, 32000, 1, seed=3)
    write_recording(folder / "c short.wav", 6.5, 16000, 1, seed=4, subtype="FLOAT")
    write_recording(folder / 'd\t"Zürich" été.wav', 12.0, 22050, 1, seed=5, subtype="FLOAT")
    (folder / "e broken.wav").write_bytes(b"RIFF....WAVEfmt this is not audio")
    return folder


@pytest.fixture(scope="session")
def scan_plan(long_recording: Path, recording_folder: Path, tmp_path_factory: pytest.TempPathFactory):
    """The plan of the 3-minute recording and the folder, with one planned file gone before it is read
    (as on a node where the path is not mounted): its windows come back as errors."""
    from mellow.scan.plan import plan_scan

    gone = tmp_path_factory.mktemp("gone") / "moved away.flac"
    shutil.copy(recording_folder / "b.flac", gone)
    plan = plan_scan([long_recording, recording_folder, gone])
    gone.unlink()
    return plan


@pytest.fixture(scope="session")
def reference(scan_plan, tiny_ckpt: Path, gguf: Path) -> ScanReference:
    """The plan answered in-process by ScanRunner (tiny config, CPU, batches of SCAN_BATCH, this process's two
    threads)."""
    from mellow.generation import Engine
    from mellow.scan.runner import ScanRunner

    engine = Engine.load("tiny", tiny_ckpt, gguf, device="cpu")
    runner = ScanRunner(engine, YES_NO, SCAN_OPTIONS, batch_size=SCAN_BATCH)
    windows = scan_plan.windows
    keys = [runner.key_of(w) for w in windows]
    return ScanReference(windows, list(runner.run(windows)), runner.model_id, keys)
