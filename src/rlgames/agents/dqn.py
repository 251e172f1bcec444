"""DQN, Double DQN and Dueling DQN: one learner; the variants differ in target and head only.

- `DQN.td_target`: DQN bootstraps with ``max_a Q_target(s', a)``; Double DQN evaluates the
  online network's argmax with the target network, ``Q_target(s', argmax_a Q_online(s', a))``.
- Head: Dueling DQN's network ends in ``V + A - mean(A)`` (see ``networks.QNetwork``).

Everything else (network body, Huber loss, Adam, gradient-norm clipping, hard or Polyak
target updates, epsilon-greedy acting, the replay it learns from, state dicts) is shared.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from rlgames.agents.checks import check_batch, check_epsilon, check_observations, check_state
from rlgames.agents.config import AgentConfig
from rlgames.agents.networks import build_q_network
from rlgames.agents.replay import ReplayBatch, ReplayBuffer
from rlgames.schedules import LinearSchedule

SAMPLE_BYTES = 32 << 20
"""At most this many bytes of float32 observations and next observations are sampled and
moved to the device at once; a round of more gradient steps samples in parts."""


def resolve_device(device: str) -> torch.device:
    """The torch device for a config string: "auto" is CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise ValueError(
            f'device {device!r} is not a torch device ("auto", "cpu", "cuda", ...): {error}'
        ) from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f'device {device!r}: this torch has no usable CUDA device. Use device "auto" (CUDA '
            'when there is one, else CPU) or "cpu".'
        )
    return resolved


class DQN:
    """Deep Q-Network (Mnih et al. 2015) learner for Box observations and Discrete actions.

    ``DQN(observation_space, action_space, config=AgentConfig(), seed=None, **overrides)``;
    overrides replace config fields. ``seed`` seeds the network initialisation (without
    touching torch's global RNG) and the agent's own generator ``rng`` used by ``act``.
    Attributes: ``name``, ``config``, ``online`` and ``target`` networks, ``optimizer``,
    ``updates`` (gradient steps so far), ``double``, ``dueling``, ``device``.
    """

    name = "dqn"
    default_double = False
    default_dueling = False

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        config: AgentConfig | None = None,
        seed: int | None = None,
        **overrides: Any,
    ) -> None:
        if not isinstance(action_space, spaces.Discrete):
            raise TypeError(f"DQN agents need a Discrete action space, got {action_space}")
        if int(action_space.start) != 0:
            raise ValueError(
                f"DQN agents act with indices 0..n-1, and {action_space} starts at "
                f"{action_space.start}: give the agent Discrete({action_space.n}) and add "
                f"{action_space.start} to its actions before env.step"
            )
        self.config = config = dataclasses.replace(config or AgentConfig(), **overrides)
        self.observation_space, self.action_space = observation_space, action_space
        self.n_actions = int(action_space.n)
        self.double = self.default_double if config.double is None else config.double
        self.dueling = self.default_dueling if config.dueling is None else config.dueling
        self.device = resolve_device(config.device)
        self.rng = np.random.default_rng(seed)
        self.online = self._build_network(seed).to(self.device)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.optimizer = _adam(self.online.parameters(), lr=config.lr, eps=config.adam_eps)
        lr_end = config.lr if config.lr_end is None else config.lr_end
        self.lr_schedule = LinearSchedule(config.lr, lr_end, config.lr_decay_steps)
        self.updates = 0

    def _build_network(self, seed: int | None) -> torch.nn.Module:
        """A fresh Q-network; a seed fixes its initial weights without touching torch's RNG."""
        args = (self.observation_space, self.n_actions, self.dueling, self.config.hidden)
        if seed is None:  # draw from torch's global RNG, as any torch module would
            return build_q_network(*args)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_q_network(*args)

    # ------------------------------------------------------------------ acting
    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Online Q-values, float32 (n_actions,) for one observation or (B, n_actions)."""
        obs, single = check_observations(obs, self.observation_space)
        with torch.no_grad():
            q = self.online(torch.as_tensor(obs[None] if single else obs, device=self.device))
        q = q.float().cpu().numpy()
        return q[0] if single else q

    def act(
        self, obs: np.ndarray, epsilon: float = 0.0, rng: np.random.Generator | None = None
    ) -> int | np.ndarray:
        """Epsilon-greedy action: int for one observation, int64 array for a batch. Random
        choices come from `rng` (default: the agent's own generator)."""
        rng = self.rng if rng is None else rng
        epsilon = check_epsilon(epsilon)
        obs, single = check_observations(obs, self.observation_space)
        n = 1 if single else len(obs)
        explore = rng.random(n) < epsilon
        actions = rng.integers(0, self.n_actions, size=n)
        if not explore.all():  # every action random: no forward pass
            greedy = self.q_values(obs).reshape(n, -1).argmax(axis=1)
            actions = np.where(explore, actions, greedy)
        return int(actions[0]) if single else actions.astype(np.int64)

    # ---------------------------------------------------------------- learning
    def make_replay(
        self, capacity: int, n_envs: int = 1, frame_stack: int | None = None
    ) -> ReplayBuffer:
        """A replay buffer for this agent's spaces, n-step returns and discount."""
        cfg = self.config
        return ReplayBuffer(
            capacity, self.observation_space, self.action_space, n_envs,
            n_step=cfg.n_step, gamma=cfg.gamma, frame_stack=frame_stack,
        )  # fmt: skip

    def learn(
        self, replay: ReplayBuffer, n_updates: int, rng: np.random.Generator, step: int
    ) -> dict[str, float]:
        """`n_updates` gradient steps on batches sampled from `replay` with `rng`, at the
        learning rate of env step `step`. Returns the mean loss and Q over the steps."""
        if self.config.lr_end is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_schedule(step)
        rows = 2 * 4 * int(np.prod(self.observation_space.shape)) * self.config.batch_size
        per_sample = max(1, SAMPLE_BYTES // rows)
        loss = q = 0.0
        done = 0
        while done < n_updates:
            n = min(n_updates - done, per_sample)
            stats = self._learn(replay.sample_many(self.config.batch_size, n, rng), n)
            loss, q = loss + stats["loss"] * n, q + stats["q_mean"] * n
            done += n
        return {"loss": loss / max(done, 1), "q_mean": q / max(done, 1)}

    def update(self, batch: ReplayBatch) -> dict[str, float]:
        """One gradient step on a batch; updates the target network on schedule."""
        return self.update_many(batch, 1)

    def update_many(self, batch: ReplayBatch, n: int) -> dict[str, float]:
        """``n`` gradient steps, step ``k`` on rows ``[k * B, (k + 1) * B)`` of ``batch``
        (``B = len(batch.obs) // n``), as ``update`` on each slice in turn. Returns the mean
        loss and Q over the n steps."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        batch = check_batch(batch, self.observation_space, self.n_actions)
        if len(batch.obs) % n:
            raise ValueError(
                f"a batch of {len(batch.obs)} transitions does not split into {n} equal updates;"
                " pass n * batch_size transitions (ReplayBuffer.sample_many draws them)"
            )
        return self._learn(batch, n)

    def _learn(self, batch: ReplayBatch, n: int) -> dict[str, float]:
        """The gradient steps of `update_many`. The target network does not change between
        two copies, so its Q-values for all the steps up to the next copy take one pass."""
        ids = batch.next_ids
        b = ReplayBatch(*(torch.as_tensor(x, device=self.device) for x in batch[:6]))
        size = len(b.obs) // n
        losses, qs = [], []
        start = 0
        while start < n:
            run = self._steps_before_target_changes(n - start)
            rows = slice(start * size, (start + run) * size)
            with torch.no_grad():
                next_q = self._target_q(b.next_obs[rows], None if ids is None else ids[rows])
            for k in range(run):
                part = ReplayBatch(*(x[(start + k) * size : (start + k + 1) * size] for x in b[:6]))
                target = self._td_target(part, next_q[k * size : (k + 1) * size])
                loss, q = self._gradient_step(part.obs, part.actions, target)
                losses.append(loss)
                qs.append(q)
                self.updates += 1
                self._update_target()
            start += run
        return {"loss": float(torch.stack(losses).mean()), "q_mean": float(torch.stack(qs).mean())}

    def _gradient_step(
        self, obs: torch.Tensor, actions: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step of the TD loss: forward, backward, clip, Adam. Returns (loss, mean Q)."""
        q = self.online(obs).gather(1, actions.long().unsqueeze(1)).squeeze(1)
        loss = self._loss(q, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.online.parameters(), self.config.grad_clip)
        self.optimizer.step()
        return loss.detach(), q.detach().mean()

    def _loss(self, q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss_fn = F.smooth_l1_loss if self.config.loss == "huber" else F.mse_loss
        return loss_fn(q, target)

    def td_target(self, batch: ReplayBatch) -> torch.Tensor:
        """r + discount * (1 - done) * Q(s', a'), a' chosen by the target (DQN) or the online
        network (Double DQN), for a batch on its own."""
        batch = check_batch(batch, self.observation_space, self.n_actions)
        b = ReplayBatch(*(torch.as_tensor(x, device=self.device) for x in batch[:6]))
        with torch.no_grad():
            return self._td_target(b, self._target_q(b.next_obs, batch.next_ids))

    def _td_target(self, b: ReplayBatch, next_q: torch.Tensor) -> torch.Tensor:
        """The TD target from the target network's Q(s', .): where DQN and Double DQN differ."""
        with torch.no_grad():
            if self.double:
                best = self.online(b.next_obs).argmax(dim=1, keepdim=True)
                next_value = next_q.gather(1, best).squeeze(1)
            else:
                next_value = next_q.max(dim=1).values
            return b.rewards.float() + b.discounts.float() * (1 - b.dones.float()) * next_value

    def _target_q(self, next_obs: torch.Tensor, ids: np.ndarray | None) -> torch.Tensor:
        """Target-network Q-values; rows with the same replay id (ReplayBatch.next_ids) hold the
        same observation and go through the network once."""
        if ids is not None and len(ids) > 1:
            if len(ids) != len(next_obs):
                raise ValueError(
                    f"next_ids has {len(ids)} rows but next_obs {len(next_obs)}; set "
                    "next_ids=None in a batch whose next_obs were changed or combined"
                )
            _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
            if len(first) < len(ids):
                distinct = self.target(next_obs[torch.as_tensor(first, device=self.device)])
                return distinct[torch.as_tensor(inverse.reshape(-1), device=self.device)]
        return self.target(next_obs)

    def _steps_before_target_changes(self, left: int) -> int:
        """Gradient steps (at most `left`) until the target network next changes."""
        if self.config.tau < 1.0:
            return 1  # Polyak: after every step
        every = self.config.target_update
        return min(left, every - self.updates % every)

    def _update_target(self) -> None:
        tau = self.config.tau
        if tau >= 1.0:
            if self.updates % self.config.target_update == 0:
                self.target.load_state_dict(self.online.state_dict())
            return
        with torch.no_grad():
            for t, o in zip(self.target.parameters(), self.online.parameters(), strict=True):
                t.lerp_(o, tau)

    # ------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, torch.Tensor]:
        """Flat name -> tensor: online.*, target.*, optimizer.*, counters and the act() RNG."""
        out: dict[str, torch.Tensor] = {}
        for prefix, net in (("online", self.online), ("target", self.target)):
            for key, value in net.state_dict().items():
                out[f"{prefix}.{key}"] = _plain_copy(value)
        for index, state in self.optimizer.state_dict()["state"].items():
            for key, value in state.items():
                out[f"optimizer.{index}.{key}"] = _plain_copy(torch.as_tensor(value))
        out["counters.updates"] = torch.tensor(self.updates, dtype=torch.int64)
        rng_state = json.dumps(self.rng.bit_generator.state).encode()
        out["rng.state"] = torch.tensor(list(rng_state), dtype=torch.uint8)
        return out

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore from state_dict() output (networks, Adam moments, counters, RNG). A state of
        another network is refused before anything changes."""
        rng_state = check_state(state, self.online, self.target, self.rng)
        for prefix, net in (("online", self.online), ("target", self.target)):
            n = len(prefix) + 1
            net.load_state_dict({k[n:]: v for k, v in state.items() if k.startswith(prefix + ".")})
        moments: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in state.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                moments.setdefault(int(index), {})[name] = value
        groups = self.optimizer.state_dict()["param_groups"]
        self.optimizer.load_state_dict({"state": moments, "param_groups": groups})
        for param, saved in self.optimizer.state.items():  # moments take their param's layout
            for key, value in saved.items():
                if torch.is_tensor(value) and value.shape == param.shape:
                    saved[key] = torch.empty_like(param).copy_(value)
        self.updates = int(state["counters.updates"])
        if rng_state is not None:
            self.rng.bit_generator.state = rng_state


def _adam(params, **kwargs: Any) -> torch.optim.Adam:
    """Adam with its fused kernel where this torch has one for the device, else the default."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, **kwargs)


def _plain_copy(value: torch.Tensor) -> torch.Tensor:
    """A detached CPU copy in standard (contiguous) layout, as safetensors stores it."""
    return value.detach().cpu().clone(memory_format=torch.contiguous_format)


class DoubleDQN(DQN):
    """Double DQN (van Hasselt et al. 2016): online argmax, target evaluation."""

    name = "ddqn"
    default_double = True


class DuelingDQN(DoubleDQN):
    """Dueling DQN (Wang et al. 2016): V + A - mean(A) head; double targets unless double=False."""

    name = "dueling"
    default_dueling = True


AGENTS: dict[str, type[DQN]] = {
    "dqn": DQN,
    "ddqn": DoubleDQN,
    "double": DoubleDQN,
    "dueling": DuelingDQN,
}


def make_agent(
    name: str,
    observation_space: spaces.Space,
    action_space: spaces.Space,
    seed: int | None = None,
    **config: Any,
) -> DQN:
    """Build an agent by name ("dqn", "ddqn"/"double", "dueling"); config = AgentConfig fields."""
    try:
        cls = AGENTS[name.lower()]
    except (KeyError, AttributeError):  # AttributeError: not a string
        raise ValueError(f"unknown agent {name!r}; choose one of {sorted(AGENTS)}") from None
    fields = {f.name for f in dataclasses.fields(AgentConfig)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise TypeError(
            f"unknown agent settings {unknown}; AgentConfig fields are {sorted(fields)}"
        )
    return cls(observation_space, action_space, AgentConfig(**config), seed=seed)
