"""Checkpoint files: torch tensors, numpy arrays and JSON metadata in one file, no pickle.

Layout of one checkpoint file (all integers little-endian)::

    magic        12 bytes  b"\\x89RLGCKPT\\r\\n\\x1a\\n"
    header_len    8 bytes  uint64
    header       JSON      {"format": "rlgames-checkpoint", "version": 2, "meta": {...},
                            "tensors": {"nbytes", "sha256"},
                            "arrays": {"nbytes", "sha256", "index": {name: {dtype, shape,
                                                                           offset, nbytes}}}}
    header_sha   32 bytes  sha256 of the header bytes
    tensors      safetensors bytes (torch tensors)
    arrays       raw C-order bytes of each array, in index order (bool/int/uint/float only)

`save_parts` / `load_parts` write and read a run's state by parts: each part's
``state_dict()`` under ``<part>.`` (tensors and arrays in their sections, JSON values in
meta["state"]), so nothing is saved that its part does not load back.

Loading checks, in order, the magic (a foreign file), the format tag and version, the
header digest, the file size (a truncated file) and each section's digest (a tampered file);
each failure raises one `CheckpointError` naming what is wrong. Digests catch corruption and
edits, they are not a signature. Writes are atomic (`rlgames.fileio.atomic_write`): a crash
mid-write leaves the previous file intact.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from gymnasium import spaces
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from rlgames.fileio import atomic_write, remove_stale_temporaries

MAGIC = b"\x89RLGCKPT\r\n\x1a\n"
FORMAT = "rlgames-checkpoint"
VERSION = 2
"""2: state saved by parts, each under its own prefix (`save_parts`); 1 had flat names."""
_ARRAY_KINDS = "biuf"  # bool, signed, unsigned, float: plain bytes, never objects
_CHUNK = 1 << 24


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used: foreign, truncated, tampered or incompatible."""


def _array_bytes(array: np.ndarray) -> memoryview:
    """The array's C-order bytes, without a copy when it is contiguous (writable for reads)."""
    return memoryview(np.ascontiguousarray(array).reshape(-1).view(np.uint8))


def _sha256(views) -> str:
    digest = hashlib.sha256()
    for view in views:
        for start in range(0, len(view), _CHUNK):
            digest.update(view[start : start + _CHUNK])
    return digest.hexdigest()


def save_checkpoint(
    path: str | os.PathLike,
    tensors: dict[str, torch.Tensor],
    arrays: dict[str, np.ndarray],
    meta: dict[str, Any],
) -> Path:
    """Write tensors, arrays and JSON-able meta to path atomically; returns the path."""
    path = Path(path)
    blob = save_tensors({k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()})
    index, views, offset = {}, [], 0
    for name, value in arrays.items():
        array = np.asarray(value)
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            raise TypeError(f"array {name!r} has dtype {array.dtype}; only bool/int/float arrays")
        view = _array_bytes(array)
        index[name] = {
            "dtype": array.dtype.str,
            "shape": list(array.shape),
            "offset": offset,
            "nbytes": len(view),
        }
        views.append(view)
        offset += len(view)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "meta": meta,
        "tensors": {"nbytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()},
        "arrays": {"nbytes": offset, "sha256": _sha256(views), "index": index},
    }
    try:
        header_bytes = json.dumps(header, allow_nan=False).encode()
    except (TypeError, ValueError) as error:  # e.g. a numpy scalar, or inf/nan
        raise ValueError(
            f"checkpoint meta must be plain JSON (dict, list, str, int, finite float, bool, None): "
            f"{error}"
        ) from None
    remove_stale_temporaries(path)
    with atomic_write(path, "wb") as f:
        f.write(MAGIC + struct.pack("<Q", len(header_bytes)) + header_bytes)
        f.write(hashlib.sha256(header_bytes).digest())
        f.write(blob)
        for view in views:
            f.write(view)
    return path


def _read_exact(f, n: int, path: Path, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise CheckpointError(f"{path}: truncated checkpoint (file ends inside the {what})")
    return data


def _read_header(f, path: Path) -> dict[str, Any]:
    magic = f.read(len(MAGIC))
    if magic != MAGIC:
        raise CheckpointError(f"{path}: not an rlgames checkpoint (unknown file signature)")
    (length,) = struct.unpack("<Q", _read_exact(f, 8, path, "header length"))
    if length > 1 << 30:
        raise CheckpointError(f"{path}: tampered or corrupted checkpoint (header length)")
    header_bytes = _read_exact(f, length, path, "header")
    digest = _read_exact(f, 32, path, "header digest")
    if hashlib.sha256(header_bytes).digest() != digest:
        raise CheckpointError(f"{path}: tampered or corrupted checkpoint (header digest mismatch)")
    try:
        header = json.loads(header_bytes)
    except ValueError:
        raise CheckpointError(f"{path}: corrupted checkpoint (header is not JSON)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an rlgames checkpoint (no rlgames format tag)")
    if header.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint format version {header.get('version')}; this rlgames reads "
            f"version {VERSION}. Use the rlgames release that wrote it."
        )
    return header


def load_checkpoint(
    path: str | os.PathLike,
) -> tuple[dict[str, torch.Tensor], dict[str, np.ndarray], dict[str, Any]]:
    """Read (tensors, arrays, meta) written by save_checkpoint, verifying every digest."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as f:
        header = _read_header(f, path)
        try:
            return _read_sections(f, header, size, path)
        except (KeyError, TypeError, AttributeError) as error:  # a header we did not write
            raise CheckpointError(
                f"{path}: corrupted checkpoint (malformed header: {error!r})"
            ) from None


def _read_sections(f, header: dict[str, Any], size: int, path: Path):
    """Check the file size against the header, then read and verify both sections."""
    sections = header["tensors"]["nbytes"] + header["arrays"]["nbytes"]
    if size < f.tell() + sections:
        raise CheckpointError(
            f"{path}: truncated checkpoint ({size} bytes, expected {f.tell() + sections})"
        )
    if size > f.tell() + sections:
        raise CheckpointError(f"{path}: tampered or corrupted checkpoint (trailing bytes)")
    blob = _read_exact(f, header["tensors"]["nbytes"], path, "tensors")
    if hashlib.sha256(blob).hexdigest() != header["tensors"]["sha256"]:
        raise CheckpointError(f"{path}: tampered or corrupted checkpoint (tensors digest)")
    try:
        tensors = load_tensors(blob)
    except Exception as error:  # safetensors' own error types: a blob we did not write
        raise CheckpointError(f"{path}: corrupted checkpoint (tensors: {error})") from None
    arrays = _read_arrays(f, header["arrays"], path)
    if not isinstance(header["meta"], dict):
        raise CheckpointError(f"{path}: corrupted checkpoint (meta is not a table)")
    return tensors, arrays, header["meta"]


def _array_of(entry: dict[str, Any], name: str, offset: int, path: Path) -> np.ndarray:
    """An empty array for one index entry, after checking the entry describes plain bytes."""
    dtype = np.dtype(entry["dtype"])
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise CheckpointError(f"{path}: array {name!r} has a disallowed dtype {dtype}")
    shape = tuple(entry["shape"])
    if not all(isinstance(d, int) and d >= 0 for d in shape):
        raise CheckpointError(f"{path}: corrupted checkpoint (array {name!r} shape {shape})")
    nbytes = math.prod(shape) * dtype.itemsize  # exact: Python ints do not overflow
    if entry["offset"] != offset or entry["nbytes"] != nbytes:
        raise CheckpointError(f"{path}: corrupted checkpoint (array {name!r} index)")
    return np.empty(shape, dtype=dtype)


def _read_arrays(f, section: dict[str, Any], path: Path) -> dict[str, np.ndarray]:
    arrays, digest, offset = {}, hashlib.sha256(), 0
    for name, entry in section["index"].items():
        if offset + entry["nbytes"] > section["nbytes"]:  # before allocating anything
            raise CheckpointError(f"{path}: corrupted checkpoint (array {name!r} index)")
        array = _array_of(entry, name, offset, path)
        view = _array_bytes(array)
        for start in range(0, len(view), _CHUNK):
            chunk = view[start : start + _CHUNK]
            if f.readinto(chunk) != len(chunk):
                raise CheckpointError(f"{path}: truncated checkpoint (inside array {name!r})")
            digest.update(chunk)
        arrays[name] = array
        offset += len(view)
    if offset != section["nbytes"] or digest.hexdigest() != section["sha256"]:
        raise CheckpointError(f"{path}: tampered or corrupted checkpoint (arrays digest)")
    return arrays


class Stateful(Protocol):
    """What a checkpoint holds a part of a run by: a flat name -> value state and its inverse.
    Values are torch tensors, numpy arrays or plain JSON values."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def save_parts(path: str | os.PathLike, parts: dict[str, Stateful], meta: dict[str, Any]) -> Path:
    """Write each part's state_dict() under ``<part>.``: tensors and arrays in their sections,
    JSON values in meta["state"]; meta["parts"] lists the parts, so a loader knows each."""
    tensors: dict[str, torch.Tensor] = {}
    arrays: dict[str, np.ndarray] = {}
    values: dict[str, Any] = {}
    for name, part in parts.items():
        for key, value in part.state_dict().items():
            full = f"{name}.{key}"
            if torch.is_tensor(value):
                tensors[full] = value
            elif isinstance(value, np.ndarray):
                arrays[full] = value
            else:
                values[full] = value
    meta = {**meta, "parts": list(parts), "state": values}
    return save_checkpoint(path, tensors, arrays, meta)


def load_parts(path: str | os.PathLike) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """(each part's state by part name, meta) from a file `save_parts` wrote."""
    tensors, arrays, meta = load_checkpoint(path)
    names = meta.get("parts")
    if not isinstance(names, list) or not isinstance(meta.get("state"), dict):
        raise CheckpointError(f"{path}: corrupted checkpoint (no parts in its meta)")
    states: dict[str, dict[str, Any]] = {name: {} for name in names}
    for section in (tensors, arrays, meta["state"]):
        for full, value in section.items():
            name, _, key = full.partition(".")
            if name not in states:
                raise CheckpointError(f"{path}: corrupted checkpoint ({full!r} of no part)")
            states[name][key] = value
    return states, meta


def describe_space(space: spaces.Space) -> dict[str, Any]:
    """JSON description of a space, compared by check_compatible (type, shape, dtype, n)."""
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {"type": "Box", "shape": list(space.shape), "dtype": str(space.dtype)}
    return {"type": type(space).__name__, "repr": str(space)}


def check_compatible(
    meta: dict[str, Any],
    *,
    env_id: str | None = None,
    agent: str | None = None,
    observation_space: spaces.Space | None = None,
    action_space: spaces.Space | None = None,
) -> None:
    """Raise CheckpointError naming the first mismatch between meta and what is given.

    meta keys compared: "env_id", "agent" (store ``agent.name``), "observation_space" and
    "action_space" (store ``describe_space(space)``). Arguments left as None are not checked.
    """
    wanted = {
        "env_id": env_id,
        "agent": agent,
        "observation_space": None
        if observation_space is None
        else describe_space(observation_space),
        "action_space": None if action_space is None else describe_space(action_space),
    }
    for key, value in wanted.items():
        if value is None:
            continue
        if key not in meta:
            raise CheckpointError(f"checkpoint meta has no {key!r}; cannot check compatibility")
        if meta[key] != value:
            raise CheckpointError(f"checkpoint was made for {key} {meta[key]}, not {value}")
