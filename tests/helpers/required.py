"""Required real components (audio stack, Xvfb, Chromium, Ray, desktop-file-validate): the one rule.

On a developer's machine without the component the test is skipped with ``message``; in CI (``CI=true``)
the same absence is a failure, because CI installs every component and a skip there would hide a broken step.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    """True when running under CI (``CI=true``, as .ci/run sets it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def component_missing(message: str) -> NoReturn:
    """Skip the test locally, fail it in CI; ``message`` says what is missing and how to install it."""
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
