"""Train DQN on CartPole-v1 with the package defaults, then evaluate the greedy policy.

    .venv/bin/python examples/train_cartpole.py            # ~1-2 minutes on 2 CPU cores
    .venv/bin/python examples/train_cartpole.py --agent dueling --seed 3

The run directory (config, CSV logs, curves.png, checkpoints) is runs/cartpole-<agent>-<seed>;
`rlgames play --checkpoint <run dir> --record cartpole.gif` shows the result.
"""

from __future__ import annotations

import argparse

import rlgames
from rlgames.training import evaluate, load_agent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agent", default="dqn", choices=["dqn", "ddqn", "dueling"])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    out = f"runs/cartpole-{args.agent}-{args.seed}"
    trainer = rlgames.train(
        "CartPole-v1", agent=args.agent, steps=args.steps, seed=args.seed, out=out,
        eval_every=10_000, eval_episodes=10,
    )  # fmt: skip
    print(f"trained {trainer.step} steps ({trainer.episodes} episodes); evals in {out}/evals.csv")

    agent, env, _ = load_agent(out)
    returns = evaluate(agent, env, episodes=20, seeds=range(10_000, 10_020))
    env.close()
    print(f"greedy return over 20 episodes: mean {returns.mean():.1f}, min {returns.min():.0f}")


if __name__ == "__main__":
    main()
