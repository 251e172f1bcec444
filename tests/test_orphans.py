"""An actor's mark on the processes it starts, and the reaping of what a dead one left."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

from rlgames.distributed import orphans

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc")
SLEEPER = [sys.executable, "-c", "import os, time; os.fork() or time.sleep(60); time.sleep(60)"]


def spawn(tag: str | None) -> subprocess.Popen:
    """A process in a session of its own (as chromedriver runs) with a child of its own."""
    env = dict(os.environ)
    env.pop(orphans.TAG, None)
    if tag is not None:
        env[orphans.TAG] = tag
    return subprocess.Popen(SLEEPER, env=env, start_new_session=True)


def end(proc: subprocess.Popen) -> None:
    """Kill what is left of a spawned process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def wait_for(condition, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_reap_ends_the_marked_processes_and_their_children_and_nothing_else():
    tagged, other = spawn("actor-1"), spawn("actor-2")
    untagged = spawn(None)
    try:
        assert wait_for(lambda: len(orphans.marked("actor-1")) == 2)  # the process, its child
        assert orphans.reap("actor-1") == 2
        assert tagged.wait(timeout=10) == -9
        assert wait_for(lambda: not orphans.marked("actor-1"))
        assert len(orphans.marked("actor-2")) == 2 and other.poll() is None
        assert untagged.poll() is None
    finally:
        for proc in (tagged, other, untagged):
            end(proc)


def test_mark_reaps_its_predecessor_then_marks_what_this_process_starts(monkeypatch):
    monkeypatch.setenv(orphans.TAG, "")  # so that the mark is taken off after the test
    monkeypatch.delenv(orphans.TAG)
    left = spawn("actor-3")
    try:
        assert wait_for(lambda: len(orphans.marked("actor-3")) == 2)
        assert orphans.mark("actor-3") == 2
        assert left.wait(timeout=10) == -9
        assert os.environ[orphans.TAG] == "actor-3"
        child = subprocess.Popen(["sleep", "60"])  # inherits the mark
        try:
            assert wait_for(lambda: orphans.marked("actor-3") == [child.pid])
        finally:
            child.kill()
            child.wait()
    finally:
        end(left)
