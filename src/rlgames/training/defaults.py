"""Where each env's run starts: one row per env id, with a row per game family as fallback.

A row holds the agent (``agent``), the run length (``steps``) and values of any
`rlgames.config.TrainConfig` or `rlgames.agents.AgentConfig` field; settings given by the
user win over it. The envs' own preprocessing (frame skip, size, stack) is the envs' business:
`rlgames.envs.factory.GAME_DEFAULTS`. This module imports neither torch nor the agents.
"""

from __future__ import annotations

from typing import Any

RUN_KEYS = ("agent", "steps")
"""Keys of a row that are not config fields: the agent's name and the run's env steps."""
BY_AGENT = "by_agent"
"""A row's settings for one agent only (agent name -> settings), over the rest of the row."""

_ATARI_LIKE: dict[str, Any] = {
    "agent": "dqn",
    "lr": 1e-4,
    "batch_size": 32,
    "gamma": 0.99,
    "target_update": 250,
    "buffer_size": 100_000,
    "learning_starts": 20_000,
    "train_freq": 4,
    "gradient_steps": 1,
    "epsilon_end": 0.01,
    "epsilon_decay_steps": 250_000,
    "log_every": 5_000,
    "plot_every": 25_000,
}

DEFAULTS: dict[str, dict[str, Any]] = {
    # Stable-Baselines3 zoo's CartPole DQN (target updates counted in gradient steps), plus
    # 3-step returns and lr annealed to 0 over the run: 5 of 5 seeds reach a greedy 475 at
    # 30,000 steps (4 of them 500; over 50,000 steps all 5 reach 500), and so do 4 of 4 runs
    # with two actors (bench/bench_cartpole.py, docs/benchmarks.md); the zoo alone gave 3 of 5.
    "CartPole-v1": {
        "agent": "dqn",
        "steps": 30_000,
        "lr": 2.3e-3,
        "lr_end": 0.0,
        "lr_decay_steps": 30_000,
        "batch_size": 64,
        "gamma": 0.99,
        "hidden": (256, 256),
        "target_update": 128,
        "buffer_size": 100_000,
        "learning_starts": 1_000,
        "train_freq": 256,
        "gradient_steps": 128,
        "epsilon_end": 0.04,
        "epsilon_decay_steps": 8_000,
        "n_step": 3,
        "v_min": 0.0,  # C51's support (rainbow): returns of 1 a step, discounted, are 0-100
        "v_max": 100.0,
        "priority_beta_steps": 30_000,  # prioritized replay: beta reaches 1 at the run's end
        "log_every": 2_000,
        # A 256x256 MLP gains nothing from a second thread, and on a busy machine the
        # threads' spin-waits cost many times over (docs/benchmarks.md).
        "torch_threads": 1,
    },
    "atari": {
        **_ATARI_LIKE,
        "steps": 10_000_000,
        "episodic_life": True,
        "clip_reward": True,
        "priority_beta_steps": 10_000_000,
        # The Rainbow paper's Atari settings (its Table 1) where they differ from the row's
        # DQN ones: target copies every 32k frames (2,000 updates at one per 4 env steps).
        BY_AGENT: {"rainbow": {"lr": 6.25e-5, "adam_eps": 1.5e-4, "target_update": 2_000}},
    },
    # The shipped Breakout agent's run (docs/results/breakout.md): two hours on 2 CPU cores.
    # Dueling double DQN with prioritized replay (the replay A/B: 18.7 against 10.4 at 200k
    # steps, docs/benchmarks.md) and 3-step returns; learning from 10k steps and epsilon at
    # its floor by 100k, as a short run can afford; greedy evaluations of whole games every
    # 50k steps, with a weights-only snapshot at each for later evaluation. The run was
    # planned for 640k steps (beta's schedule) and stopped at 600k, at 1 h 58 min.
    "ALE/Breakout-v5": {
        **_ATARI_LIKE,
        "episodic_life": True,
        "clip_reward": True,
        "agent": "dueling",
        "steps": 600_000,
        "prioritized": True,
        "priority_beta_steps": 640_000,
        "n_step": 3,
        "learning_starts": 10_000,
        "epsilon_decay_steps": 100_000,
        "eval_every": 50_000,
        "eval_episodes": 10,
        "snapshot_every": 50_000,
        "torch_threads": 2,
        BY_AGENT: {"rainbow": {"lr": 6.25e-5, "adam_eps": 1.5e-4, "target_update": 2_000}},
    },
    # The shipped pretrained agent's run (docs/results/dino.md): dueling double DQN on 4
    # stacked 42x160 gray frames (the 150x552 canvas scaled by ~3.5 on both axes, so cacti
    # and birds keep their shapes, at half the update cost of 84x84), 3-step returns, lr
    # annealed 2e-4 -> 2e-5 over the run. Training episodes stop at 6,000 steps (a score near
    # 7,000): long games teach little more and would make the in-training evaluations
    # unbounded; evaluation after training plays whole games.
    "ChromeDino-v0": {
        **_ATARI_LIKE,
        "agent": "dueling",
        "steps": 800_000,
        "env_kwargs": {"size": (42, 160), "max_episode_steps": 6_000},
        "lr": 2e-4,
        "lr_end": 2e-5,
        "lr_decay_steps": 800_000,
        "priority_beta_steps": 800_000,
        "n_step": 3,
        "buffer_size": 200_000,
        "learning_starts": 5_000,
        "epsilon_end": 0.01,
        "epsilon_decay_steps": 60_000,
        "target_update": 1_000,
        "eval_every": 100_000,
        "eval_episodes": 5,
        "checkpoint_every": 100_000,
        "torch_threads": 2,
    },
    # Super Mario Bros (docs/results/mario.md): the Breakout row's agent (dueling double DQN,
    # prioritized replay, 3-step returns) on two actions that always run (right + B, right +
    # A + B): a running jump clears 1-1's pits, where a run on the tutorial's two (right,
    # right + A) plateaued at the second pit (greedy x 1,130-1,360 from 200k steps on). The
    # tutorial's x-progress reward clipped to [-1, 1] (+1 for a step moving right, -1 for
    # dying). gamma 0.9, the tutorial's: at 0.99 jumping at a pipe now or a step later differ
    # by ~1 % of Q, and a run stood at the first pipe with the two actions 0.1 apart. 64x64
    # frames: an update costs ~half of 84x84's, and the update is most of a step's time on a
    # CPU. Two emulators in their own processes; training and in-training evaluation episodes
    # cut at 1,000 steps (a flag run takes ~600; a Mario stuck at a pipe would play on until
    # the clock runs out); lr annealed over the whole run; 110 minutes.
    # examples/configs/mario_tutorial.toml has the PyTorch tutorial's own settings.
    "mario": {
        **_ATARI_LIKE,
        "agent": "dueling",
        "steps": 1_000_000,
        "max_minutes": 110.0,
        "n_envs": 2,  # async: the game's default
        "clip_reward": True,
        "env_kwargs": {
            "size": 64,
            "max_episode_steps": 1_000,
            "actions": [["right", "B"], ["right", "A", "B"]],
        },
        "prioritized": True,
        "priority_beta_steps": 250_000,
        "n_step": 3,
        "gamma": 0.9,
        "lr": 2e-4,
        "lr_end": 2e-5,
        "lr_decay_steps": 400_000,
        "buffer_size": 200_000,
        "learning_starts": 10_000,
        "epsilon_end": 0.02,
        "epsilon_decay_steps": 100_000,
        "eval_every": 50_000,
        "eval_episodes": 5,
        "snapshot_every": 50_000,
        "torch_threads": 2,
    },
}
"""Starting values by env id; a game without its own row takes its family's ("atari",
"mario"); any other env starts from the config classes' own defaults. Precedence, lowest
first: AgentConfig's defaults, the agent's own table (`Rainbow.config_defaults`), the row,
the row's `by_agent` entry for the agent, the user's settings."""


def env_defaults(env_id: str) -> dict[str, Any]:
    """The row for an env id: its own, else its game family's, else empty (a copy)."""
    from rlgames.envs.factory import game_family, resolve_id

    env_id = resolve_id(env_id)
    return dict(DEFAULTS.get(env_id) or DEFAULTS.get(game_family(env_id), {}))
