"""An actor: collects experience for a remote learner (Ape-X style).

`Actor` is a plain class; the learner runs it as a Ray actor (`ray.remote(Actor)`), one per
process, on whichever node Ray places it. It owns its envs (a vector env of n_envs, built as
the single-process loop builds them: Dino, one browser each), acts with a CPU copy of the
learner's online network at a fixed epsilon, and returns its steps as chunks (`chunks`).
Only numpy arrays, numbers and plain dicts go in and out. Under Ray an actor first ends the
browsers its predecessor left if that process was killed (`orphans`).
"""

from __future__ import annotations

import os
import uuid
from typing import Any

import numpy as np
import torch

from rlgames.agents import make_agent
from rlgames.config import TrainConfig
from rlgames.distributed import orphans
from rlgames.distributed.chunks import ChunkWriter
from rlgames.training.collector import Collector
from rlgames.training.loop import make_train_envs


def actor_epsilons(n: int, base: float, alpha: float) -> list[float]:
    """Ape-X's fixed spread (Horgan et al. 2018): actor i of n explores with
    base ** (1 + alpha * i / (n - 1)); a single actor with base."""
    if n == 1:
        return [float(base)]
    return [float(base ** (1 + alpha * i / (n - 1))) for i in range(n)]


def policy_weights(agent: Any) -> dict[str, np.ndarray]:
    """The online network's weights as numpy arrays: all an actor needs to act."""
    return {k: v.detach().cpu().numpy().copy() for k, v in agent.online.state_dict().items()}


def load_policy_weights(agent: Any, weights: dict[str, np.ndarray]) -> None:
    agent.online.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})


class Actor:
    """Steps its own envs with the latest weights it was sent; `collect` returns a chunk.
    `frame_stack` and `compress` are the learner's replay's, so frames travel as stored."""

    def __init__(
        self,
        env_id: str,
        train: dict[str, Any],
        agent_name: str,
        agent_config: dict[str, Any],
        epsilon: float,
        seed: int,
        frame_stack: int,
        compress: bool,
    ) -> None:
        torch.set_num_threads(1)  # one process per actor: many threads each would fight
        tag = _ray_actor_id()  # the same across restarts
        self.reaped = orphans.mark(tag) if tag is not None else 0
        config = TrainConfig(**train)
        self.envs = make_train_envs(env_id, config)
        try:
            self.collector = Collector(self.envs, seed)
            obs_space = self.envs.single_observation_space
            kwargs = {**agent_config, "device": "cpu"}
            self.agent = make_agent(
                agent_name, obs_space, self.envs.single_action_space, seed=seed, **kwargs
            )
            self.writer = ChunkWriter(  # frames as the learner's replay stores them
                config.n_envs, obs_space.shape, obs_space.dtype, frame_stack, compress
            )
        except BaseException:
            self.envs.close()
            raise
        self.epsilon = float(epsilon)
        self.rng = np.random.default_rng(seed)
        self.version = -1
        # Ray queues the calls sent while it restarts an actor and runs them on the new
        # process: the learner tells a restart from the token changing.
        self.incarnation = uuid.uuid4().hex

    def describe(self) -> dict[str, Any]:
        """Where this actor runs (its process id and, under Ray, its node's id), its
        `incarnation`, and how many processes its predecessor had left (`orphans.reap`)."""
        node = None
        if _ray_actor_id() is not None:
            import ray

            node = ray.get_runtime_context().get_node_id()
        return {
            "pid": os.getpid(),
            "node_id": node,
            "incarnation": self.incarnation,
            "reaped": self.reaped,
        }

    def set_weights(self, weights: dict[str, np.ndarray], version: int) -> None:
        """Act with these online-network weights from now on."""
        load_policy_weights(self.agent, weights)
        self.version = int(version)

    def collect(self, steps: int, random_actions: bool = False) -> dict[str, Any]:
        """Step the envs `steps` times (uniformly random actions if `random_actions`, as the
        loop does before learning starts) and return the chunk, with the weights' version and
        this process's `incarnation`."""
        n = self.envs.num_envs
        for _ in range(int(steps)):
            if random_actions:
                actions = self.rng.integers(0, self.agent.n_actions, size=n)
            else:  # noisy agents explore by their noise (their epsilon is 0)
                eps = 0.0 if self.agent.noisy else self.epsilon
                actions = self.agent.act(self.collector.obs, eps, self.rng, explore=True)
            transition, ended = self.collector.step(actions)
            self.writer.add(*transition)
            for episode in ended:
                self.writer.episode(episode.env, episode.ret, episode.length, episode.score)
        return {
            "chunk": self.writer.take(),
            "version": self.version,
            "incarnation": self.incarnation,
        }

    def restart(self, seed: int) -> None:
        """Start new episodes in every sub-env (reset with `seed`): after a chunk was lost,
        the next one must carry whole first observations again."""
        self.collector = Collector(self.envs, int(seed))
        self.writer.restart()

    def close(self) -> None:
        """Close the envs (browsers, emulators)."""
        self.envs.close()


def _ray_actor_id() -> str | None:
    """The id of the Ray actor this process runs, or None outside one."""
    try:
        import ray
    except ImportError:
        return None
    if not ray.is_initialized():
        return None
    return ray.get_runtime_context().get_actor_id()
