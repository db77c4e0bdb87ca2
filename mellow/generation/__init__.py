"""Answering questions about two clips (SPEC.md section 5).

* :mod:`~mellow.generation.engine` — :class:`Engine`: caches, streaming, batches, the CPU fallback;
* :mod:`~mellow.generation.decoding` — the one token loop, greedy/sampled choice, the incremental detokenizer;
* :mod:`~mellow.generation.options` — :class:`GenerationOptions` (validated), :class:`GenerationResult`,
  :class:`GenerationStats`;
* :mod:`~mellow.generation.devices` — device and dtype names, and the CPU fallback policy;
* :mod:`~mellow.generation.clips` — clip cache keys, reading each file as little as possible;
* :mod:`~mellow.generation.answer` — :class:`AnswerStream`, the iterator ``Engine.stream`` returns.
"""

from mellow.generation.answer import AnswerStream
from mellow.generation.devices import resolve_device
from mellow.generation.engine import Engine
from mellow.generation.options import GenerationOptions, GenerationResult, GenerationStats, OptionsError

__all__ = ["AnswerStream", "Engine", "GenerationOptions", "GenerationResult", "GenerationStats",
           "OptionsError", "resolve_device"]
