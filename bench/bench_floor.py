"""How fast can any DQN run a game here? The fp32 work of one env step, each part timed alone.

For the settings of `bench_vs_sb3.py` (same game, network, batch, train_freq and threads),
this times, each on its own and warm (best of several rounds):

- one env step (random actions, the same wrappers both libraries use),
- one greedy action: a batch-1 forward pass,
- one gradient step's tensor work: forward + backward of the Huber TD loss (autograd), the
  target network's forward pass on the next observations, and one fused Adam step
  (`torch.optim.Adam(fused=True).step()`, its public API),

and adds them up per env step: env + act + (gradient step) x gradient_steps / train_freq.
No replay, no gradient clipping, no bookkeeping, and none of the cache misses that running
the parts in turn brings: no DQN that does all this arithmetic in fp32 with these kernels runs
faster, so the sum is a ceiling on steps/s (rlgames passes repeated next observations
through the target network once, so on CartPole it does less than this).
The forward + backward's FLOPs (torch's flop counter) against a large matrix product's rate
on the same threads show how close the kernels run to the machine's peak. `--compare` also
runs both libraries' training as `bench_vs_sb3.py` does, so the ceiling can be read as a
multiple of SB3's rate from the same process. Figures only; nothing is asserted.

    .venv/bin/python bench/bench_floor.py breakout --threads 2 --compare --steps 5000
    .venv/bin/python bench/bench_floor.py cartpole --threads 1
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from bench_vs_sb3 import CASES, bench_rlgames, bench_sb3
from torch.utils.flop_counter import FlopCounterMode

import rlgames
from rlgames.agents import make_agent
from rlgames.training.malloc import keep_freed_memory


def best_ms(fn: Callable[[], object], calls: int, rounds: int = 7) -> float:
    """The fastest of `rounds` means over `calls` back-to-back calls, in milliseconds."""
    for _ in range(max(3, calls // 4)):
        fn()
    means = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        means.append((time.perf_counter() - start) / calls * 1e3)
    return min(means)


def env_step_ms(env_id: str, steps: int, seed: int) -> float:
    """Mean wall time of env.step with random actions (resets excluded), in milliseconds."""
    env = rlgames.make_env(env_id, episodic_life=False, clip_reward=False)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    actions = [env.action_space.sample() for _ in range(steps)]
    total = 0.0
    for action in actions:
        start = time.perf_counter()
        _, _, terminated, truncated, _ = env.step(action)
        total += time.perf_counter() - start
        if terminated or truncated:
            env.reset()
    env.close()
    return total / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("game", choices=sorted(CASES))
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compare", action="store_true", help="also time SB3 and rlgames")
    parser.add_argument("--steps", type=int, default=None, help="env steps for --compare")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    keep_freed_memory()  # as both libraries run in bench_vs_sb3.py
    env_id, shared, _, ours = CASES[args.game]
    batch_size, every = shared["batch_size"], shared["train_freq"]
    per_step = shared["gradient_steps"] / every  # gradient steps per env step

    env = rlgames.make_env(env_id, episodic_life=False, clip_reward=False)
    obs_space, action_space = env.observation_space, env.action_space
    env.close()
    agent = make_agent("dqn", obs_space, action_space, seed=args.seed, device="cpu",
                       hidden=ours.get("hidden", (256, 256)))  # fmt: skip
    rng = np.random.default_rng(args.seed)
    pixels = obs_space.dtype == np.uint8  # pixels: fewer, slower calls below

    def draw(n: int) -> torch.Tensor:
        shape = (n, *obs_space.shape)
        if pixels:
            return torch.as_tensor(rng.integers(0, 256, shape, dtype=np.uint8))
        return torch.as_tensor(rng.standard_normal(shape).astype(obs_space.dtype))

    obs, next_obs, one = draw(batch_size), draw(batch_size), draw(1)[0].numpy()
    actions = torch.as_tensor(rng.integers(0, action_space.n, (batch_size, 1)))
    target = torch.as_tensor(rng.standard_normal(batch_size).astype(np.float32))
    params = list(agent.online.parameters())

    def loss() -> torch.Tensor:
        q = agent.online(obs).gather(1, actions).squeeze(1)
        return F.smooth_l1_loss(q, target)

    grads = list(torch.autograd.grad(loss(), params))
    for p, g in zip(params, grads, strict=True):
        p.grad = g
    agent.optimizer.step()  # creates Adam's state: later steps time the step alone
    adam = agent.optimizer.step  # torch.optim.Adam(fused=True): its public step

    def target_forward() -> None:
        with torch.no_grad():
            agent.target(next_obs).max(dim=1)

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    peak = 2 * 1024**3 / best_ms(lambda: a @ b, 10) / 1e6
    with FlopCounterMode(display=False) as counter:
        torch.autograd.grad(loss(), params)
    flops = counter.get_total_flops()

    backward = best_ms(lambda: torch.autograd.grad(loss(), params), 20 if pixels else 500)
    parts = {
        "env step": env_step_ms(env_id, 2_000 if pixels else 20_000, args.seed),
        "act (batch 1)": best_ms(lambda: agent.act(one), 200 if pixels else 2_000),
        "forward + backward": backward,
        "target forward": best_ms(target_forward, 20 if pixels else 500),
        "Adam step (fused)": best_ms(adam, 20 if pixels else 500),
    }  # fmt: skip
    gradient_ms = sum(list(parts.values())[2:])
    step_ms = parts["env step"] + parts["act (batch 1)"] + gradient_ms * per_step
    ceiling = 1e3 / step_ms

    print(f"{env_id}, {args.threads} torch threads, batch {batch_size}, "
          f"{shared['gradient_steps']} gradient step(s) every {every} env steps")  # fmt: skip
    for name, ms in parts.items():
        extra = ""
        if name == "forward + backward":
            rate = flops / ms / 1e6
            extra = f"  ({flops / 1e9:.3f} GFLOP: {rate:.0f} GFLOP/s; a 1024^3 matmul: {peak:.0f})"
        print(f"  {name:<22}{ms:8.3f} ms{extra}")
    sum_text = f"env + act + {per_step:g} x {gradient_ms:.3f} ms"
    print(f"  per env step          {step_ms:8.3f} ms = {sum_text}")
    print(f"  ceiling               {ceiling:8.1f} steps/s", flush=True)  # fmt: skip

    if args.compare:
        steps = args.steps or (5_000 if pixels else 50_000)
        sb3 = bench_sb3(env_id, shared, CASES[args.game][2], steps, args.seed)
        mine = bench_rlgames(env_id, shared, ours, steps, args.seed)
        print(f"  stable-baselines3 DQN {sb3:8.1f} steps/s: the ceiling is {ceiling / sb3:.2f}x")
        print(f"  rlgames DQN           {mine:8.1f} steps/s: {mine / sb3:.2f}x SB3, "
              f"{mine / ceiling:.0%} of the ceiling")  # fmt: skip


if __name__ == "__main__":
    main()
