"""The learner of a distributed run: rlgames' Trainer fed by Ray actors (Ape-X style).

``Trainer(env_id, actors=N)`` (or ``rlgames train --actors N``) is a `DistributedTrainer`:
the loop, replay, agent, logs, evaluations and checkpoints are the Trainer's own; only where
experience comes from differs. N `Actor` processes, placed by Ray on any node of the cluster,
each step their own envs and send chunks of steps (each frame once, compressed as the replay
stores it). The learner adds each chunk to its replay through the replay's `add` (actor i's
sub-envs are replay streams i * n_envs ...), asks that actor for the next chunk at once, and
then learns: `gradient_steps` per `train_freq` env steps, the same replay ratio as the
single-process loop. Every `weights_every` gradient steps it puts its online network's
weights in Ray's object store once, and each actor loads them before its next chunk.

An actor whose process dies is restarted by Ray and rejoins with the latest weights; the
chunk it was collecting is lost (its steps are counted as lost and logged in actors.csv);
every chunk the learner received is in the replay. A checkpoint holds the learner, replay
and counters; on resume the actors start new episodes.
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import math
import os
import time
import weakref
from typing import Any

import numpy as np

from rlgames._deps import require
from rlgames.distributed.actor import Actor, actor_epsilons, policy_weights
from rlgames.distributed.chunks import ChunkReader
from rlgames.envs.factory import make_env
from rlgames.training.loop import Trainer

ACTOR_COLUMNS = ("step", "time_s", "actor", "event", "restarts", "lost_steps", "detail")
MAX_FAILURES = 60
"""An actor that fails this many chunks in a row (about two minutes of tries while Ray
restarts it, or one that dies each time it starts) stops the run with its error."""


class ActorStats:
    """Counts across the run's actors, a checkpoint part: restarts and the steps lost."""

    def __init__(self) -> None:
        self.restarts = 0
        self.lost_steps = 0
        self.chunks = 0

    def state_dict(self) -> dict[str, Any]:
        return {"restarts": self.restarts, "lost_steps": self.lost_steps, "chunks": self.chunks}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.restarts, self.lost_steps = int(state["restarts"]), int(state["lost_steps"])
        self.chunks = int(state["chunks"])


class DistributedTrainer(Trainer):
    """A Trainer whose experience comes from `config.actors` Ray actors (see the module)."""

    def _start_collecting(self) -> None:
        require("ray", "ray")
        cfg = self.config
        if cfg.actors < 1:
            raise ValueError("a DistributedTrainer needs actors >= 1")
        probe = make_env(self.env_id, **cfg.env_kwargs)  # the spaces, as the actors' envs
        try:
            self.observation_space, self.action_space = probe.observation_space, probe.action_space
        finally:
            probe.close()
        self.n_streams = cfg.actors * cfg.n_envs
        self.actor_epsilons = actor_epsilons(cfg.actors, cfg.actor_epsilon, cfg.actor_epsilon_alpha)
        self.actor_stats = ActorStats()
        self.fleet: _Fleet | None = None
        self._sent_at = -1  # the updates count of the last weights sent

    def _stop_collecting(self) -> None:
        if self.fleet is not None:
            self.fleet.close()
            self.fleet = None

    def _collecting_parts(self) -> dict[str, Any]:
        return {"actors": self.actor_stats}

    def _restore_collecting(self, states: dict[str, dict[str, Any]]) -> None:
        if "actors" in states:
            self.actor_stats.load_state_dict(states["actors"])
        self.replay.open[:] = False  # the actors start new episodes

    def epsilon(self, step: int | None = None) -> float:
        """The actors' mean exploration rate (1 before learning starts, 0 for noisy agents)."""
        if self.agent.noisy:
            return 0.0
        if (self.run.step if step is None else step) < self.config.learning_starts:
            return 1.0
        return float(np.mean(self.actor_epsilons))

    # ------------------------------------------------------------------ loop
    def _collect_step(self) -> None:
        """Add the next chunk any actor has ready, and ask that actor for another."""
        fleet = self.fleet if self.fleet is not None else self._launch()
        index, chunk = fleet.next_chunk()
        run, n_envs = self.run, self.config.n_envs
        run.step += fleet.readers[index].add(chunk)
        self.actor_stats.chunks += 1
        for env, ret, length, score in chunk["episodes"].tolist():
            run.episodes += 1
            score = None if math.isnan(score) else score
            self.logger.episode(run.step, index * n_envs + int(env), ret, int(length), score)
        fleet.request(index, random_actions=run.step < self.config.learning_starts)

    def _learning_round(self, before: int) -> None:
        super()._learning_round(before)
        if (
            self.fleet is not None
            and self.agent.updates - self._sent_at >= self.config.weights_every
        ):
            self.fleet.broadcast(policy_weights(self.agent), self.agent.updates)
            self._sent_at = self.agent.updates

    def _launch(self) -> _Fleet:
        """Start Ray (or join `ray_address`) and the actors, each with the current weights."""
        cfg = self.config
        self.fleet = _Fleet(self)
        self.fleet.broadcast(policy_weights(self.agent), self.agent.updates)
        self._sent_at = self.agent.updates
        random_actions = self.run.step < cfg.learning_starts
        for i in range(cfg.actors):
            self.fleet.request(i, random_actions)
        return self.fleet

    def actor_nodes(self) -> list[dict[str, Any]]:
        """Each actor's process id and Ray node id (the actors are started if they are not)."""
        fleet = self.fleet if self.fleet is not None else self._launch()
        return fleet.describe()


class _Fleet:
    """The actors of one run: their Ray handles, the chunk each is collecting, their
    restarts, and the events log (actors.csv)."""

    def __init__(self, trainer: DistributedTrainer) -> None:
        import ray

        cfg = trainer.config
        self.ray, self.trainer, self.chunk = ray, trainer, cfg.actor_chunk
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            local = cfg.ray_address is None  # a Ray instance of this run: room for every actor
            cpus = (
                max(os.cpu_count() or 1, math.ceil(cfg.actors * cfg.actor_cpus)) if local else None
            )
            ray.init(
                address=cfg.ray_address, num_cpus=cpus, include_dashboard=False,
                log_to_driver=False, configure_logging=False,
            )  # fmt: skip
        try:
            self._start(trainer)
        except BaseException:
            if self.started_ray:
                ray.shutdown()
            raise

    def _start(self, trainer: DistributedTrainer) -> None:
        ray, cfg = self.ray, trainer.config
        remote = ray.remote(Actor).options(
            num_cpus=cfg.actor_cpus, max_restarts=-1, max_task_retries=0
        )
        settings = trainer.settings.describe()
        replay, self.restarts = trainer.replay, 0
        self.handles = [
            remote.remote(
                trainer.env_id,
                settings["train"] | {"actors": 0},
                trainer.agent_name,
                settings["agent_config"],
                trainer.actor_epsilons[i],
                self._seed(i, 0),
                replay.frame_stack,
                replay.compressed,
            )  # fmt: skip
            for i in range(cfg.actors)
        ]
        self.readers = [
            ChunkReader(replay, list(range(i * cfg.n_envs, (i + 1) * cfg.n_envs)))
            for i in range(cfg.actors)
        ]
        self.pending: dict[Any, int] = {}
        self.failures = [0] * cfg.actors  # chunks failed in a row, per actor
        self.received = [0] * cfg.actors  # chunks received, per actor
        self.incarnations: list[str | None] = [None] * cfg.actors  # each actor's process
        self.retry_at: dict[int, float] = {}  # actor -> when to ask it again
        self.weights: tuple[Any, int] | None = None
        self._log_path = trainer.out / "actors.csv"
        self._finalizer = weakref.finalize(self, _close_handles, ray, list(self.handles))
        atexit.register(self._finalizer)

    def _seed(self, index: int, restart: int) -> int:
        """Actor `index`'s seed: new for each resume (it depends on the step) and restart."""
        words = [self.trainer.seed, 1, self.trainer.run.step, index, restart]
        return int(np.random.SeedSequence(words).generate_state(1)[0])

    def broadcast(self, weights: dict[str, np.ndarray], version: int) -> None:
        """Put the weights in the object store once; every actor loads them next."""
        ref = self.ray.put(weights)
        self.weights = (ref, version)
        for handle in self.handles:
            handle.set_weights.remote(ref, version)

    def request(self, index: int, random_actions: bool) -> None:
        ref = self.handles[index].collect.remote(self.chunk, random_actions)
        self.pending[ref] = index

    def next_chunk(self) -> tuple[int, dict[str, np.ndarray]]:
        """The next chunk any actor has ready. An actor that died is restarted by Ray; it is
        asked again (with the latest weights) once it is back, its lost chunk counted."""
        ray = self.ray
        while True:
            self._retry_due()
            if not self.pending:  # every actor is restarting
                time.sleep(max(0.0, min(self.retry_at.values()) - time.monotonic()))
                continue
            wait = min(self.retry_at.values(), default=None)
            timeout = None if wait is None else max(0.0, wait - time.monotonic())
            ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=timeout)
            if not ready:
                continue
            index = self.pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except ray.exceptions.ActorDiedError as error:
                if error.actor_init_failed:  # its constructor raised: restarts cannot help
                    raise RuntimeError(f"actor {index} cannot start: {error}") from error
                self._failed(index, str(error))
                continue
            except (ray.exceptions.RayActorError, ray.exceptions.RayTaskError) as error:
                self._failed(index, str(error))  # died, restarting, or its envs raised
                continue
            seen, self.incarnations[index] = self.incarnations[index], result["incarnation"]
            if self.failures[index] == 0 and seen not in (None, result["incarnation"]):
                # It died between two chunks and Ray ran the queued request on its new process,
                # from its constructor's seed and maybe without weights: dropped, as if lost.
                # (After a failed chunk the new process was restarted and sent weights first.)
                self._failed(index, "its process was restarted by Ray between two chunks")
                continue
            self.failures[index] = 0
            self.received[index] += 1
            return index, result["chunk"]

    def _failed(self, index: int, error: str) -> None:
        """A chunk failed: the actor died (the first failure since its last chunk: counted,
        logged) or is still restarting; ask again after a pause that grows."""
        stats, cfg = self.trainer.actor_stats, self.trainer.config
        # Whatever it had collected is gone: its streams start new episodes, on both sides.
        reader = self.readers[index]
        reader.obs = None
        self.trainer.replay.open[reader.streams] = False
        if self.failures[index] == 0:
            stats.restarts += 1
            lost = self.chunk * cfg.n_envs  # at most: it may have died before all its steps
            stats.lost_steps += lost
            text = error.strip()
            self._log(index, "died", lost, text.splitlines()[0][:200] if text else "")
        self.failures[index] += 1
        if self.failures[index] >= MAX_FAILURES:
            raise RuntimeError(
                f"actor {index} has not come back after {MAX_FAILURES} tries: {error}"
            )
        self.retry_at[index] = time.monotonic() + min(0.25 * self.failures[index], 2.0)

    def _retry_due(self) -> None:
        """Ask the restarted actors whose pause is over for a chunk again (weights first: a
        restarted actor starts from its constructor)."""
        now = time.monotonic()
        for index in [i for i, at in self.retry_at.items() if at <= now]:
            del self.retry_at[index]
            self.restarts += 1
            self.handles[index].restart.remote(self._seed(index, self.restarts))
            if self.weights is not None:
                self.handles[index].set_weights.remote(*self.weights)
            self.request(
                index, random_actions=self.trainer.run.step < self.trainer.config.learning_starts
            )

    def _log(self, index: int, event: str, lost: int, detail: str) -> None:
        fresh = not self._log_path.exists()
        with self._log_path.open("a", newline="") as f:
            writer = csv.writer(f)
            if fresh:
                writer.writerow(ACTOR_COLUMNS)
            trainer = self.trainer
            seconds = trainer.logger.elapsed_s if trainer.logger is not None else 0.0
            stats = trainer.actor_stats
            writer.writerow(
                [trainer.run.step, round(seconds, 3), index, event, stats.restarts, lost, detail]
            )

    def describe(self, timeout_s: float = 120.0) -> list[dict[str, Any]]:
        """Each actor's pid and node id, waiting for actors that are restarting."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                return self.ray.get([h.describe.remote() for h in self.handles])
            except self.ray.exceptions.ActorUnavailableError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def close(self) -> None:
        """Close every actor's envs, end the actors, and stop Ray if this run started it."""
        for ref in self.pending:  # chunks no longer wanted: the actors may close at once
            with contextlib.suppress(Exception):
                self.ray.cancel(ref)
        self.pending.clear()
        self._finalizer()
        atexit.unregister(self._finalizer)
        if self.started_ray and self.ray.is_initialized():
            self.ray.shutdown()


def _close_handles(ray: Any, handles: list[Any]) -> None:
    """Ask each actor to close its envs (browsers), wait a little, then end the actors."""
    if not ray.is_initialized():
        return
    closing = [h.close.remote() for h in handles]
    ray.wait(closing, num_returns=len(closing), timeout=30)
    for handle in handles:
        with contextlib.suppress(Exception):  # already gone
            ray.kill(handle, no_restart=True)
