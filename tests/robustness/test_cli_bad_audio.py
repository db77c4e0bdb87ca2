"""``mellow generate`` over the bad-audio matrix: one ``error:`` line and exit 2, or an answer and exit 0.

Most cases run in-process through ``mellow.cli.main.main`` (fast); the tiny engine is built from the files on
disk once and reused by every in-process call (``open_engine`` is wrapped with a cache: the same real loader,
called once).  A handful of cases also run as real ``python -m mellow`` processes with nothing cached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mellow.cli.main import main
from tests.helpers.bad_audio import AudioCase, cases, make_unreadable
from tests.helpers.paths import B_WAV
from tests.helpers.processes import child_env, run_mellow

CASES = cases()
GOOD = B_WAV
PROMPT = "caption the audio."
# Cases that also run as real processes (both kinds, and the awkward names).
SUBPROCESS_CASES = ("directory", "random bytes .wav", "NaN samples", "empty file", "non-ASCII name",
                    "8 channels", "MP3")


def _args(bad: Path, ckpt: Path, gguf: Path, *, first: bool = True) -> list[str]:
    pair = [str(bad), str(GOOD)] if first else [str(GOOD), str(bad)]
    return ["generate", *pair, PROMPT, "--model", str(ckpt), "--tokenizer", str(gguf), "--config", "tiny",
            "--max-len", "4", "--device", "cpu"]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every case of the matrix written once into one folder: name -> path."""
    folder = tmp_path_factory.mktemp("matrix")
    return {case.name: case.make(folder) for case in CASES}


@pytest.fixture(scope="module")
def cached_engine() -> Iterator[dict[tuple, Any]]:
    """Wrap ``mellow.wrapper.open_engine`` so the in-process CLI builds the real engine only once."""
    import mellow.wrapper

    real = mellow.wrapper.open_engine
    built: dict[tuple, Any] = {}

    def open_once(config: Any = "v0", model: Any = "v0", tokenizer: Any = None, device: Any = "auto",
                  dtype: Any = None) -> Any:
        key = (str(config), str(model), str(tokenizer), str(device), str(dtype))
        if key not in built:
            built[key] = real(config, model, tokenizer, device, dtype)
        return built[key]

    mellow.wrapper.open_engine = open_once
    yield built
    mellow.wrapper.open_engine = real


def _check_user_error(code: int, err: str, reason: str, name: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected exactly one line on stderr, got: {err!r}"
    assert lines[0].startswith("error: "), err
    assert reason in lines[0].lower(), f"{lines[0]!r} does not mention {reason!r}"
    assert name in lines[0], f"{lines[0]!r} does not name the file {name!r}"
    assert "Traceback" not in err


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_generate_in_process(case: AudioCase, matrix: dict[str, Path], tiny_ckpt: Path, gguf: Path,
                             cached_engine: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The bad file in slot A and then in slot B: the same clean error, or an answer."""
    path = matrix[case.name]
    for first in (True, False):
        code = main(_args(path, tiny_ckpt, gguf, first=first))
        out, err = capsys.readouterr()
        if case.valid:
            assert code == 0, err
            assert out.endswith("\n") and "error" not in err.lower(), (out, err)
        else:
            _check_user_error(code, err, case.reason, path.name)
            assert out == ""


@pytest.mark.subprocess
@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_generate_as_a_real_process(name: str, matrix: dict[str, Path], tiny_ckpt: Path, gguf: Path,
                                    tmp_path: Path) -> None:
    """Nothing cached, real argv (UTF-8 names included), real exit status."""
    case = next(c for c in CASES if c.name == name)
    proc = run_mellow(_args(matrix[name], tiny_ckpt, gguf), child_env(tmp_path))
    if case.valid:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.endswith("\n") and "Traceback" not in proc.stderr
    else:
        _check_user_error(proc.returncode, proc.stderr, case.reason, matrix[name].name)
        assert proc.stdout == ""


@pytest.mark.subprocess
def test_unreadable_file_as_an_unprivileged_user(tmp_path: Path, tiny_ckpt: Path, gguf: Path) -> None:
    """No read permission: ``error: ... permission denied``, exit 2 (run as 'nobody' when we are root)."""
    folder = tmp_path / "perm"
    folder.mkdir()
    path = make_unreadable(folder)
    args = _args(path, tiny_ckpt, gguf)
    if os.geteuid() != 0:
        proc = run_mellow(args, child_env(tmp_path))
    else:
        for p in (tmp_path, folder):
            p.chmod(0o755)
        # The interpreter's own files may not be readable by 'nobody': import first, then drop privileges.
        # (mellow.cli.batch and mellow.cli.scan are imported when main() builds the parser.)
        code = textwrap.dedent(f"""
            import os, sys
            import torch, torchaudio, soundfile  # noqa: F401
            import mellow.cli.main, mellow.audio, mellow.wrapper  # noqa: F401
            import mellow.generation  # noqa: F401
            os.setgid(65534); os.setuid(65534)
            sys.exit(mellow.cli.main.main({args!r}))
        """)
        proc = subprocess.run([sys.executable, "-c", code], env=child_env(tmp_path), capture_output=True,
                              text=True, timeout=300, cwd="/")
    _check_user_error(proc.returncode, proc.stderr, "permission denied", path.name)
