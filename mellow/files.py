"""Writing files so that a crash, a full disk or a killed process never leaves half a file behind.

:func:`write_atomic` is the one way the engine and the app replace a whole file: the data goes to a new
temporary file in the same folder, is flushed to disk, and is then renamed over the target.  A new file gets
the usual permissions (0666 less the umask); a file it replaces keeps its own mode unless ``mode`` is given.
On failure the temporary file is removed, the target is untouched and the :class:`OSError` propagates for
the caller to turn into its own message.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_NEW_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)

Writer = Callable[[BinaryIO], object]


def _temp_beside(path: Path) -> tuple[int, Path]:
    """A new, empty file next to ``path``, created as ``open()`` would (mode 0666 less the umask)."""
    folder = path.parent if str(path.parent) else Path(".")
    for _ in range(100):
        tmp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, _NEW_FILE_FLAGS, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "cannot pick a temporary file name", str(folder))


def write_atomic(path: str | os.PathLike[str], data: bytes | Writer, *, mode: int | None = None,
                 make_parents: bool = False) -> Path:
    """Replace ``path`` with ``data`` (bytes, or a function that writes to a binary file); returns the path.

    ``mode`` forces the permission bits; otherwise see the module docstring.  ``make_parents`` creates the
    missing folders first.
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        fd, tmp = _temp_beside(target)
        with os.fdopen(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.fchmod(fh.fileno(), target.stat().st_mode & 0o7777)
            if isinstance(data, bytes | bytearray | memoryview):
                fh.write(data)
            else:
                data(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        tmp = None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return target


def is_disk_full(exc: OSError) -> bool:
    """True when ``exc`` means the disk (or the user's quota or file-size limit) is full."""
    return exc.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))
