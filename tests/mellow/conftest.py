"""Fixtures of the engine tests: ``env`` (a clean, online user) and ``hub`` (a running local Hub look-alike)
for the download tests; modules that run the CLI offline define their own ``env``."""

from tests.helpers.hub import env, hub  # noqa: F401 - pytest fixtures
