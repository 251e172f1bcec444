"""Play a few Chrome Dino episodes with random actions and print their scores.

The real chrome://dino runs in headless Chromium; the game advances only when the env steps,
so a random agent plays as fast as the page draws, and `--seed` replays the same episodes.

    python examples/dino_random.py --episodes 5 --seed 0
    python examples/dino_random.py --no-acceleration --no-birds   # the seeds' simplified rules
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import rlgames  # noqa: F401 - registers ChromeDino-v0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jump-prob", type=float, default=0.1, help="chance of jump per step")
    parser.add_argument("--no-acceleration", action="store_true", help="constant speed 6")
    parser.add_argument("--no-birds", action="store_true", help="cacti only")
    args = parser.parse_args()

    env = gym.make(
        "ChromeDino-v0",
        obs_type="grayscale",
        acceleration=not args.no_acceleration,
        birds=not args.no_birds,
    )
    rng = np.random.default_rng(args.seed)
    p_run = 1 - args.jump_prob - 0.02
    try:
        env.reset(seed=args.seed)
        for episode in range(args.episodes):
            start, steps, total, done = time.perf_counter(), 0, 0.0, False
            while not done:
                action = rng.choice(3, p=[p_run, args.jump_prob, 0.02])
                _, reward, terminated, truncated, info = env.step(action)
                steps, total, done = steps + 1, total + reward, terminated or truncated
            rate = steps / (time.perf_counter() - start)
            print(
                f"episode {episode}: score {info['score']:5d}  high score {info['high_score']:5d}"
                f"  steps {steps:5d}  return {total:7.2f}  ({rate:.0f} steps/s)"
            )
            env.reset()
    finally:
        env.close()


if __name__ == "__main__":
    main()
