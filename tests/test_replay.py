"""ReplayBuffer against hand-built episodes: every sample is checked against a reference.

Frames carry a unique counter in their pixels, so a sampled stack names the transition it came
from; the reference keeps full (obs, action, reward, next_obs, terminated, truncated) tuples the
way FrameStack would produce them and computes the expected n-step return by hand.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
from gymnasium import spaces

from rlgames.agents import ReplayBuffer

STACK, GAMMA = 4, 0.9
PIXELS = spaces.Box(0, 255, (STACK, 1, 2), np.uint8)
ACTIONS = spaces.Discrete(3)


class Episodes:
    """Builds FrameStack-style episodes whose frames are numbered uniquely."""

    def __init__(self, channels: int = 0) -> None:
        self.counter = 0
        self.channels = channels  # 0: gray (1, 2) frames stacked to (4, 1, 2); else colour

    def frame(self) -> np.ndarray:
        self.counter += 1
        gray = np.array([[self.counter // 256, self.counter % 256]], dtype=np.uint8)
        if not self.channels:
            return gray
        return np.stack([gray + np.array([[40 * c, 0]], np.uint8) for c in range(self.channels)])

    def episode(self, length: int, end: str) -> list[tuple]:
        """Transitions of one episode; end is "terminated" or "truncated"."""
        frames = [self.frame()]
        join = np.concatenate if self.channels else np.stack
        stack = lambda: join(([frames[0]] * STACK + frames)[-STACK:])  # noqa: E731
        out = []
        for t in range(length):
            obs = stack()
            frames.append(self.frame())
            last = t == length - 1
            out.append(
                (
                    obs,
                    t % 3,
                    float(t + 1),
                    stack(),
                    last and end == "terminated",
                    last and end == "truncated",
                )
            )
        return out


def feed(buffer: ReplayBuffer, streams: list[list[tuple]]) -> None:
    """Add transitions step by step, one from each env stream per add() call."""
    assert len({len(s) for s in streams}) == 1, "equal-length streams only"
    for rows in zip(*streams, strict=True):
        buffer.add(*(np.array([r[i] for r in rows]) for i in range(6)))


def expected(stream: list[tuple], i: int, n: int) -> tuple | None:
    """Hand-computed n-step transition i of one env stream (None: its n steps are not there)."""
    reward, done = 0.0, False
    for j in range(n):
        if i + j >= len(stream):
            return None
        obs, _, r, next_obs, term, trunc = stream[i + j]
        reward += GAMMA**j * r
        if term or trunc:
            done = term
            break
    if done:  # nothing is bootstrapped: the terminal step's obs stands in for next_obs
        next_obs = obs
    return stream[i][0], stream[i][1], reward, next_obs, done, GAMMA ** (j + 1)


def matches(batch, k: int, want: tuple | None) -> bool:
    if want is None:
        return False
    _, _, reward, next_obs, done, discount = want
    return (
        np.array_equal(batch.next_obs[k], next_obs)
        and np.isclose(batch.rewards[k], reward, rtol=1e-6)
        and batch.dones[k] == float(done)
        and np.isclose(batch.discounts[k], discount, rtol=1e-6)
    )


def check_samples(
    buffer: ReplayBuffer, streams: list[list[tuple]], n: int, draws: int = 400, **sampling
):
    """Every sampled transition equals the reference; returns the set of (env, index) seen.

    A sample is looked up by its obs and action; where real frames repeat, any stored
    transition with that obs and action may be the one. ``sampling``: e.g. beta for PER.
    """
    lookup = defaultdict(list)
    for e, stream in enumerate(streams):
        for i, (obs, action, *_) in enumerate(stream):
            lookup[(obs.tobytes(), int(action))].append((e, i))
    batch = buffer.sample(draws, np.random.default_rng(0), **sampling)
    assert batch.obs.dtype == buffer.frames.dtype and batch.actions.dtype == np.int64
    for ident in np.unique(batch.next_ids):  # rows that share an id share their next_obs
        same = batch.next_obs[batch.next_ids == ident]
        assert (same == same[0]).all()
    seen = set()
    for k in range(draws):
        candidates = lookup[(batch.obs[k].tobytes(), int(batch.actions[k]))]
        hits = [(e, i) for e, i in candidates if matches(batch, k, expected(streams[e], i, n))]
        assert hits, f"sample {k} matches no stored transition (candidates {candidates})"
        seen.add(max(hits, key=lambda hit: hit[1]))  # repeated real frames: the newest
    return seen


def make(capacity=1000, n_envs=1, n_step=1, space=PIXELS, **settings) -> ReplayBuffer:
    return ReplayBuffer(
        capacity, space, ACTIONS, n_envs=n_envs, n_step=n_step, gamma=GAMMA, **settings
    )


def test_stacks_are_padded_with_the_first_frame_never_stacked_across_episodes():
    eps = Episodes()
    stream = eps.episode(2, "terminated") + eps.episode(6, "truncated")
    buffer = make()
    feed(buffer, [stream])
    seen = check_samples(buffer, [stream], n=1)
    assert seen == {(0, i) for i in range(8)}
    first = buffer.sample(200, np.random.default_rng(1))
    starts = first.obs[:, -1, 0, 1] == stream[2][0][-1, 0, 1]  # first obs of episode 2
    assert starts.any()
    assert (first.obs[starts] == stream[2][0][-1]).all()  # all four frames are its first frame


def test_termination_does_not_bootstrap_and_truncation_does_from_the_final_observation():
    eps = Episodes()
    terminated, truncated = eps.episode(3, "terminated"), eps.episode(3, "truncated")
    buffer = make()
    feed(buffer, [terminated + truncated])
    batch = buffer.sample(300, np.random.default_rng(0))
    last_term = batch.obs[:, -1, 0, 1] == terminated[2][0][-1, 0, 1]
    last_trunc = batch.obs[:, -1, 0, 1] == truncated[2][0][-1, 0, 1]
    assert (batch.dones[last_term] == 1).all() and (batch.dones[last_trunc] == 0).all()
    np.testing.assert_array_equal(batch.next_obs[last_trunc][0], truncated[2][3])
    assert batch.dones.sum() == last_term.sum()  # no other transition is done


def test_a_terminated_episode_takes_one_slot_per_transition_a_truncated_one_more():
    eps = Episodes()
    buffer = make()
    feed(buffer, [eps.episode(3, "terminated")])
    assert buffer.written[0] == 3  # the terminal next_obs is never bootstrapped from
    feed(buffer, [eps.episode(3, "truncated")])
    assert buffer.written[0] == 3 + 4 and len(buffer) == 6  # its final obs is kept


def test_n_step_returns_sum_discounted_rewards_and_discount_the_bootstrap():
    eps = Episodes()
    stream = eps.episode(10, "truncated")
    buffer = make(n_step=3)
    feed(buffer, [stream])
    assert check_samples(buffer, [stream], n=3) == {(0, i) for i in range(10)}


def test_n_step_return_stops_where_the_episode_ends_inside_the_n_steps():
    eps = Episodes()
    stream = (
        eps.episode(4, "terminated") + eps.episode(2, "truncated") + eps.episode(5, "terminated")
    )
    buffer = make(n_step=3)
    feed(buffer, [stream])
    assert check_samples(buffer, [stream], n=3) == {(0, i) for i in range(11)}


def test_transitions_whose_n_steps_are_not_yet_stored_are_not_sampled():
    eps = Episodes()
    stream = eps.episode(10, "terminated")[:5]  # episode still running
    buffer = make(n_step=3)
    feed(buffer, [stream])
    assert check_samples(buffer, [stream], n=3) == {(0, 0), (0, 1), (0, 2)}
    assert len(buffer) == 5


def test_several_envs_keep_separate_streams_when_interleaved():
    eps = Episodes()
    a = eps.episode(3, "terminated") + eps.episode(5, "truncated")
    b = eps.episode(6, "terminated") + eps.episode(2, "terminated")
    c = eps.episode(8, "truncated")
    buffer = make(n_envs=3, n_step=2)
    feed(buffer, [a, b, c])
    seen = check_samples(buffer, [a, b, c], n=2, draws=1000)
    assert seen == {(e, i) for e in range(3) for i in range(8)}


def test_streams_added_one_at_a_time_store_what_adding_them_together_stores():
    # Remote actors add their own streams only (`envs=`), in whatever order they arrive.
    eps = Episodes()
    a = eps.episode(3, "terminated") + eps.episode(5, "truncated")
    b = eps.episode(6, "terminated") + eps.episode(2, "terminated")
    together, apart = make(n_envs=2, n_step=2), make(n_envs=2, n_step=2)
    feed(together, [a, b])
    for t in range(len(a)):
        for e, stream in ((1, b), (0, a)):
            rows = [stream[t]]
            apart.add(*(np.array([r[i] for r in rows]) for i in range(6)), envs=[e])
    want, got = together.state_dict(), apart.state_dict()
    assert want.keys() == got.keys()
    assert all(np.array_equal(want[k], got[k]) for k in want)


@pytest.mark.parametrize("envs", [[2], [0, 0], [-1], [0.5], []])
def test_stream_indices_must_be_distinct_streams_of_the_buffer(envs):
    stream = Episodes().episode(2, "terminated")
    rows = [stream[0]] * max(len(envs), 1)
    with pytest.raises(ValueError, match="envs must be distinct stream indices from 0 to 1"):
        make(n_envs=2).add(*(np.array([r[i] for r in rows]) for i in range(6)), envs=envs)


def test_wraparound_overwrites_the_oldest_and_never_samples_a_broken_stack():
    eps = Episodes()
    stream = [t for _ in range(12) for t in eps.episode(7, "terminated")]  # 84 transitions
    buffer = make(capacity=20, n_step=2)
    feed(buffer, [stream])
    seen = check_samples(buffer, [stream], n=2, draws=1000)
    assert min(i for _, i in seen) >= len(stream) - 20  # only the newest slots remain
    assert (0, len(stream) - 1) in seen  # the newest transition is there
    assert len(buffer) == 20  # terminated episodes need no slot for their final frame


def test_an_episode_starting_with_a_full_stack_is_rebuilt_exactly():
    # e.g. after a life loss with episodic_life: the new "episode" has four distinct frames.
    eps = Episodes()
    stream = eps.episode(6, "terminated")
    restarted = [(t[0], *t[1:]) for t in stream[3:]]  # starts mid-stack, no padding
    buffer = make()
    feed(buffer, [restarted])
    assert check_samples(buffer, [restarted], n=1) == {(0, i) for i in range(3)}


def test_vector_observations_are_stored_whole():
    space = spaces.Box(-1, 1, (3,), np.float32)
    buffer = make(space=space, n_step=2)
    obs = np.arange(3, dtype=np.float32)[None]
    for t in range(5):
        buffer.add(obs + t, [1], [1.0], obs + t + 1, [t == 4], [False])
    batch = buffer.sample(50, np.random.default_rng(0))
    assert batch.obs.shape == (50, 3) and batch.obs.dtype == np.float32
    # Two steps ahead, but stopping at the terminal step t = 4 (its obs stands in: no bootstrap).
    ahead = np.minimum(2, 4 - batch.obs[:, 0])
    np.testing.assert_array_equal(batch.next_obs, batch.obs + ahead[:, None])
    np.testing.assert_array_equal(batch.dones, batch.obs[:, 0] >= 3)


def test_state_dict_round_trip_restores_contents_and_cursor_exactly():
    eps = Episodes()
    a = [t for _ in range(5) for t in eps.episode(5, "truncated")]
    b = [t for _ in range(5) for t in eps.episode(5, "terminated")]
    original = make(capacity=40, n_envs=2, n_step=2)
    feed(original, [a[:20], b[:20]])
    restored = make(capacity=40, n_envs=2, n_step=2)
    restored.load_state_dict({k: v.copy() for k, v in original.state_dict().items()})
    feed(original, [a[20:], b[20:]])
    feed(restored, [a[20:], b[20:]])
    for key, value in original.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[key], value, err_msg=key)
    x, y = (buf.sample(64, np.random.default_rng(3)) for buf in (original, restored))
    for field in x._fields:
        np.testing.assert_array_equal(getattr(x, field), getattr(y, field))


def test_loading_a_state_dict_of_another_layout_names_the_mismatch():
    with pytest.raises(ValueError, match="layout"):
        make(n_step=1).load_state_dict(make(n_step=3).state_dict())


def test_a_4x84x84_stack_costs_under_7100_bytes_per_transition():
    buffer = ReplayBuffer(1000, spaces.Box(0, 255, (4, 84, 84), np.uint8), spaces.Discrete(4))
    assert buffer.bytes_per_transition <= 7100
    assert buffer.nbytes == 1000 * buffer.bytes_per_transition


def test_can_sample_says_when_a_complete_n_step_transition_is_stored():
    eps = Episodes()
    stream = eps.episode(10, "terminated")
    buffer = make(n_step=3)
    assert not buffer.can_sample()
    feed(buffer, [stream[:2]])  # two steps of a running episode: no 3-step return yet
    assert len(buffer) == 2 and not buffer.can_sample()
    with pytest.raises(ValueError, match="no complete transition"):
        buffer.sample(4, np.random.default_rng(0))
    feed(buffer, [stream[2:3]])
    assert buffer.can_sample()
    short = make(n_step=3)
    feed(short, [eps.episode(2, "terminated")])  # ended sooner than n_step: complete
    assert short.can_sample()


def test_observations_of_another_dtype_are_compared_as_stored():
    space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    buffer = ReplayBuffer(100, space, spaces.Discrete(2))
    steps = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])  # float64, as a user might pass
    for obs, nxt in zip(steps[:-1], steps[1:]):
        buffer.add(obs[None], [0], [1.0], nxt[None], [False], [False])
    assert len(buffer) == 2
    batch = buffer.sample(8, np.random.default_rng(0))
    assert batch.obs.dtype == np.float32


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": [5]}, "action must be from 0 to 2"),
        ({"action": [-1]}, "action must be from 0 to 2"),
        ({"action": [0.7]}, "integer"),
        ({"action": [0, 1]}, "one per env"),
        ({"reward": [float("nan")]}, "finite"),
        ({"reward": ["x"]}, "reward must be numbers"),
        ({"terminated": ["False"]}, "terminated must be 1 bool"),
        ({"obs": np.zeros((1, STACK, 1, 2))}, "has dtype float64; this buffer stores uint8"),
    ],
)
def test_a_bad_add_is_refused_whole_and_leaves_the_buffer_as_it_was(change, message):
    eps = Episodes()
    stream = eps.episode(6, "terminated")
    buffer = make()
    feed(buffer, [stream[:2]])
    before = {k: np.copy(v) for k, v in buffer.state_dict().items()}
    obs, action, reward, next_obs, term, trunc = stream[2]
    args = {
        "obs": obs[None], "action": [action], "reward": [reward], "next_obs": next_obs[None],
        "terminated": [term], "truncated": [trunc], **change,
    }  # fmt: skip
    with pytest.raises(ValueError, match=message):
        buffer.add(**args)
    after = buffer.state_dict()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    feed(buffer, [stream[2:]])  # the same data, correct, still goes in
    check_samples(buffer, [stream], n=1)


def test_bad_buffer_settings_and_sampling_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="n_envs must be >= 1"):
        make(n_envs=0)
    with pytest.raises(ValueError, match="gamma must be between 0 and 1"):
        ReplayBuffer(100, PIXELS, ACTIONS, gamma=5)
    with pytest.raises(TypeError, match="FlattenObservation"):
        ReplayBuffer(100, spaces.Dict({"a": PIXELS}), ACTIONS)
    buffer = make()
    feed(buffer, [Episodes().episode(4, "terminated")])
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        buffer.sample(0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="numpy Generator"):
        buffer.sample_many(4, 2, None)


def test_sampling_an_empty_buffer_says_to_add_transitions():
    with pytest.raises(ValueError, match="empty"):
        make().sample(4, np.random.default_rng(0))


def test_colour_stacks_are_stored_frame_by_frame_when_told_the_stack_size():
    eps = Episodes(channels=3)
    stream = eps.episode(3, "terminated") + eps.episode(5, "truncated")
    space = spaces.Box(0, 255, (STACK * 3, 1, 2), np.uint8)
    buffer = ReplayBuffer(100, space, ACTIONS, n_step=2, gamma=GAMMA, frame_stack=STACK)
    feed(buffer, [stream])
    assert buffer.frames.shape[2:] == (3, 1, 2)  # one colour frame per slot
    assert check_samples(buffer, [stream], n=2) == {(0, i) for i in range(8)}


def test_observations_that_are_not_one_frame_stacks_are_refused_naming_frame_stack():
    eps = Episodes(channels=3)
    stream = eps.episode(3, "terminated")
    space = spaces.Box(0, 255, (STACK * 3, 1, 2), np.uint8)
    buffer = ReplayBuffer(100, space, ACTIONS)  # guesses 12 one-channel frames
    with pytest.raises(ValueError, match="frame_stack"):
        feed(buffer, [stream])
    assert len(buffer) == 0 and buffer.written[0] == 0  # nothing half-stored


def test_an_obs_that_does_not_continue_the_episode_is_refused_until_a_new_one_is_started():
    eps = Episodes()
    first, other = eps.episode(4, "terminated"), eps.episode(4, "terminated")
    buffer = make()
    feed(buffer, [first[:2]])
    with pytest.raises(ValueError, match="open"):
        feed(buffer, [other[:1]])
    buffer.open[0] = False  # e.g. the envs were reset: a new episode starts here
    feed(buffer, [other])
    seen = check_samples(buffer, [first[:2], other], n=1)  # labels: 0 = first, 1 = other
    assert seen == {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (1, 3)}


@pytest.mark.parametrize("seed", range(5))
def test_random_interleaved_episodes_with_wraparound_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    eps, streams = Episodes(), []
    for _ in range(3):
        stream = []
        while len(stream) < 60:
            end = "terminated" if rng.random() < 0.5 else "truncated"
            stream += eps.episode(int(rng.integers(1, 9)), end)
        streams.append(stream[:60])  # the last episode may still be running
    buffer = make(capacity=3 * 16, n_envs=3, n_step=3)
    feed(buffer, streams)
    seen = check_samples(buffer, streams, n=3, draws=2000)
    for e in range(3):
        indices = [i for env, i in seen if env == e]
        assert min(indices) >= 60 - 16 and max(indices) >= 60 - 6


def record(envs, steps: int, buffer: ReplayBuffer, seed: int = 0) -> list[list[tuple]]:
    """Random play in a SAME_STEP-autoreset vector env, stored and kept as the reference."""
    streams = [[] for _ in range(envs.num_envs)]
    obs, _ = envs.reset(seed=seed)
    envs.action_space.seed(seed)
    for _ in range(steps):
        actions = envs.action_space.sample()
        next_obs, rewards, terminated, truncated, infos = envs.step(actions)
        real_next = next_obs.copy()
        for e in np.flatnonzero(terminated | truncated):
            real_next[e] = infos["final_obs"][e]
        buffer.add(obs, actions, rewards, real_next, terminated, truncated)
        for e, stream in enumerate(streams):
            stream.append(
                (obs[e], actions[e], rewards[e], real_next[e], terminated[e], truncated[e])
            )
        obs = next_obs
    envs.close()
    return streams


def test_real_cartpole_vector_env_transitions_come_back_exactly():
    import gymnasium as gym

    envs = gym.make_vec(
        "CartPole-v1",
        num_envs=3,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        max_episode_steps=15,  # truncations as well as terminations
    )
    buffer = ReplayBuffer(
        3 * 200, envs.single_observation_space, envs.single_action_space, 3, n_step=3, gamma=GAMMA
    )
    streams = record(envs, 150, buffer)
    assert any(t[5] for t in streams[0]) and any(t[4] for s in streams for t in s)
    check_samples(buffer, streams, n=3, draws=1000)


@pytest.mark.atari
def test_real_breakout_frame_stacks_are_rebuilt_exactly_across_lives_and_time_limits():
    import gymnasium as gym

    import rlgames

    envs = rlgames.make_env(
        "ALE/Breakout-v5",
        n_envs=2,
        seed=0,
        episodic_life=True,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP,
        max_episode_steps=300,  # emulator frames: about 75 agent steps
    )
    assert envs.single_observation_space.shape == (4, 84, 84)
    buffer = ReplayBuffer(
        2 * 120, envs.single_observation_space, envs.single_action_space, 2, n_step=3, gamma=GAMMA
    )
    streams = record(envs, 300, buffer)  # wraps the 120-slot streams twice
    ends = [(t[4], t[5]) for s in streams for t in s]
    assert (True, False) in ends and (False, True) in ends  # lives lost and time limits hit
    seen = check_samples(buffer, streams, n=3, draws=1000)
    assert min(i for _, i in seen) >= 300 - 120


@pytest.mark.parametrize("episode_length", [40, 1])
def test_sample_many_returns_exactly_what_repeated_sample_calls_return(episode_length):
    # Long episodes: every draw finds enough complete transitions (the vectorized path).
    # One-step truncated episodes: half the slots hold a final observation, no transition, so
    # some draws come up short and the calls are replayed one by one.
    eps = Episodes()
    streams = [
        sum((eps.episode(episode_length, "truncated") for _ in range(80)), [])[:80]
        for _ in range(2)
    ]
    buffer = make(capacity=2 * 64, n_envs=2, n_step=5)
    feed(buffer, streams)
    one_by_one, at_once = np.random.default_rng(7), np.random.default_rng(7)
    for n in (1, 2, 25):
        singles = [buffer.sample(8, one_by_one) for _ in range(n)]
        many = buffer.sample_many(8, n, at_once)
        for name, field in zip(many._fields, many, strict=True):
            expected = np.concatenate([getattr(s, name) for s in singles])
            np.testing.assert_array_equal(field, expected, err_msg=name)
        assert one_by_one.bit_generator.state == at_once.bit_generator.state
    with pytest.raises(ValueError, match="n must be at least 1"):
        buffer.sample_many(8, 0, at_once)


# ----------------------------------------------------------------- compressed frames
def interleaved_streams(seed: int, n_envs: int = 3, length: int = 60) -> list[list[tuple]]:
    """n_envs streams of random-length terminated and truncated episodes (the last may run)."""
    rng = np.random.default_rng(seed)
    eps, streams = Episodes(), []
    for _ in range(n_envs):
        stream = []
        while len(stream) < length:
            end = "terminated" if rng.random() < 0.5 else "truncated"
            stream += eps.episode(int(rng.integers(1, 9)), end)
        streams.append(stream[:length])
    return streams


class Both:
    """Stands in for one buffer: adds every transition to each of several."""

    def __init__(self, *buffers: ReplayBuffer) -> None:
        self.buffers = buffers

    def add(self, *transition) -> None:
        for buffer in self.buffers:
            buffer.add(*transition)


def assert_same_batches(a: ReplayBuffer, b: ReplayBuffer, **sampling) -> None:
    """Both buffers draw the same batches from the same generator (sample, and sample_many
    where it applies), field by field."""
    calls = [lambda buf, rng: buf.sample(256, rng, **sampling)]
    if not a.prioritized:
        calls.append(lambda buf, rng: buf.sample_many(16, 8, rng))
    for call in calls:
        x, y = (call(buf, np.random.default_rng(5)) for buf in (a, b))
        for name, field in zip(x._fields, x, strict=True):
            np.testing.assert_array_equal(getattr(y, name), field, err_msg=name)


def image_stream(length: int) -> list[tuple]:
    """One terminated episode of (4, 84, 84) stacks of mostly black frames, each unique."""
    frames = []
    for t in range(length + 1):
        frame = np.zeros((84, 84), np.uint8)
        frame[t % 84, :] = 255  # a moving line
        frame[0, :2] = t // 256, t % 256
        frames.append(frame)
    stack = lambda t: np.stack([frames[max(0, k)] for k in range(t - 3, t + 1)])  # noqa: E731
    return [(stack(t), t % 4, 1.0, stack(t + 1), t == length - 1, False) for t in range(length)]


IMAGES = spaces.Box(0, 255, (4, 84, 84), np.uint8)


@pytest.mark.parametrize("case", ["n-step, several envs, wraparound", "colour", "full stack"])
def test_compressed_and_raw_buffers_return_identical_batches_for_the_same_generator(case):
    settings = {"capacity": 3 * 16, "n_envs": 3, "n_step": 3}
    streams = interleaved_streams(0)
    if case == "colour":
        eps = Episodes(channels=3)
        streams = [eps.episode(3, "terminated") + eps.episode(5, "truncated")]
        space = spaces.Box(0, 255, (STACK * 3, 1, 2), np.uint8)
        settings = {"capacity": 100, "n_step": 2, "space": space, "frame_stack": STACK}
    if case == "full stack":
        streams = [Episodes().episode(9, "terminated")[3:]]  # starts with four distinct frames
        settings = {"capacity": 100, "n_step": 2}
    raw, compressed = make(**settings, compress=False), make(**settings, compress=True)
    feed(Both(raw, compressed), streams)
    assert compressed.compressed and not raw.compressed
    assert_same_batches(raw, compressed)
    if case.startswith("n-step"):  # priorities draw the same too
        raw, compressed = (make(**settings, compress=c, prioritized=True) for c in (False, True))
        feed(Both(raw, compressed), streams)
        assert_same_batches(raw, compressed, beta=0.5)


@pytest.mark.atari
def test_compressed_real_breakout_frames_come_back_exactly_as_raw_ones():
    import gymnasium as gym

    import rlgames

    envs = rlgames.make_env(
        "ALE/Breakout-v5", n_envs=2, seed=1, episodic_life=True,
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP, max_episode_steps=300,
    )  # fmt: skip
    space, actions = envs.single_observation_space, envs.single_action_space
    raw = ReplayBuffer(2 * 120, space, actions, 2, n_step=3, gamma=GAMMA, compress=False)
    compressed = ReplayBuffer(2 * 120, space, actions, 2, n_step=3, gamma=GAMMA)
    assert compressed.compressed  # the default for 84x84 frames
    streams = record(envs, 300, Both(raw, compressed))
    assert_same_batches(raw, compressed)
    check_samples(compressed, streams, n=3, draws=500)
    assert compressed.bytes_per_transition < raw.bytes_per_transition / 8


def test_compression_is_on_by_default_for_image_frames_and_off_for_vectors_and_tiny_frames():
    assert ReplayBuffer(100, IMAGES, ACTIONS).compressed
    colour = spaces.Box(0, 255, (3, 40, 40), np.uint8)
    assert ReplayBuffer(100, colour, ACTIONS, frame_stack=1).compressed
    vector = spaces.Box(-1, 1, (4,), np.float32)
    assert not ReplayBuffer(100, vector, ACTIONS).compressed
    assert not make().compressed  # 2-byte frames: less than a compressed frame costs to keep
    assert make(compress=True).compressed and make(compress=True).frames.dtype == np.uint8
    with pytest.raises(ValueError, match="compress=False"):
        ReplayBuffer(100, vector, ACTIONS, compress=True)


def test_compressed_nbytes_counts_each_stored_frame_with_its_python_overhead():
    import sys

    buffer = ReplayBuffer(400, IMAGES, spaces.Discrete(4))
    assert buffer.nbytes == 400 * (8 + 4 + 4 + 1)  # pointers, actions, rewards, flags
    feed(buffer, [image_stream(150)])
    blobs = [b for b in buffer.frames.blobs.reshape(-1) if b is not None]
    assert len(blobs) == 150  # a padded first stack is one frame; a terminal next_obs none
    payload = sum(sys.getsizeof(b) for b in blobs)
    assert buffer.nbytes == 400 * 17 + payload
    assert buffer.bytes_per_transition == pytest.approx(17 + payload / 150)
    feed(buffer, [image_stream(500)])  # every slot written: per transition = nbytes / capacity
    assert buffer.bytes_per_transition == pytest.approx(buffer.nbytes / 400)
    assert buffer.bytes_per_transition < 7065 / 10
    tree = ReplayBuffer(400, IMAGES, spaces.Discrete(4), prioritized=True).nbytes - 400 * 17
    assert tree == 2 * 512 * 8  # the sum-tree: 512 leaves (400 used) and their sums, float64


def test_a_prioritized_compressed_state_round_trips_bit_exactly_through_a_checkpoint(tmp_path):
    from rlgames.training.checkpoint import load_checkpoint, save_checkpoint

    streams = interleaved_streams(3, n_envs=2, length=80)
    settings = {"capacity": 2 * 30, "n_envs": 2, "n_step": 3, "compress": True,
                "prioritized": True, "alpha": 0.6}  # fmt: skip

    def learn(buffer, rng):  # a sample and its priority update, as a learner makes them
        batch = buffer.sample(16, rng, beta=0.4)
        buffer.update_priorities(batch.ids, np.abs(batch.rewards - 2.0))

    original = make(**settings)
    feed(original, [s[:50] for s in streams])
    learn(original, np.random.default_rng(0))
    state = original.state_dict()
    assert all(v.dtype.kind in "biuf" for v in state.values())  # no object arrays
    save_checkpoint(tmp_path / "replay.ckpt", {}, state, {})
    restored = make(**settings)
    restored.load_state_dict(load_checkpoint(tmp_path / "replay.ckpt")[1])
    rngs = np.random.default_rng(1), np.random.default_rng(1)
    for start in (50, 60, 70):  # both go on identically: adds, samples, priority updates
        for buffer, rng in zip((original, restored), rngs):
            feed(buffer, [s[start : start + 10] for s in streams])
            learn(buffer, rng)
    for key, value in original.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[key], value, err_msg=key)
    assert_same_batches(original, restored, beta=0.7)


def corrupt(state: dict, slot: int, damage: str) -> dict:
    """A copy of a compressed replay state with one slot's frame damaged."""
    from rlgames.agents import codec

    state = {k: np.copy(v) for k, v in state.items()}
    data, offsets = state["frame_bytes"], state["frame_offsets"]
    a, b = int(offsets[slot]), int(offsets[slot + 1])
    if damage == "garbage":
        data[a:b] = 0xFF
    elif damage == "a frame of another size":
        other = np.frombuffer(codec.compress(np.zeros(3, np.uint8)), np.uint8)
        state["frame_bytes"] = np.concatenate([data[:a], other, data[b:]])
        offsets[slot + 1 :] += len(other) - (b - a)
    elif damage == "cut short":
        offsets[slot + 1] -= 1  # its last byte goes to the next frame
    return state


@pytest.mark.parametrize("damage", ["garbage", "a frame of another size", "cut short"])
def test_a_corrupt_compressed_frame_is_refused_before_anything_changes(damage):
    source = make(compress=True, capacity=40)
    feed(source, [Episodes().episode(20, "truncated")])
    buffer = make(compress=True, capacity=40)
    feed(buffer, [Episodes().episode(6, "terminated")])
    before = {k: np.copy(v) for k, v in buffer.state_dict().items()}
    with pytest.raises(ValueError, match="replay slot 7 .*corrupt"):
        buffer.load_state_dict(corrupt(source.state_dict(), 7, damage))
    after = buffer.state_dict()
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    buffer.load_state_dict(source.state_dict())  # the undamaged state still loads


def test_a_state_loads_only_into_a_buffer_that_stores_frames_and_priorities_the_same_way():
    buffers = {
        (c, p): make(compress=c, prioritized=p) for c in (False, True) for p in (False, True)
    }
    feed(Both(*buffers.values()), [Episodes().episode(5, "truncated")])
    raw, compressed = buffers[False, False], buffers[True, False]
    with pytest.raises(ValueError, match="frames raw .* build it with compress=False"):
        compressed.load_state_dict(raw.state_dict())
    with pytest.raises(ValueError, match="frames compressed .* build it with compress=True"):
        raw.load_state_dict(compressed.state_dict())
    with pytest.raises(ValueError, match="prioritized=True"):
        raw.load_state_dict(buffers[False, True].state_dict())
    with pytest.raises(ValueError, match="prioritized=False"):
        buffers[True, True].load_state_dict(compressed.state_dict())
    with pytest.raises(ValueError, match="alpha"):
        make(prioritized=True, alpha=0.7).load_state_dict(buffers[False, True].state_dict())


# ----------------------------------------------------------- prioritized sampling
VECTOR = spaces.Box(-100, 100, (1,), np.float32)


def numbered(buffer: ReplayBuffer, length: int, first: int = 0, end: bool = True) -> None:
    """Transitions whose obs is their step number; terminated at the end if end."""
    for t in range(first, first + length):
        last = end and t == first + length - 1
        buffer.add([[t]], [0], [1.0], [[t + 1]], [last], [False])


def test_importance_weights_are_n_p_to_the_minus_beta_over_the_batch_max():
    buffer = make(space=VECTOR, prioritized=True, alpha=1.0)
    numbered(buffer, 4)  # slots 0-3
    buffer.update_priorities(np.arange(4), np.array([1.0, 2.0, 3.0, 4.0]))  # p = that + 1e-6
    batch = buffer.sample(100, np.random.default_rng(0), beta=1.0)
    np.testing.assert_array_equal(batch.obs[:, 0], batch.ids)  # each row names its slot
    # Stratified over a total of 10: slot i is drawn 10 * p_i times (+-1 at a stratum edge).
    assert np.abs(np.bincount(batch.ids, minlength=4) - [10, 20, 30, 40]).max() <= 1
    # P = p / 10 and N = 4: N P = 0.4, 0.8, 1.2, 1.6; ** -1 = 2.5, 1.25, 0.833, 0.625; / 2.5:
    by_slot = np.array([1.0, 0.5, 1 / 3, 0.25])
    assert batch.weights.dtype == np.float32
    np.testing.assert_allclose(batch.weights, by_slot[batch.ids], rtol=1e-5)
    half = buffer.sample(100, np.random.default_rng(0), beta=0.5)
    np.testing.assert_allclose(half.weights, np.sqrt(by_slot[half.ids]), rtol=1e-5)
    assert (buffer.sample(100, np.random.default_rng(0), beta=0.0).weights == 1).all()


def test_uniform_batches_name_their_slots_too_and_weigh_every_transition_one():
    buffer = make(space=VECTOR)
    numbered(buffer, 8)
    batch = buffer.sample(64, np.random.default_rng(0))
    np.testing.assert_array_equal(batch.obs[:, 0], batch.ids)
    assert batch.ids.dtype == np.int64
    assert batch.weights.dtype == np.float32 and (batch.weights == 1).all()


def test_updated_priorities_change_what_is_drawn_in_proportion():
    buffer = make(space=VECTOR, prioritized=True, alpha=0.5)
    numbered(buffer, 10)
    rng = np.random.default_rng(0)
    first = buffer.sample(1000, rng, beta=1.0)  # all at the initial max: uniform
    np.testing.assert_array_equal(np.bincount(first.ids, minlength=10), [100] * 10)
    buffer.update_priorities(np.arange(10), np.arange(10.0) ** 2)  # p = sqrt(i^2 + eps) ~ i
    draws = [buffer.sample(32, rng, beta=1.0).ids for _ in range(300)]
    counts = np.bincount(np.concatenate(draws), minlength=10)
    p = np.sqrt(np.arange(10.0) ** 2 + 1e-6)
    expected = counts.sum() * p / p.sum()
    assert counts[0] <= 1  # p_0 = 0.001 of a total of 45
    chi2 = ((counts[1:] - expected[1:]) ** 2 / expected[1:]).sum()
    assert chi2 < 27.9  # chi-square, 8 degrees of freedom: p = 0.0005


def test_new_transitions_enter_at_the_largest_priority_stored():
    buffer = make(space=VECTOR, prioritized=True, alpha=0.5)
    numbered(buffer, 3, end=False)
    np.testing.assert_array_equal(buffer.priorities[:4], [1.0, 1.0, 1.0, 0.0])  # 1 at first
    buffer.update_priorities([0, 1], [15.0, 3.0])
    top = np.sqrt(15.0 + 1e-6)
    assert buffer.max_priority == top
    numbered(buffer, 2, first=3, end=False)
    np.testing.assert_array_equal(buffer.priorities[2:5], [1.0, top, top])
    buffer.update_priorities([0], [0.0])  # the max is the largest ever stored: it stays
    numbered(buffer, 1, first=5)
    assert buffer.max_priority == top and buffer.priorities[5] == top


def test_an_overwritten_slot_has_no_priority_until_a_transition_starts_there_again():
    buffer = make(capacity=20, prioritized=True)
    eps = Episodes()
    feed(buffer, [[t for _ in range(9) for t in eps.episode(3, "truncated")]])  # wraps
    written = int(buffer.written[0])
    starts = (buffer.flags.reshape(-1) & 1).astype(bool)  # final observations: no transition
    # The oldest slots' stacks reach frames already overwritten: they cannot be sampled.
    broken = np.isin(np.arange(20), [written % 20, (written + 1) % 20, (written + 2) % 20])
    assert (~starts).sum() >= 4 and (starts & broken).any()
    np.testing.assert_array_equal(buffer.priorities > 0, starts & ~broken)
    assert (buffer.priorities[starts & ~broken] == 1).all()
    stale = np.flatnonzero(~starts | broken)  # e.g. sampled before they were overwritten
    buffer.update_priorities(stale, np.full(len(stale), 5.0))
    assert (buffer.priorities[stale] == 0).all()


@pytest.mark.parametrize("seed", range(3))
def test_prioritized_samples_match_the_reference_with_n_steps_several_envs_and_wraparound(seed):
    streams = interleaved_streams(seed)
    buffer = make(capacity=3 * 16, n_envs=3, n_step=3, prioritized=True)
    rng = np.random.default_rng(seed)
    for start in range(0, 60, 12):  # priorities from a learner between the adds
        feed(buffer, [s[start : start + 12] for s in streams])
        batch = buffer.sample(32, rng, beta=0.5)
        buffer.update_priorities(batch.ids, rng.exponential(size=32) * (rng.random(32) < 0.8))
    seen = check_samples(buffer, streams, n=3, draws=2000, beta=0.5)
    for e in range(3):
        indices = [i for env, i in seen if env == e]
        assert min(indices) >= 60 - 16 and max(indices) >= 60 - 6


def test_a_high_priority_transition_is_not_drawn_while_its_n_steps_are_incomplete():
    stream = Episodes().episode(10, "terminated")[:5]  # episode still running
    buffer = make(n_step=3, prioritized=True)
    feed(buffer, [stream])
    np.testing.assert_array_equal(buffer.priorities[:6], [1, 1, 1, 0, 0, 0])
    buffer.update_priorities([3, 4], [1e6, 1e6])  # slots 3 and 4 lack their third step
    assert (buffer.priorities[3:5] == 0).all()
    assert check_samples(buffer, [stream], n=3, beta=1.0) == {(0, 0), (0, 1), (0, 2)}
    feed(buffer, [Episodes().episode(10, "terminated")[5:6]])  # slot 3 is complete now
    assert buffer.priorities[3] == buffer.max_priority and buffer.priorities[4] == 0


def test_a_loaded_priority_on_a_transition_that_cannot_be_sampled_is_drawn_again():
    stream = Episodes().episode(10, "terminated")[:5]
    buffer = make(n_step=3, prioritized=True)
    feed(buffer, [stream])
    state = {k: np.copy(v) for k, v in buffer.state_dict().items()}
    state["priorities"][4], state["max_priority"][...] = 50.0, 50.0  # e.g. a hand-made state
    buffer.load_state_dict(state)
    assert buffer.priorities[4] == 50.0  # most of the total, on an incomplete transition
    assert check_samples(buffer, [stream], n=3, beta=1.0) == {(0, 0), (0, 1), (0, 2)}


def test_prioritized_sampling_needs_beta_and_is_one_batch_per_gradient_step():
    buffer = make(prioritized=True)
    feed(buffer, [Episodes().episode(6, "terminated")])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="needs beta"):
        buffer.sample(4, rng)
    with pytest.raises(ValueError, match="beta must be between 0 and 1"):
        buffer.sample(4, rng, beta=1.5)
    with pytest.raises(ValueError, match="once per step"):
        buffer.sample_many(4, 2, rng)
    uniform = make()
    feed(uniform, [Episodes().episode(6, "terminated")])
    with pytest.raises(ValueError, match="leave beta out"):
        uniform.sample(4, rng, beta=0.5)
    with pytest.raises(ValueError, match="prioritized=True"):
        uniform.update_priorities([0], [1.0])


@pytest.mark.parametrize(
    ("ids", "priorities", "message"),
    [
        ([0, 1], [1.0], "of one length"),
        ([[0, 1]], [[1.0, 1.0]], "of one length"),
        ([0.0, 1.0], [1.0, 1.0], "integers"),
        ([0, 1], [1.0, float("nan")], "finite"),
        ([0, 1], [1.0, -0.5], ">= 0"),
        ([0, 1000], [1.0, 1.0], "from 0 to 999"),
        ([-1, 0], [1.0, 1.0], "from 0 to 999"),
        ([0, 1], ["a", "b"], "must be numbers"),
    ],
)
def test_bad_priority_updates_are_refused_and_change_nothing(ids, priorities, message):
    buffer = make(prioritized=True)
    feed(buffer, [Episodes().episode(6, "terminated")])
    buffer.update_priorities([0, 1, 2], [0.5, 2.0, 0.0])
    before = buffer.priorities.copy()
    with pytest.raises(ValueError, match=message):
        buffer.update_priorities(np.array(ids), np.array(priorities))
    np.testing.assert_array_equal(buffer.priorities, before)
