"""Train a Dueling Double DQN on Atari Breakout from pixels (84x84 gray, 4-frame stacks).

    .venv/bin/python examples/train_breakout.py --steps 2000000
    .venv/bin/python examples/train_breakout.py --steps 5000000   # re-run: resumes the run

Needs the atari extra (`pip install "rlgames[atari]"`). On 2 CPU cores the loop runs at a
few hundred env steps/s, so millions of steps take many hours: the run checkpoints every
50,000 steps and running the script again continues it exactly where it stopped. A GPU is
used when present. Training ends episodes at each lost life and clips rewards; the periodic
greedy evaluation plays whole games with real scores (evals.csv, curves.png).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rlgames.training import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2_000_000, help="total env steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/breakout-dueling"))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = parser.parse_args()

    if (args.out / "config.json").exists():
        trainer = Trainer.resume(args.out)
        print(f"resuming {args.out} at step {trainer.step}")
    else:
        trainer = Trainer(
            "ALE/Breakout-v5",  # defaults: rlgames.training.defaults.DEFAULTS["atari"]
            agent="dueling",
            out=args.out,
            seed=args.seed,
            eval_every=100_000,
            eval_episodes=5,
            checkpoint_every=50_000,
            torch_threads=args.threads,
        )
    try:
        trainer.train(max(0, args.steps - trainer.step))
    finally:
        trainer.close()
    print(f"{trainer.step} steps, {trainer.episodes} episodes; last eval {trainer.last_eval}")


if __name__ == "__main__":
    main()
