"""Which processes of the Dino envs and of Ray are alive (Linux /proc), for the tests that
check what a run leaves behind."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path


def live_commands() -> list[tuple[int, list[bytes]]]:
    """(pid, argv) of every live process (zombies, already dead, are left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            found.append((int(entry.name), args))
    return found


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
