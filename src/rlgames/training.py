"""The one training loop every agent and every env uses: `Trainer` and `train`.

A run directory holds ``config.json``, the logs (``metrics.csv``, ``episodes.csv``,
``evals.csv``, ``curves.png``, ``tensorboard/``) and ``checkpoints/`` (``latest.ckpt``, and
``best.ckpt``: the weights with the best greedy evaluation). ``latest.ckpt`` holds everything
needed to continue exactly: weights, optimizer, replay contents and cursor, every RNG (torch,
numpy, Python, each sub-env's generator), counters, epsilon, the logger's position, and the
envs' in-progress episodes where that state can be read back (see `rlgames.envstate`).

    trainer = rlgames.train("CartPole-v1", agent="dqn", steps=50_000, seed=0, out="runs/cp")
    trainer = Trainer.resume("runs/cp"); trainer.train()   # continue, e.g. in a new process
"""

from __future__ import annotations

import dataclasses
import json
import random
import signal
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlgames.agents import AgentConfig, ReplayBuffer, make_agent
from rlgames.checkpoint import (
    CheckpointError,
    check_compatible,
    describe_space,
    load_checkpoint,
    save_checkpoint,
)
from rlgames.config import TrainConfig, env_defaults, split_overrides, to_jsonable
from rlgames.envs.factory import frames_per_observation, make_env
from rlgames.envstate import capture_envs, restore_envs
from rlgames.evaluation import evaluate, evaluate_episodes, load_agent, resolve_checkpoint
from rlgames.logger import RunLogger
from rlgames.malloc import keep_freed_memory

__all__ = ["Trainer", "evaluate", "load_agent", "make_train_envs", "resolve_checkpoint", "train"]

Callback = Callable[["Trainer"], Any]
"""Called as callback(trainer) after every vector-env step; returning False stops training."""

RESUME_CHANGEABLE = frozenset(
    {"progress", "log_every", "plot_every", "eval_every", "eval_episodes", "checkpoint_every"}
    | {"tensorboard", "keep_freed_memory"}
)
"""TrainConfig fields a resume may change: none of them changes what the run computes."""

PROGRESS_EVERY = 256
"""Env steps between progress-bar updates."""
AGENT_FIELDS = {f.name for f in dataclasses.fields(AgentConfig)}


def make_train_envs(env_id: str, config: TrainConfig) -> gym.vector.VectorEnv:
    """A vector env of config.n_envs sub-envs with same-step autoreset (not reset yet)."""
    kwargs = dict(
        episodic_life=config.episodic_life, clip_reward=config.clip_reward, **config.env_kwargs
    )
    same_step = gym.vector.AutoresetMode.SAME_STEP
    if config.n_envs == 1:
        envs = gym.vector.SyncVectorEnv(
            [lambda: make_env(env_id, **kwargs)], autoreset_mode=same_step
        )
    else:
        envs = make_env(
            env_id,
            n_envs=config.n_envs,
            vectorization_mode=config.vectorization_mode,
            autoreset_mode=same_step,
            **kwargs,
        )
    return envs


class Trainer:
    """Runs one agent on one env id; owns the envs, replay, logger and checkpoints of a run.

    `config` None takes the loop settings from `rlgames.config.DEFAULTS` for `env_id`;
    `agent_config` None the agent's. `overrides` are TrainConfig or AgentConfig field names
    and win over both. One `seed` seeds torch, numpy, Python's `random` and the envs.
    """

    def __init__(
        self,
        env_id: str,
        agent: str = "dqn",
        config: TrainConfig | None = None,
        out: str | Path | None = None,
        seed: int = 0,
        *,
        agent_config: dict[str, Any] | None = None,
        callbacks: Iterable[Callback] = (),
        total_steps: int = 0,
        _resuming: bool = False,
        **overrides: Any,
    ) -> None:
        train_defaults, agent_defaults = split_overrides(env_defaults(env_id), AGENT_FIELDS)
        train_over, agent_over = split_overrides(overrides, AGENT_FIELDS)
        config = config if config is not None else TrainConfig(**train_defaults)
        if isinstance(train_over.get("env_kwargs"), dict):  # merged into the row's: a key set
            # to None drops it (anything else is left to TrainConfig's check)
            merged = {**config.env_kwargs, **train_over["env_kwargs"]}
            train_over["env_kwargs"] = {k: v for k, v in merged.items() if v is not None}
        self.config = config.replace(**train_over)
        base = agent_defaults if agent_config is None else dict(agent_config)
        self.agent_config = {**base, **agent_over}
        self.env_id, self.agent_name, self.seed = env_id, agent, int(seed)
        self.out = Path(
            out if out is not None else f"runs/{env_id.replace('/', '-')}-{agent}-{seed}"
        )
        if not _resuming and (self.out / "config.json").exists():
            raise FileExistsError(
                f"{self.out} already holds a run. Continue it with `rlgames train --resume "
                f"{self.out}` (in Python: Trainer.resume({str(self.out)!r})), or choose another "
                "out directory."
            )
        self.callbacks = list(callbacks)
        self.total_steps = int(total_steps)
        self.step = self.episodes = self.updates = 0
        self.learn_from = self.config.learning_starts
        """Step of the first gradient step: learning_starts, later after a replay-less resume."""
        self.best_eval = -float("inf")
        self.last_eval: dict[str, float] | None = None
        self._build()

    # ------------------------------------------------------------------ setup
    def _build(self) -> None:
        cfg = self.config
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        if cfg.keep_freed_memory:
            keep_freed_memory()
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        random.seed(self.seed)
        np.random.seed(self.seed % 2**32)  # noqa: NPY002 (third-party code may use it)
        torch.manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)
        self.envs = make_train_envs(self.env_id, cfg)
        try:
            self._build_learner()
        except BaseException:  # a bad agent name or buffer size must not leave browsers behind
            self.envs.close()
            raise

    def _build_learner(self) -> None:
        cfg = self.config
        self.obs, _ = self.envs.reset(seed=self.seed)
        obs_space = self.envs.single_observation_space
        act_space = self.envs.single_action_space
        self.agent = make_agent(
            self.agent_name, obs_space, act_space, seed=self.seed, **self.agent_config
        )
        ac = self.agent.config
        self.replay = ReplayBuffer(
            cfg.buffer_size,
            obs_space,
            act_space,
            cfg.n_envs,
            n_step=ac.n_step,
            gamma=ac.gamma,
            frame_stack=_replay_frame_stack(self.env_id, cfg.env_kwargs, obs_space),
        )
        self._replay_ready = False  # until the replay holds a complete transition
        self.n_actions = int(act_space.n)
        # Gradient steps sampled at once (one round of gradient_steps shares a replay state):
        # at most ~32 MiB of observations and next observations as float32 per sample.
        row_bytes = 2 * 4 * int(np.prod(obs_space.shape))
        self._updates_per_sample = max(1, (32 << 20) // (row_bytes * ac.batch_size))
        self.ep_return = np.zeros(cfg.n_envs, dtype=np.float64)
        self.ep_length = np.zeros(cfg.n_envs, dtype=np.int64)
        self._loss_sum, self._q_sum, self._n_stats = 0.0, 0.0, 0
        self.logger: RunLogger | None = None
        self._eval_env: gym.Env | None = None

    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"

    def epsilon(self, step: int | None = None) -> float:
        """Linear schedule from epsilon_start to epsilon_end over epsilon_decay_steps."""
        cfg = self.config
        frac = min(1.0, (self.step if step is None else step) / max(1, cfg.epsilon_decay_steps))
        return cfg.epsilon_start + frac * (cfg.epsilon_end - cfg.epsilon_start)

    def _open_logger(self, resume_rows: dict[str, int] | None, elapsed_s: float) -> None:
        if self.logger is None:
            self.logger = RunLogger(
                self.out,
                tensorboard=self.config.tensorboard,
                progress=self.config.progress,
                total_steps=self.total_steps or None,
                start_step=self.step,
                resume_rows=resume_rows,
                elapsed_s=elapsed_s,
            )

    # ------------------------------------------------------------------- loop
    def train(self, steps: int | None = None) -> Trainer:
        """Train for `steps` more env steps (None: up to total_steps); checkpoint at the end."""
        if steps is not None:
            self.total_steps = self.step + int(steps)
        self.out.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self._open_logger(None, 0.0)
        cfg, agent, replay, rng, log = self.config, self.agent, self.replay, self.rng, self.logger
        batch_size = agent.config.batch_size
        n = cfg.n_envs
        obs = self.obs
        shown = self.step
        stop = False
        with _StopOnInterrupt() as interrupt:  # Ctrl-C: finish this step, checkpoint, stop
            while self.step < self.total_steps and not stop and not interrupt.caught:
                eps = self.epsilon()
                if self.step < cfg.learning_starts:
                    actions = rng.integers(0, self.n_actions, size=n)
                else:
                    actions = agent.act(obs, epsilon=eps, rng=rng)
                next_obs, rewards, terminated, truncated, infos = self.envs.step(actions)
                done = terminated | truncated
                real_next = next_obs
                if done.any():
                    real_next = next_obs.copy()
                    for i in np.flatnonzero(done):
                        real_next[i] = infos["final_obs"][i]
                replay.add(obs, actions, rewards, real_next, terminated, truncated)
                self.ep_return += rewards
                self.ep_length += 1
                prev, self.step = self.step, self.step + n
                if done.any():
                    scores = _final_scores(infos)
                    for i in np.flatnonzero(done):
                        self.episodes += 1
                        log.episode(
                            self.step,
                            int(i),
                            float(self.ep_return[i]),
                            int(self.ep_length[i]),
                            None if scores is None or not scores[1][i] else float(scores[0][i]),
                        )
                        self.ep_return[i], self.ep_length[i] = 0.0, 0
                obs = self.obs = next_obs

                if self.step >= self.learn_from and not self._replay_ready:
                    # learning_starts can come before each env has n_step steps of its own
                    self._replay_ready = replay.can_sample()
                if self.step >= self.learn_from and self._replay_ready:
                    rounds = self.step // cfg.train_freq - prev // cfg.train_freq
                    if rounds and cfg.lr_end is not None:
                        self._set_lr()
                    left = rounds * cfg.gradient_steps
                    while left:  # the replay does not change during a round: sample it at once
                        n_up = min(left, self._updates_per_sample)
                        batch = replay.sample_many(batch_size, n_up, rng)
                        stats = agent.update_many(batch, n_up)
                        left -= n_up
                        self.updates += n_up
                        self._loss_sum += stats["loss"] * n_up
                        self._q_sum += stats["q_mean"] * n_up
                        self._n_stats += n_up
                if _crossed(prev, self.step, cfg.log_every):
                    self._log_metrics(eps)
                if self.step - shown >= PROGRESS_EVERY:
                    log.progress(self.step - shown, eps, self.total_steps)
                    shown = self.step
                if _crossed(prev, self.step, cfg.eval_every):
                    self.run_evaluation()
                if _crossed(prev, self.step, cfg.plot_every):
                    log.plot()
                if _crossed(prev, self.step, cfg.checkpoint_every):
                    self.save()
                for callback in self.callbacks:
                    if callback(self) is False:
                        stop = True
            # Under the same guard: a first Ctrl-C now waits for the checkpoint to be written.
            log.progress(self.step - shown, self.epsilon(), self.total_steps)
            self.save()
            if cfg.plot_every > 0:
                log.plot()
        if interrupt.caught:
            raise KeyboardInterrupt(f"training stopped at step {self.step}; checkpoint written")
        return self

    def _set_lr(self) -> None:
        """Linear learning-rate annealing from the agent's lr to lr_end over lr_decay_steps."""
        horizon = self.config.lr_decay_steps or self.total_steps
        frac = min(1.0, self.step / max(1, horizon))
        lr = self.agent.config.lr + frac * (self.config.lr_end - self.agent.config.lr)
        for group in self.agent.optimizer.param_groups:
            group["lr"] = lr

    def _log_metrics(self, eps: float) -> None:
        k = max(self._n_stats, 1)
        loss = self._loss_sum / k if self._n_stats else float("nan")
        q = self._q_sum / k if self._n_stats else float("nan")
        self.logger.metrics(self.step, eps, loss, q)
        self._loss_sum, self._q_sum, self._n_stats = 0.0, 0.0, 0

    def run_evaluation(self, episodes: int | None = None) -> dict[str, float]:
        """Greedy returns on a separate env (no life loss, no reward clipping), logged."""
        if self._eval_env is None:
            self._eval_env = make_env(self.env_id, **self.config.env_kwargs)
        n = episodes or self.config.eval_episodes
        seeds = range(self.config.eval_seed, self.config.eval_seed + n)
        result = evaluate_episodes(self.agent, self._eval_env, n, seeds)
        self._open_logger(None, 0.0)
        self.last_eval = self.logger.evaluation(self.step, result["return"], result.get("score"))
        if self.last_eval["mean"] > self.best_eval:
            self.best_eval = self.last_eval["mean"]
            self._save(self.checkpoint_dir / "best.ckpt", with_replay=False)
        return self.last_eval

    # ----------------------------------------------------------- checkpoints
    def _write_config(self) -> None:
        doc = {
            "env_id": self.env_id,
            "agent": self.agent_name,
            "seed": self.seed,
            "total_steps": self.total_steps,
            "train": to_jsonable(dataclasses.asdict(self.config)),
            "agent_config": to_jsonable(dataclasses.asdict(self.agent.config)),
        }
        path = self.out / "config.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(path)

    def save(self) -> Path:
        """Write checkpoints/latest: everything needed to continue this run exactly."""
        return self._save(self.checkpoint_dir / "latest.ckpt", with_replay=self.config.save_replay)

    def _save(self, path: Path, with_replay: bool) -> Path:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        tensors = dict(self.agent.state_dict())
        tensors["trainer.torch_rng"] = torch.get_rng_state()
        env_meta, env_arrays = capture_envs(self.envs)
        arrays = {f"env.{k}": v for k, v in env_arrays.items()}
        arrays["trainer.obs"] = np.asarray(self.obs)
        arrays["trainer.ep_return"] = self.ep_return
        arrays["trainer.ep_length"] = self.ep_length
        if with_replay:
            arrays.update({f"replay.{k}": v for k, v in self.replay.state_dict().items()})
        py_state = random.getstate()
        meta = {
            "env_id": self.env_id,
            "agent": self.agent.name,
            "seed": self.seed,
            "observation_space": describe_space(self.envs.single_observation_space),
            "action_space": describe_space(self.envs.single_action_space),
            "agent_config": to_jsonable(dataclasses.asdict(self.agent.config)),
            "train_config": to_jsonable(dataclasses.asdict(self.config)),
            "step": self.step,
            "episodes": self.episodes,
            "updates": self.updates,
            "epsilon": self.epsilon(),
            "best_eval": self.best_eval if np.isfinite(self.best_eval) else None,
            "has_replay": with_replay,
            "learn_from": self.learn_from,
            "numpy_rng": self.rng.bit_generator.state,
            "numpy_global_rng": _np_global_state(),
            "python_rng": [py_state[0], list(py_state[1]), py_state[2]],
            "envs": env_meta,
            "stats": [self._loss_sum, self._q_sum, self._n_stats],
            "logger_rows": self.logger.positions() if self.logger else None,
            "elapsed_s": self.logger.elapsed_s if self.logger else 0.0,
        }
        save_checkpoint(path, tensors, arrays, meta)
        return path

    @classmethod
    def resume(
        cls, run_dir: str | Path, *, callbacks: Iterable[Callback] = (), **changes: Any
    ) -> Trainer:
        """Rebuild a run from run_dir/config.json and continue from checkpoints/latest.

        `changes` may alter the TrainConfig fields that do not change the run's maths
        (`RESUME_CHANGEABLE`); any other setting given must equal the run's own.
        """
        run_dir = Path(run_dir)
        latest = run_dir / "checkpoints" / "latest.ckpt"
        if not (run_dir / "config.json").exists():
            raise FileNotFoundError(
                f"{run_dir} is not an rlgames run directory (it has no config.json): give the "
                "directory a run was trained into (its --out)."
            )
        if not latest.exists():
            raise FileNotFoundError(
                f"{run_dir} holds no checkpoint to resume from ({latest} is missing): the run "
                "stopped before its first one. Delete the directory, or train with another out."
            )
        split_overrides(changes, AGENT_FIELDS)  # an unknown name: TypeError naming the known
        doc = json.loads((run_dir / "config.json").read_text())
        stored = {**doc["train"], **doc["agent_config"]}
        given = dict(changes)
        if isinstance(given.get("env_kwargs"), dict):  # merged into the run's, as a new run's
            merged = {**stored["env_kwargs"], **given["env_kwargs"]}
            given["env_kwargs"] = {k: v for k, v in merged.items() if v is not None}
        refused = sorted(
            name
            for name, value in given.items()
            if name not in RESUME_CHANGEABLE and to_jsonable(value) != stored[name]
        )
        if refused:
            raise ValueError(
                f"{', '.join(refused)} cannot change when a run resumes (it would no longer be "
                f"the same run); only {', '.join(sorted(RESUME_CHANGEABLE))} can. Start a new "
                "run (another out directory) to change the others."
            )
        same = set(changes) - RESUME_CHANGEABLE  # given, but equal to the run's own values
        changes = {k: v for k, v in changes.items() if k not in same}
        config = TrainConfig(**doc["train"]).replace(**changes)
        agent_config = doc["agent_config"]  # lists become tuples in AgentConfig
        trainer = cls(
            doc["env_id"],
            doc["agent"],
            config,
            run_dir,
            doc["seed"],
            agent_config=agent_config,
            callbacks=callbacks,
            total_steps=doc["total_steps"],
            _resuming=True,
        )
        try:
            trainer._restore(latest)
        except BaseException:
            trainer.close()
            raise
        return trainer

    def _restore(self, path: Path) -> None:
        tensors, arrays, meta = load_checkpoint(path)
        if meta.get("export", {}).get("policy_only"):
            raise CheckpointError(
                f"{path} is an exported policy (weights only): it can be evaluated or played, "
                "not resumed. Resume from the run directory that produced it."
            )
        check_compatible(
            meta,
            env_id=self.env_id,
            agent=self.agent.name,
            observation_space=self.envs.single_observation_space,
            action_space=self.envs.single_action_space,
        )
        torch.set_rng_state(tensors.pop("trainer.torch_rng"))
        self.agent.load_state_dict(tensors)
        if meta["has_replay"]:
            prefix = "replay."
            self.replay.load_state_dict(
                {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}
            )
        env_arrays = {k[4:]: v for k, v in arrays.items() if k.startswith("env.")}
        if restore_envs(self.envs, meta["envs"], env_arrays):
            self.obs = arrays["trainer.obs"].copy()
            self.ep_return = arrays["trainer.ep_return"].copy()
            self.ep_length = arrays["trainer.ep_length"].copy()
        else:  # the in-progress episodes cannot be continued: start new ones, seeded
            self.obs, _ = self.envs.reset(seed=self.seed + meta["step"])
            self.replay.open[:] = False
        self.step, self.episodes, self.updates = meta["step"], meta["episodes"], meta["updates"]
        self.learn_from = meta["learn_from"]
        if not meta["has_replay"]:  # refill the empty replay before learning again
            self.learn_from = self.step + self.config.learning_starts
        self.best_eval = -float("inf") if meta["best_eval"] is None else meta["best_eval"]
        self.rng.bit_generator.state = meta["numpy_rng"]
        np.random.set_state(tuple(meta["numpy_global_rng"]))  # noqa: NPY002
        version, internal, gauss = meta["python_rng"]
        random.setstate((version, tuple(internal), gauss))
        self._loss_sum, self._q_sum, self._n_stats = meta["stats"]
        self._open_logger(meta["logger_rows"] or {}, meta["elapsed_s"])

    def close(self) -> None:
        """Close the envs, the evaluation env and the logger."""
        self.envs.close()
        if self._eval_env is not None:
            self._eval_env.close()
        if self.logger is not None:
            self.logger.close()


class _StopOnInterrupt:
    """While active (main thread only), a first Ctrl-C only sets `caught`, so the loop ends
    after a whole step and writes a consistent checkpoint; a second Ctrl-C interrupts at once."""

    def __init__(self) -> None:
        self.caught = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.caught = True
        signal.signal(signal.SIGINT, self._previous)
        print("\nstopping after this step and writing a checkpoint (Ctrl-C again to abort)")

    def __enter__(self) -> _StopOnInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None and not self.caught:
            signal.signal(signal.SIGINT, self._previous)


def _final_scores(infos: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
    """(scores, which sub-envs have one) at the end of episodes, or None: games that keep
    their own score (Chrome Dino) put it in info["score"]. With same-step autoreset the
    ending step's info is under "final_info" (infos itself is the new episode's)."""
    final = infos.get("final_info", infos)
    if "score" not in final:
        return None
    scores = np.asarray(final["score"])
    return scores, np.asarray(final.get("_score", np.ones(len(scores), dtype=bool)))


def _replay_frame_stack(env_id: str, env_kwargs: dict[str, Any], obs_space: gym.Space) -> int:
    """Frames per observation for the replay's frame-once storage: the env's stack for uint8
    (C, H, W) stacks (colour frames keep their channels together), else 1: whole observations."""
    shape = tuple(obs_space.shape or ())
    if len(shape) != 3 or obs_space.dtype != np.uint8:
        return 1
    stack = frames_per_observation(env_id, env_kwargs.get("stack"))
    return stack if shape[0] % stack == 0 else 1


def _crossed(prev: int, now: int, every: int) -> bool:
    """True when a multiple of `every` lies in (prev, now]; never when every <= 0."""
    return every > 0 and now // every > prev // every


def _np_global_state() -> list[Any]:
    name, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]


def train(
    env_id: str,
    agent: str = "dqn",
    steps: int = 50_000,
    seed: int = 0,
    out: str | Path | None = None,
    **overrides: Any,
) -> Trainer:
    """Build a Trainer (see it for `overrides`), train it for `steps` env steps, return it."""
    trainer = Trainer(env_id, agent, out=out, seed=seed, **overrides)
    try:
        trainer.train(steps)
    finally:
        trainer.close()
    return trainer
