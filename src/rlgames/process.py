"""Everything rlgames does to the whole process, in one place, and how to switch it off.

- **SIGINT during `Trainer.train`**: a first Ctrl-C finishes the step and writes the
  checkpoint; the previous handler is put back afterwards. Not installed where SIGINT is
  ignored (jobs started with ``&`` from a script, some CI runners), outside the main
  thread, or when ``RLGAMES_NO_SIGNAL_HANDLERS=1``.
- **SIGINT in the worker processes of an async vector env** made by `rlgames.make_env`:
  ignored there, so that a Ctrl-C, which a terminal sends to the whole process group, reaches
  only the main process, whose training then stops cleanly with a checkpoint (gymnasium's
  workers would otherwise die of it mid-step and the main process fail on a broken pipe).
  The workers end when the env is closed or the main process exits. Not done when
  ``RLGAMES_NO_SIGNAL_HANDLERS=1`` or when SIGINT is already ignored.
- **SIGTERM with a Chrome Dino browser open**: ends the process's browsers before it dies
  (chromedriver runs in its own session and would outlive it). Installed only where SIGTERM
  has its default action, from the main thread; ``RLGAMES_NO_SIGNAL_HANDLERS=1`` leaves
  SIGTERM alone.
- **glibc malloc thresholds** (`rlgames.training.malloc`), set by the Trainer unless
  ``TrainConfig.keep_freed_memory`` is False.
- **nes-py's ROM reader** (Super Mario Bros on Python < 3.13): while a Mario env is being
  built, `rlgames.envs.nes_compat.numpy_safe_rom` swaps ``nes_py.nes_env.ROM`` for a
  numpy-2-safe subclass, under a lock, and puts it back; nothing lasts beyond the build.
- **torch threads, deterministic algorithms, global seeds**: the Trainer calls
  ``torch.set_num_threads`` when ``torch_threads`` is set, ``torch.use_deterministic_algorithms``
  when ``deterministic`` is, and seeds Python's, numpy's and torch's global generators with
  the run's seed (third-party envs draw from them).

docs/process.md says the same for readers of the docs.
"""

from __future__ import annotations

import os
import signal
import threading

NO_SIGNAL_HANDLERS = "RLGAMES_NO_SIGNAL_HANDLERS"
"""Environment variable: "1" (or "true", "yes") keeps rlgames from installing any handler."""


def _switched_off() -> bool:
    """Whether the user set NO_SIGNAL_HANDLERS (read each time, so os.environ works too)."""
    return os.environ.get(NO_SIGNAL_HANDLERS, "").lower() in ("1", "true", "yes")


def may_handle(signum: int, take_over: tuple = (signal.SIG_DFL,)) -> bool:
    """Whether rlgames may install a handler for `signum` now: from the main thread, when
    the variable above is not set, and when the current disposition is one of `take_over`
    (an ignored signal stays ignored, as Python itself leaves an inherited SIG_IGN)."""
    if _switched_off():
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signum)
    return any(current is disposition for disposition in take_over)


def ignore_sigint_in_child(parent_pid: int) -> None:
    """In a process other than `parent_pid` (a vector env's worker, which builds its env by
    calling a function the parent gave it), ignore SIGINT: see this module's docstring."""
    if os.getpid() == parent_pid:  # the parent builds one env itself, to read the spaces
        return
    if _switched_off():
        return
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
