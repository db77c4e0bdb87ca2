"""The scan every Ray test compares with: prompt, options, and the in-process answers (fixtures: conftest)."""

from __future__ import annotations

from dataclasses import dataclass

from mellow.generation import GenerationOptions
from mellow.scan.types import Window, WindowResult

PROMPT = "is there a tone in the audio? answer yes or no"
OPTIONS = GenerationOptions(max_len=6)
BATCH = 4


@dataclass
class Reference:
    """A planned scan, and its rows answered in-process by ScanRunner (the truth the Ray scan must match)."""

    windows: list[Window]
    results: list[WindowResult]
    model_id: str
    keys: list[str]  # the resume key of each window
