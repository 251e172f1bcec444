"""Replay memory that stores each frame once and rebuilds frame stacks at sample time.

Design (after Dopamine's circular buffer): every env has its own circular stream of slots.
A slot holds the newest frame of one observation plus the action, reward and flags of the
transition that starts there. The next observation of slot ``t`` is slot ``t + 1``, so an
84x84 frame is stored once, not eight times (obs stack + next_obs stack). Stacks are rebuilt
when sampling and never reach across an episode start: positions before the start are padded
with the episode's first frame, exactly as ``FrameStack`` pads at reset.

Frames are compressed by default (`codec`, once each when added, decompressed per batch):
images are mostly flat background. Raw, a ``(4, 84, 84)`` uint8 observation costs 7,056
(frame) + 4 (action) + 4 (reward) + 1 (flags) = 7,065 bytes per slot, one slot per
transition; compressed, its frame is a few hundred bytes (``nbytes`` counts them as stored).
A truncated episode uses one more slot for its final observation (it is bootstrapped from);
a terminated one does not.

With ``prioritized=True`` transitions are drawn in proportion to their priority
(`priorities`, proportional prioritized replay) instead of uniformly.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces

from rlgames.agents.frame_store import CompressedFrames, RawFrames
from rlgames.agents.priorities import Priorities

# Slot flags (bits of one uint8).
_TRANSITION = 1  # an action was taken here: a transition starts at this slot
_TERMINATED = 2  # that transition ended the episode by termination (no bootstrap)
_TRUNCATED = 4  # that transition ended the episode by truncation (bootstrap)
_START = 8  # first slot of an episode's stack: frames before it are padded with it
_MIN_COMPRESSED = 1024  # compress=None compresses image frames of at least this many bytes


class ReplayBatch(NamedTuple):
    """A sampled minibatch; every field is a numpy array with leading dimension batch_size."""

    obs: np.ndarray
    """Observations, uint8 (B, stack, H, W) for pixels, float32 (B, D) for vectors."""
    actions: np.ndarray
    """Actions taken, int64 (B,)."""
    rewards: np.ndarray
    """n-step discounted reward sum r_t + g r_{t+1} + ..., float32 (B,)."""
    next_obs: np.ndarray
    """Observation to bootstrap from (n steps later, or the final one of a truncated episode).
    Where dones == 1 nothing is bootstrapped and it is a placeholder: the terminal step's obs."""
    dones: np.ndarray
    """1.0 where the episode terminated within the n steps (no bootstrap), float32 (B,)."""
    discounts: np.ndarray
    """gamma**k, k = env steps the return covers: the bootstrap term's discount, float32 (B,)."""
    next_ids: np.ndarray | None = None
    """Optional int64 (B,): rows with the same id have the same next_obs (the replay slot it
    was rebuilt from), so a learner can evaluate each distinct one once. None: unknown. The
    ids are slot numbers of one buffer at one moment: set None in a batch whose next_obs you
    change (augmentation) or that joins batches of several buffers or sampling times."""
    ids: np.ndarray | None = None
    """Optional int64 (B,): the replay slot each transition starts at (env * slots_per_env +
    slot), to pass back to ``ReplayBuffer.update_priorities``. Set by every sample. None: a
    batch not sampled from a buffer."""
    weights: np.ndarray | None = None
    """Optional float32 (B,): importance-sampling weights to multiply each transition's loss
    by, at most 1. From a prioritized buffer ``(N * P(i)) ** -beta`` divided by the batch's
    largest; from a uniform one all 1 (every transition equally likely). None: unweighted."""


class ReplayBuffer:
    """Circular replay memory for one or several envs, with optional n-step returns.

    ``capacity`` slots are split evenly between the ``n_envs`` streams. Observations that are
    3-D uint8 ``(stack, H, W)`` are stored one frame per slot (``frame_stack = stack``);
    anything else (vectors, single images) is stored whole per slot. Colour stacks
    ``(stack * C, H, W)`` need ``frame_stack=stack``; ``frame_stack=1`` stores whole stacks.

    ``add`` takes one transition per env (leading dimension ``n_envs``). Within a stream,
    ``obs`` must equal the previous ``next_obs`` unless that transition ended the episode;
    ``next_obs`` must be the real next observation (for an ended episode the final one, not
    the reset observation of an autoreset vector env). ``open[e]`` is True while env e has an
    episode in progress; set it to False to make the next ``add`` start a new episode.

    Keyword-only settings: ``compress`` stores each frame LZ4-compressed (None: for uint8
    image frames of 1 KiB or more; smaller ones would save less than the ~41 bytes a
    compressed frame costs to keep; vectors always stay raw). ``prioritized`` samples in
    proportion to priorities (`update_priorities`) with exponent ``alpha``, each priority
    stored as ``(priority + priority_eps) ** alpha``; then ``sample`` needs ``beta``.
    """

    def __init__(
        self,
        capacity: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        n_envs: int = 1,
        n_step: int = 1,
        gamma: float = 0.99,
        frame_stack: int | None = None,
        *,
        compress: bool | None = None,
        prioritized: bool = False,
        alpha: float = 0.5,
        priority_eps: float = 1e-6,
    ) -> None:
        if not isinstance(action_space, spaces.Discrete):
            raise TypeError(f"ReplayBuffer needs a Discrete action space, got {action_space}")
        self.n_actions = int(action_space.n)
        if not isinstance(observation_space, spaces.Box):
            raise TypeError(
                f"ReplayBuffer stores Box observations, got {observation_space}: flatten other "
                "spaces first (gymnasium.wrappers.FlattenObservation)"
            )
        if n_step < 1:
            raise ValueError(f"n_step must be >= 1, got {n_step}")
        if int(n_envs) < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be between 0 and 1, got {gamma}")
        if not (compress is None or isinstance(compress, bool)):
            raise ValueError(f"compress must be True, False or None (auto), got {compress!r}")
        if not isinstance(prioritized, bool):
            raise ValueError(f"prioritized must be True or False, got {prioritized!r}")
        shape = tuple(observation_space.shape)
        dtype = np.dtype(observation_space.dtype)
        if frame_stack is None:
            frame_stack = shape[0] if (len(shape) == 3 and dtype == np.uint8) else 1
        self.frame_stack = int(frame_stack)
        if self.frame_stack > 1 and (len(shape) != 3 or shape[0] % self.frame_stack):
            raise ValueError(
                f"frame_stack={frame_stack} does not divide observations of shape {shape} into "
                "frames along the first axis; pass frame_stack=1 to store observations whole"
            )
        self.obs_shape = shape
        self.obs_dtype = dtype
        self.frame_shape = shape  # one frame per slot: (H, W), (C, H, W), or the whole obs
        if self.frame_stack > 1:
            channels = shape[0] // self.frame_stack
            self.frame_shape = (channels, *shape[1:]) if channels > 1 else shape[1:]
        self.n_envs = int(n_envs)
        self.slots = int(capacity) // self.n_envs  # slots per env stream
        min_slots = self.frame_stack + n_step + 1
        if self.slots < min_slots:
            raise ValueError(
                f"capacity {capacity} gives {self.slots} slots per env; need at least "
                f"{min_slots} (frame_stack + n_step + 1) per env"
            )
        self.capacity = self.slots * self.n_envs
        self.n_step = int(n_step)
        self.gamma = float(gamma)
        if compress is None:
            image = dtype == np.uint8 and len(self.frame_shape) >= 2
            compress = image and math.prod(self.frame_shape) >= _MIN_COMPRESSED
        self.compressed = compress
        store = CompressedFrames if compress else RawFrames
        self._store = store(self.n_envs, self.slots, self.frame_shape, dtype)
        self.frames = self._store if compress else self._store.array
        """The frames: raw, an array (n_envs, slots, *frame_shape); compressed, their store,
        with the same shape and dtype attributes."""
        self.actions = np.zeros((self.n_envs, self.slots), dtype=np.int32)
        self.rewards = np.zeros((self.n_envs, self.slots), dtype=np.float32)
        self.flags = np.zeros((self.n_envs, self.slots), dtype=np.uint8)
        self.written = np.zeros(self.n_envs, dtype=np.int64)  # slots ever written per env
        self.open = np.zeros(self.n_envs, dtype=bool)  # last slot is the current obs
        self._n_transitions = 0
        self.prioritized = prioritized
        self._priorities = Priorities(self.capacity, alpha, priority_eps) if prioritized else None
        self._incomplete: list[tuple[int, int]] = []  # (env, position): n steps not all stored

    # ------------------------------------------------------------------ storage
    def __len__(self) -> int:
        """Number of transitions currently stored (slots where an action was taken)."""
        return self._n_transitions

    @property
    def nbytes(self) -> int:
        """Bytes in use: frames (raw array, or compressed frames as stored with their
        per-frame overhead), actions, rewards, flags, and the priorities' sum-tree."""
        arrays = (self.actions, self.rewards, self.flags)
        tree = self._priorities.tree.nbytes if self.prioritized else 0
        return self._store.nbytes + int(sum(a.nbytes for a in arrays)) + tree

    @property
    def bytes_per_transition(self) -> float:
        """Bytes per slot of the full buffer (one slot per transition, one more per truncated
        episode): what is allocated per slot, plus the mean compressed frame stored so far.
        Equals nbytes / capacity once every slot has been written."""
        fixed = self.nbytes - self._store.payload_nbytes
        in_use = int(np.minimum(self.written, self.slots).sum())
        return fixed / self.capacity + (self._store.payload_nbytes / in_use if in_use else 0.0)

    @property
    def priorities(self) -> np.ndarray:
        """The stored p = (priority + priority_eps) ** alpha of each slot (env * slots_per_env
        + slot), 0 where no transition that can be sampled starts; float64 (capacity,),
        read-only."""
        self._require_prioritized("priorities")
        self._sync_priorities()
        return self._priorities.tree.leaves

    @property
    def max_priority(self) -> float:
        """The largest p stored so far, at which new transitions enter (1 before any update)."""
        self._require_prioritized("max_priority")
        return self._priorities.max

    def _require_prioritized(self, what: str) -> None:
        if not self.prioritized:
            raise ValueError(f"{what} needs a buffer built with prioritized=True")

    def _write(self, env: int, frame: np.ndarray, flags: int) -> None:
        """Append one frame to env's stream, overwriting the oldest slot."""
        i = int(self.written[env] % self.slots)
        if self.flags[env, i] & _TRANSITION:
            self._n_transitions -= 1
        if self.prioritized:  # this slot, and the one whose stack now starts overwritten
            self._priorities.clear(env * self.slots + i)
            if self.frame_stack > 1:
                reach = (self.written[env] + self.frame_stack - 1) % self.slots
                self._priorities.clear(env * self.slots + int(reach))
        self._store.write(env, i, frame)
        self.flags[env, i] = flags
        self.actions[env, i] = 0
        self.rewards[env, i] = 0.0
        self.written[env] += 1

    def _frames_of(self, obs: np.ndarray) -> np.ndarray:
        """One observation as (frame_stack, *frame_shape)."""
        return obs.reshape(self.frame_stack, *self.frame_shape)

    def _write_start(self, env: int, obs: np.ndarray) -> None:
        """Write the first observation of an episode, as few frames as rebuild it exactly."""
        if self.frame_stack == 1:
            self._write(env, obs, _START)
            return
        # Leading frames equal to the first kept frame are padding: rebuilt at sample time.
        obs = self._frames_of(obs)
        first = 0
        while first < self.frame_stack - 1 and np.array_equal(obs[first], obs[first + 1]):
            first += 1
        self._write(env, obs[first], _START)
        for k in range(first + 1, self.frame_stack):
            self._write(env, obs[k], 0)

    def add(
        self,
        obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        next_obs: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        *,
        envs: Any = None,
    ) -> None:
        """Store one transition per env; every argument has leading dimension n_envs. With
        `envs` (stream indices, e.g. one remote actor's), one transition for each of those
        streams only, in that order. Nothing is stored unless every argument fits (ValueError
        naming the first that does not)."""
        streams = self._checked_streams(envs)
        n = len(streams)
        obs = self._checked_obs("obs", obs, n)
        next_obs = self._checked_obs("next_obs", next_obs, n)
        action = np.asarray(action).reshape(-1)
        if len(action) != n or action.dtype.kind not in "iu":
            raise ValueError(f"action must be {n} integer(s), one per env, got {action!r}")
        if not all(0 <= a < self.n_actions for a in action.tolist()):
            raise ValueError(f"action must be from 0 to {self.n_actions - 1}, got {action}")
        try:
            reward = np.asarray(reward, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"reward must be numbers, got {reward!r}") from None
        if len(reward) != n or not all(map(math.isfinite, reward.tolist())):
            raise ValueError(f"reward must be {n} finite number(s), got {reward}")
        terminated = self._checked_flags("terminated", terminated, n)
        truncated = self._checked_flags("truncated", truncated, n)
        self._check_continuity(obs, next_obs, streams)
        for j, e in enumerate(streams):
            if not self.open[e]:
                self._write_start(e, obs[j])
            i = int((self.written[e] - 1) % self.slots)
            done_flags = _TERMINATED * bool(terminated[j]) | _TRUNCATED * bool(truncated[j])
            self.flags[e, i] |= _TRANSITION | done_flags
            self.actions[e, i] = action[j]
            self.rewards[e, i] = reward[j]
            self._n_transitions += 1
            if self.prioritized:
                self._incomplete.append((e, int(self.written[e] - 1)))
            if not terminated[j]:  # terminal next_obs is never bootstrapped from: not stored
                nxt = self._frames_of(next_obs[j])[-1] if self.frame_stack > 1 else next_obs[j]
                self._write(e, nxt, 0)
            self.open[e] = not (terminated[j] or truncated[j])
        if len(self._incomplete) > 1 << 16:  # long without sampling: bound the list
            self._sync_priorities()

    def _checked_streams(self, envs: Any) -> list[int]:
        if envs is None:
            return list(range(self.n_envs))
        streams = np.asarray(envs).reshape(-1)
        if (
            streams.dtype.kind not in "iu"
            or not len(streams)
            or len(set(streams.tolist())) != len(streams)
            or not ((streams >= 0) & (streams < self.n_envs)).all()
        ):
            raise ValueError(
                f"envs must be distinct stream indices from 0 to {self.n_envs - 1}, got {envs!r}"
            )
        return [int(e) for e in streams]

    def _checked_obs(self, name: str, value: Any, n: int) -> np.ndarray:
        """Observations for n envs, in the stored dtype; images must already be uint8."""
        value = np.asarray(value)
        if value.shape != (n, *self.obs_shape):
            raise ValueError(
                f"{name} has shape {value.shape}, expected {(n, *self.obs_shape)} "
                "(leading dimension: one per env)"
            )
        if value.dtype != self.obs_dtype:
            if self.obs_dtype == np.uint8 or value.dtype.kind not in "fiub":
                raise ValueError(
                    f"{name} has dtype {value.dtype}; this buffer stores {self.obs_dtype} "
                    "observations as the env gives them (images unscaled, 0-255)"
                )
            value = value.astype(self.obs_dtype)  # compared and stored as the space's
        return value

    def _checked_flags(self, name: str, value: Any, n: int) -> np.ndarray:
        value = np.asarray(value).reshape(-1)
        bools = value.dtype.kind == "b" or (
            value.dtype.kind in "iu" and not ((value != 0) & (value != 1)).any()
        )
        if len(value) != n or not bools:
            raise ValueError(f"{name} must be {n} bool(s), one per env, got {value!r}")
        return value.astype(bool, copy=False)

    def _check_continuity(self, obs: np.ndarray, next_obs: np.ndarray, streams: list[int]) -> None:
        """Refuse data the frame-once storage would rebuild wrongly, before storing any."""
        for j, e in enumerate(streams):
            if self.open[e]:
                last = self._store.frame(e, int((self.written[e] - 1) % self.slots))
                newest = self._frames_of(obs[j])[-1] if self.frame_stack > 1 else obs[j]
                if not np.array_equal(newest, last):
                    raise ValueError(
                        f"env {e}: obs is not the previous next_obs of an episode in progress; "
                        f"set buffer.open[{e}] = False first to start a new episode there"
                    )
            if self.frame_stack > 1:
                now, nxt = self._frames_of(obs[j]), self._frames_of(next_obs[j])
                if not np.array_equal(nxt[:-1], now[1:]):
                    raise ValueError(
                        f"env {e}: next_obs is not obs shifted by one frame, so observations "
                        f"{self.obs_shape} are not stacks of {self.frame_stack} frames "
                        f"{self.frame_shape} (or next_obs is a reset observation, not the final "
                        "one). Pass frame_stack=<frames per observation> for colour stacks, or "
                        "frame_stack=1 to store observations whole"
                    )

    # ----------------------------------------------------------------- sampling
    def _n_step_view(self, env: np.ndarray, pos: np.ndarray):
        """For absolute slot positions, the n-step return, bootstrap slot and validity."""
        n, cand = self.n_step, len(pos)
        rewards = np.zeros(cand, dtype=np.float64)
        dones = np.zeros(cand, dtype=bool)
        steps = np.zeros(cand, dtype=np.int64)
        ended = np.zeros(cand, dtype=bool)
        valid = np.ones(cand, dtype=bool)
        newest = self.written[env]
        for j in range(n):
            p = pos + j
            active = valid & ~ended
            in_mem = p < newest
            f = self.flags[env, p % self.slots]
            valid &= ~active | (in_mem & (f & _TRANSITION).astype(bool))
            active &= valid
            rewards += np.where(active, self.gamma**j * self.rewards[env, p % self.slots], 0.0)
            steps += active
            dones |= active & (f & _TERMINATED).astype(bool)
            ended |= active & (f & (_TERMINATED | _TRUNCATED)).astype(bool)
        # Oldest slot the stack of pos may read must not be overwritten yet.
        valid &= pos - (self.frame_stack - 1) >= newest - self.slots
        return rewards, dones, steps, valid

    def _windows(self, env: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """The slots (B, frame_stack) whose frames make the observations at absolute slot
        positions pos, padding before episode starts with the episode's first frame."""
        if self.frame_stack == 1:
            return (pos % self.slots)[:, None]
        offsets = np.arange(-(self.frame_stack - 1), 1)
        # (B, stack) absolute positions; slot 0 of a stream is always an episode start.
        window = np.maximum(pos[:, None] + offsets[None, :], 0)
        is_start = (self.flags[env[:, None], window % self.slots] & _START).astype(bool)
        # The newest start inside the window (the last slot's own start counts too).
        start = np.max(np.where(is_start, window, np.iinfo(np.int64).min), axis=1)
        return np.maximum(window, start[:, None]) % self.slots

    def can_sample(self) -> bool:
        """Whether a complete transition is stored (n steps in memory, or fewer up to an
        episode's end), so that ``sample`` can draw one. Reads the whole memory: call it until
        it first says True, not before every sample."""
        if self._n_transitions == 0:
            return False
        counts = np.minimum(self.written, self.slots)
        env = np.repeat(np.arange(self.n_envs), counts)
        pos = np.concatenate([np.arange(w - c, w) for w, c in zip(self.written, counts)])
        return bool(self._n_step_view(env, pos)[3].any())

    def sample(
        self, batch_size: int, rng: np.random.Generator, beta: float | None = None
    ) -> ReplayBatch:
        """Draw batch_size transitions (with replacement) from those stored: uniformly, or
        with prioritized=True in proportion to their priorities, with importance-sampling
        weights of exponent ``beta`` (0..1, annealed to 1 over training; required then)."""
        _check_sampling(batch_size, rng)
        beta = self._checked_beta(beta)
        if self._n_transitions == 0:
            raise ValueError("cannot sample from an empty ReplayBuffer; add transitions first")
        if self.prioritized:
            return self._sample_prioritized(batch_size, rng, beta)
        ends = np.cumsum(np.minimum(self.written, self.slots))  # slots in memory, per env
        chunks, found = [], 0
        for _ in range(1000):
            # Uniform over every slot in memory, then keep those that are valid transitions.
            flat = rng.integers(0, int(ends[-1]), size=2 * batch_size)
            env = np.searchsorted(ends, flat, side="right")
            pos = self.written[env] - ends[env] + flat  # absolute position in env's stream
            rewards, dones, steps, ok = self._n_step_view(env, pos)
            chunks.append((env[ok], pos[ok], rewards[ok], dones[ok], steps[ok]))
            found += int(ok.sum())
            if found >= batch_size:
                break
        else:
            raise ValueError("no complete transition stored yet; add more transitions")
        envs, pos, rewards, dones, steps = (
            np.concatenate(parts)[:batch_size] for parts in zip(*chunks, strict=True)
        )
        return self._batch(envs, pos, rewards, dones, steps)

    def sample_many(self, batch_size: int, n: int, rng: np.random.Generator) -> ReplayBatch:
        """``n`` batches, concatenated: exactly what ``n`` calls of ``sample(batch_size, rng)``
        return (the same transitions in the same order, and the same generator state after),
        in one vectorized pass instead of n."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if self.prioritized:
            raise ValueError(
                "sample_many draws several batches from the same priorities, but a prioritized "
                "buffer's priorities change after each gradient step: call sample(batch_size, "
                "rng, beta) once per step, then update_priorities"
            )
        _check_sampling(batch_size, rng)
        if n == 1 or self._n_transitions == 0:
            return self.sample(batch_size, rng)  # (or its error)
        ends = np.cumsum(np.minimum(self.written, self.slots))
        before = rng.bit_generator.state
        draws = 2 * batch_size  # what each sample() call draws first
        flat = np.concatenate([rng.integers(0, int(ends[-1]), size=draws) for _ in range(n)])
        env = np.searchsorted(ends, flat, side="right")
        pos = self.written[env] - ends[env] + flat
        rewards, dones, steps, ok = self._n_step_view(env, pos)
        ok = ok.reshape(n, draws)
        if (ok.sum(axis=1) < batch_size).any():
            # A sample() call would have drawn again before the next batch's draw: replay the
            # calls one by one from the same generator state.
            rng.bit_generator.state = before
            batches = [self.sample(batch_size, rng) for _ in range(n)]
            return ReplayBatch(*(np.concatenate(f) for f in zip(*batches, strict=True)))
        # The first batch_size valid candidates of each draw, in order, as sample() keeps them.
        first = np.argsort(~ok, axis=1, kind="stable")[:, :batch_size]
        keep = (first + draws * np.arange(n)[:, None]).reshape(-1)
        return self._batch(env[keep], pos[keep], rewards[keep], dones[keep], steps[keep])

    def _sync_priorities(self) -> None:
        """Enter the transitions completed since the last call (all n steps stored, or their
        episode ended sooner) at the current max priority; forget those overwritten before
        they were; apply the queued changes to the sum-tree."""
        if self._incomplete:
            env, pos = np.array(self._incomplete, dtype=np.int64).T
            complete = self._n_step_view(env, pos)[3]
            self._priorities.enter(env[complete] * self.slots + pos[complete] % self.slots)
            alive = ~complete & (pos - (self.frame_stack - 1) >= self.written[env] - self.slots)
            self._incomplete = list(zip(env[alive].tolist(), pos[alive].tolist()))
        self._priorities.flush()

    def _sample_prioritized(
        self, batch_size: int, rng: np.random.Generator, beta: float
    ) -> ReplayBatch:
        """Stratified draws over the priorities. Only complete transitions get a priority, so
        draws are transitions; one that is not (a priority loaded from a state onto one whose
        n steps are incomplete) is drawn again over the whole total, never returned."""
        self._sync_priorities()
        if self._priorities.tree.total <= 0:
            raise ValueError("no complete transition stored yet; add more transitions")
        flat = self._priorities.draw(batch_size, rng)
        envs, pos, rewards, dones, steps, ok = self._view_of_slots(flat)
        for _ in range(1000):
            if ok.all():
                break
            again = np.flatnonzero(~ok)
            flat[again] = self._priorities.redraw(len(again), rng)
            for whole, part in zip(
                (envs, pos, rewards, dones, steps, ok), self._view_of_slots(flat[again])
            ):
                whole[again] = part
        else:
            raise ValueError("no complete transition stored yet; add more transitions")
        weights = self._priorities.weights(flat, self._n_transitions, beta)
        return self._batch(envs, pos, rewards, dones, steps, weights)

    def _positions(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(env, absolute position of the newest write) of flat slot ids."""
        env, slot = np.divmod(flat, self.slots)
        newest = self.written[env] - 1
        return env, newest - (newest - slot) % self.slots

    def _view_of_slots(self, flat: np.ndarray):
        """env, absolute position and `_n_step_view` of flat slot ids."""
        env, pos = self._positions(flat)
        return (env, pos, *self._n_step_view(env, pos))

    def update_priorities(self, ids: np.ndarray, priorities: np.ndarray) -> None:
        """Set the priorities of sampled transitions (``ReplayBatch.ids``) from the learner's
        new losses: non-negative numbers such as |TD error|, stored as
        ``(priority + priority_eps) ** alpha``. An id that cannot be sampled now (its slot or
        stack overwritten since it was sampled) is skipped; the last of a repeated id counts."""
        self._require_prioritized("update_priorities")
        ids, priorities = np.asarray(ids), np.asarray(priorities)
        if ids.ndim != 1 or ids.dtype.kind not in "iu" or priorities.shape != ids.shape:
            raise ValueError(
                f"update_priorities takes ids, integers (B,), and priorities (B,) of one length; "
                f"got ids {ids.dtype}{list(ids.shape)} and priorities "
                f"{priorities.dtype}{list(priorities.shape)}"
            )
        if len(ids) and (ids.min() < 0 or ids.max() >= self.capacity):
            raise ValueError(f"ids must be replay slots from 0 to {self.capacity - 1}, got {ids}")
        if priorities.dtype.kind not in "iuf":
            raise ValueError(f"priorities must be numbers, got dtype {priorities.dtype}")
        if not np.isfinite(priorities).all() or (priorities < 0).any():
            raise ValueError(
                f"priorities must be finite and >= 0 (e.g. |TD error|), got {priorities}"
            )
        self._sync_priorities()
        self._priorities.update(ids.astype(np.int64), priorities)

    def _checked_beta(self, beta: Any) -> float | None:
        if not self.prioritized:
            if beta is not None:
                raise ValueError(
                    "beta weights samples of a prioritized buffer; this one samples uniformly "
                    "(prioritized=False): leave beta out"
                )
            return None
        if beta is None:
            raise ValueError(
                "a prioritized buffer needs beta, the importance-sampling exponent (0..1, "
                "annealed to 1 over training): sample(batch_size, rng, beta=...)"
            )
        if isinstance(beta, bool) or not (isinstance(beta, numbers.Real) and 0 <= beta <= 1):
            raise ValueError(f"beta must be between 0 and 1, got {beta!r}")
        return float(beta)

    def _batch(self, envs, pos, rewards, dones, steps, weights=None) -> ReplayBatch:
        """The minibatch of the transitions starting at absolute positions pos of streams envs;
        their obs and next_obs frames are read in one pass (compressed: each slot once)."""
        bootstrap = pos + steps - dones
        windows = np.stack([self._windows(envs, pos), self._windows(envs, bootstrap)])
        stacks = self._store.gather(np.broadcast_to(envs[:, None], windows.shape), windows)
        obs, next_obs = stacks.reshape(2, len(pos), *self.obs_shape)
        slot = pos % self.slots
        return ReplayBatch(
            obs=obs,
            actions=self.actions[envs, slot].astype(np.int64),
            rewards=rewards.astype(np.float32),
            next_obs=next_obs,
            dones=dones.astype(np.float32),
            discounts=(self.gamma**steps).astype(np.float32),
            next_ids=envs * self.slots + bootstrap % self.slots,
            ids=envs * self.slots + slot,
            weights=np.ones(len(pos), np.float32) if weights is None else weights,
        )

    # -------------------------------------------------------------- persistence
    def state_dict(self) -> dict[str, np.ndarray]:
        """All contents and cursors as plain numpy arrays (raw frames and the other arrays are
        views of the live storage, not copies: save them before adding more). Compressed
        frames are saved as stored, priorities as the sum-tree's leaves."""
        state = {
            **self._store.state_dict(),
            "actions": self.actions,
            "rewards": self.rewards,
            "flags": self.flags,
            "written": self.written,
            "open": self.open,
            "n_transitions": np.array(self._n_transitions, dtype=np.int64),
            "layout": np.array(
                [self.n_envs, self.slots, self.frame_stack, self.n_step], dtype=np.int64
            ),
            "gamma": np.array(self.gamma, dtype=np.float64),
        }
        if self.prioritized:
            self._sync_priorities()
            state.update(self._priorities.state_dict())
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Restore contents saved by state_dict into a buffer built the same way (layout,
        compression, prioritization). Everything is checked before anything changes: a state
        that does not fit, or whose compressed frames do not decompress to the frame size, is
        refused with a ValueError naming what is wrong."""
        for key in ("layout", "n_transitions", "gamma"):
            if key not in state:
                raise ValueError(f"the saved replay state has no {key!r}; it is not a replay's")
        layout = [self.n_envs, self.slots, self.frame_stack, self.n_step]
        saved = [int(x) for x in np.asarray(state["layout"])]
        if saved != layout:
            raise ValueError(
                f"replay layout (n_envs, slots per env, frame_stack, n_step) is {saved} in the "
                f"saved state but {layout} here; build the buffer with the saved settings"
            )
        if float(state["gamma"]) != self.gamma:
            raise ValueError(
                f"the saved replay's n-step returns use gamma {float(state['gamma'])}, this "
                f"buffer {self.gamma}; build the buffer with the saved gamma"
            )
        arrays = {}
        for name in ("actions", "rewards", "flags", "written", "open"):
            target, src = getattr(self, name), np.asarray(state.get(name))
            if src.shape != target.shape or src.dtype != target.dtype:
                raise ValueError(
                    f"replay array {name!r} is {src.dtype}{list(src.shape)} in the saved state, "
                    f"expected {target.dtype}{list(target.shape)}"
                )
            arrays[name] = src
        written = arrays["written"]
        if (written < 0).any():
            raise ValueError(f"replay array 'written' has negative counts: {written}")
        in_memory = np.arange(self.slots)[None, :] < np.minimum(written, self.slots)[:, None]
        frames = self._store.checked_state(state, in_memory)
        starts = (arrays["flags"] & _TRANSITION).astype(bool).reshape(-1)
        if self.prioritized:
            priorities = self._priorities.checked_state(state, starts)
        elif "priorities" in state:
            raise ValueError(
                "the saved replay has priorities (it was built with prioritized=True): build "
                "the buffer with prioritized=True to load it"
            )
        for name, src in arrays.items():
            getattr(self, name)[...] = src
        self._store.load(frames)
        if self.prioritized:
            self._priorities.load(priorities)
            # Transitions without a priority yet: those whose n steps are still incomplete.
            flat = np.flatnonzero(starts & (priorities[0] == 0))
            env, pos = self._positions(flat)
            self._incomplete = list(zip(env.tolist(), pos.tolist()))
        self._n_transitions = int(state["n_transitions"])


def _check_sampling(batch_size: int, rng: np.random.Generator) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise ValueError(f"batch_size must be an integer, got {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {rng!r}")
