"""What the listening tests share: ``mellow listen`` arguments for the tiny model, test recordings made from
the packaged sample clips, and readers of a session folder."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from mellow.audio import resample
from tests.helpers.paths import ROOT

SAMPLES = ROOT / "mellow_desktop" / "core" / "data" / "samples"
BIRD = SAMPLES / "birdsong.flac"
YES_NO = "is there a bird singing? answer yes or no"


def listen_args(out: Path, ckpt: Path, gguf: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mellow", "listen", "--out", str(out), "--model", str(ckpt), "--tokenizer",
            str(gguf), "--config", "tiny", "--device", "cpu", "--max-len", "1", "--prompt", YES_NO, *extra]


def run_listen(args: list[str], env: dict[str, str],
               timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def bird_32k() -> np.ndarray:
    """The packaged birdsong (8 s) at 32 kHz, mono float32."""
    data, rate = sf.read(BIRD, dtype="float32")
    return resample(data, rate).numpy()


def write_32k(path: Path, wave: np.ndarray) -> Path:
    """A 16-bit 32 kHz WAV whose samples read back exactly as ``read_32k`` gives them."""
    sf.write(path, wave, 32000, subtype="PCM_16")
    return path


def read_audio(path: Path) -> np.ndarray:
    data, _ = sf.read(path, dtype="float32", always_2d=True)
    return data[:, 0]


def session_of(out: Path) -> Path:
    sessions = sorted(p for p in out.iterdir() if (p / "session.json").exists())
    assert len(sessions) == 1, sessions
    return sessions[0]


def events_of(session: Path, kind: str) -> list[dict]:
    lines = (session / "events.jsonl").read_text().splitlines() if (session / "events.jsonl").exists() else []
    return [e for e in map(json.loads, lines) if e["kind"] == kind]


def wait_for(check, what: str, proc: subprocess.Popen | None = None, timeout: float = 120.0) -> None:
    """Poll ``check()`` until true; fail with ``what`` (and the child's stderr when it ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"mellow listen ended before {what}: {proc.stderr.read()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
