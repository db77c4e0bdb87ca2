"""Prompt presets (package data ``core/data/prompt_presets.json``): published prompt styles with blanks."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from mellow_desktop.core.package_data import presets_file

PRESETS_FILE = presets_file()
_BLANK = re.compile(r"\{([^{}]+)\}")
#: Words that mark a question about the difference between the two clips.
_COMPARE_WORDS = re.compile(
    r"\b(difference|differences|differ|compare|comparison|two audios|both audios|"
    r"first audio|second audio|the two clips)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Preset:
    """One prompt style; ``text`` may hold ``{blank}`` placeholders, ``examples`` gives starting values."""

    name: str
    text: str
    clips: int = 1
    tooltip: str = ""
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def blanks(self) -> list[str]:
        """Names of the blanks in order of appearance (each once)."""
        return list(dict.fromkeys(_BLANK.findall(self.text)))

    def fill(self, values: dict[str, str]) -> str:
        """The prompt with every blank replaced (missing values fall back to the example)."""
        return _BLANK.sub(
            lambda m: values.get(m.group(1)) or self.examples.get(m.group(1), m.group(0)), self.text
        )


def load_presets(path: Path = PRESETS_FILE) -> list[Preset]:
    """Read the presets file; an unreadable file gives an empty list (the menu then says so)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    out = []
    for item in doc.get("presets", []):
        out.append(
            Preset(
                name=str(item["name"]),
                text=str(item["text"]),
                clips=int(item.get("clips", 1)),
                tooltip=str(item.get("tooltip", "")),
                examples={str(k): str(v) for k, v in item.get("examples", {}).items()},
            )
        )
    return out


def needs_two_clips(prompt: str) -> bool:
    """Whether a prompt asks about the difference between the two clips."""
    return bool(_COMPARE_WORDS.search(prompt))
