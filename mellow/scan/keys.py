"""Resume keys: what identifies one answered window of one question, built by one function for every driver
(``mellow scan``, the window, Ray), so an output written by one is resumed by any other.

A key hashes the window (file path and content hash, start on the 32 kHz grid, slot 2) with the question: the
prompt, the canonical text of what changes an answer besides the model (:func:`options_text`: decoding
options, scoring, precision) and the model id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

from mellow.scan.types import Window

#: Length of a resume key (hex characters).
KEY_CHARS = 20
#: Grid on which window starts are compared in keys (the engine's sample rate).
KEY_RATE = 32000


def options_text(options: Any, scoring: str | None, dtype: str) -> str:
    """Canonical text of what changes an answer besides the model: the decoding options (a
    :class:`~mellow.generation.GenerationOptions` or its dict), the resolved scoring ("yes-no", "choices" or
    None) and the decoder's precision by name ("float32", as :func:`~mellow.generation.devices.dtype_name`
    gives it)."""
    values = dataclasses.asdict(options) if dataclasses.is_dataclass(options) else dict(options)
    return json.dumps({"options": values, "scoring": scoring, "dtype": dtype}, sort_keys=True)


def row_key(window: Window, prompt: str, options: str, model: str) -> str:
    """Resume key of a question about ``window``: file path and content hash, window start (on the 32 kHz
    grid), slot 2 (path, hash, start), ``prompt``, ``options`` (:func:`options_text`) and ``model`` id."""
    parts = [str(window.file), window.file_hash, round(window.start_s * KEY_RATE),
             None if window.slot2_file is None else str(window.slot2_file), window.slot2_hash,
             round(window.slot2_start_s * KEY_RATE), prompt, options, model]
    text = json.dumps(parts, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:KEY_CHARS]


def is_key(text: object) -> bool:
    """Whether ``text`` looks like a complete resume key (a torn row's key is shorter)."""
    return isinstance(text, str) and len(text) == KEY_CHARS and all(c in "0123456789abcdef" for c in text)
