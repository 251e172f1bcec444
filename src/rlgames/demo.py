"""The shipped Chrome Dino agent plays a few seeded games of the real chrome://dino, headless.

What ``make demo`` runs after setting up::

    python -m rlgames.demo                       # seeds 0-4, files under runs/demo/
    python -m rlgames.demo --seeds 0-9 --checkpoint runs/my-dino

Prints each game's score, then writes ``best.gif`` (the end of the best game, where the game
is fastest, replayed: a seed gives the same game) and ``scores.png`` (each game's score beside
the published figures) into ``--out``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rlgames.fileio import atomic_write

#: Published Chrome Dino results from pixels at normal rules (docs/results/dino.md).
PUBLISHED = {"Zheng 2019, mean": 1_050, "CS229 report, mean": 1_216}


def plot_scores(seeds: list[int], scores: list[int], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.6), tight_layout=True)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.bar([str(s) for s in seeds], scores, color="#4a7ab5", label="this agent")
    for (name, value), style in zip(PUBLISHED.items(), ("--", ":")):
        ax.axhline(value, color="#b5544a", ls=style, lw=1.2, label=name)
    ax.set_xlabel("seed")
    ax.set_ylabel("score")
    ax.set_title("ChromeDino-v0, normal rules, greedy play")
    ax.legend(loc="best", fontsize=8)
    with atomic_write(path, "wb") as f:
        fig.savefig(f, format="png", dpi=90)


def main(argv: list[str] | None = None) -> int:
    from rlgames.cli import parse_seeds, save_frames
    from rlgames.training.evaluation import load_agent, play_episode

    parser = argparse.ArgumentParser(prog="python -m rlgames.demo", description=__doc__)
    parser.add_argument("--checkpoint", default="pretrained", help="default: the shipped agent")
    parser.add_argument("--seeds", type=parse_seeds, default=list(range(5)), help="e.g. 0-4")
    parser.add_argument("--out", type=Path, default=Path("runs/demo"))
    parser.add_argument("--max-steps", type=int, default=20_000, help="end a game after this")
    parser.add_argument("--gif-steps", type=int, default=300, help="last steps of the GIF")
    args = parser.parse_args(argv)

    agent, env, meta = load_agent(args.checkpoint, env_id="ChromeDino-v0", render_mode="rgb_array")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"ChromeDino-v0: {meta['agent']} agent trained for {meta['step']:,} steps")
    scores, lengths = [], []
    try:
        for seed in args.seeds:
            start = time.perf_counter()
            _, steps, _, info = play_episode(agent, env, seed, args.max_steps)
            score = int(info["score"])
            seconds = time.perf_counter() - start
            capped = "  (stopped: --max-steps)" if steps >= args.max_steps else ""
            print(
                f"seed {seed:3d}: score {score:6,d} in {steps:6,d} steps, "
                f"{seconds:5.1f} s ({steps / seconds:.0f} steps/s){capped}",
                flush=True,
            )
            scores.append(score)
            lengths.append(steps)
        best = max(range(len(scores)), key=scores.__getitem__)
        record_from = max(0, lengths[best] - args.gif_steps)
        _, _, frames, info = play_episode(agent, env, args.seeds[best], args.max_steps, record_from)
        score = int(info["score"])
    finally:
        env.close()
    if score != scores[best]:  # the game is deterministic: a replay must score the same
        raise RuntimeError(f"replaying seed {args.seeds[best]} scored {score}, not {scores[best]}")
    gif = args.out / "best.gif"
    save_frames(frames, gif, fps=15)  # 15 agent steps/s: the game's real speed at frame_skip 4
    plot_scores(args.seeds, scores, args.out / "scores.png")
    mean = sum(scores) / len(scores)
    print(f"mean score {mean:,.0f}, best {scores[best]:,} (seed {args.seeds[best]})")
    print(f"wrote {gif} (the last {len(frames)} frames of the best game) and {args.out}/scores.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
