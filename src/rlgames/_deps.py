"""Optional dependencies: one clear error naming the extra to install."""

from __future__ import annotations

import importlib.util

from gymnasium.error import DependencyNotInstalled


def require(extra: str, *modules: str) -> None:
    """Raise `DependencyNotInstalled` naming the extra to install if a module is missing."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise DependencyNotInstalled(
            f"{', '.join(missing)} is not installed, and it is needed here. "
            f'Install it with `pip install "rlgames[{extra}]"`.'
        )
