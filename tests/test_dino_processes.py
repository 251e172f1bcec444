"""Chromium and chromedriver end with the env, and a dead browser is replaced mid-run.

Each env runs chromedriver, Chromium and its helpers in one process group of their own; a
process "is left" if any live (not zombie) process remains in that group. Linux /proc only.
"""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time

import pytest

from browsers import live_processes

pytest.importorskip("selenium")
pytest.importorskip("websocket")

from rlgames.envs.dino import ChromeDinoEnv  # noqa: E402

pytestmark = [
    pytest.mark.dino,
    pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc"),
]


def live_members(group: int) -> list[int]:
    """Live processes in a process group."""
    return [pid for pid, pgrp, _ in live_processes() if pgrp == group]


def live_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains text."""
    return [pid for pid, _, cmdline in live_processes() if text.encode() in cmdline]


def gone(group: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while live_members(group):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def start_env() -> tuple[ChromeDinoEnv, int]:
    env = ChromeDinoEnv(obs_type="state")
    group = env.browser.process_group
    assert group is not None and len(live_members(group)) >= 3  # driver, browser, helpers
    return env, group


def test_close_ends_chromium_and_chromedriver():
    env, group = start_env()
    env.close()
    assert gone(group)
    env.close()  # a second close is harmless


def test_close_ends_the_crash_handlers_that_leave_the_process_group():
    env, group = start_env()
    profile = env.browser._res.profile_dir
    handlers = [
        pid for pid in live_mentioning(f"--database={profile}/") if pid not in live_members(group)
    ]
    assert handlers  # Chromium starts them in sessions of their own, crash database in profile
    env.close()
    assert gone(group) and not live_mentioning(profile)


def test_garbage_collection_ends_the_browser():
    def abandoned() -> int:
        env, group = start_env()
        env.reset(seed=0)
        return group

    group = abandoned()
    gc.collect()
    assert gone(group)


def test_interpreter_exit_ends_the_browser():
    script = (
        "from rlgames.envs.dino import ChromeDinoEnv\n"
        "env = ChromeDinoEnv()\n"
        "print(env.browser.process_group, flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert gone(int(out.stdout.split()[-1]))


def test_a_process_killed_by_sigterm_ends_its_browser_first():
    # `kill PID` of a training run: no close() or atexit hook runs on a default SIGTERM, and
    # chromedriver (in its own session) would outlive the process.
    script = (
        "from rlgames.envs.dino import ChromeDinoEnv\n"
        "env = ChromeDinoEnv(obs_type='state')\n"
        "env.reset(seed=0)\n"
        "print(env.browser.process_group, flush=True)\n"
        "while True:  # busy in the browser when the signal comes, as a training run is\n"
        "    if env.step(0)[2]:\n"
        "        env.reset()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        group = int(proc.stdout.readline())
        assert live_members(group)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM  # still dies of SIGTERM
        assert gone(group)
    finally:
        proc.kill()
        proc.stdout.close()


def test_an_unclosed_async_vector_env_ends_its_browsers_at_exit():
    # Gymnasium ends the workers of an unclosed AsyncVectorEnv with SIGTERM at exit; each
    # worker's browser (chromedriver leads its process group) must end with it.
    script = (
        "import os, rlgames\n"
        "envs = rlgames.make_env('ChromeDino-v0', n_envs=2, obs_type='state')\n"
        "envs.reset(seed=0)\n"
        "workers = {p.pid for p in envs.processes}\n"
        "for pid in filter(str.isdigit, os.listdir('/proc')):\n"
        "    stat = open(f'/proc/{pid}/stat').read()\n"
        "    if int(stat[stat.rindex(')') + 2 :].split()[1]) in workers:\n"
        "        print(pid, flush=True)  # a worker's child: its chromedriver\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=True
    )
    groups = [int(pid) for pid in out.stdout.split()]
    assert len(groups) == 2
    assert all(gone(group) for group in groups)


def test_a_killed_browser_ends_the_episode_truncated_and_is_replaced():
    env, group = start_env()
    try:
        env.reset(seed=0)
        for _ in range(10):
            env.step(0)
        os.kill(env.browser.pid, signal.SIGKILL)
        obs, reward, terminated, truncated, info = env.step(0)
        assert truncated and not terminated
        assert info["browser_restarted"] is True
        assert reward == 0.0 and env.observation_space.contains(obs)
        assert env.browser.process_group != group
        assert gone(group)  # the old driver went with the old browser
        for _ in range(20):  # the new browser plays on
            obs, _, terminated, truncated, info = env.step(0)
            assert not truncated and not info["browser_restarted"]
        first, _ = env.reset(seed=4)
        assert env.observation_space.contains(first)
    finally:
        new_group = env.browser.process_group
        env.close()
    assert gone(new_group)


def test_a_browser_killed_between_episodes_is_replaced_by_reset():
    env, _ = start_env()
    try:
        env.reset(seed=0)
        os.kill(env.browser.pid, signal.SIGKILL)
        obs, info = env.reset(seed=0)
        assert info["browser_restarted"] is True
        assert env.observation_space.contains(obs)
    finally:
        env.close()


def make_close_cycles(n: int) -> None:
    groups = []
    for _ in range(n):
        env, group = start_env()
        env.reset(seed=0)
        env.step(1)
        env.close()
        groups.append(group)
    assert all(gone(g) for g in groups)


def test_five_make_close_cycles_leave_no_process():
    make_close_cycles(5)


@pytest.mark.slow
def test_fifty_make_close_cycles_leave_no_process():
    make_close_cycles(50)
