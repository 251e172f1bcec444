"""Keep freed memory for reuse: glibc's malloc settings for training on the CPU.

glibc's malloc maps blocks above a threshold (128 KiB at first, raised up to 32 MiB as such
blocks are freed) straight from the kernel and gives them back on free; free memory at the
top of the heap goes back once it exceeds twice that. A training step allocates and frees the
same tensors of a few MB on every step (the Nature CNN's 6.4 MB weight gradient, its
activations, CartPole's 1,024-row target batches), so each step paid for fresh pages, which
the kernel zeroes on first touch: 1,000 to 3,300 page faults a Breakout gradient step in
five runs of five (figures in docs/benchmarks.md).

`keep_freed_memory` sets both thresholds with ``mallopt(3)``: blocks under 32 MiB come from
the heap, and up to 1 GiB of freed heap is kept for reuse instead of being returned. The
process's resident size then stays near its peak, which training reaches anyway. Larger
blocks (replay buffers) are still mapped and returned as before. The setting is process-wide
and lasts until exit; the Trainer applies it unless ``TrainConfig.keep_freed_memory`` is
False. Elsewhere than Linux with glibc it does nothing; with another allocator preloaded
(jemalloc, tcmalloc via ``LD_PRELOAD``) glibc's settings are set but that allocator ignores
them.
"""

from __future__ import annotations

import ctypes
import sys

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20
"""Blocks below this come from the heap (glibc's largest automatic threshold on 64 bits)."""
TRIM_THRESHOLD = 1 << 30
"""Freed memory at the top of the heap kept for reuse before any goes back to the kernel."""

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (see the module docstring); True where they are set
    (now or by an earlier call), False where this C library has no ``mallopt``."""
    global _applied
    if _applied is None:
        _applied = _set_thresholds()
    return _applied


def _set_thresholds() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)  # the process's own symbols, the C library's among them
    except OSError:
        return False
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return False  # not glibc: other allocators have other knobs
    mallopt = libc.mallopt
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return (
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    )
