"""Registers the package's environment ids with Gymnasium (called by ``import rlgames``).

Gymnasium 1.x has no plugin entry points, so ids exist once ``rlgames`` is imported, or when
``gymnasium.make("rlgames:<id>")`` imports it. Ids register even when their optional
dependency is missing; ``make`` then fails with an error naming the extra to install.
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

DINO_ID = "ChromeDino-v0"
MARIO_NAMESPACE = "rlgames"
MARIO_WORLDS = range(1, 9)
MARIO_STAGES = range(1, 5)


def mario_ids() -> list[str]:
    """All Mario ids: the whole game, then each world-stage."""
    ids = [f"{MARIO_NAMESPACE}/SuperMarioBros-v0"]
    ids += [
        f"{MARIO_NAMESPACE}/SuperMarioBros-{w}-{s}-v0" for w in MARIO_WORLDS for s in MARIO_STAGES
    ]
    return ids


def registered_ids() -> list[str]:
    """Every env id this package registers."""
    return [DINO_ID, *mario_ids()]


def register_envs() -> None:
    """Register all ids; safe to call more than once."""
    if DINO_ID not in registry:
        register(
            id=DINO_ID,
            entry_point="rlgames.envs.dino:ChromeDinoEnv",
            nondeterministic=False,
        )
    mario_entry = "rlgames.envs.mario:SuperMarioBrosEnv"
    whole = f"{MARIO_NAMESPACE}/SuperMarioBros-v0"
    if whole not in registry:
        register(id=whole, entry_point=mario_entry, kwargs={"world": None, "stage": None})
    for w in MARIO_WORLDS:
        for s in MARIO_STAGES:
            env_id = f"{MARIO_NAMESPACE}/SuperMarioBros-{w}-{s}-v0"
            if env_id not in registry:
                register(id=env_id, entry_point=mario_entry, kwargs={"world": w, "stage": s})
