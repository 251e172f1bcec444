"""Shared test set-up: Dino tests skip without Chromium, unless CI demands it."""

from __future__ import annotations

import os
import shutil

import pytest


def chromium_available() -> bool:
    browser = any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome"))
    return bool(browser and shutil.which("chromedriver"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if chromium_available() or os.environ.get("RLGAMES_REQUIRE_CHROMIUM"):
        return  # with RLGAMES_REQUIRE_CHROMIUM set (CI), a missing browser fails the tests
    skip = pytest.mark.skip(reason="Chromium/chromedriver not found: apt-get install chromium")
    for item in items:
        if "dino" in item.keywords:
            item.add_marker(skip)
