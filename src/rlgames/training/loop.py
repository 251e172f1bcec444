"""The one training loop every agent and every env uses: `Trainer` and `train`.

A run directory holds ``config.json``, the logs (``metrics.csv``, ``episodes.csv``,
``evals.csv``, ``curves.png``, ``tensorboard/``) and ``checkpoints/`` (``latest.ckpt``, and
``best.ckpt``: the weights with the best greedy evaluation; ``step-<N>.ckpt`` every
`snapshot_every` steps where set). ``latest.ckpt`` joins the state
of each part of the run (agent, replay, run counters and generators, collector and envs,
logger), so a resume continues exactly; it is written every `checkpoint_minutes` of wall
clock and at the end, so a kill loses at most that much.

    trainer = rlgames.train("CartPole-v1", agent="dqn", steps=30_000, seed=0, out="runs/cp")
    trainer = Trainer.resume("runs/cp"); trainer.train()   # continue, e.g. in a new process
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

from rlgames.agents import make_agent
from rlgames.config import TrainConfig
from rlgames.envs.factory import make_env
from rlgames.fileio import atomic_write
from rlgames.schedules import ExponentialSchedule, LinearSchedule
from rlgames.training.checkpoint import CheckpointError, check_compatible, save_parts
from rlgames.training.collector import Collector
from rlgames.training.evaluation import evaluate_episodes
from rlgames.training.logs import RunLogger
from rlgames.training.malloc import keep_freed_memory
from rlgames.training.plots import plot_run
from rlgames.training.run import (
    RunSettings,
    StopOnInterrupt,
    crossed,
    load_run,
    replay_frame_stack,
    run_description,
)
from rlgames.training.state import RunState

__all__ = ["Trainer", "make_train_envs", "train"]

Callback = Callable[["Trainer"], Any]
"""Called as callback(trainer) after every vector-env step; returning False stops training."""

PROGRESS_EVERY = 256
"""Env steps between progress-bar updates."""


def make_train_envs(env_id: str, config: TrainConfig) -> gym.vector.VectorEnv:
    """A vector env of config.n_envs sub-envs with same-step autoreset (not reset yet)."""
    kwargs = dict(
        episodic_life=config.episodic_life, clip_reward=config.clip_reward, **config.env_kwargs
    )
    same_step = gym.vector.AutoresetMode.SAME_STEP
    if config.n_envs == 1:
        return gym.vector.SyncVectorEnv(
            [lambda: make_env(env_id, **kwargs)], autoreset_mode=same_step
        )
    return make_env(
        env_id, n_envs=config.n_envs, vectorization_mode=config.vectorization_mode,
        autoreset_mode=same_step, **kwargs,
    )  # fmt: skip


class Trainer:
    """Runs one agent on one env id; owns the envs, replay, logger and checkpoints of a run.

    Settings come from the env's row in `rlgames.training.defaults`, then `config` (a
    TrainConfig) and `agent_config` (AgentConfig fields) when given, then `overrides`
    (TrainConfig or AgentConfig field names). One `seed` seeds torch, numpy, Python's
    `random` and the envs.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Trainer:
        """A run with actors (``actors=N``, or a config with them) is a
        `rlgames.distributed.DistributedTrainer`: the same loop, fed by Ray actors."""
        if cls is Trainer and _asks_for_actors(args, kwargs):
            from rlgames.distributed.learner import DistributedTrainer

            cls = DistributedTrainer
        return super().__new__(cls)

    def __init__(
        self,
        env_id: str,
        agent: str | None = None,
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
        self.settings = RunSettings.build(env_id, agent, config, agent_config, overrides)
        self.config = self.settings.train
        self.env_id, self.agent_name, self.seed = env_id, self.settings.agent, int(seed)
        default_out = f"runs/{env_id.replace('/', '-')}-{self.agent_name}-{seed}"
        self.out = Path(out if out is not None else default_out)
        if not _resuming and (self.out / "config.json").exists():
            raise FileExistsError(
                f"{self.out} already holds a run. Continue it with `rlgames train --resume "
                f"{self.out}` (in Python: Trainer.resume({str(self.out)!r})), or choose another "
                "out directory."
            )
        self.callbacks = list(callbacks)
        self.total_steps = int(total_steps)
        self.run = RunState(seed=self.seed, learn_from=self.config.learning_starts)
        schedule = {"linear": LinearSchedule, "exponential": ExponentialSchedule}
        self.epsilon_schedule = schedule[self.config.epsilon_schedule](
            self.config.epsilon_start, self.config.epsilon_end, self.config.epsilon_decay_steps
        )
        self.logger: RunLogger | None = None
        self.last_eval: dict[str, float] | None = None
        """The latest in-training evaluation's row (mean, std, min, median, max, ...)."""
        self._eval_env: gym.Env | None = None
        self._replay_ready = False  # until the replay holds a complete transition
        self._build()

    def _build(self) -> None:
        """Apply the process-wide settings (docs/process.md), then wire envs, agent, replay."""
        cfg = self.config
        if cfg.torch_threads:
            torch.set_num_threads(cfg.torch_threads)
        if cfg.keep_freed_memory:
            keep_freed_memory()
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        self.run.seed_globals()
        self._start_collecting()
        try:
            obs_space, act_space = self.observation_space, self.action_space
            self.agent = make_agent(
                self.agent_name, obs_space, act_space, seed=self.seed, **self.settings.agent_kwargs
            )
            stack = replay_frame_stack(self.env_id, cfg.env_kwargs, obs_space)
            self.replay = self.agent.make_replay(
                cfg.buffer_size, self.n_streams, stack, compress=cfg.compress_replay
            )
        except BaseException:  # a bad agent name or buffer size must not leave browsers behind
            self._stop_collecting()
            raise

    def _start_collecting(self) -> None:
        """Build what collects experience, and set observation_space, action_space and
        n_streams (the replay's env streams): here, the run's own vector env."""
        if self.config.actors:
            raise ValueError(
                f"actors={self.config.actors} needs a DistributedTrainer "
                f"(Trainer(...) gives one; {type(self).__name__} is not one)"
            )
        self.envs = make_train_envs(self.env_id, self.config)
        try:
            self.collector = Collector(self.envs, self.seed)
        except BaseException:
            self.envs.close()
            raise
        self.observation_space = self.envs.single_observation_space
        self.action_space = self.envs.single_action_space
        self.n_streams = self.config.n_envs

    def _stop_collecting(self) -> None:
        self.envs.close()

    # ------------------------------------------------------------------ parts
    @property
    def step(self) -> int:
        return self.run.step

    @property
    def episodes(self) -> int:
        return self.run.episodes

    @property
    def updates(self) -> int:
        """Gradient steps so far (the agent counts them)."""
        return self.agent.updates

    @property
    def checkpoint_dir(self) -> Path:
        return self.out / "checkpoints"

    def epsilon(self, step: int | None = None) -> float:
        """Exploration rate at `step` (default: now); 0 for noisy agents, which explore by
        their noise."""
        if self.agent.noisy:
            return 0.0
        return self.epsilon_schedule(self.run.step if step is None else step)

    def _open_logger(self) -> RunLogger:
        if self.logger is None:
            cfg = self.config
            self.logger = RunLogger(
                self.out, tensorboard=cfg.tensorboard, progress=cfg.progress,
                total_steps=self.total_steps or None, start_step=self.run.step,
            )  # fmt: skip
        return self.logger

    # ------------------------------------------------------------------- loop
    def train(self, steps: int | None = None) -> Trainer:
        """Train for `steps` more env steps (None: up to total_steps); checkpoint at the end.
        A first Ctrl-C finishes the step, writes the checkpoint and raises KeyboardInterrupt."""
        if steps is not None:
            self.total_steps = self.run.step + int(steps)
        self.out.mkdir(parents=True, exist_ok=True)
        self._write_config()
        log = self._open_logger()
        self._shown, self._saved_at = self.run.step, time.monotonic()
        with StopOnInterrupt() as interrupt:
            stop = False
            while self.run.step < self.total_steps and not stop and not interrupt.caught:
                before = self.run.step
                self._collect_step()
                self._learning_round(before)
                stop = not self._periodic_work(before)
            # Under the same guard: a first Ctrl-C now waits for the checkpoint to be written.
            log.progress(self.run.step - self._shown, self.epsilon(), self.total_steps)
            self.save()
            if self.config.plot_every > 0:
                plot_run(self.out)
        if interrupt.caught:
            raise KeyboardInterrupt(f"training stopped at step {self.run.step}; checkpoint written")
        return self

    def _collect_step(self) -> None:
        """Act in every sub-env, store the transitions, log the episodes that ended."""
        run, n = self.run, self.config.n_envs
        if run.step < self.config.learning_starts:
            actions = run.rng.integers(0, self.agent.n_actions, size=n)
        else:  # explore=True: noisy networks explore by their noise (epsilon is 0 for them)
            actions = self.agent.act(self.collector.obs, self.epsilon(), run.rng, explore=True)
        transition, ended = self.collector.step(actions)
        self.replay.add(*transition)
        run.step += n
        for episode in ended:
            run.episodes += 1
            self.logger.episode(
                run.step, episode.env, episode.ret, episode.length, episode.score, episode.info
            )

    def _learning_round(self, before: int) -> None:
        """gradient_steps updates for each train_freq boundary crossed since `before`."""
        run, cfg = self.run, self.config
        if run.step < run.learn_from:
            return
        if not self._replay_ready:  # learning_starts can come before n_step steps per env
            self._replay_ready = self.replay.can_sample()
            if not self._replay_ready:
                return
        n = (run.step // cfg.train_freq - before // cfg.train_freq) * cfg.gradient_steps
        if n:
            stats = self.agent.learn(self.replay, n, run.rng, run.step)
            run.loss_sum += stats["loss"] * n
            run.q_sum += stats["q_mean"] * n
            run.n_stats += n

    def _periodic_work(self, before: int) -> bool:
        """Logs, progress, evaluation, plot, checkpoint and callbacks when due; False when a
        callback asks to stop or the run has had its max_minutes."""
        cfg, step = self.config, self.run.step
        if crossed(before, step, cfg.log_every):
            self._log_metrics()
        if step - self._shown >= PROGRESS_EVERY:
            self.logger.progress(step - self._shown, self.epsilon(), self.total_steps)
            self._shown = step
        if crossed(before, step, cfg.eval_every):
            self.run_evaluation()
        if crossed(before, step, cfg.plot_every):
            self.logger.positions()
            plot_run(self.out)
        minutes = cfg.checkpoint_minutes
        due_by_time = minutes > 0 and time.monotonic() - self._saved_at >= 60 * minutes
        if due_by_time or crossed(before, step, cfg.checkpoint_every):
            self.save()
        if crossed(before, step, cfg.snapshot_every):
            self._save(self.checkpoint_dir / f"step-{step}.ckpt", with_replay=False)
        answers = [callback(self) for callback in list(self.callbacks)]  # every one runs
        out_of_time = cfg.max_minutes > 0 and self.logger.elapsed_s >= 60 * cfg.max_minutes
        return not out_of_time and all(answer is not False for answer in answers)

    def _log_metrics(self) -> None:
        run = self.run
        loss = run.loss_sum / run.n_stats if run.n_stats else float("nan")
        q = run.q_sum / run.n_stats if run.n_stats else float("nan")
        self.logger.metrics(run.step, self.epsilon(), loss, q, self.replay.nbytes)
        run.loss_sum, run.q_sum, run.n_stats = 0.0, 0.0, 0

    def run_evaluation(self, episodes: int | None = None) -> dict[str, float]:
        """Greedy returns on a separate env (no life loss, no reward clipping), logged; the
        best so far is saved as checkpoints/best.ckpt."""
        if self._eval_env is None:
            self._eval_env = make_env(self.env_id, **self.config.env_kwargs)
        n = episodes or self.config.eval_episodes
        seeds = range(self.config.eval_seed, self.config.eval_seed + n)
        logger = self._open_logger()
        started = logger.elapsed_s
        result = evaluate_episodes(self.agent, self._eval_env, n, seeds)
        info = {k: result[k] for k in ("x_pos", "flag_get") if k in result}
        row = logger.evaluation(
            self.run.step, result["return"], result.get("score"), started_s=started, info=info
        )
        self.last_eval = row
        if self.run.best_eval is None or row["mean"] > self.run.best_eval:
            self.run.best_eval = row["mean"]
            self._save(self.checkpoint_dir / "best.ckpt", with_replay=False)
        return row

    # ----------------------------------------------------------- checkpoints
    def _write_config(self) -> None:
        doc = {"env_id": self.env_id, **self.settings.describe(), "seed": self.seed}
        doc["total_steps"] = self.total_steps
        with atomic_write(self.out / "config.json") as f:
            f.write(json.dumps(doc, indent=2) + "\n")

    def save(self) -> Path:
        """Write checkpoints/latest.ckpt: everything needed to continue this run exactly."""
        self._saved_at = time.monotonic()
        return self._save(self.checkpoint_dir / "latest.ckpt", self.config.save_replay)

    def _save(self, path: Path, with_replay: bool) -> Path:
        self._write_config()
        parts = {"agent": self.agent, "run": self.run, **self._collecting_parts()}
        if with_replay:
            parts["replay"] = self.replay
        if self.logger is not None:
            parts["logger"] = self.logger
        meta = run_description(self, has_replay=with_replay)
        return save_parts(path, parts, meta)

    def _collecting_parts(self) -> dict[str, Any]:
        """The checkpoint parts of what collects experience."""
        return {"collector": self.collector}

    @classmethod
    def resume(
        cls,
        run_dir: str | Path,
        *,
        env_id: str | None = None,
        agent: str | None = None,
        seed: int | None = None,
        callbacks: Iterable[Callback] = (),
        **changes: Any,
    ) -> Trainer:
        """Rebuild a run from run_dir/config.json and continue from checkpoints/latest.ckpt.

        `env_id`, `agent` and `seed` may be given only as the run's own; `changes` may alter
        the settings that do not change what the run computes (`RESUME_CHANGEABLE`), any
        other setting given must equal the run's own."""
        doc, states, meta = load_run(Path(run_dir), env_id, agent, seed, changes)
        trainer = cls(
            doc["env_id"], doc["agent"], TrainConfig(**doc["train"]).replace(**changes),
            run_dir, doc["seed"], agent_config=doc["agent_config"], callbacks=callbacks,
            total_steps=doc["total_steps"], _resuming=True,
        )  # fmt: skip
        try:
            trainer._restore(states, meta)
        except ValueError as error:  # a part that does not fit: name the file it came from
            trainer.close()
            raise CheckpointError(
                f"{Path(run_dir) / 'checkpoints' / 'latest.ckpt'}: {error}"
            ) from None
        except BaseException:
            trainer.close()
            raise
        return trainer

    def _restore(self, states: dict[str, dict[str, Any]], meta: dict[str, Any]) -> None:
        check_compatible(
            meta, env_id=self.env_id, agent=self.agent.name,
            observation_space=self.observation_space, action_space=self.action_space,
        )  # fmt: skip
        self.agent.load_state_dict(states["agent"])
        self.run.load_state_dict(states["run"])
        if "replay" in states:
            self.replay.load_state_dict(states["replay"])
        else:  # refill the empty replay before learning again
            self.run.learn_from = self.run.step + self.config.learning_starts
        self._restore_collecting(states)
        self._open_logger().load_state_dict(states.get("logger", {"rows": {}, "elapsed_s": 0.0}))

    def _restore_collecting(self, states: dict[str, dict[str, Any]]) -> None:
        self.collector.load_state_dict(states["collector"], reset_seed=self.seed + self.run.step)
        if not self.collector.continued:  # new episodes: the replay's streams start anew
            self.replay.open[:] = False

    def close(self) -> None:
        """Close the envs, the evaluation env and the logger."""
        self._stop_collecting()
        if self._eval_env is not None:
            self._eval_env.close()
        if self.logger is not None:
            self.logger.close()


def _asks_for_actors(args: tuple, kwargs: dict[str, Any]) -> bool:
    """Whether Trainer's arguments ask for remote actors (the overrides win over config)."""
    config = kwargs.get("config", args[2] if len(args) > 2 else None)
    actors = kwargs.get("actors", getattr(config, "actors", 0))
    return bool(actors)


def train(
    env_id: str,
    agent: str | None = None,
    steps: int | None = None,
    seed: int = 0,
    out: str | Path | None = None,
    **overrides: Any,
) -> Trainer:
    """Build a Trainer (see it for `overrides`), train it for `steps` env steps (None: the
    env's row in `rlgames.training.defaults`, else 50,000), close it and return it."""
    trainer = Trainer(env_id, agent, out=out, seed=seed, **overrides)
    try:
        trainer.train(steps if steps is not None else trainer.settings.steps)
    finally:
        trainer.close()
    return trainer
