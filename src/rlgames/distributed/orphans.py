"""Browsers left by an actor process that died without closing them.

A Dino env's chromedriver runs in a session of its own (so that one killpg ends it and its
Chromium), and so outlives an actor process killed with SIGKILL, for which no close(),
finalizer or signal handler runs. Each actor therefore marks the processes it starts with
its Ray actor id in their environment (`TAG`, inherited by chromedriver, Chromium and its
helpers); a restarted actor keeps its id and, before building its envs, ends every process
that carries its mark but is not itself. Linux (/proc) only; elsewhere nothing is reaped.
"""

from __future__ import annotations

import contextlib
import os
import signal

TAG = "RLGAMES_ACTOR_TAG"
"""Environment variable: the id of the actor that started the process."""


def marked(tag: str) -> list[int]:
    """Live processes (not zombies) whose environment holds TAG=tag, this one excluded."""
    needle = os.fsencode(f"{TAG}={tag}")
    found = []
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit() and int(e) != os.getpid()]
    except OSError:  # no /proc
        return []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone, or not ours to read
            continue
        if needle in environ and state != "Z":
            found.append(int(entry))
    return found


def reap(tag: str) -> int:
    """SIGKILL every live process marked with `tag` (the browsers of this actor's dead
    predecessor) and their process groups; returns how many were found."""
    pids = marked(tag)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            group = os.getpgid(pid)
            if group != os.getpgrp():  # never our own group
                os.killpg(group, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def mark(tag: str) -> int:
    """Mark the processes this one starts from now on with `tag`, after reaping what an
    earlier process with the same tag left; returns how many processes were reaped."""
    reaped = reap(tag)
    os.environ[TAG] = tag
    return reaped
