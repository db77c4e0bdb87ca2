"""The same scan on a Ray cluster: Ray Data distributes batches of windows over a pool of engine actors.

:class:`RayScanRunner` has the shape of :class:`~mellow.scan.runner.ScanRunner` (``batches(windows, cancel)``
yielding lists of :class:`~mellow.scan.types.WindowResult` in window order, ``questions``, ``model_id``,
``scoring``/``scorings``, ``key_of``), so the driver (:mod:`mellow.scan.driver`) runs either and the CLI
writes with the same writers; question sets and ``asks`` (resuming pair by pair) work as in the local runner.
Planning stays on the driver; the windows are cut into batches where the local runner cuts them, one Ray Data
row (and block) per batch (``ray.data.from_items``) -> ``map_batches(ScanActor, ActorPoolStrategy(size=n))``;
each actor loads the engine once and runs the ordinary ScanRunner on its batch (reading audio itself, window
by window).  So a Ray scan answers the same batches as a local scan with the same batch size, and with the
same threads per process its rows are identical to the bit (other batch sizes or thread counts change scores
by float rounding only).

Faults: a worker process that dies is replaced (``max_restarts=-1``) and its batch is retried up to
:data:`BATCH_RETRIES` times; the driver keeps the first answer per window, so every window comes back exactly
once.  Only ``mellow scan --ray/--ray-address`` imports this module.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mellow.errors import MellowError, one_line

try:
    import ray
except ImportError as exc:  # the optional "cluster" extra
    raise MellowError("scans on Ray need the cluster extra: pip install 'mellow-desktop[cluster]' "
                      f"({one_line(exc)})") from None

from mellow.generation import GenerationOptions
from mellow.scan.batching import CPU_MAX_BATCH, GPU_MAX_BATCH, asks_of
from mellow.scan.keys import ScanKeys
from mellow.scan.questions import Question, QuestionSet
from mellow.scan.ray_actor import SETUP_FAILED, ModelSpec, ScanActor, batch_rows, result_from_json, ship_file
from mellow.scan.types import Window, WindowResult

BATCH_RETRIES = 4  # a batch whose worker dies more often than this ends the scan with an error
OBJECT_STORE_BYTES = 512 * 1024**2  # for a cluster this process starts itself (--ray)


def model_spec(config: str | Path = "v0", model: str | Path = "v0", tokenizer: str | Path | None = None,
               device: str = "auto", dtype: str | None = None) -> ModelSpec:
    """Resolve the model files on the driver (failing fast, with the local scan's messages) into a spec."""
    from mellow.model.config import load_config
    from mellow.model_files import find_model_files

    files = find_model_files(model, tokenizer)
    return ModelSpec(config=load_config(config), checkpoint=str(files.checkpoint.resolve()),
                     tokenizer=str(files.tokenizer.resolve()), device=device, dtype=dtype)


def connect(address: str | None = None) -> bool:
    """Start a new local cluster on this machine (``address`` None: all its CPUs and GPUs) or join the one at
    ``address`` ("auto": RAY_ADDRESS, else the cluster ``ray start`` last started here; or "host:port").
    Nothing when Ray is already up in this process.  Returns True when this call started or joined Ray."""
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"logging_level": logging.WARNING}
    if address is None:
        kwargs.update(address="local", include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES)
    else:
        kwargs["address"] = address
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"join the Ray cluster at {address}" if address else "start a local Ray cluster"
        raise MellowError(f"cannot {where}: {one_line(exc, 300)}") from None
    return True


@dataclass(frozen=True)
class PoolShape:
    """How many actors, and what each one reserves (``num_gpus``: 0, 1, or a share of one GPU when several
    actors share it; ``num_cpus`` = torch threads)."""

    actors: int
    num_cpus: int
    num_gpus: float


def pool_shape(actors: int | None = None, threads: int | None = None) -> PoolShape:
    """One actor per GPU when the cluster has GPUs (``actors`` above the GPU count share them: two per GPU
    overlap one's audio reading with the other's GPU work); otherwise CPU actors of ``threads`` threads each
    (default: one actor per node, all of the smallest node's CPUs).  MellowError when the request cannot
    fit."""
    total = ray.cluster_resources()
    cpus, gpus = int(total.get("CPU", 0)), int(total.get("GPU", 0))
    node_cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    smallest = max(1, min((c for c in node_cpus if c > 0), default=1))
    if gpus >= 1:
        n = actors or gpus
        return PoolShape(n, threads or max(1, min(4, cpus // n)), 1 / math.ceil(n / gpus))
    if threads is None:
        threads = smallest if actors is None else max(1, min(smallest, cpus // actors))
    n = actors or max(1, cpus // threads)
    if n * threads > cpus or threads > smallest:
        raise MellowError(f"{n} actors of {threads} threads need more CPUs than the Ray cluster offers "
                          f"({cpus} in all, {smallest} on the smallest node)")
    return PoolShape(n, threads, 0)


def _user_errors(batches: Iterator[Any]) -> Iterator[Any]:
    """``batches``, with a failure of the pipeline raised as one MellowError line (Ray hands the driver a
    worker's exception as text only; the engine's own errors come back as rows, see :class:`ScanActor`)."""
    from ray.exceptions import RayError

    try:
        yield from batches
    except RayError as exc:
        raise MellowError(f"the Ray scan failed: {type(exc).__name__}: {one_line(exc, 300)}") from None


def _other_nodes() -> bool:
    here = ray.get_runtime_context().get_node_id()
    return any(n.get("Alive") and n["NodeID"] != here for n in ray.nodes())


class RayScanRunner:
    """Answer windows on a Ray cluster, with the results and interface of :class:`ScanRunner`.

    ``spec``: from :func:`model_spec`.  ``address``: None starts a local cluster (unless Ray is already up
    in this process), "auto" or "host:port" joins one.  ``actors``/``threads``: see :func:`pool_shape`.
    ``ship_model``: put the model files into the object store for nodes without them (None: when the
    cluster has nodes other than this one).  ``batch_size``: (window, question) rows per batch (windows, for
    one question), in Ray Data and in each actor's runner, so that the batches are a local scan's; None: Ray
    calls of the local runner's largest automatic batch, which each actor's runner cuts by its own memory
    rule, as a local scan does.
    """

    def __init__(self, spec: ModelSpec, questions: str | Question | QuestionSet | Iterable[str | Question],
                 options: GenerationOptions | None = None,
                 score: str | None = "auto", batch_size: int | None = None, address: str | None = None,
                 actors: int | None = None, threads: int | None = None,
                 ship_model: bool | None = None) -> None:
        from mellow.generation.devices import dtype_name, resolve_dtype
        from mellow.scan.runner import model_id_for, scoring_for

        self.questions = QuestionSet.of(questions)
        self.options, self.score = options, score
        self._started_ray = connect(address)
        self.shape = pool_shape(actors, threads)
        # Rows per Ray call: the forced batch, else the local runner's largest automatic one; each actor's
        # runner then cuts a call into batches of the forced size, or of what its memory rule allows.
        self.batch = int(batch_size or (GPU_MAX_BATCH if self.shape.num_gpus else CPU_MAX_BATCH))
        self.batch_size = batch_size
        if ship_model or (ship_model is None and _other_nodes()):
            spec = replace(spec, shipped_checkpoint=ship_file(Path(spec.checkpoint)),
                           shipped_tokenizer=ship_file(Path(spec.tokenizer)))
        self.spec = spec
        self.model_id: str = model_id_for(spec.config, Path(spec.checkpoint), resolve_dtype(spec.dtype))
        self.scorings = {q.name: scoring_for(q.prompt, score) for q in self.questions}
        self.prompt, self.scoring = self.questions[0].prompt, self.scorings[self.questions[0].name]
        self.keys = ScanKeys(self.questions, options or GenerationOptions(), self.scorings,
                             dtype_name(spec.dtype), self.model_id)
        self.worker_pids: list[int] = []  # process ids of the actors that answered, in order of first answer

    def key_of(self, window: Window, question: str | Question | None = None) -> str:
        """The resume key of ``question`` (a name; None: the only one) about ``window`` (the local
        runner's, to the bit)."""
        return self.keys.key_of(window, question)

    def _dataset(self, asks: list[tuple[Window, tuple[str, ...]]]) -> Any:
        from ray.data import ActorPoolStrategy, DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False  # the CLI draws its own bar
        ctx.print_on_execution_start = False
        logging.getLogger("ray.data").setLevel(logging.WARNING)  # no per-run INFO lines on the CLI's stderr
        batches = batch_rows(asks, self.batch)
        rows = ray.data.from_items(batches, override_num_blocks=len(batches))  # a retry redoes one batch
        with warnings.catch_warnings():
            # Ray 2.60 takes actor fault-tolerance options only as the deprecated **ray_remote_args; they are
            # set here on purpose (bounded retries instead of Ray Data's endless ones), hence the filter.
            warnings.filterwarnings("ignore", message=".*ray_remote_args. is deprecated")
            return rows.map_batches(
                ScanActor, batch_size=1, batch_format="numpy",  # one planned batch per call
                fn_constructor_args=(self.spec, self.questions, self.options, self.score, self.batch_size,
                                     self.shape.num_cpus),
                compute=ActorPoolStrategy(size=self.shape.actors),
                num_cpus=self.shape.num_cpus, num_gpus=self.shape.num_gpus,
                max_restarts=-1, max_task_retries=BATCH_RETRIES)

    def batches(self, windows: Iterable[Window], cancel: threading.Event | None = None,
                asks: Mapping[Window, Sequence[str]] | None = None) -> Iterator[list[WindowResult]]:
        """Yield the results released by each batch Ray hands back (one per (window, question) asked; a
        window not in ``asks`` gets every question), in the order of ``windows`` (a batch that arrives ahead
        of an earlier one waits for it, so a list may be empty).  ``cancel`` stops after the batch in hand;
        everything already answered is still yielded."""
        todo = list(asks_of(windows, self.questions.names, asks))
        if not todo:
            return
        pending: dict[int, list[WindowResult]] = {}
        next_idx = 0
        batches = iter(self._dataset(todo).iter_batches(batch_size=None, batch_format="numpy"))
        try:
            for batch in _user_errors(batches):
                self._note_pids(batch["pid"].tolist())
                got: dict[int, list[WindowResult]] = {}
                for idx, text in zip(batch["idx"].tolist(), batch["result"], strict=True):
                    if idx == SETUP_FAILED:
                        raise MellowError(f"on a Ray worker: {json.loads(str(text))['error']}")
                    got.setdefault(idx, []).append(result_from_json(todo[idx][0], str(text)))
                for idx, results in got.items():
                    if idx >= next_idx and idx not in pending:  # a retried batch's second answer is dropped
                        pending[idx] = results
                released = []
                while next_idx in pending:
                    released += pending.pop(next_idx)
                    next_idx += 1
                yield released
                if cancel is not None and cancel.is_set():
                    break
        finally:
            getattr(batches, "close", lambda: None)()  # stops the pipeline now, not when collected
        if pending:
            yield [r for i in sorted(pending) for r in pending[i]]

    def run(self, windows: Iterable[Window], cancel: threading.Event | None = None,
            asks: Mapping[Window, Sequence[str]] | None = None) -> Iterator[WindowResult]:
        """One result per (window, question) asked, in the order of ``windows`` (:meth:`batches`,
        flattened)."""
        for results in self.batches(windows, cancel, asks):
            yield from results

    def _note_pids(self, pids: list[int]) -> None:
        self.worker_pids += [p for p in dict.fromkeys(pids) if p not in self.worker_pids]

    def close(self) -> None:
        """Shut Ray down when this runner started it."""
        if self._started_ray and ray.is_initialized():
            ray.shutdown()
            self._started_ray = False

    def __enter__(self) -> RayScanRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
