"""HTSAT audio encoder (SPEC.md section 3), with the published state-dict names.

Pipeline for a batch of 10 s waveforms (B, 320000) at 32 kHz (v0 sizes):

    STFT power (B, 1, 1001, 513) -> log-mel (B, 1, 1001, 64) -> bn0 -> image (B, 1, 256, 256)
    -> patch embedding (B, 4096, 96) -> 4 Swin stages -> LayerNorm (B, 64, 768)
    -> token-semantic head: latent (B, 768) and framewise class probabilities (B, 1024, 527)

The constant buffers (STFT kernels, mel matrix, relative position indices, shifted-window masks) are built
here with the same floating-point steps as the reference, so they equal the published ones bit for bit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from mellow.model.config import AudioConfig, HTSATConfig
from mellow.model.features import LogMel, PowerSpectrogram

#: Value the shifted-window mask adds between tokens of different regions.
MASK_VALUE = -100.0


# ========================================================================================== constant buffers
def relative_position_index(window: int) -> torch.Tensor:
    """int64 (window², window²): row of the bias table for each (query, key) pair in a window.

    For query (r1, c1) and key (r2, c2): (r1 - r2 + window - 1) * (2 * window - 1) + (c1 - c2 + window - 1).
    """
    r, c = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
    r, c = r.flatten(), c.flatten()
    dr = r[:, None] - r[None, :] + window - 1
    dc = c[:, None] - c[None, :] + window - 1
    return (dr * (2 * window - 1) + dc).contiguous()


def partition_windows(x: torch.Tensor, window: int) -> torch.Tensor:
    """(B, H, W, C) -> (B, nW, window², C), windows in row-major order."""
    b, h, w, c = x.shape
    x = x.view(b, h // window, window, w // window, window, c).transpose(2, 3)
    return x.reshape(b, (h // window) * (w // window), window * window, c)


def merge_windows(x: torch.Tensor, window: int, h: int, w: int) -> torch.Tensor:
    """Inverse of :func:`partition_windows`: (B, nW, window², C) -> (B, H, W, C)."""
    b, _, _, c = x.shape
    x = x.view(b, h // window, w // window, window, window, c).transpose(2, 3)
    return x.reshape(b, h, w, c)


def shifted_window_mask(grid: int, window: int, shift: int) -> torch.Tensor:
    """float32 (nW, window², window²): 0 within one region of the rolled grid, -100 across regions."""
    bounds = (0, grid - window, grid - shift, grid)
    region = torch.zeros(grid, grid)
    label = 0
    for r0, r1 in zip(bounds[:-1], bounds[1:], strict=True):
        for c0, c1 in zip(bounds[:-1], bounds[1:], strict=True):
            region[r0:r1, c0:c1] = label
            label += 1
    labels = partition_windows(region.view(1, grid, grid, 1), window).view(-1, window * window)
    differ = labels[:, None, :] != labels[:, :, None]
    return torch.zeros(differ.shape).masked_fill_(differ, MASK_VALUE)


@contextlib.contextmanager
def _ieee_float32_convs(device: torch.device) -> Iterator[None]:
    """On CUDA, run cuDNN float32 convolutions in full precision (its TF32 default is far from the reference).

    Uses the new ``fp32_precision`` API only (mixing it with the legacy ``allow_tf32`` flag is an error).
    """
    conv = getattr(torch.backends.cudnn, "conv", None)
    if device.type != "cuda" or conv is None or not hasattr(conv, "fp32_precision"):
        yield
        return
    previous = conv.fp32_precision
    conv.fp32_precision = "ieee"
    try:
        yield
    finally:
        conv.fp32_precision = previous


# ============================================================================================ Swin parts
class PatchEmbed(nn.Module):
    """(B, 1, S, S) image -> (B, (S/p)², dim) tokens in row-major order, then LayerNorm."""

    def __init__(self, patch: int, dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(1, dim, kernel_size=patch, stride=patch)
        self.norm = nn.LayerNorm(dim)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(image).flatten(2).transpose(1, 2))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside each window, with a learned relative position bias.

    Input (B, nW, N, C) with N = window²; optional additive mask (nW, N, N); output (B, nW, N, C).
    """

    def __init__(self, dim: int, heads: int, window: int) -> None:
        super().__init__()
        self.heads, self.window = heads, window
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        self.register_buffer("relative_position_index", relative_position_index(window))
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def position_bias(self) -> torch.Tensor:
        """(heads, N, N) bias gathered from the table."""
        n = self.window * self.window
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)]
        return bias.view(n, n, self.heads).permute(2, 0, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, nw, n, c = x.shape
        qkv = self.qkv(x).view(b, nw, n, 3, self.heads, c // self.heads).permute(3, 0, 1, 4, 2, 5)
        q, k, v = qkv.unbind(0)  # each (B, nW, heads, N, head_dim)
        bias = self.position_bias()
        if mask is not None:
            bias = bias[None] + mask[:, None]  # (nW, heads, N, N)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)  # scale = head_dim ** -0.5
        return self.proj(out.transpose(2, 3).reshape(b, nw, n, c))


class Mlp(nn.Module):
    """Linear -> exact GELU -> Linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class SwinBlock(nn.Module):
    """(B, G*G, C) -> same: x + W-MSA(LN(x)), then x + MLP(LN(x)); optionally on a cyclically shifted grid."""

    def __init__(self, dim: int, heads: int, grid: int, window: int, shift: int, mlp_ratio: float) -> None:
        super().__init__()
        self.grid, self.window, self.shift = grid, window, shift
        if shift > 0:
            self.register_buffer("attn_mask", shifted_window_mask(grid, window, shift))
        else:
            self.attn_mask = None
        self.norm1 = nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, length, c = x.shape
        g, s = self.grid, self.shift
        h = self.norm1(x).view(b, g, g, c)
        if s:
            h = torch.roll(h, shifts=(-s, -s), dims=(1, 2))
        h = self.attn(partition_windows(h, self.window), self.attn_mask)
        h = merge_windows(h, self.window, g, g)
        if s:
            h = torch.roll(h, shifts=(s, s), dims=(1, 2))
        x = x + h.reshape(b, length, c)
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """(B, G*G, C) -> (B, (G/2)², 2C): concat 2×2 neighbours, LayerNorm(4C), Linear(4C -> 2C, no bias)."""

    def __init__(self, dim: int, grid: int) -> None:
        super().__init__()
        self.grid = grid
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, c = x.shape
        x = x.view(b, self.grid, self.grid, c)
        # order: (even row, even col), (odd row, even col), (even row, odd col), (odd row, odd col)
        parts = [x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]]
        x = torch.cat(parts, dim=-1).view(b, -1, 4 * c)
        return self.reduction(self.norm(x))


class SwinStage(nn.Module):
    """``depth`` Swin blocks (odd ones shifted, unless the grid is a single window), then optional merge."""

    def __init__(self, dim: int, depth: int, heads: int, grid: int, window: int, mlp_ratio: float,
                 merge: bool) -> None:
        super().__init__()
        window = min(window, grid)
        shift = window // 2 if grid > window else 0
        self.blocks = nn.ModuleList(
            SwinBlock(dim, heads, grid, window, shift if i % 2 else 0, mlp_ratio) for i in range(depth))
        self.downsample = PatchMerging(dim, grid) if merge else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.downsample(x) if self.downsample is not None else x


# ============================================================================================ encoder
class HTSAT(nn.Module):
    """Hierarchical token-semantic audio transformer (eval-mode inference only).

    ``forward(wave (B, clip_samples))`` returns ``(latent (B, final_dim), framewise (B, T, num_classes))``
    with T = spec_size * freq_ratio (1024 for v0); framewise values are sigmoid probabilities.
    """

    def __init__(self, cfg: HTSATConfig, audio: AudioConfig) -> None:
        super().__init__()
        self.cfg, self.audio_cfg = cfg, audio
        n_stages = len(cfg.depths)
        self.spectrogram_extractor = PowerSpectrogram(audio)
        self.logmel_extractor = LogMel(audio)
        self.bn0 = nn.BatchNorm2d(audio.n_mels)
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.embed_dim)
        grid = cfg.spec_size // cfg.patch_size
        self.layers = nn.ModuleList()
        for i in range(n_stages):
            self.layers.append(SwinStage(cfg.embed_dim * 2 ** i, cfg.depths[i], cfg.num_heads[i], grid >> i,
                                         cfg.window_size, cfg.mlp_ratio, merge=i < n_stages - 1))
        self.final_grid = grid >> (n_stages - 1)
        self.norm = nn.LayerNorm(cfg.final_dim)
        kh, kw = cfg.tscam_kernel
        self.tscam_conv = nn.Conv2d(cfg.final_dim, cfg.num_classes, kernel_size=(kh, kw),
                                    padding=(0, kw // 2))
        self.head = nn.Linear(cfg.num_classes, cfg.num_classes)  # in the checkpoint, unused for embeddings

    @property
    def n_time_steps(self) -> int:
        """Framewise output length (spec_size * freq_ratio = 1024 for v0)."""
        return self.cfg.spec_size * self.cfg.freq_ratio

    def log_mel(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> normalised log-mel (B, 1, frames, n_mels) after bn0, in the module's dtype.

        The spectrogram and the dB conversion run in float32 even for a half-precision model (the 1e-10 floor
        underflows in float16).
        """
        x = self.logmel_extractor(self.spectrogram_extractor(wave))
        x = x.to(self.bn0.weight.dtype)
        return self.bn0(x.transpose(1, 3)).transpose(1, 3)

    def to_image(self, mel: torch.Tensor) -> torch.Tensor:
        """(B, 1, frames, n_mels) -> (B, 1, freq_ratio * n_mels, spec_size).

        Time is resized to spec_size * freq_ratio frames (bicubic, align_corners), then cut into freq_ratio
        chunks stacked along frequency: row = chunk * n_mels + mel bin, column = frame within chunk.
        """
        b, _, frames, n_mels = mel.shape
        r, t = self.cfg.freq_ratio, self.n_time_steps
        if frames < t:
            mel = F.interpolate(mel, size=(t, n_mels), mode="bicubic", align_corners=True)
        x = mel[:, :, :t].transpose(2, 3)  # (B, 1, n_mels, T)
        x = x.reshape(b, 1, n_mels, r, t // r).transpose(2, 3)  # (B, 1, r, n_mels, T/r)
        return x.reshape(b, 1, r * n_mels, t // r)

    def features(self, image: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) -> final tokens as a map (B, final_dim, G, G), rows = frequency side."""
        x = self.patch_embed(image)
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)
        g = self.final_grid
        return x.transpose(1, 2).reshape(x.shape[0], -1, g, g)

    def semantic_head(self, fmap: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C, G, G) -> (latent (B, C), framewise (B, T, num_classes)).

        The freq_ratio row groups are the time chunks: laid side by side they give (B, C, G / r, r * G).
        """
        b, c, g, _ = fmap.shape
        r = self.cfg.freq_ratio
        x = fmap.reshape(b, c, r, g // r, g).transpose(2, 3).reshape(b, c, g // r, r * g)
        latent = x.flatten(2).mean(dim=2)
        steps = self.tscam_conv(x).flatten(2)  # (B, num_classes, r * G)
        frames = torch.sigmoid(steps).transpose(1, 2)  # (B, r * G, num_classes)
        framewise = frames.repeat_interleave(self.n_time_steps // frames.shape[1], dim=1)
        return latent, framewise

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with _ieee_float32_convs(wave.device):
            image = self.to_image(self.log_mel(wave))
            return self.semantic_head(self.features(image))
