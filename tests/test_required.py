"""The one rule for required real components: skipped on a developer's machine, a failure in CI."""

from __future__ import annotations

import pytest

from tests.helpers.required import component_missing


@pytest.mark.parametrize("ci", ["true", "TRUE", "1"])
def test_a_missing_component_fails_in_ci(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception, match="Xvfb is not installed"):
        component_missing("Xvfb is not installed")


@pytest.mark.parametrize("ci", [None, "", "false"])
def test_a_missing_component_is_skipped_locally(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception, match="chromium is not installed"):
        component_missing("chromium is not installed")
