"""Safe checkpoint reading, strict loading into a model, and conversion to safetensors.

Nothing here ever runs pickled code: ``.ckpt``/``.pt`` files go through ``torch.load(weights_only=True)``
and ``.safetensors`` files through the safetensors reader.  Formats are recognised by their first bytes,
not by the file name, so a mislabelled file still gets the right reader (or a clear error).

Finding the published files lives in :mod:`mellow.model_files` and downloading them in :mod:`mellow.download`.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import re
import struct
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from mellow.errors import CheckpointError, one_line

__all__ = ["CheckpointMismatch", "StateDict", "convert_to_safetensors", "load_checkpoint_into",
           "read_state_dict", "safetensors_sibling"]

log = logging.getLogger(__name__)

StateDict = dict[str, Tensor]

PREFIX = "module."  # added by torch.nn.DataParallel when the published model was trained
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")  # common {"state_dict": {...}} wrappers
_TIED_META = "mellow.tied"  # safetensors metadata: JSON {alias key: stored key}
_SOURCE_META = "mellow.source"  # safetensors metadata: JSON {"size", "mtime_ns"} of the converted file
_LIST_LIMIT = 12  # names listed per kind in one error line before it says "and N more"


class CheckpointMismatch(CheckpointError):
    """The checkpoint's keys or shapes differ from the model's; the full lists are attributes."""

    def __init__(self, message: str, missing: list[str], unexpected: list[str],
                 mismatched: list[str]) -> None:
        super().__init__(message)
        self.missing, self.unexpected, self.mismatched = missing, unexpected, mismatched


# --------------------------------------------------------------------------------------------- reading
def _sniff(path: Path) -> str:
    """Return "zip" (torch.save), "pickle" (legacy torch.save), or "safetensors"; raise otherwise."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            head = f.read(9)
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    if size == 0:
        raise CheckpointError(f"checkpoint {path} is empty")
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\x80"):
        return "pickle"
    if len(head) == 9 and head[8:9] == b"{":
        (header_len,) = struct.unpack("<Q", head[:8])
        if 8 + header_len > size:
            raise CheckpointError(f"checkpoint {path} is truncated (safetensors header runs past the end)")
        return "safetensors"
    raise CheckpointError(f"{path} is not a checkpoint (neither a PyTorch file nor safetensors)")


def _load_weights_only(path: Path, kind: str) -> object:
    """Read with ``torch.load(weights_only=True)``; every failure becomes a CheckpointError."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=(kind == "zip"))
    except pickle.UnpicklingError as exc:
        msg = str(exc)
        if "Weights only load failed" in msg:
            found = re.search(r"GLOBAL ([\w.]+)", msg)
            detail = f" (it asks for {found.group(1)})" if found else ""
            raise CheckpointError(
                f"refusing to load {path}: it holds Python objects or code, not just tensors{detail}; "
                "only plain state dicts are accepted"
            ) from None
        if "magic number" in msg:
            raise CheckpointError(f"{path} is a Python pickle, not a PyTorch checkpoint") from None
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated") from None
    except (EOFError, RuntimeError, ValueError, struct.error) as exc:
        if "magic number" in str(exc):
            raise CheckpointError(f"{path} is a Python pickle, not a PyTorch checkpoint") from None
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - anything else torch raises on a bad file is still "bad file"
        raise CheckpointError(f"cannot read checkpoint {path}: {one_line(exc, 120)}") from None


def _safetensors_metadata(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        return dict(f.metadata() or {})


def _read_safetensors(path: Path) -> StateDict:
    """Read every tensor (memory-mapped by safetensors) and restore aliases recorded at conversion."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = dict(f.metadata() or {})
            state = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({one_line(exc, 120)})") from None
    try:
        tied = json.loads(meta.get(_TIED_META, "{}"))
    except json.JSONDecodeError:
        raise CheckpointError(f"checkpoint {path} has unreadable {_TIED_META} metadata") from None
    for alias, stored in tied.items():
        if stored not in state:
            raise CheckpointError(f"checkpoint {path} ties {alias} to {stored}, which it does not contain")
        state[alias] = state[stored]
    return state


def _unwrap(obj: object, path: Path | str) -> Mapping[str, object]:
    """The state dict inside ``obj``: the dict itself, or ``obj["state_dict"]`` / ``["model"]`` wrappers."""
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{path} holds a {type(obj).__name__}, not a state dict")
    if obj and not any(isinstance(v, Tensor) for v in obj.values()):
        for key in WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and any(isinstance(v, Tensor) for v in inner.values()):
                return inner
    return obj


def normalize_state_dict(obj: object, source: Path | str = "state dict") -> StateDict:
    """Unwrap, check that every value is a tensor and strip a leading ``"module."`` from every key."""
    raw = _unwrap(obj, source)
    state: StateDict = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            raise CheckpointError(f"{source} has a non-text key {key!r}; it is not a state dict")
        if not isinstance(value, Tensor):
            raise CheckpointError(f"{source}: entry {key!r} is a {type(value).__name__}, not a tensor")
        name = key[len(PREFIX):] if key.startswith(PREFIX) else key
        if name in state:
            raise CheckpointError(f"{source} has {name!r} both with and without the {PREFIX!r} prefix")
        state[name] = value
    if not state:
        raise CheckpointError(f"{source} holds no tensors")
    return state


def safetensors_sibling(path: str | os.PathLike[str]) -> Path | None:
    """``<name>.safetensors`` next to ``path`` if :func:`convert_to_safetensors` made it from this file."""
    path = Path(path)
    sibling = path.with_suffix(".safetensors")
    if path.suffix == ".safetensors" or not sibling.is_file():
        return None
    try:
        source = json.loads(_safetensors_metadata(sibling).get(_SOURCE_META, "{}"))
        st = path.stat()
    except Exception:  # noqa: BLE001 - an unreadable sibling is simply not used
        return None
    if source.get("size") == st.st_size and source.get("mtime_ns") == st.st_mtime_ns:
        return sibling
    return None


def read_state_dict(path: str | os.PathLike[str], *, prefer_safetensors: bool = True) -> StateDict:
    """Read a checkpoint file into ``{key: tensor}`` on the CPU, without running any pickled code.

    ``.safetensors`` is memory-mapped; PyTorch zip files are loaded with ``mmap=True``.  With
    ``prefer_safetensors`` an up-to-date ``<name>.safetensors`` sibling (see :func:`convert_to_safetensors`)
    is read instead of a ``.ckpt``.  Keys lose a leading ``"module."``.  Tensors sharing storage in the file
    (the tied ``lm_head.weight`` / ``embed_tokens.weight``) come back as one tensor under both keys.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.is_dir():
        raise CheckpointError(f"checkpoint path {path} is a folder; give the checkpoint file (e.g. v0.ckpt)")
    if prefer_safetensors and (sibling := safetensors_sibling(path)) is not None:
        log.info("reading %s (converted from %s)", sibling, path.name)
        path = sibling
    kind = _sniff(path)
    obj = _read_safetensors(path) if kind == "safetensors" else _load_weights_only(path, kind)
    return normalize_state_dict(obj, path)


# --------------------------------------------------------------------------------------------- loading
def _fmt_shape(shape: torch.Size | tuple[int, ...]) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _listing(count_word: str, names: list[str]) -> str:
    shown = ", ".join(names[:_LIST_LIMIT])
    more = f", and {len(names) - _LIST_LIMIT} more" if len(names) > _LIST_LIMIT else ""
    plural = "" if len(names) == 1 else ("es" if count_word.endswith("mismatch") else "s")
    return f"{len(names)} {count_word}{plural} ({shown}{more})"


def _tied_groups(model_state: Mapping[str, Tensor]) -> list[list[str]]:
    """Keys of ``model_state`` that share one storage (same pointer, shape and strides): tied weights."""
    groups: dict[tuple[int, tuple[int, ...], tuple[int, ...]], list[str]] = {}
    for key, t in model_state.items():
        if t.numel() == 0:
            continue
        groups.setdefault((t.data_ptr(), tuple(t.shape), tuple(t.stride())), []).append(key)
    return [keys for keys in groups.values() if len(keys) > 1]


def check_fits(model_state: Mapping[str, Tensor], state: Mapping[str, Tensor], what: str) -> None:
    """Raise a one-line CheckpointMismatch counting missing keys, unexpected keys and shape mismatches.

    The line names up to 12 of each kind; the exception's attributes and the INFO log hold all of them.
    """
    missing = [k for k in model_state if k not in state]
    unexpected = [k for k in state if k not in model_state]
    mismatched = [
        f"{k}: {_fmt_shape(state[k].shape)} vs {_fmt_shape(model_state[k].shape)}"
        for k in model_state
        if k in state and tuple(state[k].shape) != tuple(model_state[k].shape)
    ]
    if not (missing or unexpected or mismatched):
        return
    parts = []
    if missing:
        parts.append(_listing("missing key", missing))
    if unexpected:
        parts.append(_listing("unexpected key", unexpected))
    if mismatched:
        parts.append(_listing("shape mismatch", mismatched))
    hint = ""
    if len(missing) == len(model_state) and unexpected:
        hint = " — it is a checkpoint of another model"
    log.info("checkpoint does not fit %s: missing %s; unexpected %s; shape mismatches %s",
             what, missing, unexpected, mismatched)
    raise CheckpointMismatch(f"checkpoint does not fit {what}: " + ", ".join(parts) + hint,
                             missing, unexpected, mismatched)


def _model_name(model: nn.Module) -> str:
    cfg = getattr(model, "config", None)
    name = getattr(cfg, "name", None)
    return f"Mellow {name}" if isinstance(name, str) and name else type(model).__name__


def load_checkpoint_into(
    model: nn.Module,
    source: str | os.PathLike[str] | Mapping[str, Tensor],
    *,
    what: str | None = None,
    check_constructed: bool = True,
) -> nn.Module:
    """Copy a checkpoint into ``model`` strictly and return ``model``.

    ``source`` is a file (see :func:`read_state_dict`) or an already read state dict.  Every parameter and
    persistent buffer must be present with its shape, and nothing else may be: otherwise a single-line
    :class:`CheckpointError` lists all problems and the model is left untouched.  Tied weights stay tied
    (values are copied into the existing storage); the file's copies of a tied pair must agree.  With
    ``check_constructed`` the STFT/mel buffers in the file are compared with the model's own and a
    difference is logged (the file's values are used either way, as in the published model).
    """
    what = what or _model_name(model)
    if isinstance(source, Mapping):
        state = normalize_state_dict(source)
    else:
        state = read_state_dict(source)
    model_state = model.state_dict()
    check_fits(model_state, state, what)
    for group in _tied_groups(model_state):
        first = state[group[0]]
        for other in group[1:]:
            if state[other] is not first and not torch.equal(state[other], first):
                raise CheckpointError(
                    f"checkpoint does not fit {what}: {other} differs from {group[0]} (they are tied weights)"
                )
    if check_constructed:
        _compare_constructed(model_state, state)
    try:
        with torch.no_grad():
            model.load_state_dict(state, strict=True)
    except RuntimeError as exc:  # should not happen after check_fits; keep the one-line promise anyway
        raise CheckpointError(f"checkpoint does not fit {what}: {one_line(exc, 300)}") from None
    return model


def _compare_constructed(model_state: Mapping[str, Tensor], state: Mapping[str, Tensor]) -> None:
    for key, ours in model_state.items():
        if ("spectrogram_extractor" in key or "logmel_extractor" in key) and ours.is_floating_point():
            theirs = state[key].to(device=ours.device, dtype=ours.dtype)
            diff = (theirs - ours).abs().max().item() if ours.numel() else 0.0
            if diff > 1e-4:
                log.warning("checkpoint's %s differs from the constructed one by up to %.3g; file's is used",
                            key, diff)


# --------------------------------------------------------------------------------------------- converting
def _dedupe(state: StateDict) -> tuple[StateDict, dict[str, str]]:
    """Store each storage once: returns (tensors to write, {alias key: stored key})."""
    seen: dict[tuple[int, tuple[int, ...], tuple[int, ...], torch.dtype], str] = {}
    out: StateDict = {}
    tied: dict[str, str] = {}
    for key, t in state.items():
        ident = (t.data_ptr(), tuple(t.shape), tuple(t.stride()), t.dtype)
        if t.numel() and ident in seen:
            tied[key] = seen[ident]
            continue
        seen[ident] = key
        out[key] = t.contiguous()
    return out, tied


def convert_to_safetensors(
    ckpt_path: str | os.PathLike[str], out_path: str | os.PathLike[str] | None = None
) -> Path:
    """Write ``<name>.safetensors`` next to ``ckpt_path`` (or to ``out_path``) and return its path.

    Tied tensors are stored once and restored under both keys by :func:`read_state_dict`.  The file records
    the source's size and modification time, so loaders use it only while it is up to date.
    The write is atomic.
    """
    from safetensors.torch import save_file

    src = Path(ckpt_path).expanduser()
    state = read_state_dict(src, prefer_safetensors=False)
    dst = Path(out_path).expanduser() if out_path is not None else src.with_suffix(".safetensors")
    if dst.resolve() == src.resolve():
        raise CheckpointError(f"{src} is already a safetensors file")
    tensors, tied = _dedupe(state)
    st = src.stat()
    meta = {
        "format": "pt",
        _TIED_META: json.dumps(tied),
        _SOURCE_META: json.dumps({"name": src.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}),
    }
    tmp = dst.with_name(dst.name + ".tmp")
    try:
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, dst)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(f"cannot write {dst}: {exc.strerror or exc}") from None
    return dst
