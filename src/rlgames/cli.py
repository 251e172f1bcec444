"""The rlgames command: train, eval and play agents on pixel games and Gymnasium envs.

    rlgames train --env CartPole-v1 --agent dqn --steps 30000 --seed 0 --out runs/cp
    rlgames train --resume runs/cp                    # continue a run where it stopped
    rlgames eval --checkpoint runs/cp --episodes 100 --seeds 0-99
    rlgames play --checkpoint runs/cp --record cartpole.gif
    rlgames train --env ChromeDino-v0                 # the env's own agent, steps and settings
    rlgames eval --env ChromeDino-v0 --checkpoint pretrained --episodes 100 --seeds 0-99

``train`` takes every TrainConfig and AgentConfig field as an option (its docstring is the
help text). Precedence: the env's row in `rlgames.training.defaults.DEFAULTS`, then
``--config`` (a .json or .toml file of the same names, and ``agent`` and ``steps``), then
options on the command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import types
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gymnasium.error import Error as GymnasiumError

from rlgames.config import TrainConfig, field_docs, load_config_file


def _agent_config_cls() -> type:
    from rlgames.agents import AgentConfig

    return AgentConfig


def _option_kwargs(annotation: Any) -> dict[str, Any]:
    """argparse keywords for a dataclass field's type."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _option_kwargs(inner[0]) if len(inner) == 1 else {}
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin is tuple:
        return {"type": args[0], "nargs": "+"}
    if origin is dict or annotation is dict:
        return {"type": _json_object, "metavar": "JSON"}
    if annotation in (int, float, str):
        return {"type": annotation}
    return {}


def add_dataclass_options(parser: argparse.ArgumentParser, cls: type, title: str) -> None:
    """One ``--field-name`` option per dataclass field, documented by the field's docstring.

    Options default to "not given" so only what the user types overrides the lower layers.
    """
    group = parser.add_argument_group(title)
    docs, hints = field_docs(cls), typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        group.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            default=argparse.SUPPRESS,
            help=f"{docs.get(f.name, '')} (default: {default!r}, or the env's defaults row)",
            **_option_kwargs(hints[f.name]),
        )


def parse_seeds(text: str) -> list[int]:
    """'0-99' -> 0..99 inclusive; '1,5,9' -> [1, 5, 9]; '7' -> [7]."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, sep, hi = part.strip().partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if sep else [int(lo)]
    return seeds


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default unless it is None (then its help says what happens)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default is None:
            return action.help or ""
        return super()._get_help_string(action)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_number(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def _probability(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _seed_list(text: str) -> list[int]:
    try:
        seeds = parse_seeds(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not seeds like 0-99 or 1,5,9") from None
    if not seeds:
        raise argparse.ArgumentTypeError(f"{text!r} gives no seeds (a range is low-high)")
    return seeds


def _output_file(text: str) -> Path:
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; give a file name in it")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rlgames", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    fmt = _HelpFormatter

    t = sub.add_parser("train", help="train an agent (or resume a run)", formatter_class=fmt)
    t.add_argument("--env", help="Gymnasium env id, e.g. CartPole-v1, ALE/Breakout-v5")
    t.add_argument(
        "--agent", help="dqn, ddqn (double), dueling or rainbow (default: the env's, else dqn)"
    )
    t.add_argument(
        "--steps", type=_non_negative, help="total env steps of the run (default: the env's)"
    )
    t.add_argument("--seed", type=int, help="seeds torch, numpy, random and the envs (default 0)")
    t.add_argument("--out", type=Path, help="run directory (default runs/<env>-<agent>-<seed>)")
    t.add_argument(
        "--config", type=Path, help="a .json or .toml file of settings (and agent, steps)"
    )
    t.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue this run")
    add_dataclass_options(t, TrainConfig, "training loop (TrainConfig)")
    add_dataclass_options(t, _agent_config_cls(), "agent (AgentConfig)")

    checkpoint_help = (
        "checkpoint file, run directory, or 'pretrained' (the agent shipped for --env, "
        "default ChromeDino-v0; 'pretrained:state' for its state-vector agent; "
        "ALE/Breakout-v5 and SuperMarioBros-1-1-v0 have one too)"
    )
    e = sub.add_parser("eval", help="a checkpoint's play over seeded episodes", formatter_class=fmt)
    e.add_argument("--checkpoint", required=True, help=checkpoint_help)
    e.add_argument(
        "--episodes", type=_positive, help="episodes (default: number of seeds, else 10)"
    )
    e.add_argument("--env", help="env id (default: the checkpoint's)")
    e.add_argument("--seeds", type=_seed_list, help="reset seeds, e.g. 0-99 or 1,2,3")
    e.add_argument(
        "--max-steps", type=_positive, help="stop each episode after this (default: never)"
    )
    e.add_argument(
        "--max-score",
        type=_positive_number,
        help="stop a game once its score (the game's own, else its return) reaches this; it "
        "counts as this score (default: never)",
    )
    e.add_argument(
        "--n-envs",
        type=_positive,
        help="games played at once, acting as one batch (default: the cores, at most 8 and "
        "at most --episodes)",
    )
    e.add_argument(
        "--epsilon",
        type=_probability,
        default=0.0,
        help="play a random action with this probability, from a generator seeded by each "
        "episode's seed (default: 0, greedy; the Nature DQN evaluation used 0.05)",
    )
    e.add_argument("--env-kwargs", type=_json_object, help="env options over the checkpoint's")
    e.add_argument("--csv", type=_output_file, help="also write one row per episode here")

    p = sub.add_parser("play", help="one episode, optionally recorded", formatter_class=fmt)
    p.add_argument("--checkpoint", required=True, help=checkpoint_help)
    p.add_argument("--env", help="env id (default: the checkpoint's)")
    p.add_argument("--seed", type=int, default=0, help="reset seed of the episode")
    p.add_argument("--record", type=_output_file, help="write the raw frames to a .gif (or .mp4)")
    p.add_argument("--fps", type=_positive, default=30, help="frames per second of the recording")
    p.add_argument(
        "--epsilon",
        type=_probability,
        default=0.0,
        help="play a random action with this probability, as eval's --epsilon does: the "
        "episode eval plays on this seed (default: 0, greedy)",
    )
    p.add_argument(
        "--max-steps", type=_positive, default=10_000, help="stop the episode after this"
    )
    return parser


@contextmanager
def _settings_errors() -> Iterator[None]:
    """A TypeError while building from the user's settings (an unknown name, an env option
    the game does not take) is bad input: one line, like the ValueErrors."""
    try:
        yield
    except TypeError as error:
        raise ValueError(str(error)) from error


def cmd_train(args: argparse.Namespace) -> int:
    from rlgames.training import Trainer
    from rlgames.training.defaults import env_defaults

    reserved = {"command", "env", "agent", "steps", "seed", "out", "config", "resume"}
    options = {k: v for k, v in vars(args).items() if k not in reserved}
    settings = load_config_file(args.config) if args.config else {}
    # A config file may name the agent and the run length too; options on the line win.
    file_agent, file_steps = settings.pop("agent", None), settings.pop("steps", None)
    args.agent = file_agent if args.agent is None else args.agent
    args.steps = file_steps if args.steps is None else args.steps
    settings.update(options)
    if args.resume is not None:  # a config file's settings are judged like options
        with _settings_errors():
            trainer = Trainer.resume(
                args.resume, env_id=args.env, agent=args.agent, seed=args.seed, **settings
            )
        steps = None if args.steps is None else max(0, args.steps - trainer.step)
    else:
        if args.env is None:
            raise SystemExit("rlgames train: --env is required (or --resume RUN_DIR)")
        steps = args.steps if args.steps is not None else env_defaults(args.env).get("steps")
        if steps is None:
            raise SystemExit(f"rlgames train: --steps is required for {args.env} (no default)")
        seed = 0 if args.seed is None else args.seed
        with _settings_errors():
            trainer = Trainer(args.env, args.agent, out=args.out, seed=seed, **settings)
    try:
        trainer.train(steps)
    finally:
        trainer.close()
    last = trainer.logger.recent_return if trainer.logger else float("nan")
    print(
        f"run {trainer.out}: {trainer.step} steps, {trainer.episodes} episodes, "
        f"recent return {last:.2f}"
    )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import numpy as np

    from rlgames.training.evaluation import evaluate_episodes, load_agent
    from rlgames.training.logs import summary

    seeds = args.seeds if args.seeds is not None else list(range(args.episodes or 10))
    episodes = args.episodes or len(seeds)
    if episodes > len(seeds):
        raise SystemExit(
            f"rlgames eval: --episodes {episodes} needs as many seeds, --seeds gives {len(seeds)}"
        )
    env_kwargs = dict(args.env_kwargs or {})
    if args.max_steps is not None:
        env_kwargs["max_episode_steps"] = args.max_steps
    n_envs = min(args.n_envs or min(os.cpu_count() or 1, 8), episodes)
    with _settings_errors():
        agent, env, meta = load_agent(args.checkpoint, env_id=args.env, n_envs=n_envs, **env_kwargs)
    rows: dict[int, dict[str, float]] = {}
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        result = evaluate_episodes(
            agent,
            env,
            episodes,
            seeds,
            _episode_printer(rows),
            max_score=args.max_score,
            epsilon=args.epsilon,
        )
    finally:
        env.close()
    seconds = time.perf_counter() - start
    env_id = args.env or meta["env_id"]
    play = f"epsilon {args.epsilon:g}" if args.epsilon else "greedy"
    print(f"{env_id} {meta['agent']} step {meta['step']}: {episodes} episodes, {play}")
    for key in ("return", "score", "x_pos", "length"):
        if key in result:
            stats = summary(result[key])
            print(f"  {key:<7}" + "  ".join(f"{k} {v:.2f}" for k, v in stats.items()))
    if "flag_get" in result:  # Super Mario Bros
        flags = int(np.nansum(result["flag_get"]))
        print(f"  flag rate {flags / episodes:.2f} ({flags} of {episodes} reached the flag)")
    if args.max_score is not None:
        stopped = int(result["stopped"].sum())
        print(f"  {stopped} of {episodes} games reached --max-score {args.max_score:g}")
    steps = int(result["length"].sum())
    print(f"  {steps} steps in {seconds:.1f} s ({steps / seconds:.0f} steps/s, {n_envs} at once)")
    if args.csv is not None:
        _write_rows(args.csv, [rows[i] for i in sorted(rows)])
        print(f"wrote {len(rows)} rows to {args.csv}")
    return 0


def _episode_printer(rows: dict[int, dict[str, float]]) -> Any:
    """A callback for evaluate_episodes: keep each episode's row (by its index) and print it
    at once."""

    def show(i: int, row: dict[str, float]) -> None:
        rows[i] = row
        shown = "  ".join(f"{k} {v:g}" for k, v in row.items())
        print(f"  episode {i + 1}: {shown}", flush=True)

    return show


def _write_rows(path: Path, rows: list[dict[str, float]]) -> None:
    import csv

    from rlgames.fileio import atomic_write

    with atomic_write(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["seed"])
        writer.writeheader()
        writer.writerows(rows)


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, e.g. '{\"acceleration\": false}'")
    return value


def cmd_play(args: argparse.Namespace) -> int:
    from rlgames.training.evaluation import load_agent, play_episode

    suffix = args.record.suffix.lower() if args.record is not None else ".gif"
    if suffix not in RECORD_SUFFIXES:  # checked before playing, not after
        raise ValueError(
            f"--record {args.record}: name a {', '.join(RECORD_SUFFIXES)} file (GIF via Pillow, "
            "the others via the video extra: pip install 'rlgames[video]')"
        )
    if suffix != ".gif":
        from rlgames._deps import require

        require("video", "imageio")
    agent, env, meta = load_agent(args.checkpoint, env_id=args.env, render_mode="rgb_array")
    try:
        record = args.record is not None
        total, length, frames, _ = play_episode(
            agent, env, args.seed, args.max_steps, 0 if record else None, args.epsilon
        )
    finally:
        env.close()
    play = f", epsilon {args.epsilon:g}" if args.epsilon else ""
    print(f"{args.env or meta['env_id']}{play}: return {total:.2f} in {length} steps")
    if args.record is not None:
        save_frames(frames, args.record, args.fps)
        print(f"wrote {len(frames)} frames to {args.record}")
    return 0


RECORD_SUFFIXES = (".gif", ".mp4", ".webm", ".avi", ".mkv", ".mov")
"""Recording formats: GIF through Pillow, videos through imageio (the video extra)."""


def save_frames(frames: list[Any], path: Path, fps: int) -> None:
    """GIF via Pillow; .mp4 (or other video suffixes) via imageio when installed."""
    import numpy as np

    path.parent.mkdir(parents=True, exist_ok=True)
    frames = [np.asarray(f, dtype=np.uint8) for f in frames]
    if path.suffix.lower() == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in frames]
        duration = max(1, round(1000 / fps))
        images[0].save(path, save_all=True, append_images=images[1:], duration=duration, loop=0)
        return
    from rlgames._deps import require

    require("video", "imageio")
    import imageio.v2 as imageio

    imageio.mimwrite(path, frames, fps=fps)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``rlgames`` console script."""
    args = build_parser().parse_args(argv)
    commands = {"train": cmd_train, "eval": cmd_eval, "play": cmd_play}
    try:
        return commands[args.command](args)
    except KeyboardInterrupt as stop:  # Ctrl-C: train has checkpointed; say so, no traceback
        print(f"rlgames {args.command}: interrupted{': ' + str(stop) if str(stop) else ''}")
        return 130
    except (ValueError, OSError, GymnasiumError) as error:  # CheckpointError included
        if os.environ.get("RLGAMES_DEBUG"):
            raise
        # Bad input (a foreign checkpoint, a missing run, a refused option): one line, no trace.
        print(f"rlgames {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
