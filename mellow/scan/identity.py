"""The model of a scan by name: config name and checkpoint SHA-256 prefix (in rows and resume keys)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from mellow.errors import CheckpointError
from mellow.file_hash import SHA256, file_digest
from mellow.generation.devices import dtype_name
from mellow.model.config import ModelConfig


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a checkpoint file (:func:`mellow.file_hash.file_digest`: chunked, memoised)."""
    return file_digest(path, SHA256, label=f"the checkpoint {path}", error=CheckpointError)


def _dtype_suffix(dtype: torch.dtype | None) -> str:
    name = dtype_name(dtype)
    return "" if name == "float32" else f" {name}"


def model_id_for(config: ModelConfig, checkpoint: Path, dtype: torch.dtype | None = None) -> str:
    """``"<config name> sha256:<first 12 hex digits of the checkpoint file>"``, plus the decoder dtype when
    it is not float32 (its answers differ from the published float32 ones), e.g. "v0 sha256:1a2b3c4d5e6f"."""
    return f"{config.name} sha256:{file_sha256(Path(checkpoint))[:12]}{_dtype_suffix(dtype)}"


def state_dict_digest(model: torch.nn.Module) -> str:
    """Hex SHA-256 over a model's state dict (names, dtypes, shapes and bytes), for models not from a file."""
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        if t.numel():  # the tensor's own buffer: no copy, and hashlib lets other threads run meanwhile
            h.update(t.reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()
