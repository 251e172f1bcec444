"""The agents shipped in the package: they load by name, fit today's env and still play well.

They are the files of docs/results/dino.md, breakout.md and mario.md; a change to the envs'
observations (grayscale, resize, frame timing) that the agents would no longer recognise
fails here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from PIL import Image

from markdown_code import ROOT, python_blocks
from rlgames.training.evaluation import PRETRAINED, load_agent, pretrained_path

MARIO_SEED_0_PAST = 1_500


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_each_shipped_agent_is_in_the_package_and_small(name):
    path = pretrained_path(name)
    assert path.stat().st_size < 10 * 2**20


@pytest.mark.atari
def test_the_shipped_breakout_agent_outscores_random_play_on_seed_0():
    # Seed 0's whole game: see docs/results/breakout.md. Random play scores 0-3 in a game of
    # 5 lives; 2,000 steps hold ~10 lives' worth of random play.
    agent, env, meta = load_agent("pretrained", "ALE/Breakout-v5", max_episode_steps=2000)
    scores = {}
    try:
        for name in ("agent", "random"):
            obs, _ = env.reset(seed=0)
            env.action_space.seed(0)
            total, ended = 0.0, False
            while not ended:
                action = (
                    agent.act(obs, epsilon=0.0) if name == "agent" else env.action_space.sample()
                )
                obs, reward, terminated, truncated, _ = env.step(action)
                total, ended = total + reward, terminated or truncated
            scores[name] = total
    finally:
        env.close()
    assert meta["export"]["policy_only"] and meta["env_id"] == "ALE/Breakout-v5"
    assert scores["agent"] >= 10 > scores["random"], scores


@pytest.mark.mario
def test_the_shipped_mario_agent_gets_past_the_first_two_pits_of_seed_0():
    # Seed 0's greedy episode reaches x 1,957 (docs/results/mario-eval.csv); past x 1,500 is
    # past 1-1's first two pits. Random play on these two actions ends at a mean x of ~840.
    agent, env, meta = load_agent("pretrained", "SuperMarioBros-1-1-v0", max_episode_steps=400)
    try:
        obs, _ = env.reset(seed=0)
        ended, info = False, {}
        while not ended:
            obs, _, terminated, truncated, info = env.step(agent.act(obs, epsilon=0.0))
            ended = terminated or truncated
    finally:
        env.close()
    assert meta["export"]["policy_only"] and meta["env_id"] == "SuperMarioBros-1-1-v0"
    assert info["x_pos"] > MARIO_SEED_0_PAST, info


@pytest.mark.dino
@pytest.mark.parametrize(("variant", "steps"), [("", 1500), (":state", 1000)])
def test_the_shipped_agents_clear_the_start_of_seed_0(variant, steps):
    # 1,000 steps reach a score of about 800, 1,500 about 1,250: past the first birds (from
    # about 450). A random or broken agent crashes within the first 100 steps. (Seed 0's whole
    # games: 3,559 steps for the pixel agent, 1,157 for the state agent; docs/results.)
    agent, env, meta = load_agent("pretrained" + variant, max_episode_steps=steps)
    try:
        obs, _ = env.reset(seed=0)
        played, terminated, truncated = 0, False, False
        while not (terminated or truncated):
            obs, _, terminated, truncated, info = env.step(agent.act(obs, epsilon=0.0))
            played += 1
    finally:
        env.close()
    assert meta["export"]["policy_only"] and meta["env_id"] == "ChromeDino-v0"
    assert played == steps and truncated and not terminated, f"crashed at {info['score']}"


@pytest.mark.dino
def test_demo_prints_each_games_score_and_writes_the_gif_and_the_plot(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rlgames.demo", "--seeds", "3,4", "--max-steps", "300",
         "--gif-steps", "40", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "seed   3: score" in done.stdout and "seed   4: score" in done.stdout
    with Image.open(tmp_path / "best.gif") as gif:
        assert gif.n_frames == 41 and gif.size == (552, 150)  # the whole canvas, 40 steps on
    with Image.open(tmp_path / "scores.png") as plot:
        assert plot.width > plot.height


@pytest.mark.dino
def test_the_dino_docs_example_of_the_shipped_agent_runs_as_written(capsys):
    (block,) = [b for b in python_blocks(ROOT / "docs" / "dino.md") if "pretrained" in b]
    exec(compile(block, "docs/dino.md:pretrained", "exec"), {})  # noqa: S102
    assert int(capsys.readouterr().out.split()[-1]) > 0
