"""Where things are: the checkout the tests run from, the committed fixtures, the reference clips."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES_DIR = ROOT / "tests" / "fixtures"
REFERENCE_DIR = FIXTURES_DIR / "reference"  # the published model's reference clips and outputs (RECIPE.md)
A_WAV = REFERENCE_DIR / "a.wav"  # 4 s, 44.1 kHz
B_WAV = REFERENCE_DIR / "b.wav"  # 10 s, 32 kHz
