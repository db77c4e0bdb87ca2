"""The one file-hash facility (mellow.file_hash): unchanged values, one read per file state, shared reads."""

from __future__ import annotations

import io
import os
import threading
import time
from pathlib import Path

import pytest

from mellow.audio import clip_content_hash
from mellow.errors import CheckpointError, MellowError
from mellow.file_hash import CHUNK_BYTES, CONTENT_HASH, SHA256, FileMemo, read_digest
from mellow.scan.identity import file_sha256

# 5 120 006 bytes (several read chunks); the digests were computed with the code this module replaced
# (mellow.audio.clip_content_hash, mellow.scan.identity.file_sha256, mellow.download._sha256 at 334f4ca).
FIXED_BYTES = bytes(range(256)) * 20000 + b"mellow"
FIXED_CONTENT_HASH = "fe6191d1e7da44420e65174da5467bc5fea742c3"
FIXED_SHA256 = "b1143c16a70ecf9244f3d90ad181960bc1ea97e1bed60c47e88d3e0d84d302f7"


@pytest.fixture
def fixed(tmp_path: Path) -> Path:
    path = tmp_path / "fixed.bin"
    path.write_bytes(FIXED_BYTES)
    assert path.stat().st_size > 4 * CHUNK_BYTES
    return path


class CountingFile(io.FileIO):
    """A real file whose reads are counted; ``gate`` (when set up) holds the first read until released."""

    def __init__(self, path: Path, gate: threading.Event | None = None, fail: bool = False) -> None:
        super().__init__(path, "rb")
        self.bytes_read = 0
        self.entered = threading.Event()
        self.gate, self.fail = gate, fail

    def read(self, size: int = -1) -> bytes:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait()
        if self.fail:
            raise OSError(5, "Input/output error")
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_the_digests_keep_their_values(fixed: Path) -> None:
    memo = FileMemo()
    assert memo.digest(fixed) == memo.digest(fixed, CONTENT_HASH) == FIXED_CONTENT_HASH
    assert memo.digest(fixed, SHA256) == FIXED_SHA256
    assert read_digest(fixed, SHA256) == FIXED_SHA256 and read_digest(fixed) == FIXED_CONTENT_HASH
    assert clip_content_hash(fixed) == FIXED_CONTENT_HASH  # the users go through the same functions
    assert file_sha256(fixed) == FIXED_SHA256


def test_an_unchanged_file_is_read_once_and_a_changed_one_again(fixed: Path, tmp_path: Path) -> None:
    memo = FileMemo()
    size = fixed.stat().st_size
    with CountingFile(fixed) as fh:
        assert memo.digest(fixed, fh=fh) == FIXED_CONTENT_HASH
        assert fh.bytes_read == size and (memo.stats.reads, memo.stats.bytes_read) == (1, size)
    with CountingFile(fixed) as fh:
        assert memo.digest(fixed, fh=fh) == FIXED_CONTENT_HASH
        assert fh.bytes_read == 0, "the same file state was read again"
    assert memo.digest(fixed) == FIXED_CONTENT_HASH and memo.known(fixed) == FIXED_CONTENT_HASH
    assert (memo.stats.reads, memo.stats.hits) == (1, 2)

    st = fixed.stat()
    os.utime(fixed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # same bytes, a new modification time
    assert memo.known(fixed) is None
    assert memo.digest(fixed) == FIXED_CONTENT_HASH and memo.stats.reads == 2
    with fixed.open("ab") as fh:  # one more byte, the modification time put back: only the size changed
        fh.write(b"!")
    os.utime(fixed, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = memo.digest(fixed)
    assert changed != FIXED_CONTENT_HASH and memo.stats.reads == 3 and memo.stats.bytes_read == 3 * size + 1
    copy = tmp_path / "copy.bin"  # another path: another file state, the same digest
    copy.write_bytes(fixed.read_bytes())
    assert memo.digest(copy) == changed and memo.stats.reads == 4


def test_the_memo_is_bounded(tmp_path: Path) -> None:
    memo = FileMemo(capacity=2)
    files = [tmp_path / f"{i}.bin" for i in range(3)]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]) * 10)
        memo.digest(f)
    memo.digest(files[2])
    assert memo.stats.reads == 3
    memo.digest(files[0])  # the least recently used went first
    assert memo.stats.reads == 4


@pytest.mark.parametrize("first_fails", [False, True])
def test_two_callers_of_one_file_share_one_read(fixed: Path, first_fails: bool) -> None:
    """The first caller's read is held open; the second waits for it instead of reading the file itself."""
    memo, gate, got = FileMemo(), threading.Event(), {}
    blocked = CountingFile(fixed, gate=gate, fail=first_fails)

    def run(name: str, **kw: object) -> None:
        try:
            got[name] = memo.digest(fixed, **kw)
        except MellowError as exc:
            got[name] = exc

    first = threading.Thread(target=run, args=("first",), kwargs={"fh": blocked})
    second = threading.Thread(target=run, args=("second",))
    first.start()
    assert blocked.entered.wait(30)
    second.start()
    deadline = time.monotonic() + 30
    while memo.stats.waits == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert memo.stats.waits == 1, "the second caller never waited"
    gate.set()
    first.join(30)
    second.join(30)
    blocked.close()
    assert got["second"] == FIXED_CONTENT_HASH and memo.stats.reads == 1
    if first_fails:  # the reader's failure is its own; the waiting caller then read the file
        assert isinstance(got["first"], MellowError) and str(got["first"]).endswith("Input/output error")
    else:
        assert got["first"] == FIXED_CONTENT_HASH and blocked.bytes_read == len(FIXED_BYTES)


def test_notes_keep_a_digest_across_processes(fixed: Path, tmp_path: Path) -> None:
    notes = tmp_path / "seen"
    assert FileMemo().digest(fixed, notes=notes) == FIXED_CONTENT_HASH
    (note,) = notes.iterdir()
    later = FileMemo()  # a new process: nothing in memory, the note answers
    assert later.known(fixed, notes=notes) == FIXED_CONTENT_HASH
    assert later.digest(fixed, notes=notes) == FIXED_CONTENT_HASH and later.stats.reads == 0
    note.write_text("not a digest", encoding="ascii")  # a damaged note counts as missing
    assert FileMemo().known(fixed, notes=notes) is None
    again = FileMemo()
    assert again.digest(fixed, SHA256, notes=notes) == FIXED_SHA256 and again.stats.reads == 1
    assert len(list(notes.iterdir())) == 2, "each digest has its own note"


def test_failures_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "gone.ckpt"
    with pytest.raises(CheckpointError, match=r"^cannot read the checkpoint .*gone.ckpt: No such file"):
        file_sha256(missing)
    with pytest.raises(MellowError, match=r"^cannot read .*: Is a directory$"):
        FileMemo().digest(tmp_path)
    with pytest.raises(MellowError, match=r"^cannot read .*: Is a directory$"):
        read_digest(tmp_path, SHA256)
    with pytest.raises(ValueError, match="unknown digest"):
        FileMemo().digest(missing, "md5")
