"""Train an agent on Super Mario Bros: rlgames' own Mario settings, or the PyTorch tutorial's.

Without options this is ``rlgames train --env SuperMarioBros-1-1-v0``: the Mario row of
`rlgames.training.defaults` (dueling double DQN, prioritized replay, 3-step returns, the
two running actions, two emulators, 110 minutes; docs/results/mario.md). ``--tutorial`` takes
the PyTorch Mario tutorial's settings instead, from examples/configs/mario_tutorial.toml
(Double DQN, gamma 0.9, its epsilon schedule). Any setting can be changed with ``--set``:

    .venv/bin/python examples/train_mario.py --max-minutes 5             # a smoke run
    .venv/bin/python examples/train_mario.py --tutorial --out runs/mario-tutorial
    .venv/bin/python examples/train_mario.py --stage 1-2 --set n_envs=4 --set lr=1e-4

The run directory (default runs/mario-<stage>-seed<seed>) holds metrics.csv, episodes.csv
(with each episode's final x_pos and flag), evals.csv, curves.png and checkpoints;
``rlgames eval --checkpoint RUN_DIR`` and ``rlgames play --checkpoint RUN_DIR --record
mario.gif`` use them, and ``rlgames train --resume RUN_DIR`` continues it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import rlgames
from rlgames.config import load_config_file

TUTORIAL_CONFIG = Path(__file__).parent / "configs" / "mario_tutorial.toml"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="1-1", help='world-stage, e.g. "1-1", or "all"')
    parser.add_argument("--tutorial", action="store_true", help="the PyTorch tutorial's settings")
    parser.add_argument("--steps", type=int, help="env steps (default: the settings')")
    parser.add_argument("--max-minutes", type=float, help="stop after this many minutes")
    parser.add_argument("--seed", type=int, default=0, help="seeds torch, numpy and the envs")
    parser.add_argument("--out", help="run directory (default runs/mario-<stage>-seed<seed>)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="NAME=VALUE",
        help="any TrainConfig/AgentConfig setting, the value read as JSON (repeatable)",
    )  # fmt: skip
    return parser.parse_args()


def settings_of(args: argparse.Namespace) -> dict[str, Any]:
    """The tutorial's file (or nothing: the env's row), then --max-minutes and --set."""
    settings = load_config_file(TUTORIAL_CONFIG) if args.tutorial else {}
    if args.max_minutes is not None:
        settings["max_minutes"] = args.max_minutes
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set takes NAME=VALUE, got {item!r}")
        try:
            settings[name.strip()] = json.loads(value)
        except json.JSONDecodeError:
            settings[name.strip()] = value  # a bare word such as dueling
    return settings


def main() -> None:
    args = parse_args()
    stage = "" if args.stage == "all" else f"-{args.stage}"
    settings = settings_of(args)
    agent, file_steps = settings.pop("agent", None), settings.pop("steps", None)
    steps = args.steps if args.steps is not None else file_steps
    trainer = rlgames.train(
        f"rlgames/SuperMarioBros{stage}-v0",
        agent=agent,
        steps=steps,
        seed=args.seed,
        out=args.out or f"runs/mario-{args.stage}-seed{args.seed}",
        **settings,
    )
    print(f"done: {trainer.step} env steps, {trainer.episodes} episodes, run in {trainer.out}")
    if trainer.last_eval is not None:
        print(f"last greedy evaluation: {trainer.last_eval}")


if __name__ == "__main__":
    main()
