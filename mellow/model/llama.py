"""A Llama-architecture causal language model (SmolLM2-135M for Mellow v0), built for fast cached decoding.

Parameter names follow the usual Llama layout (``model.embed_tokens``, ``model.layers.N.self_attn.q_proj``,
..., ``model.norm``, ``lm_head``), so a published state dict loads as is.  The decoder runs on *embeddings*
(``inputs_embeds``), because Mellow feeds it audio embeddings followed by prompt and generated tokens.

Caching: :class:`KVCache` is a preallocated static cache of shape (layers, B, kv_heads, max_len, head_dim),
written at absolute positions.  Positions start at 0 at the first prefix embedding.  No padding mask is used:
every position attends to every earlier position, as the published model does.

Speed: decoding one token is a chain of matrix-vector products whose cost is reading the weights.  MKL runs
a single float32 (out, in) matrix-vector product on one core; written as a batch of two half-height products
it uses both cores and reads the weights about twice as fast, so few-row float32 products are computed that
way (bfloat16 ones go to oneDNN as they are).  Weights keep
the standard layout: every parameter is its own contiguous tensor; the lm_head is tied to the input embedding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mellow.model.config import DecoderConfig

# Products with at most this many rows use the two-way split batched matmul on the CPU.
_SPLIT_MAX_ROWS = 16
# Inputs at least this long, or more rows than _COLUMNS_MAX_ROWS, put the rows first in that split product
# (see project).
_ROWS_FIRST_MIN_IN = 1024
_COLUMNS_MAX_ROWS = 8


class RMSNorm(nn.Module):
    """Root-mean-square layer norm (scale only), computed in float32."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        return _rms_norm(x, self.weight, self.eps)


def _rms_norm(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    """weight * x / sqrt(mean(x^2) + eps); normalised in (at least) float32, cast back before the scale."""
    if x.dtype in (torch.float32, torch.float64):
        return F.rms_norm(x, (x.shape[-1],), weight, eps)
    x32 = x.float()
    normed = x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + eps)
    return weight * normed.to(x.dtype)


class Attention(nn.Module):
    """Grouped-query self-attention projections (the computation lives in :meth:`CausalLM._layer`)."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        h = cfg.hidden_size
        self.q_proj = nn.Linear(h, cfg.num_attention_heads * cfg.head_dim, bias=False)
        self.k_proj = nn.Linear(h, cfg.num_key_value_heads * cfg.head_dim, bias=False)
        self.v_proj = nn.Linear(h, cfg.num_key_value_heads * cfg.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.num_attention_heads * cfg.head_dim, h, bias=False)


class MLP(nn.Module):
    """SiLU-gated feed-forward projections: down(silu(gate(x)) * up(x))."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)


class DecoderLayer(nn.Module):
    """Pre-norm transformer block: x + attn(norm(x)); then x + mlp(norm(x))."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        # Registration order gives the published state-dict key order.
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class LlamaModel(nn.Module):
    """Embedding table, decoder layers and final norm (the ``model.`` part of the state dict)."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


# ------------------------------------------------------------------------------------------------- compute
@dataclass
class _LayerWeights:
    """One layer's weights, gathered once so a decoding step does no module attribute lookups.

    Projection weights are stored as :func:`_split` views; the norm scales as the parameters themselves.
    """

    q: Tensor
    k: Tensor
    v: Tensor
    o: Tensor
    gate: Tensor
    up: Tensor
    down: Tensor
    ln1: Tensor
    ln2: Tensor


def _split(w: Tensor) -> Tensor:
    """A CPU float32 (out, in) weight as a (2, out / 2, in) view (two half-height matrices); others unchanged
    (bfloat16 products go to oneDNN, whose plain product was as fast or faster at every row count)."""
    if w.device.type == "cpu" and w.dtype == torch.float32 and w.shape[0] % 2 == 0 and w.is_contiguous():
        return w.detach().view(2, w.shape[0] // 2, w.shape[1])
    return w.detach()


def _gather(layer: DecoderLayer) -> _LayerWeights:
    a, m = layer.self_attn, layer.mlp
    ws = [_split(lin.weight) for lin in (a.q_proj, a.k_proj, a.v_proj, a.o_proj, m.gate_proj, m.up_proj,
                                         m.down_proj)]
    return _LayerWeights(*ws, layer.input_layernorm.weight, layer.post_attention_layernorm.weight)


def project(x: Tensor, w: Tensor) -> Tensor:
    """x (..., in) @ W.T -> (..., out) for W (out, in), given as W or as its :func:`_split` view.

    On the CPU, products with few rows run as a batch of two half-height matrix-vector products (one per
    core); each output is still one complete dot product, so results match a plain product to rounding.
    With several rows and a long input (the MLP's down projection, 1536 -> 576), or more than 8 rows, the
    rows multiply the transposed halves instead: MKL's kernel for a few long transposed columns ran about
    1.5x slower here, and for 9-15 columns of any length 1.1-1.8x slower (the 30 layers' products at 9 rows
    40 -> 35 ms, at 11 rows 54 -> 38 ms; the lm_head at 12 rows 17 -> 11 ms).
    """
    if w.dim() == 3:
        _, half, d_in = w.shape
        rows = x.numel() // d_in
        if rows == 1:  # the column's strides matter: (d_in, 1) as a transposed row takes MKL's fast path
            return torch.bmm(w, x.reshape(1, d_in).t().expand(2, d_in, 1)).view(*x.shape[:-1], 2 * half)
        if rows <= _SPLIT_MAX_ROWS and (d_in >= _ROWS_FIRST_MIN_IN or rows > _COLUMNS_MAX_ROWS):
            out = torch.bmm(x.reshape(1, rows, d_in).expand(2, rows, d_in), w.transpose(1, 2))
            return out.transpose(0, 1).reshape(*x.shape[:-1], 2 * half)
        if rows <= _SPLIT_MAX_ROWS:
            cols = x.reshape(rows, d_in).t().unsqueeze(0).expand(2, d_in, rows)
            return torch.bmm(w, cols).reshape(2 * half, rows).t().reshape(*x.shape[:-1], 2 * half)
        w = w.reshape(2 * half, d_in)
    return F.linear(x, w)


def _attend_one(q: Tensor, keys: Tensor, values: Tensor, scale: float) -> Tensor:
    """Attention of one new position: q (B, kv, rep, hd) (the query heads that share a kv head stacked, so
    no key/value copy is made), keys/values (B, kv, T, hd) views of the cache -> (B, kv, rep, hd).

    ``q`` is made contiguous first: the few-row products leave it transposed (last-dimension stride B), and
    CPU ``scaled_dot_product_attention`` then leaves its flash kernel for the generic path, which copies the
    scaled keys of every row (about a fifth of a batched decoding step at 5 rows and 400 positions)."""
    return F.scaled_dot_product_attention(q.contiguous(), keys, values, scale=scale)


def _rope(x: Tensor, cos: Tensor, sin_signed: Tensor) -> Tensor:
    """Rotate-half rotary embedding of x (B, H, T, D): x*cos + [x2, x1]*[-sin, sin] (cos/sin (T, D))."""
    return x * cos + x.roll(x.shape[-1] // 2, dims=-1) * sin_signed


class KVCache:
    """Static key/value cache: ``k`` and ``v`` of shape (layers, B, kv_heads, max_len, head_dim).

    The cache does not track a length: callers pass the absolute start position to :meth:`CausalLM.forward`,
    and positions at or beyond it are simply overwritten.  Rewinding is therefore free.
    """

    def __init__(self, k: Tensor, v: Tensor) -> None:
        self.k = k
        self.v = v

    @classmethod
    def empty(cls, cfg: DecoderConfig, batch: int, max_len: int, dtype: torch.dtype = torch.float32,
              device: torch.device | str = "cpu") -> KVCache:
        shape = (cfg.num_hidden_layers, batch, cfg.num_key_value_heads, max_len, cfg.head_dim)
        return cls(torch.zeros(shape, dtype=dtype, device=device),
                   torch.zeros(shape, dtype=dtype, device=device))

    @property
    def batch(self) -> int:
        return self.k.shape[1]

    @property
    def max_len(self) -> int:
        return self.k.shape[3]

    def snapshot(self, length: int) -> KVCache:
        """Compact copy of positions [0, length) (e.g. the audio part of the prefix)."""
        return KVCache(self.k[:, :, :, :length].clone(), self.v[:, :, :, :length].clone())

    def load_prefix(self, snap: KVCache, rows: slice | int | None = None) -> int:
        """Copy ``snap`` (positions [0, n)) into positions [0, n) of this cache; returns n.

        ``rows`` selects the batch rows to fill (all by default); a snapshot of batch 1 is broadcast.
        """
        n = snap.k.shape[3]
        if n > self.max_len:
            raise ValueError(f"snapshot of {n} positions does not fit a cache of {self.max_len}")
        sel = slice(None) if rows is None else rows
        if isinstance(sel, int):
            sel = slice(sel, sel + 1)
        self.k[:, sel, :, :n] = snap.k
        self.v[:, sel, :, :n] = snap.v
        return n

    def to(self, device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> KVCache:
        return KVCache(self.k.to(device=device, dtype=dtype), self.v.to(device=device, dtype=dtype))


class CausalLM(nn.Module):
    """Llama causal LM over embeddings, with tied input/output embeddings and a static KV cache."""

    def __init__(self, cfg: DecoderConfig) -> None:
        super().__init__()
        self.config = cfg
        self.model = LlamaModel(cfg)
        if cfg.tie_word_embeddings:  # no storage of its own (saves a transient vocab x hidden allocation)
            self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False, device="meta")
            self.lm_head.weight = self.model.embed_tokens.weight
        else:
            self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        half = torch.arange(0, cfg.head_dim, 2, dtype=torch.int64).float() / cfg.head_dim
        self.register_buffer("inv_freq", 1.0 / (cfg.rope_theta ** half), persistent=False)
        self._rope_cache: tuple[Tensor, Tensor] | None = None
        self._blocks: list[_LayerWeights] | None = None
        self._head: Tensor | None = None
        self.scale = 1.0 / math.sqrt(cfg.head_dim)

    def _weights(self, full_check: bool) -> tuple[list[_LayerWeights], Tensor]:
        """Per-layer weight views and the lm_head view; regathered on every prefill, and on a decoding step
        when the first layer's storage moved (``.to()``, ``load_state_dict(assign=True)``)."""
        blocks, head = self._blocks, self._head
        if full_check or blocks is None or head is None \
                or blocks[0].q.data_ptr() != self.model.layers[0].self_attn.q_proj.weight.data_ptr() \
                or head.data_ptr() != self.lm_head.weight.data_ptr():
            blocks = self._blocks = [_gather(layer) for layer in self.model.layers]
            head = self._head = _split(self.lm_head.weight)
        return blocks, head

    # ----------------------------------------------------------------------------------------- helpers
    def new_cache(self, batch: int, max_len: int) -> KVCache:
        """A zeroed static cache on this model's device and dtype."""
        w = self.model.embed_tokens.weight
        return KVCache.empty(self.config, batch, max_len, dtype=w.dtype, device=w.device)

    def embed(self, ids: Tensor) -> Tensor:
        """Token ids (B, T) -> input embeddings (B, T, hidden)."""
        return F.embedding(ids, self.model.embed_tokens.weight)

    def _rope_table(self, end: int) -> tuple[Tensor, Tensor]:
        """cos and sign-folded sin for positions [0, end), each (n >= end, head_dim), in the model dtype."""
        dtype = self.model.embed_tokens.weight.dtype
        cached = self._rope_cache
        if cached is None or cached[0].shape[0] < end or cached[0].dtype != dtype or \
                cached[0].device != self.inv_freq.device:
            n = max(end, 1024 if cached is None else 2 * cached[0].shape[0])
            pos = torch.arange(n, device=self.inv_freq.device, dtype=torch.float32)
            freqs = torch.outer(pos, self.inv_freq.float())  # (n, head_dim / 2)
            cos = torch.cat((freqs, freqs), dim=-1).cos()
            sin = freqs.sin()
            self._rope_cache = (cos.to(dtype), torch.cat((-sin, sin), dim=-1).to(dtype))
        return self._rope_cache

    # ----------------------------------------------------------------------------------------- forward
    def forward(self, inputs_embeds: Tensor, cache: KVCache, start_pos: int = 0,
                all_logits: bool = False, logits: bool = True) -> Tensor | None:
        """Run positions [start_pos, start_pos + T) of ``inputs_embeds`` (B, T, hidden) through the decoder.

        Keys/values are written into ``cache`` (same batch size); earlier positions are read from it.
        Returns logits (B, vocab) for the last position, or (B, T, vocab) with ``all_logits``; with
        ``logits=False`` only the keys/values are wanted (a prefix that later positions will read), so the
        last layer computes just its keys/values and None is returned (the cache is written exactly as
        otherwise).
        """
        b, t, _ = inputs_embeds.shape
        end = start_pos + t
        if cache.batch != b:
            raise ValueError(f"cache batch {cache.batch} does not match input batch {b}")
        if start_pos < 0 or end > cache.max_len:
            raise ValueError(f"positions {start_pos}..{end} do not fit the cache length {cache.max_len}")
        blocks, head = self._weights(full_check=t > 1)
        cos_all, sin_all = self._rope_table(end)
        cos = cos_all[start_pos:end]
        sin = sin_all[start_pos:end]
        mask = None
        if t > 1:
            # Query at absolute position start_pos + i may see keys at positions <= start_pos + i.
            q_pos = torch.arange(start_pos, end, device=inputs_embeds.device)
            mask = torch.arange(end, device=inputs_embeds.device)[None, :] <= q_pos[:, None]
        x = inputs_embeds
        eps = self.config.rms_norm_eps
        fast = t == 1 and b == 1 and blocks[0].q.dim() == 3
        last = len(blocks) - 1
        for i, blk in enumerate(blocks):
            if fast:
                x = self._layer_step(x, blk, cos, sin, cache.k[i], cache.v[i], start_pos, eps)
            elif i == last and not logits:
                self._write_kv(_rms_norm(x, blk.ln1, eps), blk, cos, sin, cache.k[i], cache.v[i], start_pos)
                return None
            else:
                x = self._layer(x, blk, cos, sin, cache.k[i], cache.v[i], start_pos, mask, eps)
        if all_logits:
            return project(_rms_norm(x, self.model.norm.weight, eps), head)
        last = _rms_norm(x[:, -1], self.model.norm.weight, eps)  # (B, hidden)
        if t > 1 and b > 1 and head.dim() == 3:
            # A prefill's logits one row at a time: MKL's few-column products round differently from 4
            # columns on, and a score (P(yes)) must not depend on which rows were prefilled together.
            return torch.cat([project(row, head) for row in last.split(1)])
        return project(last, head)

    def _layer(self, x: Tensor, w: _LayerWeights, cos: Tensor, sin: Tensor, k_cache: Tensor, v_cache: Tensor,
               start: int, mask: Tensor | None, eps: float) -> Tensor:
        """One decoder block on x (B, T, hidden); k_cache/v_cache (B, kv, max_len, head_dim) of this layer."""
        cfg = self.config
        b, t, _ = x.shape
        hd, nh, nkv = cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
        nq = nh * hd
        h = _rms_norm(x, w.ln1, eps)
        q = _rope(project(h, w.q).view(b, t, nh, hd).transpose(1, 2), cos, sin)  # (B, nh, T, hd)
        end = self._write_kv(h, w, cos, sin, k_cache, v_cache, start)
        keys = k_cache[:, :, :end]
        values = v_cache[:, :, :end]
        rep = nh // nkv
        if t == 1:
            att = _attend_one(q.reshape(b, nkv, rep, hd), keys, values, self.scale).reshape(b, 1, nq)
        else:  # from position 0 the mask is the plain causal one, whose blocks above the diagonal are skipped
            causal = {"is_causal": True} if start == 0 else {"attn_mask": mask}
            att = F.scaled_dot_product_attention(q, keys, values, enable_gqa=rep > 1, scale=self.scale,
                                                 **causal)
            att = att.transpose(1, 2).reshape(b, t, nq)
        x = x + project(att, w.o)
        h = _rms_norm(x, w.ln2, eps)
        act = F.silu(project(h, w.gate), inplace=True)
        return x + project(act.mul_(project(h, w.up)), w.down)

    def _write_kv(self, h: Tensor, w: _LayerWeights, cos: Tensor, sin: Tensor, k_cache: Tensor,
                  v_cache: Tensor, start: int) -> int:
        """Write the keys (rotated) and values of the normalised input h (B, T, hidden) into positions
        [start, start + T) of this layer's cache; returns start + T."""
        cfg = self.config
        b, t, _ = h.shape
        hd, nkv = cfg.head_dim, cfg.num_key_value_heads
        end = start + t
        k_cache[:, :, start:end] = _rope(project(h, w.k).view(b, t, nkv, hd).transpose(1, 2), cos, sin)
        v_cache[:, :, start:end] = project(h, w.v).view(b, t, nkv, hd).transpose(1, 2)
        return end

    def _layer_step(self, x: Tensor, w: _LayerWeights, cos: Tensor, sin: Tensor, k_cache: Tensor,
                    v_cache: Tensor, pos: int, eps: float) -> Tensor:
        """:meth:`_layer` for one token of one sequence (x (1, 1, hidden)) with few tensor operations: the
        normalised input is laid out once as the column of the split products (see :func:`project`)."""
        cfg = self.config
        hd, nh, nkv = cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
        d = x.shape[-1]
        col = _rms_norm(x, w.ln1, eps).view(1, d).t().expand(2, d, 1)
        q = torch.bmm(w.q, col).view(1, nh, 1, hd)
        k = torch.bmm(w.k, col).view(1, nkv, 1, hd)
        q = torch.addcmul(q * cos, q.roll(hd // 2, dims=-1), sin)
        k_cache[:, :, pos] = torch.addcmul(k * cos, k.roll(hd // 2, dims=-1), sin).view(1, nkv, hd)
        v_cache[:, :, pos] = torch.bmm(w.v, col).view(1, nkv, hd)
        end = pos + 1
        att = F.scaled_dot_product_attention(q.view(1, nkv, nh // nkv, hd), k_cache[:, :, :end],
                                             v_cache[:, :, :end], scale=self.scale)
        n_att = nh * hd
        x = x + torch.bmm(w.o, att.view(1, n_att).t().expand(2, n_att, 1)).view(1, 1, d)
        col = _rms_norm(x, w.ln2, eps).view(1, d).t().expand(2, d, 1)
        act = F.silu(torch.bmm(w.gate, col)).mul_(torch.bmm(w.up, col))  # (2, inter / 2, 1)
        n_act = act.numel()
        return x + torch.bmm(w.down, act.view(1, n_act).t().expand(2, n_act, 1)).view(1, 1, d)

    def step(self, ids: Tensor, cache: KVCache, pos: int) -> Tensor:
        """One decoding step: token ids (B,) at position ``pos`` -> logits (B, vocab)."""
        return self.forward(self.embed(ids[:, None]), cache, pos)
