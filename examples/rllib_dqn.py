"""RLlib's DQN on rlgames' envs, with env runners that each hold their own env (Dino: their
own headless Chromium).

    pip install -e ".[ray,dino]"
    python examples/rllib_dqn.py --env CartPole-v1 --iterations 30
    python examples/rllib_dqn.py --env ChromeDino-v0 --runners 2 --iterations 100

The envs are registered with `ray.tune.register_env` under "rlgames/<id>" and built by
`rlgames.make_env` in each env runner's process. RLlib's new API stack (Ray >= 2.50) is used
as it comes: its DQN (double, dueling, prioritized episode replay by default) with its default
MLP. ChromeDino-v0 runs on its state observations (`obs_type="state"`: the distances, sizes and
speed the game's own objects hold); RLlib's default CNN encoder wants channel-last images of
its own sizes, so for pixels give it a `conv_filters` list for rlgames' (stack, 42, 160) frames
moved to channel-last (docs/distributed.md). `algo.stop()` ends every env runner and, with it,
its browser.
"""

from __future__ import annotations

import argparse
from typing import Any

ENV_KWARGS = {
    "CartPole-v1": {},
    "ChromeDino-v0": {"obs_type": "state"},
}


def make(env_config: dict[str, Any]):
    """An env runner's env: `rlgames.make_env(env_config["id"], **the rest)`."""
    import rlgames

    config = dict(env_config)
    return rlgames.make_env(config.pop("id"), **config)


def register(env_id: str) -> str:
    """Register `env_id` with Ray Tune's env registry; returns the name RLlib builds it by."""
    from ray.tune.registry import register_env

    name = f"rlgames/{env_id}"
    register_env(name, make)
    return name


def build(env_id: str, runners: int = 2, seed: int = 0, **training: Any):
    """RLlib's DQN on `env_id` with `runners` remote env runners, one env each."""
    from ray.rllib.algorithms.dqn import DQNConfig

    config = (
        DQNConfig()
        .environment(register(env_id), env_config={"id": env_id, **ENV_KWARGS.get(env_id, {})})
        .env_runners(num_env_runners=runners, num_envs_per_env_runner=1)
        .training(**training)
        .debugging(seed=seed)
    )
    return config.build_algo()


def train(env_id: str, iterations: int, runners: int = 2, **training: Any) -> list[dict]:
    """Train for `iterations`, printing each; stops the algorithm (and its envs) at the end."""
    from ray.rllib.utils.metrics import (
        ENV_RUNNER_RESULTS,
        EPISODE_RETURN_MEAN,
        NUM_ENV_STEPS_SAMPLED_LIFETIME,
    )

    algo = build(env_id, runners, **training)
    results = []
    try:
        for i in range(iterations):
            result = algo.train()
            runner = result.get(ENV_RUNNER_RESULTS, {})
            steps = result.get(NUM_ENV_STEPS_SAMPLED_LIFETIME) or runner.get(
                NUM_ENV_STEPS_SAMPLED_LIFETIME, 0
            )
            print(
                f"iteration {i + 1}: {steps} env steps, return mean "
                f"{runner.get(EPISODE_RETURN_MEAN, float('nan')):.1f}, "
                f"{result.get('time_total_s', 0.0):.0f} s",
                flush=True,
            )
            results.append(result)
    finally:
        algo.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="CartPole-v1", choices=sorted(ENV_KWARGS))
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--runners", type=int, default=2)
    parser.add_argument("--ray-address", help="a running cluster (default: a local Ray)")
    args = parser.parse_args()

    import ray

    ray.init(address=args.ray_address, include_dashboard=False)
    try:
        train(args.env, args.iterations, args.runners)
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
