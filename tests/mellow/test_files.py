"""mellow.files.write_atomic: the one whole-file writer (permissions, failures, callables)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mellow.files import is_disk_full, write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_new_file_gets_0666_less_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        out = write_atomic(tmp_path / "a.txt", b"hello")
    finally:
        os.umask(old)
    assert out.read_bytes() == b"hello"
    assert _mode(out) == 0o666 & ~umask


def test_replaced_file_keeps_its_mode_unless_one_is_given(tmp_path: Path) -> None:
    target = tmp_path / "b.txt"
    target.write_bytes(b"old")
    target.chmod(0o640)
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and _mode(target) == 0o640
    write_atomic(target, b"newer", mode=0o604)
    assert target.read_bytes() == b"newer" and _mode(target) == 0o604


def test_a_failing_writer_leaves_the_target_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "c.bin"
    target.write_bytes(b"precious")

    def half_then_fail(fh) -> None:  # noqa: ANN001 - a binary file
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as info:
        write_atomic(target, half_then_fail)
    assert is_disk_full(info.value)
    assert target.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.bin"]


def test_parents_are_made_only_when_asked(tmp_path: Path) -> None:
    deep = tmp_path / "x" / "y" / "z.txt"
    with pytest.raises(FileNotFoundError):
        write_atomic(deep, b"1")
    assert write_atomic(deep, lambda fh: fh.write(b"2"), make_parents=True).read_bytes() == b"2"
