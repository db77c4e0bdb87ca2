"""Batch sizes for scans, and the decoding step that drops rows which have stopped."""

from __future__ import annotations

import torch

from mellow.generation import Engine
from mellow.llama import CausalLM, KVCache

#: Peak working memory of the encoder per 10 s window (float32 HTSAT + projection, measured on v0 with
#: benchmarks/scan.py: about 100 MB; doubled for headroom).
ENCODER_ROW_BYTES = 200 * 2**20
#: Largest automatic batch on the CPU: the prefill is compute-bound there, so bigger batches gain nothing
#: (see the batch-size sweep of benchmarks/scan.py) and only hold more memory.
CPU_MAX_BATCH = 8
#: Largest automatic batch on a GPU.
GPU_MAX_BATCH = 256
#: Share of the free memory a batch may use.
MEMORY_SHARE = 0.5


def row_bytes(engine: Engine, max_len: int) -> int:
    """Memory one window of a batch needs: encoder peak, its KV cache and the prefill's activations."""
    d, cfg = engine.config.decoder, engine.config
    positions = cfg.prefix_len + max_len
    elem = engine.lm.model.embed_tokens.weight.element_size()
    cache = 2 * d.num_hidden_layers * d.num_key_value_heads * d.head_dim * positions * elem
    prefill = cfg.prefix_len * (3 * d.intermediate_size + 8 * d.hidden_size) * 4
    return ENCODER_ROW_BYTES + cache + prefill


def free_memory(device: torch.device) -> int:
    """Free bytes on ``device``: CUDA's free memory, or the host's available memory."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    import psutil

    return int(psutil.virtual_memory().available)


def auto_batch_size(engine: Engine, max_len: int) -> int:
    """Windows per batch when not forced: as many as fit in :data:`MEMORY_SHARE` of the free memory at
    :func:`row_bytes` each, at least 1, at most :data:`CPU_MAX_BATCH` on the CPU (:data:`GPU_MAX_BATCH` on a
    GPU)."""
    cap = GPU_MAX_BATCH if engine.device.type == "cuda" else CPU_MAX_BATCH
    fits = int(MEMORY_SHARE * free_memory(engine.device)) // row_bytes(engine, max_len)
    return max(1, min(cap, fits))


class LiveRows:
    """A decoding step (:data:`~mellow.generation.decoding.StepFn`) over a batch that runs only the rows
    which have not produced ``stop_token``.

    Rows are independent, so leaving the stopped ones out changes no token of the others.  The cache is
    compacted (``index_select`` over its batch rows) when at least a quarter of its rows have stopped; until
    then stopped rows are computed and ignored.  Rows not in the cache get zero logits (their tokens are
    discarded by the caller, which cuts every row after its first stop token).
    """

    def __init__(self, lm: CausalLM, cache: KVCache, batch: int, stop_token: int | None) -> None:
        self.lm, self.cache, self.stop_token = lm, cache, stop_token
        self.rows = torch.arange(batch, device=cache.k.device)  # original row of each cache row
        self.done = torch.zeros(batch, dtype=torch.bool, device=cache.k.device)

    def __call__(self, tokens: torch.Tensor, pos: int) -> torch.Tensor:
        """tokens (B,) chosen at the previous step, fed at ``pos`` -> logits (B, vocab)."""
        if self.stop_token is not None:
            self.done |= tokens == self.stop_token
            stopped = self.done[self.rows]
            if 4 * int(stopped.sum()) >= self.rows.numel() and not bool(stopped.all()):
                keep = (~stopped).nonzero().squeeze(1)
                self.cache = KVCache(self.cache.k.index_select(1, keep), self.cache.v.index_select(1, keep))
                self.rows = self.rows[keep]
        out = self.lm.step(tokens[self.rows], self.cache, pos)
        if self.rows.numel() == tokens.numel():
            return out
        full = out.new_zeros(tokens.numel(), out.shape[-1])
        full[self.rows] = out
        return full
