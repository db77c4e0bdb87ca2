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
