"""The CLI without a GPU, and fuzzed inputs (audio bytes, batch CSV text) that must only give clean errors."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mellow.cli.batch import read_batch_csv
from mellow.cli.common import UsageError
from mellow.cli.main import main
from mellow.errors import MellowError
from tests.helpers.bad_audio import MAGIC
from tests.helpers.paths import A_WAV, B_WAV

A, B = A_WAV, B_WAV
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _generate(device: str, ckpt: Path, gguf: Path, a: Path = A) -> list[str]:
    return ["generate", str(a), str(B), "caption the audio.", "--model", str(ckpt), "--tokenizer", str(gguf),
            "--config", "tiny", "--max-len", "8", "--device", device]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback on a machine without CUDA")
def test_cuda_requested_without_a_gpu_falls_back_with_a_warning(tiny_ckpt: Path, gguf: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_generate("cpu", tiny_ckpt, gguf)) == 0
    on_cpu = capsys.readouterr()
    assert main(_generate("cuda", tiny_ckpt, gguf)) == 0
    fallback = capsys.readouterr()
    assert fallback.out == on_cpu.out, "the same answer on the CPU"
    lines = fallback.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: ") and "CUDA is not available" in lines[0]
    assert main(_generate("cuda:7", tiny_ckpt, gguf)) == 0  # any index: still the CPU, still a warning
    assert "CUDA is not available" in capsys.readouterr().err
    assert main(_generate("tpu", tiny_ckpt, gguf)) == 2  # a device that does not exist: user error
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "unknown device" in err and err.count("\n") == 1


@FUZZ
@given(magic=st.sampled_from(MAGIC), payload=st.binary(max_size=2048),
       suffix=st.sampled_from([".wav", ".mp3", ".flac", ".ogg"]))
def test_fuzzed_audio_bytes_through_the_cli(magic: bytes, payload: bytes, suffix: str, tmp_path: Path,
                                            tiny_ckpt: Path, gguf: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Random bytes as the first clip: exit 2 with one error line, or (if by chance audio) exit 0."""
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(magic + payload)
    try:
        code = main(_generate("cpu", tiny_ckpt, gguf, a=path))
    except SystemExit as exc:  # argparse only; never expected here
        pytest.fail(f"SystemExit {exc.code}")
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and path.name in lines[0], err
    else:
        assert code == 0 and out.endswith("\n"), (code, err)


CSV_TEXT = st.text(alphabet=string.printable + "éß鳥\x00\ufeff\"", max_size=400)


@FUZZ
@given(body=CSV_TEXT, header=st.sampled_from(["a,b,prompt\n", "a,b,prompt,start_a,start_b\n", "", "x,y\n"]))
def test_fuzzed_batch_csv_gives_rows_or_a_usage_error(body: str, header: str, tmp_path: Path) -> None:
    table = tmp_path / "fuzz.csv"
    table.write_text(header + body, encoding="utf-8")
    try:
        rows = read_batch_csv(table)
    except UsageError as exc:
        assert "\n" not in str(exc) and str(table) in str(exc)
        return
    except MellowError as exc:  # any other user error is fine too, as long as it is one line
        assert "\n" not in str(exc)
        return
    assert len({r.key for r in rows}) == len(rows)
    assert all(r.a and r.b for r in rows)
