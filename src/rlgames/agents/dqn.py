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
import functools
import json
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from rlgames.agents import mlp_grad
from rlgames.agents.networks import build_q_network
from rlgames.agents.replay import ReplayBatch
from rlgames.config import Bounds, check_fields


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
        if isinstance(self.device, torch.device):
            self.device = str(self.device)
        check_fields(self, _AGENT_BOUNDS, {"loss": ("huber", "mse")})
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"AgentConfig.tau must be in (0, 1], got {self.tau}")
        if self.lr <= 0.0:
            raise ValueError(f"AgentConfig.lr must be above 0, got {self.lr}")


_AGENT_BOUNDS: Bounds = {
    "gamma": (0.0, 1.0),
    "batch_size": (1, None),
    "target_update": (1, None),
    "hidden": (1, None),
    "n_step": (1, None),
    "adam_eps": (0.0, None),
}


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


def _adam(params, **kwargs) -> torch.optim.Adam:
    """Fused Adam where this torch has it (CPU since 2.4: ~4x faster steps), else the default."""
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **kwargs)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, **kwargs)


class _OptimizerStep:
    """``optimizer.step()`` on given gradients, after clipping them to a global L2 norm of
    ``max_norm`` (none when 0 or less), with the arithmetic of ``clip_grad_norm_`` and of
    fused ``Adam.step`` but without their Python wrappers, which cost about 0.06 ms of
    CartPole's 0.45 ms gradient step. Built for each round: the learning rate is read once per
    round, and optimizer hooks are not run. Until Adam has state (its first step), and for
    other optimizers or settings, and when some parameters have no gradient (frozen), it sets
    ``.grad`` and calls ``optimizer.step()``."""

    def __init__(self, optimizer: torch.optim.Optimizer, params: list, max_norm: float) -> None:
        self.optimizer, self.params, self.max_norm = optimizer, params, max_norm
        self.fused: dict | None = None  # torch._fused_adam_'s arguments but the gradients
        self._checked = False  # whether self.fused is known (None then: not applicable)

    def _fused_arguments(self) -> dict | None:
        """What Adam.step passes to torch._fused_adam_; None where it would do more."""
        opt = self.optimizer
        if type(opt) is not torch.optim.Adam or len(opt.param_groups) != 1:
            return None
        group = opt.param_groups[0]
        plain = not any(group.get(k) for k in ("amsgrad", "capturable", "differentiable"))
        if not (group.get("fused") and plain and hasattr(torch, "_fused_adam_")):
            return None
        if group.get("decoupled_weight_decay") or torch.is_tensor(group["lr"]):
            return None
        if getattr(opt, "grad_scale", None) is not None or len(group["params"]) != len(self.params):
            return None
        if any(a is not b for a, b in zip(group["params"], self.params, strict=True)):
            return None
        if len({(p.device, p.dtype) for p in self.params}) != 1:
            return None
        states = [opt.state.get(p) for p in self.params]
        if not all(states):
            return None
        beta1, beta2 = group["betas"]
        return dict(
            exp_avgs=[s["exp_avg"] for s in states],
            exp_avg_sqs=[s["exp_avg_sq"] for s in states],
            max_exp_avg_sqs=[],
            state_steps=[s["step"] for s in states],
            amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2,
            weight_decay=group["weight_decay"], eps=group["eps"], maximize=group["maximize"],
        )  # fmt: skip

    def __call__(self, grads: list[torch.Tensor | None]) -> None:
        """Apply one step (grads in the parameters' order and layout, None for a frozen one);
        call it under torch.no_grad()."""
        present = [g for g in grads if g is not None]
        if self.max_norm > 0 and present:  # clip_grad_norm_'s arithmetic
            norms = torch._foreach_norm(present)
            total = torch.linalg.vector_norm(torch.stack(norms))
            scale = torch.clamp(self.max_norm / (total + 1e-6), max=1.0)
            if scale.device.type != "cpu" or scale.item() != 1.0:  # x * 1.0 == x: skip it
                torch._foreach_mul_(present, scale)
        if not self._checked and len(present) == len(grads):
            self.fused = self._fused_arguments()
            self._checked = self.fused is not None or bool(self.optimizer.state)
        if self.fused is not None and len(present) == len(grads):
            # Adam.step with fused=True: count the step, then the kernel.
            torch._foreach_add_(self.fused["state_steps"], 1)
            torch._fused_adam_(self.params, present, **self.fused)
            return
        for param, grad in zip(self.params, grads, strict=True):
            param.grad = grad
        self.optimizer.step()
        for param in self.params:
            param.grad = None


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
        if int(action_space.start) != 0:
            raise ValueError(
                f"DQN agents act with indices 0..n-1, and {action_space} starts at "
                f"{action_space.start}: give the agent Discrete({action_space.n}) and add "
                f"{action_space.start} to its actions before env.step"
            )
        config = dataclasses.replace(config or AgentConfig(), **overrides)
        self.config = config
        self.observation_space = observation_space
        self.action_space = action_space
        self.n_actions = int(action_space.n)
        self.double = self.default_double if config.double is None else bool(config.double)
        self.dueling = self.default_dueling if config.dueling is None else bool(config.dueling)
        self.device = resolve_device(config.device)
        self.rng = np.random.default_rng(seed)
        self._obs_layout = (tuple(observation_space.shape), np.dtype(observation_space.dtype))
        net = self._build_network(seed)
        self.online = net.to(self.device)
        self.target = copy.deepcopy(self.online).requires_grad_(False)
        self._params = list(self.online.parameters())  # loading copies into these in place
        self._linears = mlp_grad.plain_linears(self.online)  # None: not a plain MLP
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

    def _observations(self, obs: Any) -> tuple[np.ndarray, bool]:
        """(obs as an array, whether it is one observation), after checking it fits the
        observation space: one observation or a batch of them, in the space's kind of dtype."""
        shape, dtype = self._obs_layout
        if type(obs) is np.ndarray and obs.dtype == dtype:  # what envs give: checked cheaply
            if obs.shape == shape:
                return obs, True
            if obs.shape[1:] == shape:
                return obs, False
        space = self.observation_space
        try:
            obs = np.asarray(obs)
        except ValueError:  # e.g. env.reset()'s (obs, info) tuple
            raise ValueError(
                f"observations must be an array of shape {space.shape} or (B, *{space.shape}), "
                f"got a {type(obs).__name__} that is not one (pass obs, not (obs, info))"
            ) from None
        shape = obs.shape
        single = shape == space.shape
        if not single and shape[1:] != space.shape:
            hint = ""
            if len(space.shape) == 3 and sorted(shape[-3:]) == sorted(space.shape):
                hint = " (channel-first images (C, H, W), as rlgames.make_env gives them)"
            raise ValueError(
                f"observations of shape {shape}: this agent takes one of shape {space.shape} "
                f"or a batch of shape (B, *{space.shape}){hint}"
            )
        if space.dtype == np.uint8 and obs.dtype != np.uint8:
            raise ValueError(
                f"image observations must be uint8 0-255, as the env gives them, got "
                f"{obs.dtype}: pass them unscaled (the network divides by 255 itself)"
            )
        if obs.dtype.kind not in "fiub":
            raise ValueError(f"observations must be numbers, got dtype {obs.dtype}")
        return obs, single

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Online Q-values, float32 (n_actions,) for one observation or (B, n_actions)."""
        obs, single = self._observations(obs)
        q = self._batch_q_values(obs[None] if single else obs)
        return q[0] if single else q

    def _batch_q_values(self, obs: np.ndarray) -> np.ndarray:
        x = torch.as_tensor(obs, device=self.device)
        with torch.no_grad():
            q = self.online(x) if self._linears is None else mlp_grad.forward(self._linears, x)
        return q.float().cpu().numpy()

    def act(
        self, obs: np.ndarray, epsilon: float = 0.0, rng: np.random.Generator | None = None
    ) -> int | np.ndarray:
        """Epsilon-greedy action: int for one observation, int64 array for a batch."""
        rng = self.rng if rng is None else rng
        if not (
            (type(epsilon) is float or isinstance(epsilon, numbers.Real)) and 0.0 <= epsilon <= 1.0
        ):  # NaN fails too
            raise ValueError(f"epsilon must be between 0 and 1, got {epsilon!r}")
        obs, single = self._observations(obs)
        n = 1 if single else obs.shape[0]
        explore = rng.random(n) < epsilon
        random_actions = rng.integers(0, self.n_actions, size=n)
        if explore.all():  # skip the forward pass when every action is random
            actions = random_actions
        else:
            greedy = self._batch_q_values(obs[None] if single else obs).argmax(axis=1)
            actions = np.where(explore, random_actions, greedy)
        actions = actions.astype(np.int64)
        return int(actions[0]) if single else actions

    # ---------------------------------------------------------------- learning
    def td_target(self, batch: ReplayBatch) -> torch.Tensor:
        """r + discount * (1 - done) * Q(s', a'), with a' by the target (DQN) or online net."""
        b = self._tensors(batch)
        with torch.no_grad():
            next_q = self._target_q(b.next_obs, b.next_ids)
            return self._bootstrap(b.rewards, b.discounts, b.dones, b.next_obs, next_q)

    def _tensors(self, batch: ReplayBatch) -> ReplayBatch:
        """The batch's arrays as tensors on the agent's device (next_ids stays numpy), after
        `_check_batch`. A plain tuple of the first six fields is taken too."""
        batch = self._check_batch(ReplayBatch(*batch))
        arrays = (self._as_tensor(x) for x in batch[:-1])
        return ReplayBatch(*arrays, next_ids=batch.next_ids)

    def _check_batch(self, batch: ReplayBatch) -> ReplayBatch:
        """Refuse a batch that would train on wrong data without an error (a broadcast, a
        truncated float action) or fail halfway through update_many: every field of one
        length, observations of the space's shape, integer actions in range, finite rewards."""
        rows = len(batch.obs)
        if rows == 0:
            raise ValueError("the batch has no transitions")
        space = tuple(self.observation_space.shape)
        for name in ("obs", "next_obs"):
            shape = tuple(getattr(batch, name).shape)
            if shape != (rows, *space):
                raise ValueError(f"batch.{name} has shape {shape}, expected {(rows, *space)}")
        for name in ("actions", "rewards", "discounts", "dones"):
            shape = tuple(getattr(batch, name).shape)
            if shape != (rows,):
                raise ValueError(
                    f"batch.{name} has shape {shape}, expected ({rows},): one value per row"
                )
        actions = batch.actions
        if torch.is_tensor(actions):
            integral, low, high = not actions.is_floating_point(), actions.min(), actions.max()
        else:
            actions = np.asarray(actions)
            integral, low, high = actions.dtype.kind in "iu", actions.min(), actions.max()
        if not integral or low < 0 or high >= self.n_actions:
            raise ValueError(
                f"batch.actions must be integers from 0 to {self.n_actions - 1}, got "
                f"{actions.dtype} values from {low} to {high}"
            )
        rewards = batch.rewards
        finite = bool(
            torch.isfinite(rewards).all()
            if torch.is_tensor(rewards)
            else np.isfinite(rewards).all()
        )
        if not finite:
            raise ValueError("batch.rewards holds NaN or infinite values")
        return batch

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
        batch = ReplayBatch(*batch)  # a plain tuple too
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
        obs, actions = b.obs.split(size), b.actions.long().unsqueeze(1).split(size)
        hard, every = self.config.tau >= 1.0, max(1, self.config.target_update)
        step = _OptimizerStep(self.optimizer, self._params, self.config.grad_clip)
        gradients = self._gradients
        trainable = all(p.requires_grad for p in self._params)
        if self._linears is not None and self.config.loss == "huber" and trainable:
            gradients = functools.partial(mlp_grad.huber_td_gradients, self._linears)
        taken: list[torch.Tensor] = []  # Q(s, a) of every step, for the logged means
        targets: list[torch.Tensor] = []
        done = 0
        with torch.no_grad():
            while done < n:
                # Steps until the target network next changes (after every step when soft).
                run = min(n - done, every - self.updates % every) if hard else 1
                part = slice(done * size, (done + run) * size)
                ids = None if b.next_ids is None else b.next_ids[part]
                next_q = self._target_q(b.next_obs[part], ids)
                if not self.double:  # the whole run's targets at once
                    targets += self._bootstrap(
                        b.rewards[part], b.discounts[part], b.dones[part], None, next_q
                    ).split(size)
                next_q_steps = next_q.split(size) if self.double else ()
                for k in range(done, done + run):
                    if self.double:  # the online argmax changes with every step
                        here = slice(k * size, (k + 1) * size)
                        target = self._bootstrap(
                            b.rewards[here], b.discounts[here], b.dones[here], b.next_obs[here],
                            next_q_steps[k - done],
                        )  # fmt: skip
                        targets.append(target)
                    q_taken, grads = gradients(obs[k], actions[k], targets[k])
                    step(grads)
                    taken.append(q_taken)
                    if not hard:
                        self.updates += 1
                        self._update_target()
                if hard:  # the run ends where a copy is due, or with the batch
                    self.updates += run
                    self._update_target()
                done += run
            q_all = torch.cat(taken)
            loss = self._loss(q_all, torch.cat(targets))  # the steps' mean: equal batches
        return {"loss": float(loss), "q_mean": float(q_all.mean())}

    def _loss(self, q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        loss_fn = F.smooth_l1_loss if self.config.loss == "huber" else F.mse_loss
        return loss_fn(q, target)

    def _gradients(self, obs, actions, target) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Q(obs, actions) (detached) and the TD loss's gradients for each parameter, by
        autograd (actions: int64 (B, 1)). Plain MLPs with the Huber loss take the written-out
        backward of `mlp_grad` instead: bit-identical, and a fifth less time a step."""
        trainable = [p for p in self._params if p.requires_grad]
        with torch.enable_grad():
            q_taken = self.online(obs).gather(1, actions).squeeze(1)
            found = iter(torch.autograd.grad(self._loss(q_taken, target), trainable))
        grads = [next(found) if p.requires_grad else None for p in self._params]
        # As backward() stores them: in the parameter's layout (channels-last convolutions),
        # which the fused Adam kernel assumes.
        grads = [
            g if g is None or g.stride() == p.stride() else torch.empty_like(p).copy_(g)
            for g, p in zip(grads, self._params, strict=True)
        ]
        return q_taken.detach(), grads

    def _target_q(self, next_obs: torch.Tensor, ids: np.ndarray | None = None) -> torch.Tensor:
        """Target-network Q-values of many observations, in chunks of at most ~1,024 rows and
        ~8 MiB of input: one pass over 8,192 CartPole rows took 60 % longer than 8 chunks, its
        large fresh buffers being paged in on every call. With ``ids`` (ReplayBatch.next_ids),
        rows that repeat an observation are computed once: a 128-step CartPole round of 8,192
        rows holds on average about a fifth of repeats over a 50,000-step run."""
        if ids is not None and len(ids) > 1:
            if len(ids) != len(next_obs):
                raise ValueError(
                    f"next_ids has {len(ids)} rows but next_obs {len(next_obs)}; set "
                    "next_ids=None in a batch whose next_obs were changed or combined"
                )
            _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
            if len(first) < len(ids):
                distinct = self._target_q(next_obs[self._as_tensor(first)])
                return distinct[self._as_tensor(inverse)]
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
        """Restore from state_dict() output (networks, Adam moments, counters, RNG). A state of
        another network is refused before anything changes."""
        rng_state = self._check_state(state)
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
        if rng_state is not None:
            self.rng.bit_generator.state = rng_state

    def _check_state(self, state: dict[str, torch.Tensor]) -> dict[str, Any] | None:
        """Check a state_dict() output fits this agent, naming the first misfit; returns the
        decoded act() RNG state (None if absent)."""
        fix = (
            "build the agent with the settings it was saved with (agent name, hidden, dueling, "
            "observation and action spaces)"
        )
        expected: dict[str, tuple[int, ...]] = {}
        for prefix, net in (("online", self.online), ("target", self.target)):
            for key, value in net.state_dict().items():
                expected[f"{prefix}.{key}"] = tuple(value.shape)
        for index, param in enumerate(self._params):
            for name in ("exp_avg", "exp_avg_sq"):
                expected[f"optimizer.{index}.{name}"] = tuple(param.shape)
        for key, shape in expected.items():
            if key.startswith("optimizer.") and key not in state:
                continue  # no Adam state yet: a fresh agent's or an exported policy's
            if key not in state:
                raise ValueError(f"the state has no {key!r}: {fix}")
            if tuple(state[key].shape) != shape:
                raise ValueError(
                    f"{key} has shape {tuple(state[key].shape)} in the state and {shape} in this "
                    f"agent: {fix}"
                )
        net_keys = {k for k in state if k.startswith(("online.", "target."))}
        extra = sorted(net_keys - set(expected))
        if extra:
            raise ValueError(f"the state holds {extra[0]!r}, which this agent has not: {fix}")
        if "counters.updates" not in state:
            raise ValueError("the state has no 'counters.updates': not an agent state_dict()")
        if "rng.state" not in state:
            return None
        try:
            rng_state = json.loads(bytes(state["rng.state"].tolist()).decode())
            type(self.rng.bit_generator)().state = rng_state  # a throwaway: only the check
        except (ValueError, TypeError, KeyError, UnicodeDecodeError):
            raise ValueError("the state's rng.state is not a generator state") from None
        return rng_state


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
    except (KeyError, AttributeError):  # AttributeError: not a string
        raise ValueError(f"unknown agent {name!r}; choose one of {sorted(AGENTS)}") from None
    fields = {f.name for f in dataclasses.fields(AgentConfig)}
    unknown = sorted(set(config) - fields)
    if unknown:
        raise TypeError(
            f"unknown agent settings {unknown}; AgentConfig fields are {sorted(fields)}"
        )
    return cls(observation_space, action_space, AgentConfig(**config), seed=seed)
