"""Shared test set-up: Dino tests skip without Chromium, unless CI demands it; Ray binds to
loopback only."""

from __future__ import annotations

import os

# Ray's clusters on this machine bind to 127.0.0.1 only. Ray reads this when it is imported
# (a Ray cluster otherwise advertises the machine's outward address, even for 127.0.0.1).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

import pytest
from gymnasium.error import DependencyNotInstalled


def chromium_available() -> bool:
    """Whether the Dino env would find a browser and driver (the env's own search)."""
    try:
        from rlgames.envs.dino.browser import find_chrome, find_driver

        find_chrome()
        find_driver()
    except DependencyNotInstalled:  # no selenium (the Mario venv), or no browser or driver
        return False
    return True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if chromium_available() or os.environ.get("RLGAMES_REQUIRE_CHROMIUM"):
        return  # with RLGAMES_REQUIRE_CHROMIUM set (CI), a missing browser fails the tests
    skip = pytest.mark.skip(reason="Chromium/chromedriver not found: apt-get install chromium")
    for item in items:
        if "dino" in item.keywords:
            item.add_marker(skip)
