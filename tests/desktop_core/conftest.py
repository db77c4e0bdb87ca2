"""Fixtures for the desktop-core tests: the real audio stack (see tests/audio_stack.py)."""

from tests.audio_stack import mellow_data_dir, pulse_audio  # noqa: F401 - re-exported pytest fixtures
