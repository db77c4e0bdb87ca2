"""Batch sizes for scans, how windows are packed into batches, and the decoding step that drops rows which
have stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import torch

from mellow.generation import Engine
from mellow.generation.engine import CPU_PREFILL_POSITIONS
from mellow.model.llama import KVCache
from mellow.scan.questions import QuestionError
from mellow.scan.types import Window

#: A window and the names of the questions to ask of it (in the question set's order).
Ask = tuple[Window, tuple[str, ...]]

#: Peak working memory of the encoder per 10 s window (float32 HTSAT + projection; benchmarks/scan.py saw
#: about 540 MB of peak-RSS growth for batches of 8 encoded and prefilled whole, caches included).
ENCODER_ROW_BYTES = 64 * 2**20
#: Memory a CPU scan may add to the loaded model (the issue's 300 MB bound for a whole-recording scan, with
#: headroom), and the largest automatic CPU batch (decoding amortises the weights' reads over the rows).
CPU_SCAN_BYTES = 280 * 10**6
#: Peak-RSS growth per batch row beyond its KV cache (inputs, outputs, allocator retention).  Measured for
#: v0 caption scans (24 tokens) at batches 5, 8 and 12 once stopped rows were compacted in place: about
#: 90 MB whatever the batch (the encoder/prefill call) plus 20-23 MB a row, 19.9 MB of them the cache
#: (+180 / +247 / +340 MiB).
ROW_OVERHEAD_BYTES = 4 * 2**20
CPU_MAX_BATCH = 16
#: Largest automatic batch on a GPU, and the share of its free memory a batch may use.
GPU_MAX_BATCH = 256
MEMORY_SHARE = 0.5


def cache_row_bytes(engine: Engine, max_len: int) -> int:
    """The KV cache of one row: prefix_len + max_len positions of every layer's keys and values."""
    d, cfg = engine.config.decoder, engine.config
    elem = engine.dtype.itemsize
    return 2 * d.num_hidden_layers * d.num_key_value_heads * d.head_dim * (cfg.prefix_len + max_len) * elem


def prefill_bytes(engine: Engine, positions: int, context: int) -> int:
    """Transient memory of a prefill call of ``positions`` positions seeing ``context`` keys each: hidden
    states, MLP activations and attention scores."""
    d = engine.config.decoder
    return positions * (3 * d.intermediate_size + 8 * d.hidden_size + d.num_attention_heads * context) * 4


def work_row_bytes(engine: Engine) -> int:
    """Transient memory of one row in a GPU encoder/prefill call of the whole batch: encoder peak and the
    prefill of prefix_len positions."""
    n = engine.config.prefix_len
    return ENCODER_ROW_BYTES + prefill_bytes(engine, n, n)


def cpu_work_bytes(engine: Engine) -> int:
    """Transient memory of a CPU batch's largest call: one window's encoder call
    (:attr:`Engine.chunk_rows <mellow.generation.Engine.chunk_rows>`), or a prefill call of about
    :data:`~mellow.generation.engine.CPU_PREFILL_POSITIONS` positions."""
    n = engine.config.prefix_len
    return max(ENCODER_ROW_BYTES, prefill_bytes(engine, CPU_PREFILL_POSITIONS, n))


def free_memory(device: torch.device) -> int:
    """Free bytes on ``device``: CUDA's free memory, or the host's available memory."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    import psutil

    return int(psutil.virtual_memory().available)


def auto_batch_size(engine: Engine, max_len: int) -> int:
    """Windows per batch when not forced, at least 1.

    On a GPU: as many rows (cache and transient memory each) as fit in :data:`MEMORY_SHARE` of its free
    memory, at most :data:`GPU_MAX_BATCH`.  On the CPU: as many rows (cache + :data:`ROW_OVERHEAD_BYTES`)
    as fit in :data:`CPU_SCAN_BYTES` (or half the available memory, if less) beside the transient memory of
    one call (:func:`cpu_work_bytes`), at most :data:`CPU_MAX_BATCH`.
    """
    per_cache = cache_row_bytes(engine, max_len)
    if engine.device.type == "cuda":
        fits = int(MEMORY_SHARE * free_memory(engine.device)) // (per_cache + work_row_bytes(engine))
        return max(1, min(GPU_MAX_BATCH, fits))
    budget = min(CPU_SCAN_BYTES, int(MEMORY_SHARE * free_memory(engine.device)))
    fits = (budget - cpu_work_bytes(engine)) // (per_cache + ROW_OVERHEAD_BYTES)
    return max(1, min(CPU_MAX_BATCH, fits))


def asks_of(windows: Iterable[Window], names: Sequence[str],
            asks: Mapping[Window, Sequence[str]] | None = None) -> Iterator[Ask]:
    """Each window with the questions to ask of it: those ``asks`` names for it (in the order of the set's
    ``names``), or every one when it names none; windows left with no question are skipped."""
    for w in windows:
        wanted = names if asks is None or w not in asks else asks[w]
        unknown = set(wanted) - set(names)
        if unknown:
            raise QuestionError(f"no question named {sorted(unknown)[0]!r} in this scan")
        chosen = tuple(n for n in names if n in wanted)
        if chosen:
            yield w, chosen


def pack_windows(asks: Iterable[Ask], rows: int | Callable[[], int]) -> Iterator[list[Ask]]:
    """Batches of whole windows: as many consecutive windows as keep their (window, question) pairs within
    ``rows`` decoder rows (a window with more questions than that is a batch of its own).  With one question
    per window a batch is ``rows`` windows.  ``rows`` may be a function, asked anew for every batch (a runner
    that halved its batch after running out of memory).  The local and the Ray runner cut batches with this
    one rule."""
    limit = rows if callable(rows) else lambda: rows
    batch: list[Ask] = []
    pairs = 0
    for ask in asks:
        if batch and pairs + len(ask[1]) > limit():
            yield batch
            batch, pairs = [], 0
        batch.append(ask)
        pairs += len(ask[1])
    if batch:
        yield batch


class LiveRows:
    """A decoding step (:data:`~mellow.generation.decoding.StepFn`) over a batch that runs only the rows
    which have not produced ``stop_token``; ``step(tokens, cache, pos)`` is the engine's step.

    Rows are independent, so leaving the stopped ones out changes no token of the others.  The cache is
    compacted when at least a quarter of its rows have stopped: in place, the live rows' filled positions
    copied down over the stopped ones (no second cache is allocated); until then stopped rows are computed
    and ignored.  Rows not in the cache get zero logits (their tokens are discarded by the caller, which cuts
    every row after its first stop token).
    """

    def __init__(self, step: Callable[[torch.Tensor, KVCache, int], torch.Tensor], cache: KVCache, batch: int,
                 stop_token: int | None) -> None:
        self.step, self.cache, self.stop_token = step, cache, stop_token
        self.rows = torch.arange(batch, device=cache.k.device)  # original row of each cache row
        self.done = torch.zeros(batch, dtype=torch.bool, device=cache.k.device)

    def _compact(self, keep: list[int], filled: int) -> None:
        """Move cache rows ``keep`` (increasing) to the front, positions [0, filled) only, and drop the rest
        (row i is written from row keep[i] >= i, so no row is overwritten before it is read)."""
        k, v = self.cache.k, self.cache.v
        for i, row in enumerate(keep):
            if row != i:
                k[:, i, :, :filled].copy_(k[:, row, :, :filled])
                v[:, i, :, :filled].copy_(v[:, row, :, :filled])
        self.cache = KVCache(k[:, :len(keep)], v[:, :len(keep)])

    def __call__(self, tokens: torch.Tensor, pos: int) -> torch.Tensor:
        """tokens (B,) chosen at the previous step, fed at ``pos`` -> logits (B, vocab)."""
        if self.stop_token is not None:
            self.done |= tokens == self.stop_token
            stopped = self.done[self.rows]
            if 4 * int(stopped.sum()) >= self.rows.numel() and not bool(stopped.all()):
                keep = (~stopped).nonzero().squeeze(1)
                self._compact(keep.tolist(), pos)
                self.rows = self.rows[keep]
        out = self.step(tokens[self.rows], self.cache, pos)
        if self.rows.numel() == tokens.numel():
            return out
        full = out.new_zeros(tokens.numel(), out.shape[-1])
        full[self.rows] = out
        return full
