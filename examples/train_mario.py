"""Train Double DQN on Super Mario Bros with the PyTorch Mario tutorial's settings as defaults.

The tutorial ("Train a Mario-playing RL Agent", pytorch.org/tutorials) plays 1-1 with two
actions (right, right + A), skips 4 frames, grays, resizes to 84x84 and stacks 4 frames: that is
``rlgames.make_env("SuperMarioBros-1-1-v0")`` as it is. Its agent's settings are `TUTORIAL`
below; every one can be overridden on the command line:

    .venv/bin/python examples/train_mario.py --steps 20000            # a smoke run
    .venv/bin/python examples/train_mario.py --stage 1-2 --actions simple --n-envs 4

The run directory (default runs/mario-<world>-<stage>-seed<seed>) holds metrics.csv,
episodes.csv, curves.png, TensorBoard events and checkpoints; ``rlgames eval --checkpoint
RUN_DIR`` and ``rlgames play --checkpoint RUN_DIR --record mario.gif`` use them.
"""

from __future__ import annotations

import argparse
from typing import Any

import rlgames

#: The tutorial's MarioNet/Mario settings, named as rlgames' TrainConfig/AgentConfig fields.
TUTORIAL: dict[str, Any] = {
    "lr": 0.00025,  # Adam learning rate
    "gamma": 0.9,  # discount
    "batch_size": 32,
    "buffer_size": 100_000,  # replay capacity (transitions)
    "learning_starts": 10_000,  # "burnin": env steps before the first update
    "train_freq": 3,  # "learn_every": env steps between updates
    "gradient_steps": 1,
    "target_update": 3_333,  # "sync_every" 10,000 env steps = 3,333 updates at train_freq 3
    "loss": "huber",  # SmoothL1Loss
    "grad_clip": 0.0,  # the tutorial does not clip gradients
    "epsilon_start": 1.0,
    "epsilon_end": 0.1,
    # The tutorial multiplies epsilon by 0.99999975 per step: 0.1 after ~9.2 M steps. rlgames'
    # schedule is linear; it reaches 0.1 at the same step, but higher in between.
    "epsilon_decay_steps": 9_210_000,
    "checkpoint_every": 500_000,  # "save_every"
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="1-1", help='world-stage, e.g. "1-1", or "all"')
    parser.add_argument("--actions", default="right_only", help="right_only, simple or complex")
    parser.add_argument("--agent", default="ddqn", help="ddqn (the tutorial's), dqn or dueling")
    parser.add_argument("--steps", type=int, default=1_000_000, help="env steps (4 frames each)")
    parser.add_argument("--seed", type=int, default=0, help="seeds torch, numpy and the envs")
    parser.add_argument("--n-envs", type=int, default=1, help="parallel emulators (processes)")
    parser.add_argument("--out", help="run directory (default runs/mario-<stage>-seed<seed>)")
    for name, value in TUTORIAL.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    env_id = (
        "rlgames/SuperMarioBros-v0"
        if args.stage == "all"
        else f"rlgames/SuperMarioBros-{args.stage}-v0"
    )
    settings = {name: getattr(args, name) for name in TUTORIAL}
    if args.n_envs > 1:
        settings.update(n_envs=args.n_envs, vectorization_mode="async")
    trainer = rlgames.train(
        env_id,
        agent=args.agent,
        steps=args.steps,
        seed=args.seed,
        out=args.out or f"runs/mario-{args.stage}-seed{args.seed}",
        env_kwargs={"actions": args.actions},
        **settings,
    )
    print(f"done: {trainer.step} env steps, {trainer.episodes} episodes, run in {trainer.out}")
    if trainer.last_eval is not None:
        print(f"last greedy evaluation: {trainer.last_eval}")


if __name__ == "__main__":
    main()
