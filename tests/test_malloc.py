"""rlgames.malloc: glibc keeps freed memory, so a training step stops faulting in fresh pages."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Nature CNN gradient steps (its 6.4 MB weight gradient and activations are allocated and freed
# on every step); prints the page faults of the last 20 of 30 steps.
UPDATES = """
    import json, resource, sys
    import numpy as np, torch
    from gymnasium import spaces
    from rlgames.agents import ReplayBatch, make_agent
    from rlgames.malloc import keep_freed_memory

    applied = keep_freed_memory() if sys.argv[1] == "keep" else None
    torch.set_num_threads(1)
    agent = make_agent("dqn", spaces.Box(0, 255, (4, 84, 84), np.uint8), spaces.Discrete(4), seed=0)
    rng = np.random.default_rng(0)
    frames = lambda: rng.integers(0, 256, (32, 4, 84, 84), dtype=np.uint8)
    batch = ReplayBatch(frames(), rng.integers(0, 4, 32), np.ones(32, np.float32), frames(),
                        np.zeros(32, np.float32), np.full(32, 0.99, np.float32))
    for _ in range(10):
        agent.update(batch)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(20):
        agent.update(batch)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    print(json.dumps({"applied": applied, "faults": faults}))
"""


def page_faults(mode: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(UPDATES), mode],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_gradient_steps_reuse_freed_memory_instead_of_faulting_in_fresh_pages():
    kept, default = page_faults("keep"), page_faults("default")
    assert kept["applied"] is True
    # A 6.4 MB block is 1,600 pages. Measured over these 20 steps: 22,000 to 86,000 faults
    # with glibc's defaults, 1 to 900 with the thresholds set.
    assert kept["faults"] < 1_600 < 5 * 1_600 < default["faults"]
