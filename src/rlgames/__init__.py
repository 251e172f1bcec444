"""rlgames: pixel games as Gymnasium environments, and DQN-family agents that learn them.

Importing the package registers its env ids (``ChromeDino-v0``, ``rlgames/SuperMarioBros-*``)
and stays light: torch, selenium and the emulators are imported only when used.
"""

from __future__ import annotations

from typing import Any

from rlgames.envs.factory import make_env
from rlgames.registration import register_envs, registered_ids

__version__ = "0.1.0"
__all__ = ["Trainer", "make_env", "registered_ids", "train", "__version__"]

register_envs()


def __getattr__(name: str) -> Any:
    # The training loop imports torch: load it only when asked for.
    if name in ("train", "Trainer"):
        from rlgames import training

        return getattr(training, name)
    raise AttributeError(f"module 'rlgames' has no attribute {name!r}")
