"""examples/quickstart.ipynb runs top to bottom in a real Jupyter kernel, as a new user runs it.

The kernel works in a temporary folder, so the run it trains lands there, not in the repo. Two
cells are added to the notebook here, never to the file: a first one that checks the kernel
runs this test's Python, and a last one that reports the evaluation returns.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"
CELL_TIMEOUT_S = 300
MARKER = "RLGAMES_NOTEBOOK_TEST_KERNEL"
"""Environment variable set for the kernel; every process it starts (Chromium too) inherits it."""


def live_processes_with(name: str, value: str) -> list[int]:
    """PIDs of live (not zombie) processes whose environment has name=value (Linux /proc)."""
    entry = f"{name}={value}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rpartition(")")[2].split()[0]
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except (OSError, IndexError):  # ended meanwhile, or another user's
            continue
        if state != "Z" and entry in environ:
            found.append(int(pid))
    return found


def left_running(name: str, value: str, within: float = 10.0) -> list[int]:
    """Processes that carry name=value still `within` seconds from now ([] once all end)."""
    deadline = time.monotonic() + within
    while (pids := live_processes_with(name, value)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return pids


def outputs_of(nb, cell_id: str) -> list:
    return next(cell for cell in nb.cells if cell.get("id") == cell_id).outputs


@pytest.mark.dino
@pytest.mark.slow
def test_quickstart_notebook_runs_top_to_bottom_in_a_kernel(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        f"import sys\nassert sys.executable == {sys.executable!r}, 'kernel runs ' + sys.executable"
    ))  # fmt: skip
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json\nprint(json.dumps([float(r) for r in returns]))"
    ))  # fmt: skip
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the kernel's working directory
        extra_arguments=["--InteractiveShell.colors=nocolor"],  # plain tracebacks in failures
    )  # fmt: skip
    marker = uuid.uuid4().hex
    client.execute(env={**os.environ, MARKER: marker})  # raises CellExecutionError on any error

    run = tmp_path / "runs" / "notebook"
    assert (run / "curves.png").is_file()
    assert (run / "checkpoints" / "latest.ckpt").is_file()
    returns = json.loads(nb.cells[-1].outputs[0]["text"])
    assert len(returns) == 3 and all(1 <= r <= 500 for r in returns)  # CartPole-v1's range
    for cell_id in ("plot", "dino"):  # the curves and the Dino frame were shown inline
        assert any("image/png" in out.get("data", {}) for out in outputs_of(nb, cell_id))
    if os.path.isdir("/proc/self"):  # the kernel has shut down; its Chromium must have ended
        assert not left_running(MARKER, marker)
