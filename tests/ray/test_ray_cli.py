"""``mellow scan`` with and without Ray, as a user runs it (real subprocesses joining the session's cluster):
no Ray without the flag; with ``--ray-address`` the same rows, and a driver killed mid-scan resumes like a
local scan (every window exactly once)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mellow.scan.writers import jsonl
from tests.helpers.paths import ROOT
from tests.helpers.processes import child_env
from tests.helpers.scans import SCAN_BATCH, SCAN_OPTIONS, YES_NO, ScanReference
from tests.helpers.waits import wait_for_lines

pytestmark = pytest.mark.subprocess

# Runs the CLI in this interpreter, then says whether anything of Ray was imported.
PROBE = ("import sys\nfrom mellow.cli.main import main\nrc = main(sys.argv[1:])\n"
         "ray = sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.'))\n"
         "print(f'exit {rc}; ray modules: {len(ray)}', file=sys.stderr)\nsys.exit(rc)\n")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return child_env(tmp_path)


def _args(paths: list[Path], out: Path, ckpt: Path, gguf: Path, *extra: str) -> list[str]:
    return ["scan", *map(str, paths), "--out", str(out), "--model", str(ckpt), "--tokenizer", str(gguf),
            "--config", "tiny", "--device", "cpu", "--max-len", str(SCAN_OPTIONS.max_len),
            "--batch", str(SCAN_BATCH), "--prompt", YES_NO, *extra]


def _probe(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_scan_without_ray_flags_imports_no_ray(recording_folder: Path, tiny_ckpt: Path, gguf: Path,
                                               env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "short.jsonl"
    proc = _probe(_args([recording_folder / "c short.wav"], out, tiny_ckpt, gguf), env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "exit 0; ray modules: 0" in proc.stderr
    assert len(jsonl.read(out)) == 1
    alone = _probe(_args([recording_folder / "c short.wav"], out, tiny_ckpt, gguf, "--ray-actors", "2"), env)
    assert alone.returncode == 2 and "error: --ray-actors needs --ray or --ray-address" in alone.stderr


def test_ray_flag_without_ray_installed_says_how_to_get_it(recording_folder: Path, tiny_ckpt: Path,
                                                           gguf: Path, env: dict[str, str],
                                                           tmp_path: Path) -> None:
    """Ray made unimportable in the child (as when the cluster extra is missing): one error line, exit 2."""
    blocked = "import sys\nsys.modules['ray'] = None\n" + PROBE
    args = _args([recording_folder / "c short.wav"], tmp_path / "out.jsonl", tiny_ckpt, gguf, "--ray")
    proc = subprocess.run([sys.executable, "-c", blocked, *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: scans on Ray need the cluster extra: pip install 'mellow-desktop[cluster]'" in proc.stderr


def test_ray_driver_killed_mid_scan_resumes(ray_cluster, reference: ScanReference, long_recording: Path,
                                            tiny_ckpt: Path, gguf: Path, env: dict[str, str],
                                            tmp_path: Path) -> None:
    """``mellow scan --ray-address`` (joining this session's cluster) is SIGKILLed after its first batch;
    the same command again adds each missing window once, with the in-process scan's answers."""
    address = ray_cluster.get_runtime_context().gcs_address
    out = tmp_path / "long scan.jsonl"
    args = _args([long_recording], out, tiny_ckpt, gguf, "--ray-address", address)
    proc = subprocess.Popen([sys.executable, "-c", PROBE, *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_lines(proc, out, 4)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()
    before, _ = jsonl.parse(out.read_bytes())

    again = _probe(args, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "ray modules: 0" not in again.stderr  # the probe does see Ray when the flag asks for it
    rows, whole = jsonl.parse(out.read_bytes())
    want = [r for r in reference.results if r.window.file == long_recording]
    assert whole and 4 <= len(before) < len(want)
    assert [(r.file, r.start_s) for r in rows] == [(str(r.window.file), r.window.start_s) for r in want]
    assert rows[: len(before)] == before
    model = reference.model_id
    assert [(r.text, r.tokens, r.model) for r in rows] == [(r.text, r.tokens, model) for r in want]
    np.testing.assert_allclose([r.score for r in rows], [r.score for r in want], rtol=0, atol=2e-6)
    print(f"\nRay scan driver killed after {len(before)} of {len(want)} windows; the rerun added "
          f"{len(want) - len(before)}")
