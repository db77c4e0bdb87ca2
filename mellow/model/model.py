"""The Mellow model (SPEC.md sections 3-4): HTSAT audio encoder, projection, and the Llama caption decoder.

Module names mirror the published checkpoint, so ``MellowModel(load_config("v0")).state_dict()`` lists exactly
the 479 entries of ``state_dict_v0.tsv`` and a published state dict loads with ``strict=True``.

Shapes below are for v0 (B = batch):

    wave (B, 320000) --embed_audio--> (B, 1025, 768) --project--> (B, 1025, 576) --downsample--> (B, 129, 576)
    build_prefix: [clip 1 (129), SEP, clip 2 (129), SEP, prompt (129)] -> (B, 389, 576)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mellow.model.config import ModelConfig, ProjectionConfig
from mellow.model.htsat import HTSAT
from mellow.model.llama import CausalLM


class AudioBase(nn.Module):
    """``audio_encoder.base``: HTSAT plus ``c2l``, the class-to-latent map of the framewise output."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.htsat = HTSAT(config.htsat, config.audio)
        self.c2l = nn.Linear(config.htsat.num_classes, config.htsat.out_dim)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, samples) -> (B, 1 + T, out_dim): [latent, c2l(framewise)] with T = 1024 for v0."""
        latent, framewise = self.htsat(wave)
        return torch.cat([latent[:, None], self.c2l(framewise)], dim=1)


class Projection(nn.Module):
    """``audio_encoder.projection``: e1 = linear1(x); out = LayerNorm(e1 + linear2(GELU(e1))).

    (..., in_dim) -> (..., out_dim).
    """

    def __init__(self, cfg: ProjectionConfig) -> None:
        super().__init__()
        self.linear1 = nn.Linear(cfg.in_dim, cfg.out_dim, bias=False)
        self.linear2 = nn.Linear(cfg.out_dim, cfg.out_dim, bias=False)
        self.layer_norm = nn.LayerNorm(cfg.out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.linear1(x)
        return self.layer_norm(e1 + self.linear2(F.gelu(e1)))


class AudioEncoder(nn.Module):
    """``audio_encoder``: ``base`` (HTSAT + c2l) and ``projection``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.base = AudioBase(config)
        self.projection = Projection(config.projection)


class CaptionDecoder(nn.Module):
    """``caption_decoder``: holds the causal LM as ``lm``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.lm = CausalLM(config.decoder)


class MellowModel(nn.Module):
    """Mellow: two audio clips and a prompt -> the decoder's input prefix (generation: mellow.generation)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.audio_encoder = AudioEncoder(config)
        self.caption_decoder = CaptionDecoder(config)

    @property
    def lm(self) -> CausalLM:
        """The caption decoder's causal LM."""
        return self.caption_decoder.lm

    def embed_audio(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, clip_samples) -> HTSAT embedding (B, 1 + T, out_dim); (B, 1025, 768) for v0."""
        n = self.config.audio.clip_samples
        if wave.dim() != 2 or wave.shape[1] != n:
            raise ValueError(f"expected waveforms of shape (B, {n}), got {tuple(wave.shape)}")
        return self.audio_encoder.base(wave)

    def project(self, emb: torch.Tensor) -> torch.Tensor:
        """(B, 1 + T, out_dim) -> (B, 1 + T, hidden); (B, 1025, 576) for v0."""
        return self.audio_encoder.projection(emb)

    def downsample(self, proj: torch.Tensor) -> torch.Tensor:
        """(B, 1 + T, D) -> (B, 1 + T / k, D): keep token 0, average the rest in consecutive groups of k."""
        b, n, d = proj.shape
        k = self.config.projection.downsample
        frames = proj[:, 1:].reshape(b, (n - 1) // k, k, d).mean(dim=2)
        return torch.cat([proj[:, :1], frames], dim=1)

    def encode_audio(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, clip_samples) -> decoder audio tokens (B, audio_tokens, hidden); (B, 129, 576) for v0."""
        return self.downsample(self.project(self.embed_audio(wave)))

    def separator(self, batch: int) -> torch.Tensor:
        """The SEP embedding (input embedding of token ``sep_token_id``) as (batch, 1, hidden)."""
        lm = self.caption_decoder.lm
        ids = torch.full((batch, 1), self.config.prompt.sep_token_id, dtype=torch.long,
                         device=lm.model.embed_tokens.weight.device)
        return lm.embed(ids)

    def audio_part(self, audio1: torch.Tensor, audio2: torch.Tensor,
                   dtype: torch.dtype | None = None) -> torch.Tensor:
        """[audio1, SEP, audio2, SEP] -> (B, audio_positions, hidden) in ``dtype`` (default audio1's).

        The one place the audio part of the prefix is assembled (the engine prefills it on its own, since it
        does not depend on the prompt).  audio1, audio2: (B, audio_tokens, hidden).
        """
        dt = dtype or audio1.dtype
        sep = self.separator(audio1.shape[0]).to(dt)
        return torch.cat([audio1.to(dt), sep, audio2.to(dt), sep], dim=1)

    def build_prefix(self, audio1: torch.Tensor, audio2: torch.Tensor,
                     prompt_ids: torch.Tensor) -> torch.Tensor:
        """[audio1, SEP, audio2, SEP, embed(prompt_ids)] -> (B, prefix_len, hidden); (B, 389, 576) for v0.

        Args:
            audio1, audio2: (B, audio_tokens, hidden) from :meth:`encode_audio`.
            prompt_ids: (B, prompt_len) int64, already truncated and padded.
        """
        prompt = self.caption_decoder.lm.embed(prompt_ids).to(audio1.dtype)
        return torch.cat([self.audio_part(audio1, audio2), prompt], dim=1)
