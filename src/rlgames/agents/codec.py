"""The replay's frame codec: each stored frame is compressed once, when it is added, with the
LZ4 block format, and decompressed when a batch is sampled.

Why LZ4: game frames are mostly flat background and compress an order of magnitude with
either LZ4 or Zstandard. On frames of real play (``bench/bench_replay.py``; figures in
docs/benchmarks.md) Zstandard level 1 saves about a quarter of the bytes, but LZ4
decompresses about three times faster, and decompression runs for every frame of every
batch, each gradient step, while the bytes LZ4 costs more still leave a transition under its
goal (600 B for Breakout, 800 B for Dino). LZ4 also compresses faster (once per env step).

Blocks are stored without LZ4's 4-byte size prefix (``store_size=False``): every frame of a
buffer has the same, known size.
"""

from __future__ import annotations

from collections.abc import Sequence

import lz4.block
import numpy as np


def compress(frame: np.ndarray) -> bytes:
    """One frame's bytes (C order), LZ4 block compressed, without a size prefix."""
    return lz4.block.compress(np.ascontiguousarray(frame), store_size=False)


def decompress(blobs: Sequence[bytes], frame_nbytes: int) -> np.ndarray:
    """Frames compressed by `compress`, each ``frame_nbytes`` long, as one read-only uint8
    array (len(blobs), frame_nbytes). Trusts its input: `check` a frame from elsewhere first."""
    data = b"".join([lz4.block.decompress(b, uncompressed_size=frame_nbytes) for b in blobs])
    return np.frombuffer(data, dtype=np.uint8).reshape(len(blobs), frame_nbytes)


def check(blob: bytes, frame_nbytes: int) -> str | None:
    """Why ``blob`` is not a frame of ``frame_nbytes`` bytes compressed by `compress` (a
    corrupt block, or one of another size), or None if it is one."""
    try:
        size = len(lz4.block.decompress(blob, uncompressed_size=frame_nbytes))
    except lz4.block.LZ4BlockError as error:
        return f"not a valid LZ4 block of a {frame_nbytes}-byte frame ({error})"
    if size != frame_nbytes:
        return f"decompresses to {size} bytes, not the frame size {frame_nbytes}"
    return None
