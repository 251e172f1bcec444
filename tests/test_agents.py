"""DQN, Double DQN, Dueling DQN (and Rainbow where they share it): targets, heads, networks,
acting, updates and state. Rainbow's own parts: test_rainbow.py."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces

from rlgames.agents import (
    DQN,
    AgentConfig,
    DoubleDQN,
    DuelingDQN,
    Rainbow,
    ReplayBatch,
    make_agent,
)
from rlgames.agents.networks import NatureCNN

VECTOR = spaces.Box(-10, 10, (2,), np.float32)
TWO_ACTIONS = spaces.Discrete(2)
PIXELS = spaces.Box(0, 255, (4, 84, 84), np.uint8)


def batch_of(obs, actions, rewards, next_obs, dones, discounts) -> ReplayBatch:
    f32 = lambda x: np.asarray(x, dtype=np.float32)  # noqa: E731
    return ReplayBatch(
        f32(obs), np.asarray(actions, np.int64), f32(rewards), f32(next_obs), f32(dones),
        f32(discounts),
    )  # fmt: skip


def rows_of(batch: ReplayBatch, rows) -> ReplayBatch:
    return ReplayBatch(*(None if field is None else field[rows] for field in batch))


def linear_agent(name: str, online_weight, target_weight) -> DQN:
    """Agent whose networks are Q(s) = W s (no hidden layer, zero bias)."""
    agent = make_agent(name, VECTOR, TWO_ACTIONS, hidden=())
    with torch.no_grad():
        for net, weight in ((agent.online, online_weight), (agent.target, target_weight)):
            net.q.weight.copy_(torch.tensor(weight, dtype=torch.float32))
            net.q.bias.zero_()
    return agent


def test_double_dqn_target_differs_from_dqn_exactly_where_the_argmaxes_differ():
    # Target net Q_t(s) = s; online net Q_o(s) = diag(1, 3) s.
    # s' = [1, 0]: both argmax 0 -> 1.   s' = [2, 1]: online picks 1 (Q_o = [2, 3]),
    # target picks 0 -> DQN uses max Q_t = 2, DDQN uses Q_t[1] = 1.   s' = [0, 1], done: r only.
    target_w, online_w = [[1, 0], [0, 1]], [[1, 0], [0, 3]]
    batch = batch_of(
        obs=np.zeros((3, 2)), actions=[0, 0, 0], rewards=[1, 1, 1],
        next_obs=[[1, 0], [2, 1], [0, 1]], dones=[0, 0, 1], discounts=[0.9, 0.9, 0.9],
    )  # fmt: skip
    dqn = linear_agent("dqn", online_w, target_w).td_target(batch)
    ddqn = linear_agent("ddqn", online_w, target_w).td_target(batch)
    torch.testing.assert_close(dqn, torch.tensor([1.9, 2.8, 1.0]))
    torch.testing.assert_close(ddqn, torch.tensor([1.9, 1.9, 1.0]))


def test_dueling_head_output_is_value_plus_advantage_minus_mean_advantage():
    agent = make_agent("dueling", PIXELS, spaces.Discrete(6), seed=0)
    x = torch.randint(0, 256, (5, 4, 84, 84), dtype=torch.uint8)
    with torch.no_grad():
        value, advantage = agent.online.value_advantage(x)
        q = agent.online(x)
    assert value.shape == (5, 1) and advantage.shape == (5, 6)
    torch.testing.assert_close(q, value + advantage - advantage.mean(dim=1, keepdim=True))


def test_the_variants_default_to_their_target_and_head_and_both_are_switchable():
    kinds = {name: make_agent(name, VECTOR, TWO_ACTIONS) for name in ("dqn", "ddqn", "dueling")}
    assert [(a.double, a.dueling) for a in kinds.values()] == [
        (False, False),
        (True, False),
        (True, True),
    ]
    assert type(kinds["dueling"]) is DuelingDQN and type(kinds["ddqn"]) is DoubleDQN
    assert isinstance(make_agent("double", VECTOR, TWO_ACTIONS), DoubleDQN)
    plain_dueling = make_agent("dueling", VECTOR, TWO_ACTIONS, double=False)
    assert (plain_dueling.double, plain_dueling.dueling) == (False, True)


def test_make_agent_names_the_choices_for_an_unknown_agent_or_setting():
    with pytest.raises(ValueError, match="dueling"):
        make_agent("ppo", VECTOR, TWO_ACTIONS)
    with pytest.raises(TypeError, match="batch_size"):
        make_agent("dqn", VECTOR, TWO_ACTIONS, batchsize=32)


# 84 -> 20 -> 9 -> 7: 64*7*7.  80 -> 19 -> 8 -> 6 and 160 -> 39 -> 18 -> 16: 64*6*16.
@pytest.mark.parametrize(("height", "width", "n_flat"), [(84, 84, 3136), (80, 160, 6144)])
def test_nature_cnn_flatten_size_follows_the_image_size(height, width, n_flat):
    assert NatureCNN(4, height, width).n_flat == n_flat
    agent = make_agent("dqn", spaces.Box(0, 255, (4, height, width), np.uint8), TWO_ACTIONS)
    obs = np.zeros((3, 4, height, width), dtype=np.uint8)
    assert agent.q_values(obs).shape == (3, 2)


def test_images_too_small_for_the_nature_cnn_are_refused_with_the_minimum():
    with pytest.raises(ValueError, match="at least 36x36 pixels, got 24x84"):
        NatureCNN(4, 24, 84)
    assert NatureCNN(4, 36, 36).n_flat == 64  # the smallest that fits: 8x8/4, 4x4/2, 3x3/1


def test_single_gray_frames_without_a_stack_axis_get_the_cnn_too():
    agent = make_agent("dqn", spaces.Box(0, 255, (84, 84), np.uint8), TWO_ACTIONS)
    assert agent.q_values(np.zeros((84, 84), np.uint8)).shape == (2,)
    assert agent.act(np.zeros((5, 84, 84), np.uint8)).shape == (5,)


def test_vector_observations_get_an_mlp_with_the_configured_hidden_layers():
    agent = make_agent("dqn", spaces.Box(-1, 1, (4,), np.float32), TWO_ACTIONS, hidden=(64, 32))
    widths = [m.out_features for m in agent.online.body.layers if isinstance(m, torch.nn.Linear)]
    assert widths == [64, 32]


def test_act_returns_an_int_for_one_observation_and_int64_array_for_a_batch():
    agent = make_agent("dqn", PIXELS, spaces.Discrete(4), seed=0)
    one = np.zeros((4, 84, 84), np.uint8)
    action = agent.act(one)
    assert type(action) is int and 0 <= action < 4
    actions = agent.act(np.zeros((7, 4, 84, 84), np.uint8), epsilon=0.5)
    assert actions.dtype == np.int64 and actions.shape == (7,)
    assert agent.q_values(one).shape == (4,) and agent.q_values(one).dtype == np.float32


def test_greedy_act_is_the_argmax_of_q_values():
    agent = make_agent("dqn", VECTOR, spaces.Discrete(2), seed=0, hidden=(8,))
    obs = np.random.default_rng(0).uniform(-1, 1, (50, 2)).astype(np.float32)
    np.testing.assert_array_equal(agent.act(obs, epsilon=0.0), agent.q_values(obs).argmax(1))
    with torch.no_grad():  # q_values takes a shorter path through an MLP: the same numbers
        np.testing.assert_array_equal(agent.q_values(obs), agent.online(torch.as_tensor(obs)))


@pytest.mark.parametrize("name", ["dqn", "dueling"])
def test_frozen_parameters_stay_as_they_are(name):
    agent = make_agent(name, VECTOR, TWO_ACTIONS, seed=0, lr=1e-2, hidden=(16,))
    agent.online.body.requires_grad_(False)
    body = [p.clone() for p in agent.online.body.parameters()]
    head = [p.clone() for p in agent.online.parameters() if p.requires_grad]
    rng = np.random.default_rng(0)
    batch = batch_of(
        rng.uniform(-1, 1, (32, 2)), rng.integers(0, 2, 32), rng.uniform(0, 1, 32),
        rng.uniform(-1, 1, (32, 2)), np.zeros(32), np.full(32, 0.99),
    )  # fmt: skip
    agent.update_many(batch, 2)
    agent.update(rows_of(batch, slice(0, 16)))
    assert all(torch.equal(a, b) for a, b in zip(body, agent.online.body.parameters()))
    trained = [p for p in agent.online.parameters() if p.requires_grad]
    assert not any(torch.equal(a, b) for a, b in zip(head, trained, strict=True))


def test_epsilon_one_acts_uniformly_at_random_from_the_given_generator():
    agent = make_agent("dqn", VECTOR, spaces.Discrete(3), seed=0)
    obs = np.zeros((3000, 2), np.float32)
    first = agent.act(obs, epsilon=1.0, rng=np.random.default_rng(7))
    again = agent.act(obs, epsilon=1.0, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(first, again)
    assert np.bincount(first, minlength=3).min() > 900


def test_update_returns_loss_and_q_mean_and_fits_a_fixed_batch():
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, lr=1e-2, hidden=(16,))
    rng = np.random.default_rng(0)
    batch = batch_of(
        obs=rng.uniform(-1, 1, (32, 2)), actions=rng.integers(0, 2, 32),
        rewards=rng.uniform(0, 1, 32), next_obs=rng.uniform(-1, 1, (32, 2)),
        dones=np.ones(32), discounts=np.full(32, 0.99),
    )  # fmt: skip
    first = agent.update(batch)
    assert set(first) == {"loss", "q_mean"} and all(isinstance(v, float) for v in first.values())
    for _ in range(200):
        last = agent.update(batch)
    assert last["loss"] < first["loss"] / 10


@pytest.mark.parametrize("name", ["dqn", "ddqn", "dueling", "rainbow"])
@pytest.mark.parametrize("settings", [{"target_update": 3}, {"tau": 0.5}])
def test_update_many_equals_update_on_each_slice_in_turn(name, settings):
    # 7 steps cross two hard target copies (after steps 3 and 6) or soften after each one.
    rng = np.random.default_rng(1)
    n, size = 7, 16
    batch = batch_of(
        obs=rng.uniform(-1, 1, (n * size, 2)), actions=rng.integers(0, 2, n * size),
        rewards=rng.uniform(0, 1, n * size), next_obs=rng.uniform(-1, 1, (n * size, 2)),
        dones=rng.random(n * size) < 0.2, discounts=np.full(n * size, 0.97),
    )  # fmt: skip
    one_by_one = make_agent(name, VECTOR, TWO_ACTIONS, seed=0, lr=1e-2, hidden=(32,), **settings)
    at_once = make_agent(name, VECTOR, TWO_ACTIONS, seed=0, lr=1e-2, hidden=(32,), **settings)
    stats = [one_by_one.update(rows_of(batch, slice(i * size, (i + 1) * size))) for i in range(n)]
    mean = at_once.update_many(batch, n)
    assert at_once.updates == one_by_one.updates == n
    for key in ("loss", "q_mean"):
        assert mean[key] == pytest.approx(np.mean([s[key] for s in stats]), rel=1e-5)
    for net in ("online", "target"):
        for a, b in zip(
            getattr(at_once, net).parameters(), getattr(one_by_one, net).parameters(), strict=True
        ):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name, space, settings",
    [
        ("dqn", VECTOR, {"hidden": (32, 16)}),
        ("ddqn", VECTOR, {"hidden": (32,), "grad_clip": 1e6}),  # never clipped
        ("dqn", VECTOR, {"hidden": (), "grad_clip": 0.0}),  # clipping off
        ("dueling", VECTOR, {"hidden": (32,)}),
        ("dqn", VECTOR, {"hidden": (32,), "loss": "mse"}),
        ("dqn", spaces.Box(0, 255, (2, 36, 36), np.uint8), {}),
    ],
)
def test_updates_are_bit_identical_to_autograd_clip_grad_norm_and_adam_step(name, space, settings):
    settings = {"lr": 1e-2, "grad_clip": 0.3, "target_update": 1000, **settings}
    fast = make_agent(name, space, TWO_ACTIONS, seed=0, **settings)
    textbook = make_agent(name, space, TWO_ACTIONS, seed=0, **settings)
    rng = np.random.default_rng(3)
    clipped = []
    for _ in range(6):
        obs, next_obs = (
            rng.integers(0, 256, (16, *space.shape)).astype(space.dtype)
            if space.dtype == np.uint8
            else rng.uniform(-1, 1, (16, *space.shape))
            for _ in range(2)
        )
        batch = batch_of(
            obs, rng.integers(0, 2, 16), rng.uniform(-3, 3, 16), next_obs,
            rng.random(16) < 0.3, np.full(16, 0.99),
        )  # fmt: skip
        fast.update(batch)
        target = textbook.td_target(batch)
        actions = torch.as_tensor(batch.actions).unsqueeze(1)
        q = textbook.online(torch.as_tensor(batch.obs)).gather(1, actions).squeeze(1)
        loss_fn = F.mse_loss if settings.get("loss") == "mse" else F.smooth_l1_loss
        textbook.optimizer.zero_grad()
        loss_fn(q, target).backward()
        if settings["grad_clip"] > 0:
            norm = torch.nn.utils.clip_grad_norm_(
                textbook.online.parameters(), settings["grad_clip"]
            )
            clipped.append(bool(norm > settings["grad_clip"]))
        textbook.optimizer.step()
    if settings["grad_clip"] == 0.3:
        assert any(clipped)  # (grad_clip 1e6: never clipped)
    for a, b in zip(fast.online.parameters(), textbook.online.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("name", ["dqn", "ddqn", "dueling"])
def test_repeated_next_observations_go_through_the_target_network_once(name):
    rng = np.random.default_rng(2)
    n, size = 4, 16
    pool = rng.uniform(-1, 1, (10, 2))
    ids = rng.integers(0, 10, n * size)
    batch = batch_of(
        rng.uniform(-1, 1, (n * size, 2)), rng.integers(0, 2, n * size),
        rng.uniform(0, 1, n * size), pool[ids], rng.random(n * size) < 0.2,
        np.full(n * size, 0.97),
    )  # fmt: skip
    plain = make_agent(name, VECTOR, TWO_ACTIONS, seed=0, lr=1e-2, hidden=(32,))
    once = make_agent(name, VECTOR, TWO_ACTIONS, seed=0, lr=1e-2, hidden=(32,))
    torch.testing.assert_close(once.td_target(batch._replace(next_ids=ids)), plain.td_target(batch))
    rows: list[int] = []
    once.target.register_forward_hook(lambda module, args, out: rows.append(len(args[0])))
    plain.update_many(batch, n)
    once.update_many(batch._replace(next_ids=ids), n)
    assert sum(rows) == len(np.unique(ids))  # no target copy inside these 4 steps: one pass
    for a, b in zip(once.online.parameters(), plain.online.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_update_many_refuses_a_batch_that_does_not_split_evenly():
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0)
    batch = batch_of(np.ones((5, 2)), [0] * 5, [1] * 5, np.ones((5, 2)), [0] * 5, [1] * 5)
    with pytest.raises(ValueError, match="does not split into 2 equal updates"):
        agent.update_many(batch, 2)
    with pytest.raises(ValueError, match="n must be at least 1"):
        agent.update_many(batch, 0)


def test_hard_target_update_copies_the_online_net_every_target_update_updates():
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, target_update=3, lr=1e-2)
    batch = batch_of(np.ones((4, 2)), [0, 1, 0, 1], [1, 1, 1, 1], np.ones((4, 2)), [1] * 4, [1] * 4)
    same = lambda: all(  # noqa: E731
        torch.equal(a, b)
        for a, b in zip(agent.online.parameters(), agent.target.parameters(), strict=True)
    )
    agent.update(batch)
    agent.update(batch)
    assert not same()
    agent.update(batch)
    assert same() and agent.updates == 3


def test_soft_target_update_moves_the_target_by_tau_after_every_update():
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, tau=0.25, lr=1e-2, hidden=())
    before = agent.target.q.weight.clone()
    batch = batch_of(np.ones((4, 2)), [0, 1, 0, 1], [1, 1, 1, 1], np.ones((4, 2)), [1] * 4, [1] * 4)
    agent.update(batch)
    expected = before + 0.25 * (agent.online.q.weight - before)
    torch.testing.assert_close(agent.target.q.weight, expected)


@pytest.mark.parametrize("cls", [DuelingDQN, Rainbow])
def test_state_dict_is_flat_tensors_and_a_restored_agent_learns_bit_identically(cls):
    # Rainbow: noisy layers' parameters and noise, the C51 support and the noise generator.
    config = AgentConfig(lr=1e-3, target_update=2, hidden=(16, 16))
    rng = np.random.default_rng(0)
    batches = [
        batch_of(
            rng.uniform(-1, 1, (8, 2)),
            rng.integers(0, 2, 8),
            rng.uniform(0, 1, 8),
            rng.uniform(-1, 1, (8, 2)),
            rng.integers(0, 2, 8),
            np.full(8, 0.99),
        )  # fmt: skip
        for _ in range(6)
    ]
    original = cls(VECTOR, TWO_ACTIONS, config, seed=1)
    for batch in batches[:3]:
        original.update(batch)
    original.act(np.zeros(2, np.float32), epsilon=0.5, explore=True)
    state = original.state_dict()
    assert all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items())
    assert {k.split(".")[0] for k in state} == {"online", "target", "optimizer", "counters", "rng"}

    restored = cls(VECTOR, TWO_ACTIONS, config, seed=2)
    restored.load_state_dict(state)
    for batch in batches[3:]:
        original.update(batch)
        restored.update(batch)
    assert restored.updates == original.updates == 6
    after = restored.state_dict()
    for key, value in original.state_dict().items():
        assert torch.equal(after[key], value), key
    obs = np.zeros((20, 2), np.float32)
    for explore in (False, True):
        np.testing.assert_array_equal(
            original.act(obs, 0.5, explore=explore), restored.act(obs, 0.5, explore=explore)
        )


def test_seeded_agents_start_with_identical_weights_without_touching_the_global_rng():
    torch.manual_seed(123)
    expected_draw = torch.rand(1)
    torch.manual_seed(123)
    a = make_agent("dqn", PIXELS, TWO_ACTIONS, seed=5)
    assert torch.equal(torch.rand(1), expected_draw)
    b = make_agent("dqn", PIXELS, TWO_ACTIONS, seed=5)
    for x, y in zip(a.online.parameters(), b.online.parameters(), strict=True):
        assert torch.equal(x, y)


def test_stacked_float_vectors_are_flattened_into_the_mlp():
    agent = make_agent("dqn", spaces.Box(-1, 1, (4, 3), np.float32), TWO_ACTIONS, hidden=(8,))
    assert agent.online.body.layers[0].in_features == 12
    assert agent.q_values(np.zeros((4, 3), np.float32)).shape == (2,)


def test_unseeded_agents_start_from_different_weights():
    a, b = (make_agent("dqn", VECTOR, TWO_ACTIONS) for _ in range(2))
    assert not torch.equal(a.online.q.weight, b.online.q.weight)


def test_non_discrete_actions_or_unsupported_observations_are_refused_with_a_reason():
    with pytest.raises(TypeError, match="Discrete"):
        make_agent("dqn", VECTOR, spaces.Box(-1, 1, (2,), np.float32))
    with pytest.raises(TypeError, match="channel-first"):
        make_agent("dqn", spaces.Box(0, 255, (2, 3, 3, 3), np.uint8), TWO_ACTIONS)


def test_device_auto_is_cpu_without_cuda_and_state_dicts_are_always_on_cpu():
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert agent.device.type == expected
    assert all(t.device.type == "cpu" for t in agent.state_dict().values())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name, space", [("dueling", PIXELS), ("dqn", VECTOR)])
def test_a_cuda_agent_learns_acts_and_moves_its_state_to_a_cpu_agent(name, space):
    cuda = make_agent(name, space, spaces.Discrete(4), seed=0, device="cuda")
    rng = np.random.default_rng(0)
    obs = rng.integers(0, 256, (8, *space.shape)).astype(space.dtype)
    batch = ReplayBatch(obs, rng.integers(0, 4, 8), np.ones(8, np.float32), obs,
                        np.zeros(8, np.float32), np.full(8, 0.99, np.float32))  # fmt: skip
    cuda.update(batch)
    assert cuda.act(obs).shape == (8,)
    cpu = make_agent(name, space, spaces.Discrete(4), device="cpu")
    cpu.load_state_dict(cuda.state_dict())
    np.testing.assert_allclose(cpu.q_values(obs), cuda.q_values(obs), rtol=1e-3, atol=1e-3)


# ------------------------------------------------------------------ bad input


def small_batch(rows: int = 8, **fields) -> ReplayBatch:
    rng = np.random.default_rng(0)
    batch = ReplayBatch(
        rng.standard_normal((rows, 2)).astype(np.float32),
        rng.integers(0, 2, rows),
        np.ones(rows, np.float32),
        rng.standard_normal((rows, 2)).astype(np.float32),
        np.zeros(rows, np.float32),
        np.full(rows, 0.99, np.float32),
    )
    return batch._replace(**fields)


@pytest.mark.parametrize(
    ("obs", "message"),
    [
        (np.zeros(3, np.float32), r"observations of shape \(3,\): this agent takes one of shape"),
        ((np.zeros(2, np.float32), {}), r"pass obs, not \(obs, info\)"),
        (np.array(["a", "b"]), "must be numbers"),
    ],
)
def test_act_refuses_observations_that_do_not_fit_the_space(obs, message):
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, device="cpu")
    with pytest.raises(ValueError, match=message):
        agent.act(obs)
    with pytest.raises(ValueError, match=message):
        agent.q_values(obs)


def test_images_must_be_unscaled_uint8_and_channel_first():
    agent = make_agent("dqn", PIXELS, TWO_ACTIONS, seed=0, device="cpu")
    with pytest.raises(ValueError, match="uint8 0-255.*divides by 255 itself"):
        agent.act(np.zeros((4, 84, 84)) / 255)  # scaled floats would be divided again
    with pytest.raises(ValueError, match=r"channel-first images \(C, H, W\)"):
        agent.act(np.zeros((84, 84, 4), np.uint8))
    with pytest.raises(ValueError, match="look channel-last"):
        make_agent("dqn", spaces.Box(0, 255, (84, 84, 4), np.uint8), TWO_ACTIONS)


@pytest.mark.parametrize("epsilon", [1.5, -0.1, float("nan"), "0.1"])
def test_act_refuses_an_epsilon_outside_0_1(epsilon):
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, device="cpu")
    with pytest.raises(ValueError, match="epsilon must be between 0 and 1"):
        agent.act(np.zeros(2, np.float32), epsilon=epsilon)


def test_an_agent_name_that_is_not_a_string_lists_the_names():
    with pytest.raises(ValueError, match=r"unknown agent None; choose one of \['ddqn'"):
        make_agent(None, VECTOR, TWO_ACTIONS)


def test_action_spaces_that_do_not_start_at_0_are_refused_with_the_fix():
    with pytest.raises(ValueError, match=r"give the agent Discrete\(3\) and add 1"):
        make_agent("dqn", VECTOR, spaces.Discrete(3, start=1))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"actions": np.array([0, 1, 0, 1, 5, 5, 5, 5])}, "integers from 0 to 1, got int64"),
        ({"actions": np.full(8, 1.9)}, "integers from 0 to 1, got float64"),
        ({"rewards": np.ones((8, 1), np.float32)}, r"rewards has shape \(8, 1\), expected \(8,\)"),
        ({"rewards": np.full(8, np.nan, np.float32)}, "NaN or infinite"),
        ({"next_obs": np.zeros((4, 2), np.float32)}, r"next_obs has shape \(4, 2\)"),
    ],
)
def test_a_bad_batch_is_refused_before_any_step_changes_the_agent(fields, message):
    agent = make_agent("dueling", VECTOR, TWO_ACTIONS, seed=0, device="cpu")
    before = {k: v.clone() for k, v in agent.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        agent.update_many(small_batch(**fields), 2)
    after = agent.state_dict()
    assert agent.updates == 0 and all(torch.equal(before[k], after[k]) for k in before)


def test_update_takes_a_plain_tuple_and_refuses_an_empty_batch():
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, device="cpu")
    agent.update(tuple(small_batch())[:6])
    assert agent.updates == 1
    with pytest.raises(ValueError, match="no transitions"):
        agent.update(small_batch(0))


def test_a_state_of_another_network_is_refused_before_anything_is_loaded():
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, device="cpu", hidden=(32, 32))
    agent.update(small_batch())  # Adam has moments to compare too
    weights = {k: v.clone() for k, v in agent.state_dict().items()}
    other = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=1, device="cpu", hidden=(64, 64))
    other.update(small_batch())
    with pytest.raises(ValueError, match=r"has shape \(64, 2\) in the state and \(32, 2\)"):
        agent.load_state_dict(other.state_dict())
    online_only = {k: v for k, v in weights.items() if not k.startswith("target.")}
    with pytest.raises(ValueError, match="the state has no 'target."):
        agent.load_state_dict(online_only)
    moments = dict(weights)  # the right weights but another network's Adam moments
    moments["optimizer.0.exp_avg"] = other.state_dict()["optimizer.0.exp_avg"]
    with pytest.raises(ValueError, match="optimizer.0.exp_avg has shape"):
        agent.load_state_dict(moments)
    after = agent.state_dict()
    assert all(torch.equal(weights[k], after[k]) for k in weights)
