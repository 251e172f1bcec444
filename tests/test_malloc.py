"""rlgames.training.malloc: glibc keeps freed memory, so a freed block is reused, not faulted in."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from rlgames.training.malloc import keep_freed_memory

# Frees a 20 MB array, then counts the page faults of making another one. With glibc's defaults
# the first goes back to the kernel and the second is fresh pages (509 faults here, huge pages
# included); with the thresholds set, the second reuses the first's memory.
REUSE = """
    import resource, sys
    import numpy as np

    if sys.argv[1] == "keep":
        from rlgames.training.malloc import keep_freed_memory
        assert keep_freed_memory()
    first = np.ones(5 << 20, np.float32)
    del first
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    second = np.ones(5 << 20, np.float32)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults_of_a_second_block(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(REUSE), mode],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(
    not keep_freed_memory() or "LD_PRELOAD" in os.environ,
    reason="needs glibc's malloc (not another allocator preloaded)",
)
def test_a_freed_block_of_a_few_mb_is_reused_instead_of_faulted_in_again():
    assert faults_of_a_second_block("keep") < 20 < 100 < faults_of_a_second_block("default")
