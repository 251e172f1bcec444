"""Checkpoint files: exact round trips, one clear error for bad files, atomic writes, no pickle."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlgames.training.checkpoint
from rlgames.agents import ReplayBuffer, make_agent
from rlgames.training.checkpoint import (
    CheckpointError,
    check_compatible,
    describe_space,
    load_checkpoint,
    save_checkpoint,
)

SRC = Path(rlgames.training.checkpoint.__file__).resolve().parent


def contents(version: int = 1):
    tensors = {
        "w": torch.arange(12, dtype=torch.float32).reshape(3, 4) * version,
        "step": torch.tensor(7, dtype=torch.int64),
        "mask": torch.tensor([True, False]),
    }
    arrays = {
        "frames": np.arange(600, dtype=np.uint8).reshape(6, 10, 10) * version,
        "flags": np.array([True, False, True]),
        "gamma": np.array(0.99),
        "big": np.full((1000, 100), version, dtype=np.float32),
    }
    meta = {"version": version, "env_id": "CartPole-v1", "nested": {"a": [1, 2.5, None]}}
    return tensors, arrays, meta


@pytest.fixture
def saved(tmp_path) -> Path:
    return save_checkpoint(tmp_path / "run.ckpt", *contents())


def test_round_trip_restores_tensors_arrays_and_meta_exactly(saved):
    tensors, arrays, meta = load_checkpoint(saved)
    want_t, want_a, want_m = contents()
    assert meta == want_m
    for key, value in want_t.items():
        assert tensors[key].dtype == value.dtype and torch.equal(tensors[key], value)
    for key, value in want_a.items():
        assert arrays[key].dtype == value.dtype
        np.testing.assert_array_equal(arrays[key], value)


def test_an_agent_and_its_replay_buffer_survive_a_checkpoint(tmp_path):
    obs_space, act_space = spaces.Box(0, 255, (4, 84, 84), np.uint8), spaces.Discrete(4)
    agent = make_agent("dueling", obs_space, act_space, seed=0)
    buffer = ReplayBuffer(64, obs_space, act_space)
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 256, (1, 4, 84, 84), dtype=np.uint8)
    for t in range(40):
        frame = rng.integers(0, 256, (1, 1, 84, 84), dtype=np.uint8)
        nxt = np.concatenate([obs[:, 1:], frame], axis=1)  # a frame stack moves on by one
        buffer.add(obs, [t % 4], [1.0], nxt, [t % 9 == 8], [False])
        obs = nxt
    agent.update(buffer.sample(8, rng))
    path = save_checkpoint(tmp_path / "c", agent.state_dict(), buffer.state_dict(), {})
    tensors, arrays, _ = load_checkpoint(path)
    agent2 = make_agent("dueling", obs_space, act_space, seed=9)
    agent2.load_state_dict(tensors)
    buffer2 = ReplayBuffer(64, obs_space, act_space)
    buffer2.load_state_dict(arrays)
    restored = agent2.state_dict()
    for key, value in agent.state_dict().items():
        assert torch.equal(restored[key], value), key
    for key, value in buffer.state_dict().items():
        np.testing.assert_array_equal(buffer2.state_dict()[key], value)
    batch = buffer.sample(8, np.random.default_rng(1))  # and both learn on identically
    agent.update(batch)
    agent2.update(batch)
    restored = agent2.state_dict()
    for key, value in agent.state_dict().items():
        assert torch.equal(restored[key], value), key


@pytest.mark.parametrize(
    "foreign",
    [b"", b"hello world\n" * 10, b"\x89PNG\r\n\x1a\n" + bytes(100), b"PK\x03\x04" + bytes(100)],
)
def test_a_foreign_file_is_refused_as_not_an_rlgames_checkpoint(tmp_path, foreign):
    path = tmp_path / "foreign"
    path.write_bytes(foreign)
    with pytest.raises(CheckpointError, match="not an rlgames checkpoint"):
        load_checkpoint(path)


def test_a_safetensors_file_is_refused_as_not_an_rlgames_checkpoint(tmp_path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(3)}, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="not an rlgames checkpoint"):
        load_checkpoint(tmp_path / "model.safetensors")


@pytest.mark.parametrize("keep", [0.001, 0.01, 0.1, 0.5, 0.9, 0.9999])
def test_a_truncated_file_is_refused_as_truncated(saved, keep):
    data = saved.read_bytes()
    saved.write_bytes(data[: max(13, int(len(data) * keep))])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(saved)


@pytest.mark.parametrize("where", [0.002, 0.01, 0.3, 0.99])
def test_a_tampered_file_is_refused_as_tampered(saved, where):
    data = bytearray(saved.read_bytes())
    data[int(len(data) * where)] ^= 0x01  # header, tensors, arrays
    saved.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="tampered"):
        load_checkpoint(saved)


def test_edited_meta_is_refused_as_tampered(saved):
    saved.write_bytes(saved.read_bytes().replace(b'"CartPole-v1"', b'"CartPole-v0"'))
    with pytest.raises(CheckpointError, match="tampered"):
        load_checkpoint(saved)


@pytest.mark.parametrize("bad", [{"x": np.float32(1.0)}, {"best": float("-inf")}])
def test_meta_that_is_not_plain_json_is_refused_before_writing(tmp_path, bad):
    with pytest.raises(ValueError, match="plain JSON"):
        save_checkpoint(tmp_path / "m", {}, {}, bad)
    assert not list(tmp_path.iterdir())


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


def test_a_failure_inside_the_write_leaves_the_previous_checkpoint_and_no_temp_file(
    saved, monkeypatch
):
    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rlgames.training.checkpoint.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        save_checkpoint(saved, *contents(version=2))
    monkeypatch.undo()
    assert load_checkpoint(saved)[2]["version"] == 1
    assert sorted(p.name for p in saved.parent.iterdir()) == [saved.name]


WRITER = """
import sys, numpy as np, torch
from rlgames.training.checkpoint import save_checkpoint
path = sys.argv[1]
save_checkpoint(path, {"w": torch.ones(3)}, {"a": np.zeros(10)}, {"version": 1})
print("first written", flush=True)
big = {"a": np.random.default_rng(0).random((4000, 4000))}  # 128 MB: a write of ~0.2 s or more
save_checkpoint(path, {"w": torch.ones(3) * 2}, big, {"version": 2})
"""


def kill_while_writing(path: Path) -> bool:
    """Start WRITER, SIGKILL it as soon as its temp file appears; True if that was mid-write."""
    writer = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(WRITER), str(path)], stdout=subprocess.PIPE
    )
    try:
        assert writer.stdout.readline() == b"first written\n"
        while writer.poll() is None and not list(path.parent.glob(f".{path.name}.*.tmp")):
            time.sleep(0.0005)
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.wait()
    return bool(list(path.parent.glob(f".{path.name}.*.tmp")))  # killed before the rename


def test_a_process_killed_while_writing_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "run.ckpt"
    # The kill lands inside the write in practice; retry in the rare case the write won.
    assert any(kill_while_writing(path) for _ in range(5)), "never killed mid-write"
    tensors, arrays, meta = load_checkpoint(path)
    assert meta["version"] == 1 and torch.equal(tensors["w"], torch.ones(3))


def test_check_compatible_names_the_mismatch():
    box, discrete = spaces.Box(0, 255, (4, 84, 84), np.uint8), spaces.Discrete(4)
    meta = {
        "env_id": "ALE/Breakout-v5",
        "agent": "dqn",
        "observation_space": describe_space(box),
        "action_space": describe_space(discrete),
    }
    check_compatible(
        meta, env_id="ALE/Breakout-v5", agent="dqn", observation_space=box, action_space=discrete
    )
    other_box = spaces.Box(0, 255, (4, 80, 160), np.uint8)
    mismatches = {
        "env_id": {"env_id": "CartPole-v1"},
        "agent": {"agent": "dueling"},
        "observation_space": {"observation_space": other_box},
        "action_space": {"action_space": spaces.Discrete(6)},
    }
    for key, kwargs in mismatches.items():
        with pytest.raises(CheckpointError, match=key):
            check_compatible(meta, **kwargs)


def test_nothing_in_src_loads_pickle():
    forbidden = re.compile(
        r"^\s*(import|from)\s+(c?pickle|dill|cloudpickle|joblib|shelve)\b"
        r"|pickle\.loads?\(|allow_pickle\s*=\s*True|weights_only\s*=\s*False"
    )
    offenders = []
    for file in SRC.rglob("*.py"):
        text = file.read_text()
        offenders += [f"{file}: {line}" for line in text.splitlines() if forbidden.search(line)]
        for call in re.finditer(r"torch\.load\(", text):  # must say weights_only=True
            if "weights_only=True" not in text[call.start() : call.start() + 300]:
                offenders.append(f"{file}: torch.load without weights_only=True")
    assert not offenders, offenders


def forge(path: Path, header: dict, body: bytes = b"") -> Path:
    """A file with a well-formed envelope around a header rlgames did not write."""
    import hashlib
    import json
    import struct

    raw = json.dumps(header).encode()
    frame = rlgames.training.checkpoint.MAGIC + struct.pack("<Q", len(raw)) + raw
    path.write_bytes(frame + hashlib.sha256(raw).digest() + body)
    return path


def test_a_header_asking_for_huge_or_odd_arrays_is_refused_before_allocating(tmp_path):
    base = {"format": "rlgames-checkpoint", "version": 2, "meta": {}}
    empty_tensors = {"nbytes": 0, "sha256": ""}
    huge = {"dtype": "<f8", "shape": [2**40, 2**40], "offset": 0, "nbytes": 8}
    objects = {"dtype": "|O", "shape": [1], "offset": 0, "nbytes": 8}
    for index in ({"a": huge}, {"a": objects}):
        arrays = {"nbytes": 8, "sha256": "", "index": index}
        header = {**base, "tensors": empty_tensors, "arrays": arrays}
        path = forge(tmp_path / "f", header, body=bytes(8))
        with pytest.raises(CheckpointError, match="tampered|corrupted|disallowed"):
            load_checkpoint(path)
    with pytest.raises(CheckpointError, match="malformed header"):
        load_checkpoint(forge(tmp_path / "g", base))
    with pytest.raises(CheckpointError, match="version 7"):
        load_checkpoint(forge(tmp_path / "h", {**base, "version": 7}))


def test_a_bad_tensor_section_or_meta_behind_valid_digests_is_refused(tmp_path):
    import hashlib

    blob = b"\x08\x00\x00\x00\x00\x00\x00\x00not json"  # not a safetensors blob
    empty_arrays = {"nbytes": 0, "sha256": hashlib.sha256().hexdigest(), "index": {}}
    base = {"format": "rlgames-checkpoint", "version": 2, "arrays": empty_arrays}
    tensors = {"nbytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
    path = forge(tmp_path / "t", {**base, "tensors": tensors, "meta": {}}, body=blob)
    with pytest.raises(CheckpointError, match="corrupted checkpoint \\(tensors"):
        load_checkpoint(path)
    from safetensors.torch import save as save_tensors

    empty = save_tensors({})
    tensors = {"nbytes": len(empty), "sha256": hashlib.sha256(empty).hexdigest()}
    header = {**base, "tensors": tensors, "meta": "notadict"}
    with pytest.raises(CheckpointError, match="meta is not a table"):
        load_checkpoint(forge(tmp_path / "m", header, body=empty))


def test_empty_and_zero_size_contents_round_trip(tmp_path):
    path = save_checkpoint(tmp_path / "e", {}, {"none": np.zeros((0, 3), np.uint8)}, {})
    tensors, arrays, meta = load_checkpoint(path)
    assert tensors == {} and meta == {} and arrays["none"].shape == (0, 3)


def test_temporaries_left_by_killed_writers_are_removed_by_the_next_write(tmp_path):
    path = tmp_path / "latest.ckpt"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True).stdout.strip()  # fmt: skip
    stale = tmp_path / f".latest.ckpt.{dead}.tmp"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".latest.ckpt.{os.getppid()}.tmp"  # a writer still running: kept
    live.write_bytes(b"in progress")
    save_checkpoint(path, {}, {}, {})
    assert not stale.exists() and live.exists()
