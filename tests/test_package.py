"""The package's promises at import time: light, registered, clear errors for missing extras."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import gymnasium as gym
import pytest

import rlgames
from rlgames.registration import registered_ids


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_does_not_load_torch_selenium_or_emulators():
    result = run_python(
        """
        import sys, rlgames
        heavy = ["torch", "selenium", "ale_py", "nes_py", "gym_super_mario_bros", "cv2"]
        loaded = [m for m in heavy if m in sys.modules]
        assert not loaded, loaded
        """
    )
    assert result.returncode == 0, result.stderr


def test_import_registers_every_env_id():
    for env_id in ["ChromeDino-v0", "rlgames/SuperMarioBros-v0", "rlgames/SuperMarioBros-8-4-v0"]:
        assert env_id in gym.registry
    assert set(registered_ids()) <= set(gym.registry)
    assert len(registered_ids()) == 1 + 1 + 32


def test_registering_twice_is_harmless():
    rlgames.register_envs()
    assert len([i for i in gym.registry if i.startswith("rlgames/")]) == 33


def test_make_with_module_prefix_imports_the_package():
    # Without a prior `import rlgames`, Gymnasium imports it from the "rlgames:" prefix. The
    # env itself is not built (that needs Chromium): the spec lookup is what is checked.
    result = run_python(
        """
        import gymnasium as gym
        from gymnasium.envs.registration import _find_spec
        spec = _find_spec("rlgames:ChromeDino-v0")
        assert spec.entry_point == "rlgames.envs.dino:ChromeDinoEnv", spec
        """
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("env_id", "blocked", "extra"),
    [
        ("ChromeDino-v0", "selenium", "dino"),
        ("rlgames/SuperMarioBros-1-1-v0", "nes_py", "mario"),
        ("ALE/Breakout-v5", "ale_py", "atari"),
    ],
)
def test_missing_extra_names_the_install_command(env_id, blocked, extra):
    result = run_python(
        f"""
        import sys
        sys.modules[{blocked!r}] = None  # as if the package were not installed
        import gymnasium as gym, rlgames
        try:
            rlgames.make_env({env_id!r})
        except gym.error.DependencyNotInstalled as e:
            print("ERROR:", e)
        else:
            raise SystemExit("no error raised")
        """
    )
    assert result.returncode == 0, result.stderr
    assert f'pip install "rlgames[{extra}]"' in result.stdout
