"""Where the replay keeps its frames: one frame per slot of each env's stream, raw or compressed.

Both stores have the same interface, so the buffer's logic does not depend on which it holds:
``write`` one frame, read one back (``frame``), ``gather`` many for a batch, report ``nbytes``,
and save and restore themselves as plain numpy arrays.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from rlgames.agents import codec

_BYTES_HEADER = sys.getsizeof(b"")  # what CPython adds to every bytes object (33 B on 64-bit)


class RawFrames:
    """Frames as they are, in one array (n_envs, slots, *frame_shape)."""

    compressed = False

    def __init__(self, n_envs: int, slots: int, frame_shape: tuple, dtype: np.dtype) -> None:
        self.array = np.zeros((n_envs, slots, *frame_shape), dtype=dtype)

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    payload_nbytes = 0
    """Bytes that grow with the frames written (none: the array is allocated whole)."""

    def write(self, env: int, slot: int, frame: np.ndarray) -> None:
        self.array[env, slot] = frame

    def frame(self, env: int, slot: int) -> np.ndarray:
        return self.array[env, slot]

    def gather(self, env: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Frames at (env, slot) index arrays of one shape: (*that shape, *frame_shape)."""
        return self.array[env, slot]

    def state_dict(self) -> dict[str, np.ndarray]:
        return {"frames": self.array}

    def checked_state(self, state: dict[str, Any], in_memory: np.ndarray) -> np.ndarray:
        """The saved frames, ready for `load`; ValueError naming what does not fit."""
        if "frames" not in state:
            raise ValueError(_mode_mismatch(saved_compressed=True))
        frames = np.asarray(state["frames"])
        if frames.shape != self.array.shape or frames.dtype != self.array.dtype:
            raise ValueError(
                f"replay array 'frames' is {frames.dtype}{list(frames.shape)} in the saved "
                f"state, expected {self.array.dtype}{list(self.array.shape)}"
            )
        return frames

    def load(self, checked: np.ndarray) -> None:
        self.array[...] = checked


class CompressedFrames:
    """Frames compressed once each by `codec`, one bytes object per slot (None: never written).

    A slot costs an 8-byte pointer plus, once written, its bytes object: the compressed frame
    and CPython's 33-byte header (``sys.getsizeof``). Objects are not shared between slots, and
    the allocator rounds each up to a multiple of 16 bytes. That keeps a million Breakout
    transitions near half a GiB resident (``bench/bench_replay.py`` measures it), well under
    the 1 GB goal; an arena would save the ~45 bytes per frame of header, pointer and
    rounding, not worth the bookkeeping of variable-size frames in a ring.
    """

    compressed = True

    def __init__(self, n_envs: int, slots: int, frame_shape: tuple, dtype: np.dtype) -> None:
        if np.dtype(dtype) != np.uint8:
            raise ValueError(
                f"compressed frames are uint8 images; {np.dtype(dtype)} observations are stored "
                "raw: pass compress=False"
            )
        self.slots = slots
        self.frame_shape = tuple(frame_shape)
        self.frame_nbytes = int(np.prod(frame_shape))
        self.blobs = np.full((n_envs, slots), None, dtype=object)
        self.shape = (n_envs, slots, *self.frame_shape)
        """Shape of the frames held, as the raw array's would be."""
        self.dtype = np.dtype(np.uint8)
        self.payload_nbytes = 0
        """Bytes of the stored bytes objects (sys.getsizeof each), kept up to date by write."""

    @property
    def nbytes(self) -> int:
        return int(self.blobs.nbytes) + self.payload_nbytes

    def write(self, env: int, slot: int, frame: np.ndarray) -> None:
        old = self.blobs[env, slot]
        if old is not None:
            self.payload_nbytes -= len(old) + _BYTES_HEADER
        blob = codec.compress(frame)
        self.blobs[env, slot] = blob
        self.payload_nbytes += len(blob) + _BYTES_HEADER

    def frame(self, env: int, slot: int) -> np.ndarray:
        return codec.decompress([self.blobs[env, slot]], self.frame_nbytes)[0].reshape(
            self.frame_shape
        )

    def gather(self, env: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """Frames at (env, slot) index arrays of one shape, each distinct slot decompressed
        once (a batch's obs and next_obs stacks share most of their frames)."""
        flat = (np.asarray(env) * self.slots + np.asarray(slot)).reshape(-1)
        distinct, where = np.unique(flat, return_inverse=True)
        frames = codec.decompress(self.blobs.reshape(-1)[distinct].tolist(), self.frame_nbytes)
        return frames[where.reshape(-1)].reshape(*np.shape(env), *self.frame_shape)

    def state_dict(self) -> dict[str, np.ndarray]:
        """The compressed frames as stored (no recompression): one uint8 blob, slot after slot
        (env-major), and int64 offsets: slot k is ``frame_bytes[offsets[k]:offsets[k + 1]]``,
        empty where nothing was written."""
        blobs = [b"" if b is None else b for b in self.blobs.reshape(-1).tolist()]
        offsets = np.zeros(len(blobs) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in blobs], out=offsets[1:])
        return {
            "frame_bytes": np.frombuffer(b"".join(blobs), dtype=np.uint8),
            "frame_offsets": offsets,
        }

    def checked_state(self, state: dict[str, Any], in_memory: np.ndarray) -> list:
        """The saved frames as bytes objects per slot, ready for `load`, after checking that
        exactly the slots in memory (bool (n_envs, slots)) hold a frame and that every one
        decompresses to the frame size; else ValueError naming what is wrong."""
        if "frame_bytes" not in state or "frame_offsets" not in state:
            raise ValueError(_mode_mismatch(saved_compressed=False))
        data, offsets = np.asarray(state["frame_bytes"]), np.asarray(state["frame_offsets"])
        n = self.blobs.size
        if data.dtype != np.uint8 or data.ndim != 1:
            raise ValueError(
                f"replay 'frame_bytes' must be uint8 1-D, got {data.dtype}{data.shape}"
            )
        if offsets.dtype != np.int64 or offsets.shape != (n + 1,):
            raise ValueError(
                f"replay 'frame_offsets' is {offsets.dtype}{list(offsets.shape)} in the saved "
                f"state, expected int64[{n + 1}]"
            )
        sizes = np.diff(offsets)
        if offsets[0] != 0 or offsets[-1] != len(data) or (sizes < 0).any():
            raise ValueError(
                "replay 'frame_offsets' do not split 'frame_bytes' into frames (they must rise "
                f"from 0 to its length {len(data)})"
            )
        written = in_memory.reshape(-1)
        if ((sizes > 0) != written).any():
            k = int(np.flatnonzero((sizes > 0) != written)[0])
            raise ValueError(
                f"replay slot {k} (env {k // self.slots}) {'has no' if written[k] else 'has a'} "
                "compressed frame but the saved cursors say it was "
                f"{'written' if written[k] else 'never written'}"
            )
        raw = data.tobytes()
        bounds = offsets.tolist()
        blobs = [raw[bounds[k] : bounds[k + 1]] if written[k] else None for k in range(n)]
        for k in np.flatnonzero(written).tolist():
            problem = codec.check(blobs[k], self.frame_nbytes)
            if problem:
                raise ValueError(
                    f"replay slot {k} (env {k // self.slots}): the saved compressed frame is "
                    f"corrupt: {problem}"
                )
        return blobs

    def load(self, checked: list) -> None:
        # dtype=object keeps each bytes object whole (a plain array of bytes would be "S",
        # which drops trailing zero bytes).
        self.blobs.reshape(-1)[:] = np.array(checked, dtype=object)
        self.payload_nbytes = sum(len(b) + _BYTES_HEADER for b in checked if b is not None)


def _mode_mismatch(saved_compressed: bool) -> str:
    saved, here = ("compressed", "raw") if saved_compressed else ("raw", "compressed")
    return (
        f"the saved replay stores its frames {saved} but this buffer stores them {here}: a "
        f"state loads only into a buffer built the same way; build it with "
        f"compress={saved_compressed}"
    )
