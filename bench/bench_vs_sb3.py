"""Training steps/s of rlgames and Stable-Baselines3 DQN, side by side, same hyperparameters.

Both run in this process, one after the other, with the same torch thread count, the same
env and the same settings (CartPole: the SB3 zoo's tuned DQN, so 1-step returns and a
constant learning rate, not rlgames' own CartPole defaults; Breakout: Nature CNN, batch 32,
train_freq 4, no life-loss episodes or reward clipping on either side). Both also run with
glibc keeping freed memory (`rlgames.training.malloc`, the Trainer's default, which is process-wide;
`--default-malloc` leaves glibc's defaults for both). The figure is env steps / wall seconds
of `learn` / `train`, progress bars off. Needs the bench extra
(`pip install "rlgames[bench,atari]"`).

    .venv/bin/python bench/bench_vs_sb3.py cartpole --steps 50000
    .venv/bin/python bench/bench_vs_sb3.py breakout --steps 6000 --threads 2
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import torch

import rlgames
from rlgames.training import Trainer
from rlgames.training.malloc import keep_freed_memory

# game: (env id, shared settings, SB3-only settings, rlgames-only settings)
CASES = {
    "cartpole": (
        "CartPole-v1",
        {"lr": 2.3e-3, "batch_size": 64, "buffer_size": 100_000, "learning_starts": 1_000,
         "gamma": 0.99, "train_freq": 256, "gradient_steps": 128},
        {"policy": "MlpPolicy", "target_update_interval": 10, "exploration_fraction": 0.16,
         "exploration_final_eps": 0.04, "policy_kwargs": {"net_arch": [256, 256]}},
        {"hidden": (256, 256), "target_update": 128, "epsilon_end": 0.04,
         "epsilon_decay_steps": 8_000, "n_step": 1, "lr_end": None},
    ),
    "breakout": (
        "ALE/Breakout-v5",
        {"lr": 1e-4, "batch_size": 32, "buffer_size": 50_000, "learning_starts": 1_000,
         "gamma": 0.99, "train_freq": 4, "gradient_steps": 1},
        {"policy": "CnnPolicy", "target_update_interval": 1_000, "exploration_fraction": 0.1,
         "exploration_final_eps": 0.01},
        {"target_update": 250, "epsilon_end": 0.01, "episodic_life": False,
         "clip_reward": False},
    ),
}  # fmt: skip


def bench_sb3(env_id: str, shared: dict, extra: dict, steps: int, seed: int) -> float:
    from stable_baselines3 import DQN

    env = rlgames.make_env(env_id, seed=seed)
    s = dict(shared)
    s["learning_rate"] = s.pop("lr")
    extra = dict(extra)
    if "exploration_fraction" in extra:
        extra["exploration_fraction"] = min(1.0, 8_000 / steps) if env_id == "CartPole-v1" else 0.1
    model = DQN(env=env, seed=seed, verbose=0, device="cpu", **s, **extra)
    start = time.perf_counter()
    model.learn(total_timesteps=steps, progress_bar=False)
    rate = steps / (time.perf_counter() - start)
    env.close()
    return rate


def bench_rlgames(
    env_id: str, shared: dict, extra: dict, steps: int, seed: int, keep_memory: bool = True
) -> float:
    out = tempfile.mkdtemp(prefix="rlgames-bench-")
    settings = {**shared, **extra, "keep_freed_memory": keep_memory}
    settings["torch_threads"] = torch.get_num_threads()  # not the env's default: as SB3 runs
    if env_id != "CartPole-v1":
        settings["epsilon_decay_steps"] = steps // 10
    trainer = Trainer(
        env_id, "dqn", out=out, seed=seed, progress=False, tensorboard=False, plot_every=0,
        device="cpu", save_replay=False, **settings,
    )  # fmt: skip
    start = time.perf_counter()
    trainer.train(steps)
    rate = steps / (time.perf_counter() - start)
    trainer.close()
    shutil.rmtree(out, ignore_errors=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("game", choices=sorted(CASES))
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="alternate runs of each")
    parser.add_argument(
        "--default-malloc", action="store_true", help="leave glibc's malloc settings for both"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_memory = not args.default_malloc and keep_freed_memory()
    env_id, shared, sb3_extra, ours_extra = CASES[args.game]
    print(f"{env_id}: {args.steps} steps, {args.threads} torch threads, settings {shared}")
    print(f"  glibc keeps freed memory (both): {keep_memory}")
    for r in range(args.repeats):
        sb3 = bench_sb3(env_id, shared, sb3_extra, args.steps, args.seed + r)
        print(f"  stable-baselines3 DQN: {sb3:8.1f} steps/s", flush=True)
        ours = bench_rlgames(env_id, shared, ours_extra, args.steps, args.seed + r, keep_memory)
        print(f"  rlgames DQN:           {ours:8.1f} steps/s  ({ours / sb3:.2f}x SB3)", flush=True)


if __name__ == "__main__":
    main()
