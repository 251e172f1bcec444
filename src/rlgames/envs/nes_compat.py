"""numpy-2 safe ROM-header and RAM reads for gym-super-mario-bros 7.4.0 on nes-py 8.2.1.

Those are the only releases below Python 3.13. Both read bytes as numpy uint8 scalars and do
arithmetic on them with Python ints. numpy 1 promoted such a scalar to int64; numpy 2 keeps
uint8 (NEP 50), so a constant that does not fit in a byte raises (``prg_rom_size * 2**10``:
"Python integer 1024 out of bounds for uint8"; ``ram[0x6D] * 0x100``: 256) and a result that
does not fit wraps (``16 * header[4]``, ``255 + (255 - y)``). Here each of those reads is redone
on bytes cast to Python int first, which gives numpy 1's values on either numpy. Nothing is
copied from or written into either package: `NumpySafeSuperMarioBrosEnv` subclasses the
package's env and overrides just those reads. See docs/mario.md.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from gym_super_mario_bros import SuperMarioBrosEnv
from nes_py import nes_env

#: RAM addresses that gym-super-mario-bros 7.4.0 reads with arithmetic.
X_PAGE = 0x006D  # Mario's x, high byte: the 256-px page of the stage
X_IN_PAGE = 0x0086  # Mario's x, low byte
SCREEN_LEFT_X = 0x071C  # x of the screen's left edge, low byte
Y_PIXEL = 0x03B8  # Mario's y in px down from the top of the screen
Y_VIEWPORT = 0x00B5  # 0 above the screen, 1 on it, > 1 below it (falling into a hole)
WORLD, STAGE, AREA = 0x075F, 0x075C, 0x0760  # each counted from 0


def x_position(ram: np.ndarray) -> int:
    """Mario's x in px from the stage start: page * 256 + x in the page (0-65535)."""
    return int(ram[X_PAGE]) * 0x100 + int(ram[X_IN_PAGE])


def left_x_position(ram: np.ndarray) -> int:
    """Mario's x in px from the screen's left edge (0-255)."""
    return (int(ram[X_IN_PAGE]) - int(ram[SCREEN_LEFT_X])) % 256


def y_position(ram: np.ndarray) -> int:
    """Mario's y in px up from the bottom of the screen; above the screen it runs on past 255."""
    y = 255 - int(ram[Y_PIXEL])
    return y + 255 if int(ram[Y_VIEWPORT]) < 1 else y


def level(ram: np.ndarray) -> int:
    """The stage counted from 0 over the whole game: (world - 1) * 4 + stage - 1 (0-31)."""
    return int(ram[WORLD]) * 4 + int(ram[STAGE])


def world(ram: np.ndarray) -> int:
    """The world, 1-8."""
    return int(ram[WORLD]) + 1


def stage(ram: np.ndarray) -> int:
    """The stage within the world, 1-4."""
    return int(ram[STAGE]) + 1


def area(ram: np.ndarray) -> int:
    """The area (a part of a stage, e.g. under a pipe), 1-5."""
    return int(ram[AREA]) + 1


class NumpySafeROM(nes_env.ROM):
    """nes-py 8.2.1's ROM reader with the header's sizes as Python ints (KB).

    The package's ``16 * header[4]`` stays uint8 on numpy 2, so 16 or more PRG banks wrap, and
    the stop offsets (size * 2**10) that `NESEnv` checks on every ROM raise."""

    @property
    def prg_rom_size(self) -> int:
        """PRG ROM size in KB: header byte 4 counts 16-KB banks."""
        return 16 * int(self.header[4])

    @property
    def chr_rom_size(self) -> int:
        """CHR ROM size in KB: header byte 5 counts 8-KB banks."""
        return 8 * int(self.header[5])

    @property
    def prg_ram_size(self) -> int:
        """PRG RAM size in KB: header byte 8 counts 8-KB banks, 0 meaning 1."""
        return 8 * max(int(self.header[8]), 1)


_ROM_SWAP = threading.RLock()


@contextlib.contextmanager
def numpy_safe_rom() -> Iterator[None]:
    """While the block runs, `NESEnv.__init__` reads the ROM header with `NumpySafeROM`.

    nes-py 8.2.1 builds its reader from the module global ``nes_py.nes_env.ROM`` and takes no
    argument for another, so that global is swapped for the block and restored after it."""
    with _ROM_SWAP:
        package_rom = nes_env.ROM
        nes_env.ROM = NumpySafeROM
        try:
            yield
        finally:
            nes_env.ROM = package_rom


def _ram_read(read: Callable[[np.ndarray], int]) -> property:
    return property(lambda env: read(env.ram), doc=read.__doc__)


class NumpySafeSuperMarioBrosEnv(SuperMarioBrosEnv):
    """gym-super-mario-bros 7.4.0's env, with its ROM-header and RAM arithmetic numpy-2 safe.

    Its info, reward and episode ends are the package's under numpy 1 (its other reads compare
    bytes without arithmetic, which both numpys do alike)."""

    def __init__(self, rom_mode: str = "vanilla", lost_levels: bool = False, target: Any = None):
        with numpy_safe_rom():
            super().__init__(rom_mode=rom_mode, lost_levels=lost_levels, target=target)

    # The package's properties of the same names compute these from uint8 bytes.
    _x_position = _ram_read(x_position)
    _left_x_position = _ram_read(left_x_position)
    _y_position = _ram_read(y_position)
    _level = _ram_read(level)
    _world = _ram_read(world)
    _stage = _ram_read(stage)
    _area = _ram_read(area)
