"""The user's settings as plain data: the engine's GenerationOptions, the compute device and audio devices.

:meth:`AppSettings.to_values` and :meth:`AppSettings.from_values` turn them into flat ``"group/key"`` values
and back, so any key-value store (QSettings in the app, a dict in tests) can hold them. Malformed stored
values fall back to the defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mellow.errors import MellowError
from mellow.generation import GenerationOptions

DEVICES = (("auto", "Automatic (CUDA when available)"), ("cpu", "CPU"), ("cuda", "CUDA GPU"))
MAX_LEN_LIMIT = 1024
#: The fields of GenerationOptions a user chooses (stop_token stays the engine's default).
USER_OPTION_FIELDS = ("max_len", "sample", "temperature", "top_p", "seed")


@dataclass(frozen=True)
class AppSettings:
    """Settings ▸ Generation and audio: how to decode, where the model runs, which audio devices to use."""

    generation: GenerationOptions = field(default_factory=GenerationOptions)
    device: str = "auto"  # "auto", "cpu" or "cuda"
    input_device: str = ""  # "" is the system default
    output_device: str = ""

    def to_values(self) -> dict[str, Any]:
        """Flat ``{"generation/max_len": 300, …, "audio/input_device": ""}`` (None seed stored as "")."""
        values: dict[str, Any] = {
            f"generation/{k}": "" if v is None else v for k, v in generation_dict(self.generation).items()
        }
        values["generation/device"] = self.device
        values["audio/input_device"] = self.input_device
        values["audio/output_device"] = self.output_device
        return values

    @classmethod
    def from_values(cls, value: Callable[[str, Any], Any]) -> AppSettings:
        """Read settings through ``value(key, default)``; defaults where missing or malformed."""
        d = cls()
        try:
            seed = value("generation/seed", None)
            generation = GenerationOptions(
                max_len=max(1, min(MAX_LEN_LIMIT, int(value("generation/max_len", d.generation.max_len)))),
                sample=_bool(value("generation/sample", d.generation.sample)),
                temperature=float(value("generation/temperature", d.generation.temperature)),
                top_p=float(value("generation/top_p", d.generation.top_p)),
                seed=int(seed) if seed not in (None, "", "None") else None,
            )
        except (TypeError, ValueError, MellowError):  # unreadable or out of range: the defaults
            generation = d.generation
        device = str(value("generation/device", d.device) or d.device)
        return cls(
            generation=generation,
            device=device if device in dict(DEVICES) else "auto",
            input_device=str(value("audio/input_device", "") or ""),
            output_device=str(value("audio/output_device", "") or ""),
        )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AppSettings:
        """:meth:`from_values` over a dict."""
        return cls.from_values(lambda key, default: values.get(key, default))


def generation_dict(options: GenerationOptions) -> dict[str, Any]:
    """The user-chosen fields of ``options`` as a plain dict (for storage and the history)."""
    return {name: getattr(options, name) for name in USER_OPTION_FIELDS}


def describe_options(options: GenerationOptions) -> str:
    """``as published (greedy), max 300 tokens`` / ``sampling T=0.7 top-p 0.9 seed 3, max 300 tokens``."""
    if not options.sample:
        return f"as published (greedy), max {options.max_len} tokens"
    seed = f" seed {options.seed}" if options.seed is not None else ""
    return f"sampling T={options.temperature:g} top-p {options.top_p:g}{seed}, max {options.max_len} tokens"


def _bool(value: object) -> bool:
    return value in (True, "true", "True", "1", 1)
