"""What a request asks for (:class:`GenerationOptions`) and what it gives back (:class:`GenerationResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral, Real

from mellow.errors import MellowError


class OptionsError(MellowError, ValueError):
    """Decoding options out of range (also a ValueError, as the published API raises for a bad max_len)."""


@dataclass(frozen=True)
class GenerationOptions:
    """How to decode; validated on construction (the one place: the CLI and the wrapper build one).

    ``sample=False`` (default) is the published behaviour: greedy; ``temperature`` and ``top_p`` then change
    nothing, exactly as in the reference.  ``sample=True`` draws from the temperature-scaled, top-p-filtered
    distribution with a ``torch.Generator`` seeded by ``seed`` (None: not reproducible); this is NOT what the
    published model does.  ``stop_token=None`` produces exactly ``max_len`` tokens.
    """

    max_len: int = 300
    sample: bool = False
    temperature: float = 1.0
    top_p: float = 0.8
    seed: int | None = None
    stop_token: int | None = 0

    def __post_init__(self) -> None:
        if isinstance(self.max_len, bool) or not isinstance(self.max_len, Integral) or self.max_len < 1:
            raise OptionsError(f"max_len must be a positive whole number, got {self.max_len!r}")
        for name in ("temperature", "top_p"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, Real):
                raise OptionsError(f"{name} must be a number, got {type(value).__name__}")
        if self.sample and not self.temperature > 0:
            raise OptionsError(f"temperature must be positive, got {self.temperature}")
        if self.sample and not 0 < self.top_p <= 1:
            raise OptionsError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.stop_token is not None and (isinstance(self.stop_token, bool)
                                            or not isinstance(self.stop_token, Integral)):
            raise OptionsError(f"stop_token must be a token id or None, got {self.stop_token!r}")


@dataclass
class GenerationStats:
    """Timings and cache use of one request (seconds; rates per second)."""

    n_tokens: int = 0  # tokens produced (the stop token included when one was produced)
    prompt_tokens: int = 0  # prompt length before truncation
    prompt_truncated: bool = False
    encoder_s: float = 0.0  # audio loading + HTSAT + projection (0 when both clips were cached)
    prefill_s: float = 0.0  # decoder over the audio part (when not cached) and the prompt
    first_token_s: float = 0.0  # from the request to the first token
    decode_tokens_per_s: float = 0.0  # tokens after the first one
    audio_cache_hit: bool = False  # decoder K/V of the audio part reused
    encoder_cache_hit: bool = False  # both clips' encoder outputs reused
    stopped: str = ""  # "stop_token", "max_len" or "cancelled"
    device: str = "cpu"


@dataclass
class GenerationResult:
    """One answer: ``text`` (cut before the stop token), ``tokens`` (ids, the stop token included when it was
    produced) and ``stats`` of the request."""

    text: str
    tokens: list[int] = field(default_factory=list)
    stats: GenerationStats = field(default_factory=GenerationStats)
