"""Train DQN on CartPole-v1 with the package defaults, then evaluate the greedy policy.

    .venv/bin/python examples/train_cartpole.py            # ~1-2 minutes on 2 CPU cores
    .venv/bin/python examples/train_cartpole.py --agent dueling --seed 3

The run directory (config, CSV logs, curves.png, checkpoints) is runs/cartpole-<agent>-<seed>;
running again continues that run up to --steps. `rlgames play --checkpoint <run dir> --record
cartpole.gif` shows the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rlgames.training import Trainer, evaluate, load_agent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agent", default="dqn", choices=["dqn", "ddqn", "dueling"])
    parser.add_argument("--steps", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    out = Path(f"runs/cartpole-{args.agent}-{args.seed}")
    if (out / "config.json").exists():  # run again: continue that run up to --steps
        trainer = Trainer.resume(out)
        print(f"resuming {out} at step {trainer.step}")
    else:
        trainer = Trainer(
            "CartPole-v1", agent=args.agent, out=out, seed=args.seed,
            eval_every=10_000, eval_episodes=10,
        )  # fmt: skip
    try:
        trainer.train(max(0, args.steps - trainer.step))
    finally:
        trainer.close()
    print(f"trained {trainer.step} steps ({trainer.episodes} episodes)")
    if trainer.last_eval is not None:
        print(f"last greedy evaluation {trainer.last_eval}; all of them in {out}/evals.csv")

    agent, env, _ = load_agent(out)
    returns = evaluate(agent, env, episodes=20, seeds=range(10_000, 10_020))
    env.close()
    print(f"greedy return over 20 episodes: mean {returns.mean():.1f}, min {returns.min():.0f}")


if __name__ == "__main__":
    main()
