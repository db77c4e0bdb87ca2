"""The scan on a real local Ray cluster gives the rows of the in-process scan: same windows, texts, tokens,
scores and errors, in the same order, each window exactly once, also when a worker process is killed
mid-scan and when a worker has no model files (the driver ships them through the object store).

With the same batches and the same number of CPU threads per process the rows are identical to the bit.
Actors with fewer threads than the in-process run round the CPU's matrix products differently: scores then
differ in the last float32 digits (as between batch sizes, see tests/mellow/test_scan_runner.py) and
everything else is identical.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np
import pytest

from mellow.generation import GenerationOptions
from mellow.scan.driver import ScanDriver
from mellow.scan.types import WindowResult
from tests.helpers.engines import save_published_checkpoint
from tests.helpers.scans import SCAN_BATCH, SCAN_OPTIONS, YES_NO, ScanReference

pytestmark = pytest.mark.subprocess  # a local Ray cluster: its processes, and worker processes killed


def _ray_runner(tiny_ckpt: Path, gguf: Path, **kwargs):
    from mellow.scan.ray_pipeline import RayScanRunner, model_spec

    return RayScanRunner(model_spec("tiny", tiny_ckpt, gguf, device="cpu"), YES_NO, SCAN_OPTIONS, **kwargs)


def assert_same_but_rounding(got: list[WindowResult], want: list[WindowResult]) -> None:
    """Same windows, texts, tokens, choices and errors in the same order; scores within float32 rounding."""
    def rest(r: WindowResult) -> tuple:
        return r.window, r.text, r.tokens, r.choices, r.error, r.score is None

    assert [rest(r) for r in got] == [rest(r) for r in want]
    scored = [(a.score, b.score) for a, b in zip(got, want, strict=True) if a.score is not None]
    np.testing.assert_allclose([a for a, _ in scored], [b for _, b in scored], rtol=0, atol=2e-6)


def test_plan_covers_the_cases(scan_plan, reference: ScanReference) -> None:
    """The scan holds what the identity tests claim: many windows of the long file, several files, an
    unreadable file (refused when planned) and a planned file gone before reading (errors), and scores."""
    files = {w.file.name for w in reference.windows}
    assert sum(w.file.name == "field recording.wav" for w in reference.windows) == 18
    assert len(files) >= 5
    assert [p.file.name for p in scan_plan.problems] == ["e broken.wav"]
    errors = [r for r in reference.results if r.error is not None]
    assert errors and all(r.window.file.name == "moved away.flac" for r in errors)
    assert all(r.score is not None and 0 <= r.score <= 1 for r in reference.results if r.error is None)


def test_ray_scan_equals_in_process_scan(ray_cluster, reference: ScanReference, tiny_ckpt: Path,
                                         gguf: Path) -> None:
    """One actor with the in-process run's two threads, the same batches: results identical to the
    bit, in window order, with the same model id and scoring."""
    runner = _ray_runner(tiny_ckpt, gguf, batch_size=SCAN_BATCH, actors=1)
    driver = ScanDriver(runner, list(enumerate(reference.windows)))
    batches = list(driver.batches())
    results = [r for _, r in sorted(pair for b in batches for pair in b.answered + b.failed)]
    assert results == reference.results
    assert all(a.window is b for a, b in zip(results, reference.windows, strict=True))  # the driver's own
    assert (runner.model_id, runner.scoring) == (reference.model_id, "yes-no")
    assert batches[-1].progress.done == batches[-1].progress.total == len(reference.windows)
    assert [runner.key_of(w) for w in reference.windows] == reference.keys  # resumable by either
    assert runner.shape.num_cpus == 2 and len(runner.worker_pids) == 1
    assert os.getpid() not in runner.worker_pids


def test_killed_worker_is_replaced_and_its_batch_retried(ray_cluster, reference: ScanReference,
                                                          tiny_ckpt: Path, gguf: Path) -> None:
    """Two actors of one thread; SIGKILL one actor's process after the first batch: a new process takes over
    and the output still holds every window exactly once, as in the in-process scan."""
    runner = _ray_runner(tiny_ckpt, gguf, batch_size=SCAN_BATCH, actors=2)
    killed: list[int] = []

    results = []
    for batch in runner.batches(reference.windows):
        results += batch
        if not killed:
            killed.append(runner.worker_pids[0])
            os.kill(killed[0], signal.SIGKILL)
    assert killed
    assert_same_but_rounding(results, reference.results)
    assert len(set(runner.worker_pids)) >= 3  # the two first workers and at least one replacement


def test_worker_without_model_files_gets_them_from_the_driver(ray_cluster, reference: ScanReference,
                                                              tiny_ckpt: Path, gguf: Path,
                                                              tmp_path: Path) -> None:
    """The model files exist on the driver when the scan starts and nowhere once the actors load: the
    actors build the engine from the copies the driver put into the object store, with the same rows."""
    from mellow.scan.ray_actor import SHIPPED_DIR_NAME

    ckpt, tok = tmp_path / "only-on-driver.ckpt", tmp_path / "only-on-driver.gguf"
    shutil.copy(tiny_ckpt, ckpt)
    shutil.copy(gguf, tok)
    runner = _ray_runner(ckpt, tok, batch_size=SCAN_BATCH, actors=1, ship_model=True)
    shipped = runner.spec.shipped_checkpoint
    assert shipped is not None and runner.spec.shipped_tokenizer is not None
    cache = Path(tempfile.gettempdir()) / SHIPPED_DIR_NAME
    for item in (shipped, runner.spec.shipped_tokenizer):
        shutil.rmtree(cache / item.sha256[:32], ignore_errors=True)
    ckpt.unlink()
    tok.unlink()
    try:
        results = list(runner.run(reference.windows[:8]))
        assert results == reference.results[:8]
        assert runner.model_id == reference.model_id  # named by content, not by path
        assert (cache / shipped.sha256[:32] / ckpt.name).read_bytes() == tiny_ckpt.read_bytes()
    finally:
        for item in (shipped, runner.spec.shipped_tokenizer):
            shutil.rmtree(cache / item.sha256[:32], ignore_errors=True)


def test_worker_without_model_files_and_nothing_shipped_says_so(ray_cluster, reference: ScanReference,
                                                                tiny_ckpt: Path, gguf: Path,
                                                                tmp_path: Path) -> None:
    """Not shipping to a node that lacks the model is one clear error line, not a traceback."""
    from mellow.errors import MellowError

    ckpt = tmp_path / "gone.ckpt"
    shutil.copy(tiny_ckpt, ckpt)
    runner = _ray_runner(ckpt, gguf, batch_size=SCAN_BATCH, actors=1, ship_model=False)
    ckpt.unlink()
    with pytest.raises(MellowError, match=r"^on a Ray worker: .*gone\.ckpt does not exist on node .* did not "
                                          r"ship the model") as caught:
        list(runner.run(reference.windows[:4]))
    assert "\n" not in str(caught.value)


def test_automatic_batches_give_the_same_answers(ray_cluster, reference: ScanReference, tiny_ckpt: Path,
                                                 gguf: Path) -> None:
    """Without a batch size, Ray calls of the largest automatic batch, cut by each actor's memory rule."""
    from mellow.scan.batching import CPU_MAX_BATCH

    runner = _ray_runner(tiny_ckpt, gguf, actors=1)
    assert runner.batch == CPU_MAX_BATCH and runner.batch_size is None
    assert_same_but_rounding(list(runner.run(reference.windows)), reference.results)


def test_cancel_stops_after_the_batch_in_hand(ray_cluster, reference: ScanReference, tiny_ckpt: Path,
                                             gguf: Path) -> None:
    """Cancelling after the first batch yields part of the scan: every window at most once, each
    answer equal to the in-process one, fewer than all windows."""
    import threading

    runner = _ray_runner(tiny_ckpt, gguf, batch_size=SCAN_BATCH, actors=1)
    cancel = threading.Event()
    results = []
    for batch in runner.batches(reference.windows, cancel):
        results += batch
        cancel.set()
    truth = {r.window: r for r in reference.results}
    assert 4 <= len(results) < len(reference.windows)
    assert len({r.window for r in results}) == len(results)
    assert all(truth[r.window] == r for r in results)


@pytest.mark.slow
def test_full_size_model_same_rows_on_ray(ray_cluster, v0_recipe_model, scan_plan, gguf: Path,
                                          tmp_path: Path) -> None:
    """The full-size v0 model (recipe weights, saved like the published checkpoint): a few windows of the
    long recording and the folder (one of them unreadable) give identical rows in-process and on one Ray
    actor."""
    from mellow.generation import Engine
    from mellow.scan.runner import ScanRunner

    ckpt = save_published_checkpoint(v0_recipe_model, tmp_path / "v0-recipe.ckpt")
    windows = scan_plan.windows[:2] + [next(w for w in scan_plan.windows if w.file.name == name)
                                       for name in ("b.flac", "moved away.flac")]
    options = GenerationOptions(max_len=4)
    local = ScanRunner(Engine.load("v0", ckpt, gguf, device="cpu"), YES_NO, options, batch_size=len(windows))
    want = list(local.run(windows))
    from mellow.scan.ray_pipeline import RayScanRunner, model_spec

    runner = RayScanRunner(model_spec("v0", ckpt, gguf, device="cpu"), YES_NO, options,
                           batch_size=len(windows), actors=1)
    assert list(runner.run(windows)) == want
    assert runner.model_id == local.model_id and any(r.error for r in want) and any(r.text for r in want)


def test_question_set_on_ray_equals_the_in_process_set(ray_cluster, scan_plan, tiny_ckpt: Path,
                                                       gguf: Path) -> None:
    """Two questions, some windows asked only one of them (resuming pair by pair): one actor with the
    in-process run's threads and batches gives the in-process results to the bit, keys included."""
    from mellow.generation import Engine
    from mellow.scan.questions import QuestionSet
    from mellow.scan.ray_pipeline import RayScanRunner, model_spec
    from mellow.scan.runner import ScanRunner

    questions = QuestionSet.of([YES_NO, "caption the audio."])
    windows = scan_plan.windows[:3] + scan_plan.windows[-3:]  # the last ones: the file gone before reading
    asks = {windows[1]: ("caption the audio",), windows[4]: ("tone",)}
    local = ScanRunner(Engine.load("tiny", tiny_ckpt, gguf, device="cpu"), questions, SCAN_OPTIONS,
                       batch_size=3)
    want = list(local.run(windows, asks=asks))
    runner = RayScanRunner(model_spec("tiny", tiny_ckpt, gguf, device="cpu"), questions, SCAN_OPTIONS,
                           batch_size=3, actors=1)
    got = list(runner.run(windows, asks=asks))
    assert got == want and len(got) == 10
    assert [r.question for r in got[:3]] == ["tone", "caption the audio", "caption the audio"]
    assert any(r.error for r in got) and all(r.tokens for r in got if r.error is None)
    assert runner.scorings == local.scorings == {"tone": "yes-no", "caption the audio": None}
    assert all(runner.key_of(w, q) == local.key_of(w, q) for w in windows for q in questions.names)
