"""Which processes of the Dino envs and of Ray are alive (Linux /proc), for the tests that
check what a run leaves behind."""

from __future__ import annotations

import os
import time
from collections.abc import Callable


def live_processes() -> list[tuple[int, int, bytes]]:
    """(pid, process group, command line) of every live process (zombies, already dead, are
    not counted)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        state, _, pgrp = stat[stat.rindex(")") + 2 :].split()[:3]
        if state != "Z":
            found.append((int(entry), int(pgrp), cmdline))
    return found


def live_commands() -> list[tuple[int, list[bytes]]]:
    """(pid, argv) of every live process."""
    return [(pid, cmdline.split(b"\0")) for pid, _, cmdline in live_processes()]


def browsers() -> list[int]:
    """Live Chromium main processes started by a Dino env (its helpers left out)."""
    return [
        pid
        for pid, args in live_commands()
        if any(a.startswith(b"--user-data-dir=") and b"rlgames-chromium-" in a for a in args)
        and not any(a.startswith(b"--type=") for a in args)
    ]


def drivers() -> list[int]:
    """Live chromedriver processes."""
    return [pid for pid, args in live_commands() if args[0].endswith(b"chromedriver")]


def ray_processes() -> list[int]:
    """Live processes of a Ray instance: its GCS, raylets and workers."""
    names = (b"gcs_server", b"raylet", b"ray::", b"default_worker.py")
    return [pid for pid, args in live_commands() if any(n in b" ".join(args) for n in names)]


def none_left(which: Callable[[], list[int]], within: float = 15.0) -> bool:
    """Whether `which()` is empty within `within` seconds."""
    deadline = time.monotonic() + within
    while which():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
