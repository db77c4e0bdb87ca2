"""Exceptions raised by the Mellow engine.

Every message is one line a user can act on; callers (CLI, desktop) show ``str(exc)`` as is.
"""

from __future__ import annotations


class MellowError(Exception):
    """Base class of every error the engine reports to a user."""


class ConfigError(MellowError):
    """A model configuration is missing or malformed."""


class AudioError(MellowError):
    """An audio file cannot be read or used as a clip."""


class CheckpointError(MellowError):
    """A checkpoint is missing, unsafe, corrupt or of another architecture."""


class TokenizerError(MellowError):
    """The tokenizer files are missing or unusable."""


class DownloadError(MellowError):
    """Fetching the model files failed."""


class DeviceError(MellowError):
    """The requested compute device is not usable."""


def one_line(text: object, limit: int | None = None) -> str:
    """``text`` (an exception or any object) as one line: whitespace collapsed, cut to ``limit`` characters.

    An OSError that names a file reads "reason: file"; an exception with no message reads as its class name.
    """
    if isinstance(text, OSError) and text.filename is not None:
        raw = f"{text.strerror or text}: {text.filename}"
    elif isinstance(text, BaseException):
        raw = str(text) or type(text).__name__
    else:
        raw = str(text)
    line = " ".join(raw.split())
    if limit is not None and len(line) > limit:
        return line[: limit - 1] + "…"
    return line


def user_message(exc: BaseException, doing: str) -> str:
    """The one message a user sees for ``exc`` raised while ``doing`` (e.g. "reading this file").

    A :class:`MellowError` already speaks to the user; running out of memory says so; anything else is an
    unexpected failure, named with its type so that a bug report can quote it.
    """
    if isinstance(exc, MellowError):
        return one_line(exc)
    if isinstance(exc, MemoryError):
        return f"not enough memory for {doing}"
    return f"{doing} failed ({type(exc).__name__}: {one_line(exc)})"
