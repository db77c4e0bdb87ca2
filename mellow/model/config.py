"""Model configuration: frozen dataclasses read from the packaged ``mellow/model/configs/*.yaml``.

The whole architecture, including the SmolLM2 decoder, lives in the config, so building a model
never fetches anything from a hub.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from mellow.errors import ConfigError

CONFIG_PACKAGE_DIR = "configs"  # package data of ``mellow.model``: one ``<name>.yaml`` per named config


def config_dir() -> Traversable:
    """The packaged config folder (found through importlib.resources, so any install has it)."""
    return resources.files("mellow.model") / CONFIG_PACKAGE_DIR


def config_names() -> list[str]:
    """Names of the packaged configs (``["tiny", "v0"]``)."""
    return sorted(p.name[: -len(".yaml")] for p in config_dir().iterdir() if p.name.endswith(".yaml"))


@dataclass(frozen=True)
class AudioConfig:
    """Audio front end: sample rate, window length and the log-mel spectrogram."""

    sample_rate: int = 32000
    clip_samples: int = 320000
    n_fft: int = 1024
    hop_length: int = 320
    win_length: int = 1024
    n_mels: int = 64
    f_min: float = 50.0
    f_max: float = 14000.0
    amin: float = 1e-10

    @property
    def clip_seconds(self) -> float:
        return self.clip_samples / self.sample_rate

    @property
    def n_frames(self) -> int:
        """STFT frames of one clip (centered): 1001 for v0."""
        return self.clip_samples // self.hop_length + 1


@dataclass(frozen=True)
class HTSATConfig:
    """Swin-transformer audio encoder (HTSAT)."""

    spec_size: int = 256
    patch_size: int = 4
    embed_dim: int = 96
    depths: tuple[int, ...] = (2, 2, 6, 2)
    num_heads: tuple[int, ...] = (4, 8, 16, 32)
    window_size: int = 8
    mlp_ratio: float = 4.0
    num_classes: int = 527
    freq_ratio: int = 4
    tscam_kernel: tuple[int, int] = (2, 3)
    out_dim: int = 768  # c2l output width

    @property
    def final_dim(self) -> int:
        return self.embed_dim * 2 ** (len(self.depths) - 1)


@dataclass(frozen=True)
class ProjectionConfig:
    """Audio embedding -> LM embedding projection."""

    in_dim: int = 768
    out_dim: int = 576
    downsample: int = 8  # average consecutive groups of this many frame tokens


@dataclass(frozen=True)
class DecoderConfig:
    """Llama-architecture causal LM (SmolLM2-135M for v0)."""

    vocab_size: int = 49152
    hidden_size: int = 576
    intermediate_size: int = 1536
    num_hidden_layers: int = 30
    num_attention_heads: int = 9
    num_key_value_heads: int = 3
    head_dim: int = 64
    rms_norm_eps: float = 1e-5
    rope_theta: float = 100000.0
    max_position_embeddings: int = 8192
    tie_word_embeddings: bool = True


@dataclass(frozen=True)
class PromptConfig:
    """How prompts and the 389-embedding prefix are laid out."""

    prompt_len: int = 129
    pad_token_id: int = 17  # "!"
    sep_token_id: int = 0  # "<|endoftext|>"
    stop_token_id: int = 0


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a Mellow model."""

    name: str = "v0"
    audio: AudioConfig = field(default_factory=AudioConfig)
    htsat: HTSATConfig = field(default_factory=HTSATConfig)
    projection: ProjectionConfig = field(default_factory=ProjectionConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)

    def __post_init__(self) -> None:
        h, p, d = self.htsat, self.projection, self.decoder
        if h.final_dim != h.out_dim:
            raise ConfigError(f"htsat.out_dim ({h.out_dim}) must equal the encoder's final width "
                              f"embed_dim * 2**(stages-1) ({h.final_dim})")
        if len(h.depths) != len(h.num_heads):
            raise ConfigError("htsat.depths and htsat.num_heads must have one entry per stage")
        if p.in_dim != h.out_dim:
            raise ConfigError(f"projection.in_dim ({p.in_dim}) must equal htsat.out_dim ({h.out_dim})")
        if p.out_dim != d.hidden_size:
            raise ConfigError(f"projection.out_dim ({p.out_dim}) must equal decoder.hidden_size "
                              f"({d.hidden_size})")
        frames = h.spec_size * h.freq_ratio
        if frames % p.downsample:
            raise ConfigError(f"projection.downsample ({p.downsample}) must divide {frames} frames")

    @property
    def audio_tokens(self) -> int:
        """Embeddings per clip in the prefix: 1 + frames / downsample (129 for v0)."""
        frames = self.htsat.spec_size * self.htsat.freq_ratio
        return 1 + frames // self.projection.downsample

    @property
    def audio_positions(self) -> int:
        """Decoder positions of the audio part [clip1, SEP, clip2, SEP]: 2 * audio_tokens + 2 (260 for v0)."""
        return 2 * self.audio_tokens + 2

    @property
    def prefix_len(self) -> int:
        """[clip1, SEP, clip2, SEP, prompt] = audio_positions + prompt_len (389 for v0)."""
        return self.audio_positions + self.prompt.prompt_len


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown keys in {where}: {', '.join(unknown)}")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"bad {where}: {exc}") from None


def config_from_dict(data: dict[str, Any]) -> ModelConfig:
    """Build a :class:`ModelConfig` from a parsed YAML mapping."""
    sections = {"audio": AudioConfig, "htsat": HTSATConfig, "projection": ProjectionConfig,
                "decoder": DecoderConfig, "prompt": PromptConfig}
    unknown = sorted(set(data) - set(sections) - {"name"})
    if unknown:
        raise ConfigError(f"unknown config sections: {', '.join(unknown)}")
    parts = {k: _build(cls, data.get(k) or {}, k) for k, cls in sections.items()}
    return ModelConfig(name=str(data.get("name", "custom")), **parts)


def _config_source(name_or_path: str | Path) -> tuple[str, Traversable | Path]:
    """(description, readable file) of a config name (``"v0"``) or a YAML path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        return str(path), path
    name = str(name_or_path)
    if name not in config_names():
        raise ConfigError(f"no model config {name!r} (known: {', '.join(config_names())})")
    return f"{name} (packaged)", config_dir() / f"{name}.yaml"


def load_config(name_or_path: str | Path = "v0") -> ModelConfig:
    """Read a packaged config by name (``"v0"`` -> ``mellow/configs/v0.yaml``) or from a YAML path."""
    where, source = _config_source(name_or_path)
    if not source.is_file():
        raise ConfigError(f"no model config {str(name_or_path)!r} (known: {', '.join(config_names())})")
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {where} is not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config {where}: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {where} must be a mapping")
    return config_from_dict(data)
