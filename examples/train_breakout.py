"""Train the shipped Breakout agent's run: dueling double DQN with prioritized replay and 3-step
returns on 84x84 gray 4-frame stacks, 600,000 env steps (~2 hours on 2 CPU cores).

    .venv/bin/python examples/train_breakout.py                 # the shipped agent's run
    .venv/bin/python examples/train_breakout.py --steps 100000  # a first look (~16 minutes)
    .venv/bin/python examples/train_breakout.py                 # again: resumes where it stopped

Needs the atari extra (`pip install "rlgames[atari]"`). The settings are the env's defaults
row (`rlgames.training.defaults.DEFAULTS["ALE/Breakout-v5"]`), the same as
`rlgames train --env ALE/Breakout-v5`; docs/results/breakout.md has what the run reaches and
when. Training ends episodes at each lost life and clips rewards; the greedy evaluations every
50k steps play whole games with real scores (evals.csv, curves.png), and a weights-only
snapshot of each is kept (checkpoints/step-<N>.ckpt). The run checkpoints every 10 minutes;
running the script again continues it exactly. A GPU is used when present.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rlgames.training import Trainer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=None, help="total env steps (default 600k)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("runs/ALE-Breakout-v5-dueling-0"))
    args = parser.parse_args()

    if (args.out / "config.json").exists():
        trainer = Trainer.resume(args.out)
        print(f"resuming {args.out} at step {trainer.step}")
    else:
        trainer = Trainer("ALE/Breakout-v5", out=args.out, seed=args.seed)
    total = args.steps if args.steps is not None else trainer.total_steps or trainer.settings.steps
    try:
        trainer.train(max(0, total - trainer.step))
    finally:
        trainer.close()
    print(f"{trainer.step} steps, {trainer.episodes} episodes; last eval {trainer.last_eval}")
    print(f"watch it: rlgames play --checkpoint {args.out} --record breakout.gif")


if __name__ == "__main__":
    main()
