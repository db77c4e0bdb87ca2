"""The worker side of a Ray scan: one actor holds one engine and answers batches of window rows.

Rows travel through Ray Data as plain columns (see :func:`window_rows`); each actor rebuilds the
:class:`~mellow.scan.types.Window` objects, runs the ordinary :class:`~mellow.scan.runner.ScanRunner` on them
(audio is read there, window by window) and sends every :class:`~mellow.scan.types.WindowResult` back as one
JSON string.  Model files are read from the same path when the node has them; otherwise from a copy the
driver put into the object store once (:class:`ShippedFile`).  Imported only by Ray scans.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import ray

from mellow.errors import CheckpointError, MellowError, one_line
from mellow.generation import GenerationOptions
from mellow.model.config import ModelConfig
from mellow.scan.batching import Ask, pack_windows
from mellow.scan.questions import QuestionSet
from mellow.scan.types import Window, WindowResult

SHIPPED_DIR_NAME = "mellow-ray-files"
#: The ``idx`` of the one row an actor returns when it could not build its engine (``result``: the reason).
SETUP_FAILED = -1


# --------------------------------------------------------------------------------------------- model files
@dataclass(frozen=True)
class ShippedFile:
    """A model file the driver put into the object store: its bytes (``ref``), SHA-256 and file name."""

    ref: Any  # ray.ObjectRef of the file's bytes
    sha256: str
    name: str


def ship_file(path: Path) -> ShippedFile:
    """Put the bytes of ``path`` into the object store once (on the driver)."""
    data = path.read_bytes()
    return ShippedFile(ref=ray.put(data), sha256=hashlib.sha256(data).hexdigest(), name=path.name)


def materialize(shipped: ShippedFile, cache_root: Path | None = None) -> Path:
    """The shipped file as a file on this node: written once per node under the temp folder, keyed by hash."""
    root = cache_root or Path(tempfile.gettempdir()) / SHIPPED_DIR_NAME
    target = root / shipped.sha256[:32] / shipped.name
    if target.is_file() and target.stat().st_size > 0:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    data = ray.get(shipped.ref)
    if hashlib.sha256(data).hexdigest() != shipped.sha256:
        raise CheckpointError(f"the shipped copy of {shipped.name} is corrupt (SHA-256 differs)")
    part = target.with_name(f".{target.name}.{os.getpid()}.part")
    part.write_bytes(data)
    os.replace(part, target)  # atomic: actors on the same node never see half a file
    return target


def local_model_file(path: str, shipped: ShippedFile | None) -> Path:
    """``path`` when this node has it, else the driver's shipped copy; CheckpointError when neither."""
    p = Path(path)
    if p.is_file():
        return p
    if shipped is not None:
        return materialize(shipped)
    raise CheckpointError(f"{p} does not exist on node {ray.util.get_node_ip_address()} and the driver did "
                          "not ship the model (put the model folder on every node, or let the scan ship it)")


@dataclass(frozen=True)
class ModelSpec:
    """Everything an actor needs to build the same engine as the driver would.

    ``checkpoint``/``tokenizer`` are resolved absolute paths on the driver's machine; ``shipped_*`` hold
    object-store copies for nodes that lack them (None: not shipped).  ``config`` is the loaded config, so a
    YAML config file need not exist on the workers.
    """

    config: ModelConfig
    checkpoint: str
    tokenizer: str
    device: str = "auto"
    dtype: str | None = None
    shipped_checkpoint: ShippedFile | None = None
    shipped_tokenizer: ShippedFile | None = None

    def open_engine(self) -> Any:
        """Load the engine on this node (from the local files or the shipped copies)."""
        from mellow.generation import Engine

        checkpoint = local_model_file(self.checkpoint, self.shipped_checkpoint)
        tokenizer = local_model_file(self.tokenizer, self.shipped_tokenizer)
        return Engine.load(self.config, checkpoint, tokenizer, device=self.device, dtype=self.dtype)


# --------------------------------------------------------------------------------------------- rows
def window_json(window: Window) -> str:
    """``window`` as JSON: its fields, with the names of those that are paths (so they come back as Paths).

    Names the OS allows but UTF-8 does not (surrogate escapes) survive: JSON escapes them.
    """
    values = {f.name: getattr(window, f.name) for f in fields(window)}
    paths = [k for k, v in values.items() if isinstance(v, Path)]
    return json.dumps({"paths": paths, "fields": {k: str(v) if k in paths else v for k, v in values.items()}})


def window_from_json(text: str) -> Window:
    """The inverse of :func:`window_json`."""
    data = json.loads(text)
    return Window(**{k: Path(v) if k in data["paths"] else v for k, v in data["fields"].items()})


def batch_rows(asks: Sequence[Ask], rows: int) -> list[dict[str, Any]]:
    """The (window, question names) asks as Ray Data rows of one batch each, cut where the in-process runner
    cuts its batches (:func:`~mellow.scan.batching.pack_windows` at ``rows`` rows), so every actor call
    answers the batch the local scan would.  Columns: ``first`` (position in ``asks`` of the batch's first
    window), ``windows`` (their :func:`window_json`, in order) and ``asks`` (each window's question names, as
    JSON)."""
    out, first = [], 0
    for batch in pack_windows(asks, rows):
        out.append({"first": first, "windows": [window_json(w) for w, _ in batch],
                    "asks": [json.dumps(list(names)) for _, names in batch]})
        first += len(batch)
    return out


def result_json(result: WindowResult) -> str:
    """Every field of ``result`` but its window, as JSON (floats round-trip exactly)."""
    return json.dumps({f.name: getattr(result, f.name) for f in fields(result) if f.name != "window"})


def result_from_json(window: Window, text: str) -> WindowResult:
    """The inverse of :func:`result_json`, with the driver's own ``window`` object."""
    return WindowResult(window=window, **json.loads(text))


# --------------------------------------------------------------------------------------------- the actor
class ScanActor:
    """A Ray Data ``map_batches`` class: builds the engine and its ScanRunner once, then answers batches.

    In: rows of :func:`batch_rows` (one planned batch each).  Out, one row per (window, question) asked:
    ``idx`` int64 (the window's position in the scan), ``result`` (:func:`result_json`, its ``question``
    included), ``pid`` (the worker's process id, for fault tests and logs); or, when the engine could not be
    built on this node (model files missing, say), one row with ``idx`` :data:`SETUP_FAILED` and the reason.
    """

    def __init__(self, spec: ModelSpec, questions: str | QuestionSet, options: GenerationOptions | None,
                 score: str | None, batch_size: int | None, threads: int | None = None) -> None:
        import torch

        from mellow.scan.runner import ScanRunner

        if threads:
            torch.set_num_threads(threads)
        self.setup_error: MellowError | None = None
        try:
            engine = spec.open_engine()
        except MellowError as exc:  # sent as a row: Ray would hand the driver only a traceback's text
            self.setup_error = exc
            return
        self.runner = ScanRunner(engine, questions, options=options, score=score, batch_size=batch_size)

    def __call__(self, rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.setup_error is not None:
            return {"idx": np.array([SETUP_FAILED], dtype=np.int64),
                    "result": np.array([json.dumps({"error": one_line(self.setup_error)})], dtype=object),
                    "pid": np.array([os.getpid()], dtype=np.int64)}
        idx: list[int] = []
        texts: list[str] = []
        for first, encoded, names in zip(rows["first"].tolist(), rows["windows"], rows["asks"], strict=True):
            windows = [window_from_json(str(text)) for text in encoded]
            asks = {w: tuple(json.loads(str(n))) for w, n in zip(windows, names, strict=True)}
            results = list(self.runner.run(windows, asks=asks))
            position = {w: first + i for i, w in enumerate(windows)}
            if [(r.window, r.question) for r in results] != [(w, n) for w in windows for n in asks[w]]:
                raise RuntimeError("the scan runner did not answer the batch's questions in order")
            idx += [position[r.window] for r in results]
            texts += [result_json(r) for r in results]
        return {"idx": np.asarray(idx, dtype=np.int64), "result": np.array(texts, dtype=object),
                "pid": np.full(len(idx), os.getpid(), dtype=np.int64)}
