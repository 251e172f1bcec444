"""numpy-2 safe ROM-header and RAM reads for gym-super-mario-bros 7.4.0 on nes-py 8.2.1.

The reads are checked on hand-built bytes (including the sizes and positions whose arithmetic
overflows uint8) and, on the real emulator and ROM, against two scripted runs recorded with the
package's own env under numpy 1.26. The layer exists only for the 7.4.0 backend (Python < 3.13).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import io

import numpy as np
import pytest

pytest.importorskip("gym_super_mario_bros", reason="needs the mario extra (not in the ray venv)")
if int(importlib.metadata.version("gym-super-mario-bros").split(".")[0]) >= 9:
    pytest.skip("9.x reads its bytes numpy-2 safely itself", allow_module_level=True)

with contextlib.redirect_stderr(io.StringIO()):  # gym 0.26's "unmaintained" notice
    from gym_super_mario_bros import SuperMarioBrosEnv
    from gym_super_mario_bros._roms import rom_path
    from nes_py import nes_env

from rlgames.envs.nes_compat import (
    NumpySafeROM,
    NumpySafeSuperMarioBrosEnv,
    area,
    left_x_position,
    level,
    numpy_safe_rom,
    stage,
    world,
    x_position,
    y_position,
)

pytestmark = pytest.mark.mario

NUMPY_2 = int(np.__version__.split(".")[0]) >= 2
SMB_ROM = rom_path(False, "vanilla")  # the Super Mario Bros ROM that 7.4.0 ships

# Joypad bytes of the scripted runs.
R, RB, RAB, B, LB = 0x80, 0x82, 0x83, 0x02, 0x42  # right, +B (run), +A (jump); B; left + B

#: World 1-1 from its first frame to the flag in 1199 frames, as (joypad byte, frames); found by
#: a throwaway greedy search over short button segments.
FLAG_RUN = [
    (RAB, 4), (RB, 28), (RAB, 4), (RB, 28), (RAB, 4), (RB, 28), (RAB, 12), (RB, 20), (B, 8),
    (RAB, 32), (RB, 28), (LB, 12), (RAB, 28), (RB, 16), (B, 8), (RAB, 32), (RB, 28), (RAB, 12),
    (RB, 20), (B, 8), (RAB, 28), (B, 8), (RAB, 28), (B, 8), (RAB, 28), (B, 8), (RAB, 28),
    (B, 8), (RAB, 28), (B, 8), (RAB, 28), (B, 8), (RAB, 28), (B, 8), (RAB, 28), (B, 8),
    (RAB, 32), (RB, 28), (B, 8), (RAB, 32), (RB, 28), (RAB, 20), (RB, 12), (RAB, 4), (RB, 28),
    (B, 8), (RAB, 28), (B, 8), (RAB, 28), (LB, 12), (RAB, 28), (B, 8), (RAB, 28), (B, 8),
    (RAB, 28), (B, 8), (RAB, 32), (RB, 28), (RAB, 20), (RB, 12), (RAB, 4), (RB, 28), (RAB, 4),
    (RB, 39),
]  # fmt: skip
#: The whole game, holding right: the first goomba takes all three lives.
GAME_OVER_RUN = [(R, 481)]

# Recorded once with gym-super-mario-bros 7.4.0's own SuperMarioBrosEnv (no rlgames code), nes-py
# 8.2.1, gym 0.26.2 and numpy 1.26.4 on Python 3.11: the info after the step numbered (steps
# counted from 1 after reset; 0 is reset itself), with the return (sum of rewards) so far.
FIELDS = ("x_pos", "y_pos", "score", "coins", "time", "world", "stage", "life", "status")
FLAG_RUN_RECORDED = {
    0: (40, 79, 0, 0, 400, 1, 1, 2, "small", 0.0),
    100: (278, 97, 0, 0, 395, 1, 1, 2, "small", 233.0),
    300: (793, 127, 0, 0, 385, 1, 1, 2, "small", 738.0),
    500: (1383, 162, 100, 0, 375, 1, 1, 2, "small", 1318.0),
    700: (1872, 79, 400, 1, 365, 1, 1, 2, "small", 1797.0),
    900: (2466, 211, 400, 1, 355, 1, 1, 2, "small", 2381.0),
    1100: (2930, 149, 400, 1, 345, 1, 1, 2, "small", 2835.0),
    1199: (3161, 105, 400, 1, 341, 1, 1, 2, "small", 3062.0),  # flag_get, done
}
GAME_OVER_RUN_RECORDED = {
    0: (40, 79, 0, 0, 400, 1, 1, 2, "small", 0.0),
    161: (40, 79, 0, 0, 400, 1, 1, 1, "small", 231.0),  # first death: back to the start
    321: (40, 79, 0, 0, 400, 1, 1, 0, "small", 463.0),  # second
    481: (296, 79, 0, 0, 393, 1, 1, 255, "small", 680.0),  # third: game over, done
}
#: The same recording, every step: the first 16 hex digits of sha256(repr(rows)), a row being
#: (reward, done, *FIELDS, flag_get) with every value but status and reward as int (`trace`).
FLAG_RUN_DIGEST = "62c6421dea7809cf"
GAME_OVER_RUN_DIGEST = "89adf35ffce534a4"


def write_rom(path, header: dict[int, int], prg: int, chr_: int) -> str:
    """An iNES file: the magic bytes, `header` bytes, then `prg` bytes of 0xAA, `chr_` of 0xBB."""
    head = bytearray(16)
    head[:4] = b"NES\x1a"
    for index, value in header.items():
        head[index] = value
    path.write_bytes(bytes(head) + b"\xaa" * prg + b"\xbb" * chr_)
    return str(path)


def ram_with(bytes_at: dict[int, int]) -> np.ndarray:
    """2 KB of NES RAM, zero but for the given {address: byte}."""
    ram = np.zeros(0x800, dtype=np.uint8)
    for address, value in bytes_at.items():
        ram[address] = value
    return ram


def trace(env, runs: list[tuple[int, int]]) -> list[tuple]:
    """(reward, done, *FIELDS, flag_get) after every step of `runs` from a reset, until done;
    row 0 is the reset's info, with reward 0 and done False."""
    env.reset()
    rows = [(0.0, False, *info_values(env._get_info()))]
    for button, frames in runs:
        for _ in range(frames):
            _, reward, done, info = env.step(button)
            rows.append((float(reward), bool(done), *info_values(info)))
            if done:
                return rows
    return rows


def info_values(info: dict) -> tuple:
    values = tuple(info[f] if f == "status" else int(info[f]) for f in FIELDS)
    return (*values, int(info["flag_get"]))


def checkpoints(rows: list[tuple], recorded: dict[int, tuple]) -> dict[int, tuple]:
    returns = np.cumsum([row[0] for row in rows])
    return {i: (*rows[i][2:-1], float(returns[i])) for i in recorded}


def digest(rows: list[tuple]) -> str:
    return hashlib.sha256(repr(rows[1:]).encode()).hexdigest()[:16]


# ------------------------------------------------------------- the ROM header


def test_rom_sizes_of_256_kb_and_their_offsets_are_read_exactly(tmp_path):
    # 16 PRG banks of 16 KB and 32 CHR banks of 8 KB: 16 * 16 and 8 * 32 wrap to 0 in uint8,
    # and every offset (KB * 2**10) overflows it.
    path = write_rom(tmp_path / "big.nes", {4: 16, 5: 32, 8: 32}, prg=256 * 1024, chr_=256 * 1024)
    rom = NumpySafeROM(path)
    assert (rom.prg_rom_size, rom.chr_rom_size, rom.prg_ram_size) == (256, 256, 256)
    assert (rom.prg_rom_start, rom.prg_rom_stop) == (16, 16 + 256 * 1024)
    assert (rom.chr_rom_start, rom.chr_rom_stop) == (16 + 256 * 1024, 16 + 512 * 1024)
    assert len(rom.prg_rom) == 256 * 1024 and set(rom.prg_rom.tolist()) == {0xAA}
    assert len(rom.chr_rom) == 256 * 1024 and set(rom.chr_rom.tolist()) == {0xBB}


def test_prg_ram_of_zero_banks_means_8_kb(tmp_path):
    rom = NumpySafeROM(write_rom(tmp_path / "small.nes", {4: 1, 5: 1}, prg=16384, chr_=8192))
    assert rom.prg_ram_size == 8


def test_the_super_mario_bros_rom_is_32_kb_prg_8_kb_chr_on_mapper_0():
    rom = NumpySafeROM(SMB_ROM)
    assert (rom.prg_rom_size, rom.chr_rom_size, rom.mapper) == (32, 8, 0)
    assert (rom.prg_rom_stop, rom.chr_rom_stop) == (16 + 32768, 16 + 32768 + 8192)
    assert not (rom.has_trainer or rom.is_pal)


def test_the_safe_reader_stands_in_for_nes_py_s_only_while_the_block_runs():
    package_rom = nes_env.ROM
    with numpy_safe_rom():
        assert nes_env.ROM is NumpySafeROM
    assert nes_env.ROM is package_rom


# ------------------------------------------------------------- RAM reads


@pytest.mark.parametrize(
    ("read", "ram", "expected"),
    [
        (x_position, ram_with({0x6D: 0, 0x86: 40}), 40),
        (x_position, ram_with({0x6D: 3, 0x86: 200}), 3 * 256 + 200),  # page * 256 overflows uint8
        (x_position, ram_with({0x6D: 255, 0x86: 255}), 65535),
        (left_x_position, ram_with({0x86: 200, 0x71C: 136}), 64),
        (left_x_position, ram_with({0x86: 10, 0x71C: 250}), 16),  # the page turned in between
        (y_position, ram_with({0xB5: 1, 0x3B8: 176}), 79),  # standing on the ground of 1-1
        (y_position, ram_with({0xB5: 0, 0x3B8: 250}), 260),  # above the screen: 255 + 5 wraps uint8
        (y_position, ram_with({0xB5: 0, 0x3B8: 0}), 510),
        (level, ram_with({0x75F: 7, 0x75C: 3}), 31),  # 8-4
        (world, ram_with({0x75F: 7}), 8),
        (stage, ram_with({0x75C: 3}), 4),
        (area, ram_with({0x760: 4}), 5),
    ],
)
def test_ram_reads_equal_hand_computed_values(read, ram, expected):
    value = read(ram)
    assert value == expected and type(value) is int


def test_the_env_reads_the_emulators_own_ram_with_the_safe_reads():
    env = NumpySafeSuperMarioBrosEnv(target=(1, 1))
    try:
        env.reset()
        env.ram[0x6D], env.ram[0x86] = 3, 200  # the live RAM of the running emulator
        env.ram[0xB5], env.ram[0x3B8] = 0, 250
        info = env._get_info()
        assert (info["x_pos"], info["y_pos"]) == (968, 260)
    finally:
        env.close()


@pytest.mark.skipif(not NUMPY_2, reason="numpy 1 promotes the bytes itself")
def test_the_packages_own_reads_overflow_on_numpy_2():
    """Why the layer exists: the reads it replaces raise on numpy 2."""
    with pytest.raises(OverflowError, match="1024 out of bounds for uint8"):
        _ = nes_env.ROM(SMB_ROM).prg_rom
    env = NumpySafeSuperMarioBrosEnv(target=(1, 1))
    try:
        with pytest.raises(OverflowError, match="256 out of bounds for uint8"):
            SuperMarioBrosEnv._x_position.fget(env)
    finally:
        env.close()


# ------------------------------------------------------------- recorded runs, real emulator


def test_a_scripted_run_to_the_1_1_flag_matches_numpy_1_26_step_for_step():
    env = NumpySafeSuperMarioBrosEnv(target=(1, 1))
    try:
        rows = trace(env, FLAG_RUN)
    finally:
        env.close()
    assert len(rows) == 1200 and rows[-1][1] and rows[-1][-1] == 1  # done at the flag
    assert checkpoints(rows, FLAG_RUN_RECORDED) == FLAG_RUN_RECORDED
    assert digest(rows) == FLAG_RUN_DIGEST


def test_losing_all_three_lives_in_the_whole_game_matches_numpy_1_26_step_for_step():
    env = NumpySafeSuperMarioBrosEnv()
    try:
        rows = trace(env, GAME_OVER_RUN)
    finally:
        env.close()
    assert len(rows) == 482 and rows[-1][1]  # done at game over
    assert checkpoints(rows, GAME_OVER_RUN_RECORDED) == GAME_OVER_RUN_RECORDED
    assert digest(rows) == GAME_OVER_RUN_DIGEST
