"""The DQN-family learner; its variants (`rlgames.agents.variants`: DQN, Double DQN, Dueling
DQN, Rainbow) are flags of it and differ in the maths only.

- Next action: DQN bootstraps at ``argmax_a Q_target(s', a)``; Double DQN at the online
  network's argmax, evaluated by the target network (`DQN._next_actions`).
- Head: Dueling DQN's network ends in ``V + A - mean(A)`` (see ``networks.QNetwork``).
- Distributional (C51): the head gives a return distribution per action; the target is its
  Bellman update projected onto the support (``distributional.project_distribution``) and the
  loss a cross-entropy instead of Huber.
- Noisy: NoisyLinear layers, with fresh noise before every gradient step and every exploring
  act, and none when acting greedily.
- Prioritized replay: the replay draws by priority; IS weights scale each sample's loss and
  the samples' errors become their new priorities.

Rainbow (Hessel et al. 2018) is all of these with 3-step returns. Everything else (network
body, Adam, gradient-norm clipping, target updates, epsilon-greedy acting, the replay it
learns from, state dicts) is shared.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from contextlib import nullcontext
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from rlgames.agents.checks import check_batch, check_epsilon, check_observations, check_state
from rlgames.agents.config import AgentConfig
from rlgames.agents.distributional import project_distribution, support_of
from rlgames.agents.networks import build_q_network, mean_weights
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

    ``DQN(observation_space, action_space, config=None, seed=None, **overrides)``; overrides
    replace config fields (of ``default_config()`` when no config is given). ``seed`` seeds
    the network initialisation (without touching torch's global RNG), the agent's own
    generator ``rng`` used by ``act`` and the generator of the noisy layers' noise.
    Attributes: ``name``, ``config``, ``online`` and ``target`` networks, ``optimizer``,
    ``updates`` (gradient steps so far), ``double``, ``dueling``, ``distributional``,
    ``noisy``, ``device``.
    """

    name = "dqn"
    default_double = False
    default_dueling = False
    default_distributional = False
    default_noisy = False
    config_defaults: ClassVar[dict[str, Any]] = {}
    """AgentConfig values this variant starts from where the user sets none."""

    @classmethod
    def default_config(cls, **settings: Any) -> AgentConfig:
        """The variant's config: `settings` over `config_defaults` over AgentConfig's own."""
        return AgentConfig(**{**cls.config_defaults, **settings})

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
        config = config or self.default_config()
        self.config = config = dataclasses.replace(config, **overrides)
        self.observation_space, self.action_space = observation_space, action_space
        self.n_actions = int(action_space.n)
        self.double = _flag(config.double, self.default_double)
        self.dueling = _flag(config.dueling, self.default_dueling)
        self.distributional = _flag(config.distributional, self.default_distributional)
        self.noisy = _flag(config.noisy, self.default_noisy)
        self.device = resolve_device(config.device)
        self.rng = np.random.default_rng(seed)
        self.noise_rng = _noise_generator(seed) if self.noisy else None
        self.online = self._build_network(seed).to(self.device)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self.optimizer = _adam(self.online.parameters(), lr=config.lr, eps=config.adam_eps)
        lr_end = config.lr if config.lr_end is None else config.lr_end
        self.lr_schedule = LinearSchedule(config.lr, lr_end, config.lr_decay_steps)
        self.beta_schedule = LinearSchedule(config.priority_beta, 1.0, config.priority_beta_steps)
        self.updates = 0

    def _build_network(self, seed: int | None) -> torch.nn.Module:
        """A fresh Q-network; a seed fixes its initial weights without touching torch's RNG."""
        cfg = self.config
        args = (self.observation_space, self.n_actions, self.dueling, cfg.hidden)
        kwargs = {
            "support": support_of(cfg.atoms, cfg.v_min, cfg.v_max) if self.distributional else None,
            "noisy_std": cfg.noisy_std if self.noisy else None,
        }
        if seed is None:  # draw from torch's global RNG, as any torch module would
            return build_q_network(*args, **kwargs)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_q_network(*args, **kwargs)

    # ------------------------------------------------------------------ acting
    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Online Q-values (C51: the means of the distributions), float32 (n_actions,) for one
        observation or (B, n_actions); noisy layers use their mean weights (no noise)."""
        obs, single = check_observations(obs, self.observation_space)
        q = self._q_values(obs[None] if single else obs, noise=False)
        return q[0] if single else q

    def _q_values(self, obs: np.ndarray, noise: bool) -> np.ndarray:
        """Q-values of a batch: with fresh noise (`noise`, noisy agents) or without any."""
        quiet = self.noisy and not noise
        with torch.no_grad(), mean_weights(self.online) if quiet else nullcontext():
            if noise and self.noisy:
                self.online.reset_noise(self.noise_rng)
            out = self.online(torch.as_tensor(obs, device=self.device))
            return self.online.expected_q(out).float().cpu().numpy()

    def act(
        self,
        obs: np.ndarray,
        epsilon: float = 0.0,
        rng: np.random.Generator | None = None,
        *,
        explore: bool = False,
    ) -> int | np.ndarray:
        """Epsilon-greedy action: int for one observation, int64 array for a batch. Random
        choices come from `rng` (default: the agent's own generator). A noisy agent acts
        greedily on freshly noised weights with ``explore=True`` (training), and on its mean
        weights, deterministically, without (evaluation)."""
        rng = self.rng if rng is None else rng
        epsilon = check_epsilon(epsilon)
        obs, single = check_observations(obs, self.observation_space)
        n = 1 if single else len(obs)
        at_random = rng.random(n) < epsilon
        actions = rng.integers(0, self.n_actions, size=n)
        if not at_random.all():  # every action random: no forward pass
            q = self._q_values(obs.reshape(n, *self.observation_space.shape), noise=explore)
            actions = np.where(at_random, actions, q.argmax(axis=1))
        return int(actions[0]) if single else actions.astype(np.int64)

    # ---------------------------------------------------------------- learning
    def make_replay(
        self,
        capacity: int,
        n_envs: int = 1,
        frame_stack: int | None = None,
        compress: bool | None = None,
    ) -> ReplayBuffer:
        """A replay buffer for this agent's spaces, n-step returns, discount and priorities."""
        cfg = self.config
        return ReplayBuffer(
            capacity, self.observation_space, self.action_space, n_envs,
            n_step=cfg.n_step, gamma=cfg.gamma, frame_stack=frame_stack, compress=compress,
            prioritized=cfg.prioritized, alpha=cfg.priority_alpha, priority_eps=cfg.priority_eps,
        )  # fmt: skip

    def learn(
        self, replay: ReplayBuffer, n_updates: int, rng: np.random.Generator, step: int
    ) -> dict[str, float]:
        """`n_updates` gradient steps on batches sampled from `replay` with `rng`, at the
        learning rate (and, prioritized, the IS exponent beta) of env step `step`; a
        prioritized replay gets each batch's errors as its new priorities after each step.
        Returns the mean loss and Q over the steps."""
        cfg = self.config
        if (replay.n_step, replay.gamma) != (cfg.n_step, cfg.gamma):
            raise ValueError(
                f"the replay sums {replay.n_step}-step returns with gamma {replay.gamma}, this "
                f"agent is set for {cfg.n_step} and {cfg.gamma}: build the replay with "
                "agent.make_replay"
            )
        if self.config.lr_end is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr_schedule(step)
        if replay.prioritized:
            return self._learn_prioritized(replay, n_updates, rng, self.beta_schedule(step))
        rows = 2 * 4 * int(np.prod(self.observation_space.shape)) * self.config.batch_size
        per_sample = max(1, SAMPLE_BYTES // rows)
        loss = q = 0.0
        done = 0
        while done < n_updates:
            n = min(n_updates - done, per_sample)
            stats, _ = self._learn(replay.sample_many(self.config.batch_size, n, rng), n)
            loss, q = loss + stats["loss"] * n, q + stats["q_mean"] * n
            done += n
        return {"loss": loss / max(done, 1), "q_mean": q / max(done, 1)}

    def _learn_prioritized(
        self, replay: ReplayBuffer, n_updates: int, rng: np.random.Generator, beta: float
    ) -> dict[str, float]:
        """One batch per step: priorities change after each, so the next draw must see them."""
        loss = q = 0.0
        for _ in range(n_updates):
            batch = replay.sample(self.config.batch_size, rng, beta=beta)
            stats, errors = self._learn(batch, 1)
            replay.update_priorities(batch.ids, errors.cpu().numpy())
            loss, q = loss + stats["loss"], q + stats["q_mean"]
        return {"loss": loss / max(n_updates, 1), "q_mean": q / max(n_updates, 1)}

    def update(self, batch: ReplayBatch) -> dict[str, float]:
        """One gradient step on a batch; updates the target network on schedule."""
        return self.update_many(batch, 1)

    def update_many(self, batch: ReplayBatch, n: int) -> dict[str, float]:
        """``n`` gradient steps, step ``k`` on rows ``[k * B, (k + 1) * B)`` of ``batch``
        (``B = len(batch.obs) // n``), as ``update`` on each slice in turn; ``batch.weights``
        (importance-sampling weights), when given, scale each row's loss. Returns the mean
        loss and Q over the n steps."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        batch = check_batch(batch, self.observation_space, self.n_actions)
        if len(batch.obs) % n:
            raise ValueError(
                f"a batch of {len(batch.obs)} transitions does not split into {n} equal updates;"
                " pass n * batch_size transitions (ReplayBuffer.sample_many draws them)"
            )
        return self._learn(batch, n)[0]

    def _learn(self, batch: ReplayBatch, n: int) -> tuple[dict[str, float], torch.Tensor]:
        """The gradient steps of `update_many`, and each row's error (|TD error|, or C51's
        cross-entropy) before its step. A hard-copied target network does not change between
        two copies (unless it is noisy), so its outputs for all the steps up to then take one
        pass; a Polyak-averaged or noisy one is evaluated step by step."""
        ids = batch.next_ids
        b = self._on_device(batch)
        weights = None if batch.weights is None else torch.as_tensor(batch.weights)
        size = len(b.obs) // n
        losses, qs, errors = [], [], []
        start = 0
        while start < n:
            run = self._steps_before_target_changes(n - start)
            rows = slice(start * size, (start + run) * size)
            self._reset_noise()
            with torch.no_grad():
                next_out = self._target_out(b.next_obs[rows], None if ids is None else ids[rows])
            for k in range(run):
                step_rows = slice((start + k) * size, (start + k + 1) * size)
                part = ReplayBatch(*(x[step_rows] for x in b[:6]))
                target = self._td_target(part, next_out[k * size : (k + 1) * size])
                w = None if weights is None else weights[step_rows].to(self.device)
                loss, q, error = self._gradient_step(part.obs, part.actions, target, w)
                losses.append(loss)
                qs.append(q)
                errors.append(error)
                self.updates += 1
                self._update_target()
            start += run
        stats = {"loss": float(torch.stack(losses).mean()), "q_mean": float(torch.stack(qs).mean())}
        return stats, torch.cat(errors)

    def _on_device(self, batch: ReplayBatch) -> ReplayBatch:
        """The batch's six transition fields as tensors on the agent's device."""
        return ReplayBatch(*(torch.as_tensor(x, device=self.device) for x in batch[:6]))

    def _gradient_step(
        self,
        obs: torch.Tensor,
        actions: torch.Tensor,
        target: torch.Tensor,
        weights: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step of the (IS-weighted) loss: forward, backward, clip, Adam. Returns the loss,
        the mean Q of the actions taken and each row's error."""
        out = self.online(obs)
        taken = out[torch.arange(len(out), device=out.device), actions.long()]
        per_row, error = self._loss(taken, target)
        loss = per_row.mean() if weights is None else (weights * per_row).mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.online.parameters(), self.config.grad_clip)
        self.optimizer.step()
        q = self.online.expected_q(taken.detach().unsqueeze(1))
        return loss.detach(), q.mean(), error

    def _loss(self, taken: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each row's loss and its error for priorities: Huber or squared TD error and |TD error|,
        or for C51 the cross-entropy of the target distribution and the online one (both)."""
        if self.distributional:
            loss = -(target * F.log_softmax(taken, dim=-1)).sum(dim=-1)
            return loss, loss.detach()
        loss_fn = F.smooth_l1_loss if self.config.loss == "huber" else F.mse_loss
        return loss_fn(taken, target, reduction="none"), (taken - target).detach().abs()

    def td_target(self, batch: ReplayBatch) -> torch.Tensor:
        """The targets of a batch on its own, with the networks' current noise: r + discount *
        (1 - done) * Q(s', a') (B,), or for C51 that return's distribution projected onto
        the support (B, atoms); a' as `_next_actions` chooses it."""
        batch = check_batch(batch, self.observation_space, self.n_actions)
        b = self._on_device(batch)
        with torch.no_grad():
            return self._td_target(b, self._target_out(b.next_obs, batch.next_ids))

    def _td_target(self, b: ReplayBatch, next_out: torch.Tensor) -> torch.Tensor:
        """The target from the target network's output at s' (Q-values or C51 logits)."""
        with torch.no_grad():
            best = self._next_actions(b.next_obs, next_out)
            chosen = next_out[torch.arange(len(best), device=best.device), best]
            bootstrap = b.discounts.float() * (1 - b.dones.float())
            if self.distributional:
                probs = chosen.softmax(dim=-1)
                return project_distribution(probs, b.rewards, bootstrap, self.target.support)
            return b.rewards.float() + bootstrap * chosen

    def _next_actions(self, next_obs: torch.Tensor, next_out: torch.Tensor) -> torch.Tensor:
        """a' = argmax_a Q(s', a) by the target network (DQN) or the online one (Double DQN):
        the one place the two differ."""
        net, out = (self.online, self.online(next_obs)) if self.double else (self.target, next_out)
        return net.expected_q(out).argmax(dim=1)

    def _target_out(self, next_obs: torch.Tensor, ids: np.ndarray | None) -> torch.Tensor:
        """Target-network outputs; rows with the same replay id (ReplayBatch.next_ids) hold the
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

    def _reset_noise(self) -> None:
        """Fresh noise in both networks (before each gradient step); nothing unless noisy."""
        if self.noisy:
            self.online.reset_noise(self.noise_rng)
            self.target.reset_noise(self.noise_rng)

    def _steps_before_target_changes(self, left: int) -> int:
        """Gradient steps (at most `left`) until the target network next changes."""
        if self.config.tau < 1.0 or self.noisy:
            return 1  # Polyak: after every step; noisy: new noise before every step
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
        """Flat name -> tensor: online.*, target.* (noise and C51 support included),
        optimizer.*, counters, the act() RNG and, noisy, the noise generator."""
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
        if self.noise_rng is not None:
            out["rng.noise"] = self.noise_rng.get_state()
        return out

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Restore from state_dict() output (networks, Adam moments, counters, RNGs). A state of
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
        if self.noise_rng is not None and "rng.noise" in state:
            self.noise_rng.set_state(state["rng.noise"])


def _flag(value: bool | None, default: bool) -> bool:
    """A config flag: None takes the variant's default."""
    return default if value is None else value


def _noise_generator(seed: int | None) -> torch.Generator:
    """The noisy layers' own CPU generator: from `seed` (apart from the act() RNG's stream),
    or from fresh OS entropy without one."""
    sequence = np.random.SeedSequence(seed, spawn_key=(1,))
    return torch.Generator().manual_seed(int(sequence.generate_state(1, np.uint64)[0]))


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
