"""DQN, Double DQN and Dueling DQN: one learner; the variants differ in target and head only.

- ``td_target``: DQN bootstraps with ``max_a Q_target(s', a)``; Double DQN evaluates the online
  network's argmax with the target network, ``Q_target(s', argmax_a Q_online(s', a))``.
- Head: Dueling DQN's network ends in ``V + A - mean(A)`` (see ``networks.QNetwork``).

Everything else (network body, Huber loss, Adam, gradient-norm clipping, hard or Polyak
target updates, epsilon-greedy acting, state dicts) is shared.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from rlgames.agents.networks import build_q_network
from rlgames.agents.replay import ReplayBatch


@dataclass
class AgentConfig:
    """Hyperparameters of a DQN-family agent. Units: one "update" = one agent.update() call."""

    lr: float = 1e-4
    """Adam learning rate."""
    gamma: float = 0.99
    """Discount per env step (the replay's n-step discount is used for the bootstrap)."""
    batch_size: int = 32
    """Transitions per gradient step (read by the training loop when sampling)."""
    grad_clip: float = 10.0
    """Max global L2 norm of the gradients; 0 or less disables clipping."""
    target_update: int = 1000
    """Updates (agent.update calls, not env steps) between hard target-network copies."""
    tau: float = 1.0
    """1.0 = hard copy every target_update updates; < 1 = Polyak average after every update."""
    double: bool | None = None
    """Double-DQN targets; None = the variant's default (dqn: False, ddqn/dueling: True)."""
    dueling: bool | None = None
    """Dueling head; None = the variant's default (dueling: True, others False)."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the MLP used for vector observations."""
    n_step: int = 1
    """Steps per return in the replay buffer (read by the training loop to build it)."""
    device: str = "auto"
    """"auto" = CUDA when available, else CPU; or any torch device string."""
    loss: str = "huber"
    """TD loss: "huber" (smooth L1, delta 1) or "mse"."""
    adam_eps: float = 1e-8
    """Adam epsilon (Dopamine uses 1.5e-4 on Atari)."""

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        if self.loss not in ("huber", "mse"):
            raise ValueError(f'loss must be "huber" or "mse", got {self.loss!r}')
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")


def resolve_device(device: str) -> torch.device:
    """The torch device for a config string: "auto" is CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _adam(params, **kwargs) -> torch.optim.Adam:
    """Fused Adam where this torch has it (CPU since 2.4: ~4x faster steps), else the default."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, **kwargs)


class DQN:
    """Deep Q-Network (Mnih et al. 2015) learner for Box observations and Discrete actions.

    ``DQN(observation_space, action_space, config=AgentConfig(), seed=None, **overrides)``;
    overrides replace config fields. ``seed`` seeds the network initialisation (without
    touching torch's global RNG) and the agent's own generator ``rng`` used by ``act``.
    Attributes: ``name``, ``config``, ``online`` and ``target`` networks, ``optimizer``,
    ``updates`` (update() calls so far), ``double``, ``dueling``, ``device``.
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
        **overrides,
    ) -> None:
        if not isinstance(action_space, spaces.Discrete):
            raise TypeError(f"DQN agents need a Discrete action space, got {action_space}")
        config = dataclasses.replace(config or AgentConfig(), **overrides)
        self.config = config
        self.observation_space = observation_space
        self.action_space = action_space
        self.n_actions = int(action_space.n)
        self.double = self.default_double if config.double is None else bool(config.double)
        self.dueling = self.default_dueling if config.dueling is None else bool(config.dueling)
        self.device = resolve_device(config.device)
        self.rng = np.random.default_rng(seed)
        net = self._build_network(seed)
        self.online = net.to(self.device)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self._params = list(self.online.parameters())  # loading copies into these in place
        self.optimizer = _adam(self._params, lr=config.lr, eps=config.adam_eps)
        self.updates = 0  # agent.update() calls so far

    def _build_network(self, seed: int | None) -> torch.nn.Module:
        """A fresh Q-network; a seed fixes its initial weights without touching torch's RNG."""
        cfg = self.config
        if seed is None:  # draw from torch's global RNG, as any torch module would
            return build_q_network(self.observation_space, self.n_actions, self.dueling, cfg.hidden)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_q_network(self.observation_space, self.n_actions, self.dueling, cfg.hidden)

    # ------------------------------------------------------------------ acting
    def _as_tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(x), device=self.device)

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Online Q-values, float32 (n_actions,) for one observation or (B, n_actions)."""
        obs = np.asarray(obs)
        single = obs.ndim == len(self.observation_space.shape)
        with torch.no_grad():
            q = self.online(self._as_tensor(obs[None] if single else obs))
        q = q.float().cpu().numpy()
        return q[0] if single else q

    def act(
        self, obs: np.ndarray, epsilon: float = 0.0, rng: np.random.Generator | None = None
    ) -> int | np.ndarray:
        """Epsilon-greedy action: int for one observation, int64 array for a batch."""
        rng = self.rng if rng is None else rng
        obs = np.asarray(obs)
        single = obs.ndim == len(self.observation_space.shape)
        n = 1 if single else obs.shape[0]
        explore = rng.random(n) < epsilon
        random_actions = rng.integers(0, self.n_actions, size=n)
        if explore.all():  # skip the forward pass when every action is random
            actions = random_actions
        else:
            greedy = self.q_values(obs[None] if single else obs).argmax(axis=1)
            actions = np.where(explore, random_actions, greedy)
        actions = actions.astype(np.int64)
        return int(actions[0]) if single else actions

    # ---------------------------------------------------------------- learning
    def td_target(self, batch: ReplayBatch) -> torch.Tensor:
        """r + discount * (1 - done) * Q(s', a'), with a' by the target (DQN) or online net."""
        b = self._tensors(batch)
        with torch.no_grad():
            next_q = self._target_q(b.next_obs)
            return self._bootstrap(b.rewards, b.discounts, b.dones, b.next_obs, next_q)

    def _tensors(self, batch: ReplayBatch) -> ReplayBatch:
        """The batch's arrays as tensors on the agent's device."""
        return ReplayBatch(*(self._as_tensor(x) for x in batch))

    def _bootstrap(self, rewards, discounts, dones, next_obs, next_q) -> torch.Tensor:
        """The TD target from the target network's Q(s', .) (next_q); no_grad is the caller's."""
        if self.double:
            best = self.online(next_obs).argmax(dim=1, keepdim=True)
            next_value = next_q.gather(1, best).squeeze(1)
        else:
            next_value = next_q.max(dim=1).values
        return rewards.float() + discounts.float() * (1.0 - dones.float()) * next_value

    def update(self, batch: ReplayBatch) -> dict[str, float]:
        """One gradient step on a batch; updates the target network on schedule."""
        return self.update_many(batch, 1)

    def update_many(self, batch: ReplayBatch, n: int) -> dict[str, float]:
        """``n`` gradient steps, step ``k`` on rows ``[k * B, (k + 1) * B)`` of ``batch``
        (``B = len(batch.obs) // n``): what ``update`` on each slice in turn does (the same up
        to float rounding), with less overhead. The batch moves to the device once, and the
        target network's Q-values are computed in one pass for each run of steps between two
        target copies, as the target network does not change in between. Returns the mean
        loss and Q over the n steps."""
        rows = len(batch.obs)
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if rows % n:
            raise ValueError(
                f"a batch of {rows} transitions does not split into {n} equal updates; pass "
                "n * batch_size transitions (ReplayBuffer.sample_many draws them)"
            )
        size = rows // n
        b = self._tensors(batch)
        actions = b.actions.long().unsqueeze(1)
        hard, every = self.config.tau >= 1.0, max(1, self.config.target_update)
        loss_sum = torch.zeros((), device=self.device)
        q_sum = torch.zeros((), device=self.device)
        done = 0
        while done < n:
            # Steps until the target network next changes (after every step when soft).
            run = min(n - done, every - self.updates % every) if hard else 1
            part = slice(done * size, (done + run) * size)
            with torch.no_grad():
                next_q = self._target_q(b.next_obs[part])
                if not self.double:  # the whole run's targets at once
                    targets = self._bootstrap(
                        b.rewards[part], b.discounts[part], b.dones[part], None, next_q
                    )
            for k in range(run):
                here = slice((done + k) * size, (done + k + 1) * size)
                within = slice(k * size, (k + 1) * size)
                if self.double:  # the online argmax changes with every step
                    with torch.no_grad():
                        target = self._bootstrap(
                            b.rewards[here], b.discounts[here], b.dones[here], b.next_obs[here],
                            next_q[within],
                        )  # fmt: skip
                else:
                    target = targets[within]
                loss, q_mean = self._gradient_step(b.obs[here], actions[here], target)
                loss_sum += loss
                q_sum += q_mean
            done += run
        return {"loss": float(loss_sum) / n, "q_mean": float(q_sum) / n}

    def _gradient_step(self, obs, actions, target) -> tuple[torch.Tensor, torch.Tensor]:
        """One optimizer step on the TD loss of Q(obs, actions) against target (actions: int64
        (B, 1)), then the target network's update on schedule. Returns the loss and the mean Q,
        detached."""
        q = self.online(obs).gather(1, actions).squeeze(1)
        loss_fn = F.smooth_l1_loss if self.config.loss == "huber" else F.mse_loss
        loss = loss_fn(q, target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self._params, self.config.grad_clip)
        self.optimizer.step()
        self.updates += 1
        self._update_target()
        return loss.detach(), q.detach().mean()

    def _target_q(self, next_obs: torch.Tensor) -> torch.Tensor:
        """Target-network Q-values of many observations, in chunks of at most ~1,024 rows and
        ~8 MiB of input: one pass over 8,192 CartPole rows took 60 % longer than 8 chunks, its
        large fresh buffers being paged in on every call."""
        row_bytes = 4 * int(np.prod(next_obs.shape[1:]))
        chunk = max(1, min(1024, (8 << 20) // row_bytes))
        if len(next_obs) <= chunk:
            return self.target(next_obs)
        return torch.cat([self.target(part) for part in next_obs.split(chunk)])

    def _update_target(self) -> None:
        tau = self.config.tau
        if tau >= 1.0:
            if self.updates % max(1, self.config.target_update) == 0:
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
        """Restore from state_dict() output (networks, Adam moments, counters, RNG)."""
        for prefix, net in (("online", self.online), ("target", self.target)):
            n = len(prefix) + 1
            net.load_state_dict({k[n:]: v for k, v in state.items() if k.startswith(prefix + ".")})
        opt_state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in state.items():
            if key.startswith("optimizer."):
                _, index, name = key.split(".", 2)
                opt_state.setdefault(int(index), {})[name] = value
        groups = self.optimizer.state_dict()["param_groups"]
        self.optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
        for param, moments in self.optimizer.state.items():  # moments take their param's layout
            for key, value in moments.items():
                if torch.is_tensor(value) and value.shape == param.shape:
                    moments[key] = torch.empty_like(param).copy_(value)
        self.updates = int(state["counters.updates"])
        if "rng.state" in state:
            raw = bytes(state["rng.state"].tolist())
            self.rng.bit_generator.state = json.loads(raw.decode())


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
    **config,
) -> DQN:
    """Build an agent by name ("dqn", "ddqn"/"double", "dueling"); config = AgentConfig fields."""
    try:
        cls = AGENTS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown agent {name!r}; choose one of {sorted(AGENTS)}") from None
    fields = {f.name for f in dataclasses.fields(AgentConfig)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise TypeError(
            f"unknown agent settings {unknown}; AgentConfig fields are {sorted(fields)}"
        )
    return cls(observation_space, action_space, AgentConfig(**config), seed=seed)
