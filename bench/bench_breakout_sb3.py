"""Breakout peer run: Stable-Baselines3's DQN with the rl-zoo Atari settings, for the same
wall-clock as one snapshot of an rlgames run, then both evaluated the same way.

    .venv/bin/python bench/bench_breakout_sb3.py --run /root/rlgames-runs/breakout \\
        --snapshot 300000 --out /root/rlgames-runs/sb3

`--run` is a finished `rlgames train --env ALE/Breakout-v5` run whose defaults keep a
weights-only snapshot every 50k steps (checkpoints/step-<N>.ckpt). When the snapshots are
gone but the logs are kept, `--snapshot-file` names the weights of step `--snapshot`; the
shipped agent is the committed run's step 450k:

    .venv/bin/python bench/bench_breakout_sb3.py --run docs/results/breakout-run \\
        --snapshot 450000 --snapshot-file pretrained --out /root/rlgames-runs/sb3

The snapshot's wall
seconds (metrics.csv, the run's in-training evaluations included) become SB3's budget: SB3
trains on the same env and preprocessing rlgames trains on (`rlgames.make_env`: 84x84 gray,
4 stacked, frame skip 4 max-pooled, no-op starts, FIRE on reset and after a lost life,
`ALE/Breakout-v5`'s sticky actions 0.25, a lost life ends the episode, rewards clipped: what the
zoo's AtariWrapper does) with the zoo's `dqn.yml` Atari values: buffer 100k, lr 1e-4,
batch 32, learning from 100k steps, a target copy every 1,000 steps, train_freq 4, ε to 0.01
over the first 10 % of the run. The zoo's run is 10M steps; a shorter one is given its length
(`train.py -n`), so `--sb3-steps` (the steps SB3 reaches in the budget on this machine, a
first guess that the run's end reports) sets where ε's 10 % falls. Training stops at the
budget. Run nothing else meanwhile.

Then up to four greedy evaluations, each 30 whole games (all 5 lives, unclipped, seeds 0-29
unless --seeds), played two at a time: rlgames at the snapshot and SB3 at the budget (equal
wall-clock); SB3 at the snapshot's step (kept in memory when it passed it) and rlgames'
snapshot nearest SB3's last step, unless that is the first (equal steps). Prints a table and
writes sb3.csv (one row per game) and summary.json into --out. SB3 weights stay in memory:
nothing is written that a loader would have to unpickle.
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from bench_breakout_ab import seconds_at

import rlgames
from rlgames.training.evaluation import evaluate_episodes, load_agent, resolve_checkpoint
from rlgames.training.logs import summary

ENV_ID = "ALE/Breakout-v5"
ZOO = {  # rl-baselines3-zoo hyperparams/dqn.yml, atari
    "buffer_size": 100_000,
    "learning_rate": 1e-4,
    "batch_size": 32,
    "learning_starts": 100_000,
    "target_update_interval": 1_000,
    "train_freq": 4,
    "gradient_steps": 1,
    "exploration_fraction": 0.1,
    "exploration_final_eps": 0.01,
    "optimize_memory_usage": False,
}


def snapshots(run: Path, step: int, snapshot_file: str | None) -> dict[int, Path]:
    """The run's weights by step: its step-<N>.ckpt files, or `snapshot_file` alone as `step`."""
    if snapshot_file is not None:
        return {step: resolve_checkpoint(snapshot_file, ENV_ID)}
    found = {int(p.stem.split("-")[1]): p for p in (run / "checkpoints").glob("step-*.ckpt")}
    if not found:
        raise SystemExit(
            f"{run}/checkpoints has no step-<N>.ckpt snapshots (snapshot_every): pass "
            "--snapshot-file with the weights of --snapshot"
        )
    if step not in found:
        raise SystemExit(f"no step-{step}.ckpt; snapshots: {sorted(found)}")
    return found


class Greedy:
    """An SB3 policy behind the `act(obs, epsilon)` that `evaluate_episodes` calls."""

    def __init__(self, policy) -> None:
        self.policy = policy

    def act(self, obs: np.ndarray, epsilon: float = 0.0) -> np.ndarray:
        return self.policy.predict(obs, deterministic=True)[0]


def train_sb3(budget_s: float, steps: int, keep_step: int, threads: int, seed: int):
    """SB3's DQN trained for `budget_s` wall seconds; returns (model, last step, seconds,
    weights at `keep_step` or None)."""
    from stable_baselines3 import DQN
    from stable_baselines3.common.callbacks import BaseCallback

    torch.set_num_threads(threads)
    env = rlgames.make_env(ENV_ID, episodic_life=True, clip_reward=True, seed=seed)
    model = DQN("CnnPolicy", env, seed=seed, verbose=0, device="cpu", **ZOO)

    class Budget(BaseCallback):
        kept: dict | None = None

        def _on_training_start(self) -> None:
            self.start = time.perf_counter()

        def _on_step(self) -> bool:
            if self.num_timesteps == keep_step:
                self.kept = copy.deepcopy(self.model.policy.state_dict())
            if self.num_timesteps % 50_000 == 0:
                minutes = (time.perf_counter() - self.start) / 60
                print(f"sb3: {self.num_timesteps} steps, {minutes:.1f} min", flush=True)
            return time.perf_counter() - self.start < budget_s

    budget = Budget()
    start = time.perf_counter()
    model.learn(total_timesteps=steps, callback=budget, progress_bar=False)
    seconds = time.perf_counter() - start
    env.close()
    return model, model.num_timesteps, seconds, budget.kept


def evaluate(agent, seeds: list[int], n_envs: int) -> np.ndarray:
    envs = rlgames.make_env(ENV_ID, n_envs=n_envs, autoreset_mode=gym.vector.AutoresetMode.DISABLED)
    try:
        return evaluate_episodes(agent, envs, len(seeds), seeds)["return"]
    finally:
        envs.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="the rlgames run directory")
    parser.add_argument("--snapshot", type=int, required=True, help="its step-<N>.ckpt to match")
    parser.add_argument(
        "--snapshot-file", help="the weights of --snapshot when the run kept no snapshots"
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sb3-steps", type=int, default=400_000, help="SB3's run length")
    parser.add_argument("--seeds", default="0-29")
    parser.add_argument(
        "--budget-minutes", type=float, help="SB3's budget (default: the snapshot's wall-clock)"
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = list(range(int(first), int(last or first) + 1))
    found = snapshots(args.run, args.snapshot, args.snapshot_file)
    snapshot_s = seconds_at(args.run, args.snapshot)
    budget_s = snapshot_s if args.budget_minutes is None else 60 * args.budget_minutes
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"rlgames step {args.snapshot}: SB3 gets {budget_s / 60:.1f} min")

    model, sb3_step, sb3_s, kept = train_sb3(
        budget_s, args.sb3_steps, args.snapshot, args.threads, args.seed
    )
    print(f"sb3: {sb3_step} steps in {sb3_s / 60:.1f} min ({sb3_step / sb3_s:.1f} steps/s)")
    nearest = min(found, key=lambda s: abs(s - sb3_step))
    arms = [  # (name, step, minutes, agent)
        ("rlgames", args.snapshot, snapshot_s / 60, found[args.snapshot]),
        ("sb3", sb3_step, sb3_s / 60, Greedy(model.policy)),
    ]
    if nearest != args.snapshot:
        arms.append(("rlgames", nearest, seconds_at(args.run, nearest) / 60, found[nearest]))
    if kept is not None:
        at_snapshot = copy.deepcopy(model.policy)  # not the model: its replay is ~5.6 GB
        at_snapshot.load_state_dict(kept)
        arms.append(("sb3", args.snapshot, float("nan"), Greedy(at_snapshot)))
    rows, per_game = [], []
    for name, step, minutes, agent in arms:
        if isinstance(agent, Path):
            agent, env, _ = load_agent(agent)
            env.close()
        scores = evaluate(agent, seeds, n_envs=min(2, len(seeds)))
        row = {"agent": name, "step": step, "minutes": round(minutes, 1), **summary(scores)}
        rows.append(row)
        per_game += [{"agent": name, "step": step, "seed": s, "score": float(v)}
                     for s, v in zip(seeds, scores, strict=True)]  # fmt: skip
        print(
            f"{name:<8} step {step:>7} minute {minutes:>6.1f}  mean {row['mean']:6.1f} ± "
            f"{row['std']:5.1f}  min {row['min']:4.0f}  median {row['median']:5.1f}  "
            f"max {row['max']:4.0f}",
            flush=True,
        )
    with (args.out / "sb3.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["agent", "step", "seed", "score"])
        writer.writeheader()
        writer.writerows(per_game)
    doc = {"budget_s": budget_s, "sb3_steps_per_s": sb3_step / sb3_s, "arms": rows}
    (args.out / "summary.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {args.out / 'sb3.csv'} and {args.out / 'summary.json'}")


if __name__ == "__main__":
    main()
