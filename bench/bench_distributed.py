"""Distributed actors against the single-process Trainer: env steps/s collected and gradient
steps/s learned with 1, 2 and 4 actors, on a local multi-node Ray cluster (Ray's own
`ray.cluster_utils.Cluster`: a head without CPUs for actors and two worker nodes of 2 CPUs
each, on loopback), with RLlib's DQN on the same env beside them; then, from the costs
measured alone (one actor's env steps/s with its CPU forward pass, one gradient step of the
learner), how many actors one learner can consume before it saturates.

    .venv-ray/bin/python bench/bench_distributed.py --env CartPole-v1 --seconds 60
    .venv-ray/bin/python bench/bench_distributed.py --env ALE/Breakout-v5 --seconds 60 \
        --threads 2 --rllib-runners

Every arm uses the env's defaults row (replay ratio train_freq / gradient_steps included),
learning from `--learning-starts`, and is timed over `--seconds` of wall-clock once learning
has started (actor start-up and the random warm-up excluded). The learner trains in the
driver with `--threads` torch threads; each actor has one thread and one logical CPU. On a
machine with fewer cores than actors + learner, the arms share cores: the table says where
the rate stops rising, and the capacity lines say where it would on enough cores. Figures
only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # keep loopback addresses

import numpy as np

from rlgames.distributed.actor import Actor
from rlgames.training import Trainer

LOOPBACK = "127.0.0.1"


def timed_run(env_id: str, actors: int, seconds: float, settings: dict) -> dict[str, float]:
    """Train until `seconds` have passed since learning started; env steps/s and updates/s
    over that window."""
    marks: dict[str, float] = {}

    def window(trainer: Trainer) -> bool:
        if trainer.updates == 0:
            return True
        now = time.perf_counter()
        if "t0" not in marks:
            marks.update(t0=now, s0=trainer.step, u0=trainer.updates)
        marks.update(t1=now, s1=trainer.step, u1=trainer.updates)
        return now - marks["t0"] < seconds

    with tempfile.TemporaryDirectory() as out:
        trainer = Trainer(env_id, out=Path(out) / "run", actors=actors, **settings)
        trainer.callbacks.append(window)
        try:
            trainer.train(10**9)
        finally:
            trainer.close()
    span = marks["t1"] - marks["t0"]
    return {
        "env_steps_s": (marks["s1"] - marks["s0"]) / span,
        "updates_s": (marks["u1"] - marks["u0"]) / span,
    }


def actor_alone(env_id: str, settings: dict, steps: int) -> float:
    """One actor's env steps/s, acting with its network at its epsilon, no Ray, no learner."""
    probe = Trainer(env_id, out=tempfile.mkdtemp(), **settings)
    try:
        described = probe.settings.describe()
        actor = Actor(
            env_id, described["train"], probe.agent_name, described["agent_config"], 0.01, 0,
            probe.replay.frame_stack, probe.replay.compressed,
        )  # fmt: skip
    finally:
        probe.close()
    try:
        chunk = probe.config.actor_chunk
        actor.collect(chunk)  # warm
        start = time.perf_counter()
        done = 0
        while done < steps:
            actor.collect(chunk)
            done += chunk * probe.config.n_envs
        return done / (time.perf_counter() - start)
    finally:
        actor.close()


def update_ms(env_id: str, settings: dict, threads: int) -> tuple[float, float]:
    """One gradient step of the learner (ms, best of 5 rounds of 20) on a replay filled by
    random play, and the env steps it stands for (train_freq / gradient_steps)."""
    trainer = Trainer(env_id, out=tempfile.mkdtemp(), **{**settings, "torch_threads": threads})
    try:
        cfg = trainer.config
        trainer.train(max(cfg.learning_starts, 2_000) + cfg.train_freq)  # filled, learning
        rng = np.random.default_rng(0)
        rounds = []
        for _ in range(5):
            start = time.perf_counter()
            trainer.agent.learn(trainer.replay, 20, rng, trainer.step)
            rounds.append((time.perf_counter() - start) / 20 * 1e3)
        return min(rounds), cfg.train_freq / cfg.gradient_steps
    finally:
        trainer.close()


def rllib_rate(env_id: str, runners: int, seconds: float) -> float:
    """RLlib's DQN (examples/rllib_dqn.py, its defaults) env steps/s over `seconds` after
    its first iteration."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    import ray
    import rllib_dqn
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME

    # The env runners on the worker nodes cannot import examples/: send the module by value.
    ray.cloudpickle.register_pickle_by_value(rllib_dqn)
    algo = rllib_dqn.build(env_id, runners)
    try:

        def sampled(result: dict) -> int:
            return result[ENV_RUNNER_RESULTS][NUM_ENV_STEPS_SAMPLED_LIFETIME]

        first, start = sampled(algo.train()), time.perf_counter()
        while time.perf_counter() - start < seconds:
            last = sampled(algo.train())
        return (last - first) / (time.perf_counter() - start)
    finally:
        algo.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--learning-starts", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=1, help="the learner's torch threads")
    parser.add_argument("--rllib-runners", type=int, nargs="*", default=[1, 2])
    args = parser.parse_args()

    import ray
    from ray.cluster_utils import Cluster

    settings = dict(
        progress=False, tensorboard=False, plot_every=0, eval_every=0, checkpoint_minutes=0,
        save_replay=False, learning_starts=args.learning_starts, torch_threads=args.threads,
    )  # fmt: skip
    rows = [("single process", 0, timed_run(args.env, 0, args.seconds, settings))]
    print(f"{rows[0][0]}: {rows[0][2]}", flush=True)
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "node_ip_address": LOOPBACK}
    )
    for _ in range(2):
        cluster.add_node(num_cpus=2, node_ip_address=LOOPBACK)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        for n in args.actors:
            rate = timed_run(args.env, n, args.seconds, settings)
            rows.append((f"{n} actor(s), 2 worker nodes", n, rate))
            print(f"{rows[-1][0]}: {rows[-1][2]}", flush=True)
        rllib = {r: rllib_rate(args.env, r, args.seconds) for r in args.rllib_runners}
    finally:
        ray.shutdown()
        cluster.shutdown()
    alone = actor_alone(args.env, settings, steps=5_000)
    ms, per_update = update_ms(args.env, settings, args.threads)

    print(f"\n{args.env}, {args.seconds:.0f} s windows, learner {args.threads} thread(s)")
    print(f"{'arm':<30} {'env steps/s':>12} {'updates/s':>10}")
    for name, _, rate in rows:
        print(f"{name:<30} {rate['env_steps_s']:>12.0f} {rate['updates_s']:>10.1f}")
    for runners, rate in rllib.items():
        print(f"{f'RLlib DQN, {runners} env runner(s)':<30} {rate:>12.0f} {'':>10}")
    learner = per_update / (ms / 1e3)  # env steps/s the learner consumes at its replay ratio
    print(f"\none actor alone: {alone:.0f} env steps/s (1 thread, acting with its network)")
    print(f"one gradient step: {ms:.2f} ms ({per_update:g} env steps each at this replay ratio)")
    print(
        f"a learner on {args.threads} thread(s) consumes {learner:.0f} env steps/s: "
        f"{learner / alone:.1f} actors' worth"
    )


if __name__ == "__main__":
    main()
