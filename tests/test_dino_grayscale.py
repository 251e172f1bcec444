"""The in-page grayscale path equals gymnasium's wrappers applied to the rgb canvas.

Two browsers play the same seed and actions (the env is deterministic, so they show the same
frames): one returns rgb, put through GrayscaleObservation + ResizeObservation (cv2 INTER_AREA);
the other does grayscale and the area resize inside the page.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from gymnasium.wrappers import GrayscaleObservation, ResizeObservation

pytest.importorskip("selenium")
pytest.importorskip("websocket")

from rlgames.envs.dino import ChromeDinoEnv  # noqa: E402
from rlgames.envs.dino.game import decode_frame  # noqa: E402

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


# Random RGBA (any alpha) on a canvas of the game's size, read back by the page's own code.
RANDOM_CANVAS = """(() => {
  const canvas = document.createElement('canvas');
  canvas.width = %d;
  canvas.height = %d;
  const ctx = canvas.getContext('2d');
  const image = ctx.createImageData(canvas.width, canvas.height);
  for (let i = 0; i < image.data.length; i++) image.data[i] = Math.floor(Math.random() * 256);
  ctx.putImageData(image, 0, 0);
  const frame = new __rlFrame.Frame(canvas);
  return [frame.readRGB(), frame.readGray(), frame.readGraySmall(84, 84),
          frame.readGraySmall(100, 200)].map((bytes) => __rlFrame.encode(bytes));
})()"""


def test_gray_and_area_resize_match_numpy_and_cv2_on_dense_random_pixels():
    env = ChromeDinoEnv(obs_type="rgb")
    try:
        h, w = env.observation_space.shape[:2]
        rgb, full, small, wide = env.browser.evaluate(RANDOM_CANVAS % (w, h))
    finally:
        env.close()
    rgb = decode_frame(rgb).reshape(h, w, 3)
    gray = np.sum(np.multiply(rgb, np.array([0.2125, 0.7154, 0.0721])), axis=-1).astype(np.uint8)
    np.testing.assert_array_equal(decode_frame(full).reshape(h, w), gray)
    for coded, (rows, cols) in [(small, (84, 84)), (wide, (100, 200))]:
        expected = cv2.resize(gray, (cols, rows), interpolation=cv2.INTER_AREA).astype(int)
        diff = decode_frame(coded).reshape(rows, cols).astype(int) - expected
        assert np.abs(diff).max() <= 1 and (diff != 0).mean() < 0.01


# Reads the canvas the way the page does (only where the last frame drew, when it can) and
# compares with a full getImageData: -1 = the page read it whole, -2 = equal, else the first
# differing byte.
TRACKED_EQUALS_WHOLE = """(() => {
  const f = __rlGame.frame;
  if (f.damage.whole) return -1;
  const tracked = f.pixels();
  const whole = f.ctx.getImageData(0, 0, f.width, f.height).data;
  for (let i = 0; i < whole.length; i++) if (tracked[i] !== whole[i]) return i;
  return -2;
})()"""


def test_reading_only_the_drawn_boxes_equals_reading_the_whole_canvas():
    env = ChromeDinoEnv(obs_type="grayscale", screen_size=84)
    try:
        env.reset(seed=3)
        results = [env.browser.evaluate(TRACKED_EQUALS_WHOLE)]
        rng = np.random.default_rng(3)
        for _ in range(1500):
            _, _, terminated, truncated, _ = env.step(int(rng.choice(3, p=[0.8, 0.15, 0.05])))
            results.append(env.browser.evaluate(TRACKED_EQUALS_WHOLE))
            if terminated or truncated:
                env.reset()
                results.append(env.browser.evaluate(TRACKED_EQUALS_WHOLE))
    finally:
        env.close()
    assert all(r in (-1, -2) for r in results), f"tracked read differs at byte {max(results)}"
    assert results.count(-2) > 0.9 * len(results)  # the partial read is the usual path
    assert results.count(-1) > 0  # a crash before a step's last frame: nothing was tracked


def test_drawing_outside_a_step_is_seen():
    env = ChromeDinoEnv(obs_type="rgb", render_mode="rgb_array")
    try:
        env.reset(seed=0)
        env.step(0)
        assert (env.render()[60:70, 200:210] == 255).all()  # sky
        env.browser.evaluate("__rlGame.frame.ctx.fillRect(200, 60, 10, 10)")  # not a drawImage
        assert (env.render()[60:70, 200:210] < 255).all()
        env.step(0)  # the game clears and redraws the whole canvas
        before = env.render()
        assert (before[60:70, 200:210] == 255).all()
        dino = before[90:130, 44:84]  # a drawImage between steps, while nothing is tracked
        assert (dino < 255).any() and (before[40:80, 300:340] == 255).all()
        env.browser.evaluate(
            "__rlGame.frame.ctx.drawImage(__rlGame.r.canvas, 44, 90, 40, 40, 300, 40, 40, 40)"
        )
        np.testing.assert_array_equal(env.render()[40:80, 300:340], dino)
    finally:
        env.close()


# Damage on a canvas of our own: [whole read?, tracked read equals a full getImageData?].
DAMAGE_CASES = """(() => {
  const sprite = document.createElement('canvas');
  sprite.width = sprite.height = 10;
  sprite.getContext('2d').fillRect(0, 0, 10, 10);
  const fresh = () => {
    const canvas = document.createElement('canvas');
    canvas.width = 100;
    canvas.height = 50;
    return new __rlFrame.Frame(canvas);
  };
  const check = (frame) => {
    const tracked = frame.pixels();
    const whole = frame.ctx.getImageData(0, 0, 100, 50).data;
    return [frame.damage.whole, whole.every((v, i) => tracked[i] === v)];
  };
  const out = {};
  let f = fresh();
  f.damage.begin();
  f.ctx.clearRect(0, 0, 100, 50);
  f.ctx.drawImage(sprite, 0, 0, 10, 10, '-5', '3', '10', '10'); // strings, as JS allows
  f.damage.end();
  out.strings = check(f);
  f = fresh();
  f.damage.begin();
  f.ctx.clearRect(0, 0, 100, 50);
  f.ctx.save();
  f.ctx.translate(30, 10);
  f.ctx.scale(-1, 1); // drawn mirrored, to the left of x = 30
  f.ctx.drawImage(sprite, 0, 0, 10, 10);
  f.ctx.restore();
  f.damage.end();
  out.mirrored = check(f);
  f = fresh();
  f.ctx.drawImage(sprite, 80, 30);
  f.damage.begin();
  f.ctx.save();
  f.ctx.beginPath();
  f.ctx.rect(0, 0, 50, 50);
  f.ctx.clip(); // the full clear below then leaves the sprite at x = 80
  f.ctx.clearRect(0, 0, 100, 50);
  f.ctx.restore();
  f.ctx.drawImage(sprite, 0, 0, 10, 10, 5, 5, 10, 10);
  f.damage.end();
  out.clipped = check(f);
  return out;
})()"""


def test_damage_boxes_follow_transforms_and_string_coordinates_and_distrust_clipped_clears():
    env = ChromeDinoEnv(obs_type="state")
    try:
        cases = env.browser.evaluate(DAMAGE_CASES)
    finally:
        env.close()
    assert cases == {
        "strings": [False, True],
        "mirrored": [False, True],
        "clipped": [True, True],
    }
