"""The distributed room: Ray actors that collect experience for rlgames' learner.

    trainer = rlgames.train("CartPole-v1", steps=30_000, actors=2)      # a local Ray instance
    rlgames train --env ChromeDino-v0 --actors 4 --ray-address auto     # a running cluster

`Actor` steps its own envs and sends chunks of steps (`chunks`); `DistributedTrainer` is the
Trainer that learns from them (docs/distributed.md). Nothing here imports Ray until a run
with actors starts.
"""

from __future__ import annotations

from rlgames.lazy import lazy_names

_HOMES = {
    "Actor": "actor",
    "DistributedTrainer": "learner",
    "ChunkReader": "chunks",
    "ChunkWriter": "chunks",
    "actor_epsilons": "actor",
}

__all__ = sorted(_HOMES)


__getattr__, __dir__ = lazy_names(__name__, _HOMES, globals())
