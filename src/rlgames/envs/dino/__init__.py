"""ChromeDino-v0: the real chrome://dino as a fast, deterministic Gymnasium environment."""

from rlgames.envs.dino.env import ChromeDinoEnv

__all__ = ["ChromeDinoEnv"]
