"""The variants by name: each is the learner of `rlgames.agents.dqn` with its own flags' defaults
(and, for Rainbow, a table of hyperparameters), and `make_agent` builds one from its name."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

from gymnasium import spaces

from rlgames.agents.config import AgentConfig
from rlgames.agents.dqn import DQN


class DoubleDQN(DQN):
    """Double DQN (van Hasselt et al. 2016): online argmax, target evaluation."""

    name = "ddqn"
    default_double = True


class DuelingDQN(DoubleDQN):
    """Dueling DQN (Wang et al. 2016): V + A - mean(A) head; double targets unless double=False."""

    name = "dueling"
    default_dueling = True


class Rainbow(DuelingDQN):
    """Rainbow (Hessel et al. 2018): double + dueling + distributional (C51) + noisy layers, on
    3-step returns from a prioritized replay. Each part can be switched off by its flag."""

    name = "rainbow"
    default_distributional = True
    default_noisy = True
    config_defaults: ClassVar[dict[str, Any]] = {
        "n_step": 3,
        "prioritized": True,
        # The paper's Atari hyperparameters (its Table 1):
        "lr": 6.25e-5,
        "adam_eps": 1.5e-4,
        "atoms": 51,
        "v_min": -10.0,
        "v_max": 10.0,
        "noisy_std": 0.5,
        "priority_alpha": 0.5,
        "priority_beta": 0.4,
        # Its target period of 32k frames is 8k env steps at frame skip 4, and so 2k updates
        # at one update every 4 env steps (target_update counts updates).
        "target_update": 2_000,
    }


AGENTS: dict[str, type[DQN]] = {
    "dqn": DQN,
    "ddqn": DoubleDQN,
    "double": DoubleDQN,
    "dueling": DuelingDQN,
    "rainbow": Rainbow,
}


def agent_class(name: str) -> type[DQN]:
    """The class of an agent name ("dqn", "rainbow", ...); a ValueError listing the names."""
    try:
        return AGENTS[name.lower()]
    except (KeyError, AttributeError):  # AttributeError: not a string
        raise ValueError(f"unknown agent {name!r}; choose one of {sorted(AGENTS)}") from None


def make_agent(
    name: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    seed: int | None = None,
    **config: Any,
) -> DQN:
    """Build an agent by name ("dqn", "ddqn"/"double", "dueling", "rainbow"); config =
    AgentConfig fields, over the variant's own defaults (`DQN.config_defaults`)."""
    cls = agent_class(name)
    fields = {f.name for f in dataclasses.fields(AgentConfig)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise TypeError(
            f"unknown agent settings {unknown}; AgentConfig fields are {sorted(fields)}"
        )
    return cls(observation_space, action_space, cls.default_config(**config), seed=seed)
