"""The in-page grayscale path equals gymnasium's wrappers applied to the rgb canvas.

Two browsers play the same seed and actions (the env is deterministic, so they show the same
frames): one returns rgb, put through GrayscaleObservation + ResizeObservation (cv2 INTER_AREA);
the other does grayscale and the area resize inside the page.
"""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.wrappers import GrayscaleObservation, ResizeObservation

pytest.importorskip("selenium")
pytest.importorskip("websocket")

from rlgames.envs.dino import ChromeDinoEnv  # noqa: E402

pytestmark = pytest.mark.dino


def paired_frames(size, steps: int = 120, seed: int = 5):
    wrapped = ResizeObservation(GrayscaleObservation(ChromeDinoEnv(obs_type="rgb")), size)
    fused = ChromeDinoEnv(obs_type="grayscale", screen_size=size)
    try:
        assert fused.observation_space == wrapped.observation_space
        a, _ = wrapped.reset(seed=seed)
        b, _ = fused.reset(seed=seed)
        pairs = [(a, b)]
        rng = np.random.default_rng(0)
        for _ in range(steps):
            action = int(rng.choice(3, p=[0.8, 0.15, 0.05]))
            a, _, done_a, _, _ = wrapped.step(action)
            b, _, done_b, _, _ = fused.step(action)
            pairs.append((a, b))
            assert done_a == done_b
            if done_a:
                a, _ = wrapped.reset()
                b, _ = fused.reset()
        return pairs
    finally:
        wrapped.close()
        fused.close()


@pytest.mark.parametrize("size", [(84, 84), (100, 200)])
def test_fused_grayscale_matches_the_wrappers_within_one_level(size):
    pairs = paired_frames(size)
    diffs = np.stack([a.astype(int) - b.astype(int) for a, b in pairs])
    assert np.abs(diffs).max() <= 1  # rounding of the area average's last bit
    assert (diffs != 0).mean() < 0.01
    assert any(a.min() < 200 for a, _ in pairs)  # frames with something drawn in them


def test_full_size_grayscale_equals_the_grayscale_wrapper_exactly():
    rgb = GrayscaleObservation(ChromeDinoEnv(obs_type="rgb"))
    gray = ChromeDinoEnv(obs_type="grayscale", screen_size=None)
    try:
        a, _ = rgb.reset(seed=1)
        b, _ = gray.reset(seed=1)
        np.testing.assert_array_equal(a, b)
        for _ in range(30):
            a, *_ = rgb.step(1)
            b, *_ = gray.step(1)
        np.testing.assert_array_equal(a, b)
    finally:
        rgb.close()
        gray.close()


def test_screen_size_larger_than_the_canvas_is_refused():
    with pytest.raises(ValueError, match="must fit in the 150x"):
        ChromeDinoEnv(obs_type="grayscale", screen_size=(300, 300))
