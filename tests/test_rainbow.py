"""Rainbow's parts as flags: the C51 projection and loss, noisy layers, importance weights and
priorities, the "rainbow" variant's defaults, and each flag composing with the others."""

from __future__ import annotations

import copy
import math

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces

from rlgames.agents import AgentConfig, Rainbow, ReplayBatch, make_agent
from rlgames.agents.distributional import project_distribution, support_of
from rlgames.agents.networks import NoisyLinear, mean_weights

VECTOR = spaces.Box(-10, 10, (2,), np.float32)
TWO_ACTIONS = spaces.Discrete(2)
FIVE_ATOMS = support_of(5, -2.0, 2.0)  # -2, -1, 0, 1, 2: one apart


def batch_of(obs, actions, rewards, next_obs, dones, discounts, weights=None) -> ReplayBatch:
    f32 = lambda x: np.asarray(x, dtype=np.float32)  # noqa: E731
    return ReplayBatch(
        f32(obs), np.asarray(actions, np.int64), f32(rewards), f32(next_obs), f32(dones),
        f32(discounts), weights=None if weights is None else f32(weights),
    )  # fmt: skip


def random_batch(rows: int = 32, seed: int = 0, **fields) -> ReplayBatch:
    rng = np.random.default_rng(seed)
    batch = batch_of(
        rng.uniform(-1, 1, (rows, 2)), rng.integers(0, 2, rows), rng.uniform(-1, 1, rows),
        rng.uniform(-1, 1, (rows, 2)), rng.random(rows) < 0.2, np.full(rows, 0.99),
    )  # fmt: skip
    return batch._replace(**fields)


# ------------------------------------------------------------------ C51 target


def test_the_projection_splits_each_atoms_mass_between_its_neighbours_by_distance():
    # Tz = 0.25 + 0.5 z = -0.75, -0.25, 0.25, 0.75, 1.25: each a quarter or three quarters
    # of the way between two atoms. Uniform 0.2 each: atoms -1, 0, 1, 2 get 0.2 times
    # (0.75 + 0.25), (0.25 + 0.75 + 0.75 + 0.25), (0.25 + 0.75 + 0.75) and 0.25.
    probs = torch.full((1, 5), 0.2)
    out = project_distribution(probs, torch.tensor([0.25]), torch.tensor([0.5]), FIVE_ATOMS)
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.2, 0.4, 0.35, 0.05]]))


def test_a_tz_exactly_on_an_atom_gives_it_all_the_mass_and_beyond_the_support_is_clipped():
    # r = 1, discount 1: z -> z + 1 lands exactly on the next atom; 2 + 1 = 3 is clipped to 2.
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.15, 0.25]])
    out = project_distribution(probs, torch.tensor([1.0]), torch.tensor([1.0]), FIVE_ATOMS)
    torch.testing.assert_close(out, torch.tensor([[0.0, 0.1, 0.2, 0.3, 0.4]]))
    rewards = torch.tensor([7.0, -9.0])  # beyond v_max, below v_min
    far = project_distribution(probs.repeat(2, 1), rewards, torch.ones(2), FIVE_ATOMS)
    torch.testing.assert_close(far, torch.tensor([[0.0, 0, 0, 0, 1], [1, 0, 0, 0, 0]]))


def test_a_terminated_transition_puts_all_the_mass_at_its_reward():
    probs = torch.tensor([[0.1, 0.2, 0.3, 0.15, 0.25], [0.1, 0.2, 0.3, 0.15, 0.25]])
    rewards, no_bootstrap = torch.tensor([0.5, -1.0]), torch.zeros(2)
    out = project_distribution(probs, rewards, no_bootstrap, FIVE_ATOMS)
    torch.testing.assert_close(out, torch.tensor([[0.0, 0, 0.5, 0.5, 0], [0, 1, 0, 0, 0]]))


def c51_agent(name: str, probs: list[list[float]], **settings):
    """Agent on FIVE_ATOMS whose networks give every state the same distributions `probs`
    (one row per action): zero weights, biases the log-probabilities."""
    agent = make_agent(
        name, VECTOR, TWO_ACTIONS, hidden=(), distributional=True, atoms=5, v_min=-2.0,
        v_max=2.0, **settings,
    )  # fmt: skip
    with torch.no_grad():
        for net in (agent.online, agent.target):
            net.q.weight.zero_()
            net.q.bias.copy_(torch.tensor(probs).log().reshape(-1))
    return agent


def test_the_c51_target_bootstraps_truncated_transitions_and_not_terminated_ones():
    # Action 0 has the higher mean (0.25 vs -1.5): the next action of DQN and Double DQN alike.
    probs = [[0.1, 0.2, 0.3, 0.15, 0.25], [0.5, 0.5, 0.0, 0.0, 0.0]]
    batch = batch_of(
        obs=np.zeros((3, 2)), actions=[0, 0, 0], rewards=[1.0, 1.0, 0.5],
        next_obs=np.zeros((3, 2)), dones=[0, 0, 1], discounts=[1.0, 0.5, 0.5],
    )  # fmt: skip
    # Row 0 (mid-episode, or truncated: dones 0 either way): z + 1 -> shifted up an atom.
    # Row 1 (3-step return up to a truncation): 1 + 0.5 z = 0, 0.5, 1, 1.5, 2.
    # Row 2 (terminated): all the mass at r = 0.5, half on z = 0 and half on z = 1.
    expected = torch.tensor([
        [0.0, 0.1, 0.2, 0.3, 0.4],
        [0.0, 0.0, 0.1 + 0.1, 0.1 + 0.3 + 0.075, 0.075 + 0.25],
        [0.0, 0.0, 0.5, 0.5, 0.0],
    ])  # fmt: skip
    for name in ("dqn", "ddqn"):
        torch.testing.assert_close(c51_agent(name, probs).td_target(batch), expected)


def test_double_c51_takes_the_next_action_from_the_online_network():
    agent = c51_agent("ddqn", [[0.1, 0.2, 0.3, 0.15, 0.25], [0.5, 0.5, 0, 0, 0]])
    with torch.no_grad():  # the online network now prefers action 1 (mean 2 against 0.25)
        agent.online.q.bias.copy_(torch.tensor([[0.1, 0.2, 0.3, 0.15, 0.25], [0, 0, 0, 0, 1.0]])
                                  .clamp(min=1e-9).log().reshape(-1))  # fmt: skip
    batch = batch_of(np.zeros((1, 2)), [0], [0.0], np.zeros((1, 2)), [0], [1.0])
    # Target network's action-1 distribution, unshifted (r = 0, discount 1).
    torch.testing.assert_close(agent.td_target(batch), torch.tensor([[0.5, 0.5, 0, 0, 0]]))
    dqn = c51_agent("dqn", [[0.1, 0.2, 0.3, 0.15, 0.25], [0.5, 0.5, 0, 0, 0]])
    torch.testing.assert_close(dqn.td_target(batch), torch.tensor([[0.1, 0.2, 0.3, 0.15, 0.25]]))


def test_c51_q_values_are_the_means_of_the_distributions():
    agent = c51_agent("dqn", [[0.1, 0.2, 0.3, 0.15, 0.25], [0.5, 0.5, 0, 0, 0]])
    np.testing.assert_allclose(agent.q_values(np.zeros(2, np.float32)), [0.25, -1.5], atol=1e-6)
    assert agent.act(np.zeros(2, np.float32)) == 0


def test_the_c51_loss_is_the_cross_entropy_of_the_target_and_the_taken_actions_distribution():
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, hidden=(8,), distributional=True)
    batch = random_batch(16)
    target = agent.td_target(batch)
    with torch.no_grad():
        logits = agent.online(torch.as_tensor(batch.obs))[torch.arange(16), batch.actions]
        expected = -(target * F.log_softmax(logits, dim=-1)).sum(dim=-1).mean()
    assert agent.update(batch)["loss"] == pytest.approx(float(expected), rel=1e-6)


def test_the_dueling_c51_head_combines_value_and_advantage_per_atom():
    agent = make_agent("dueling", VECTOR, spaces.Discrete(3), seed=0, distributional=True)
    x = torch.randn(4, 2)
    with torch.no_grad():
        value, advantage = agent.online.value_advantage(x)
        logits = agent.online(x)
    assert value.shape == (4, 1, 51) and advantage.shape == (4, 3, 51)
    torch.testing.assert_close(logits, value + advantage - advantage.mean(dim=1, keepdim=True))


# ---------------------------------------------------------------- noisy layers


def test_a_noisy_layer_starts_its_sigmas_at_sigma_0_over_the_square_root_of_fan_in():
    layer = NoisyLinear(16, 3, std_init=0.4)
    assert torch.all(layer.weight_sigma == 0.1) and torch.all(layer.bias_sigma == 0.1)
    assert layer.weight_mu.abs().max() <= 0.25 and layer.bias_mu.abs().max() <= 0.25


def test_resetting_the_noise_changes_a_noisy_layers_output_and_eval_mode_uses_the_means():
    layer = NoisyLinear(4, 3)
    x = torch.randn(5, 4)
    with torch.no_grad():
        first = layer(x)
        assert torch.equal(layer(x), first)  # the same noise until the next reset
        layer.reset_noise(torch.Generator().manual_seed(1))
        second = layer(x)
        with mean_weights(layer):
            mean = layer(x)
    assert not torch.allclose(first, second)
    assert torch.equal(mean, F.linear(x, layer.weight_mu, layer.bias_mu))
    assert layer.training  # back in training mode after the block


def noisy_agent(**settings):
    return make_agent("dqn", VECTOR, spaces.Discrete(4), seed=0, noisy=True, noisy_std=2.0,
                      hidden=(16,), **settings)  # fmt: skip


def test_greedy_acting_of_a_noisy_agent_is_deterministic_and_uses_the_mean_weights():
    agent = noisy_agent()
    obs = np.random.default_rng(0).uniform(-1, 1, (200, 2)).astype(np.float32)
    noise = [b.clone() for b in agent.online.buffers()]
    with torch.no_grad():
        features = agent.online.body(torch.as_tensor(obs))
        mean_q = F.linear(features, agent.online.q.weight_mu, agent.online.q.bias_mu)
    np.testing.assert_array_equal(agent.q_values(obs), mean_q.numpy())
    first = agent.act(obs)
    np.testing.assert_array_equal(first, mean_q.argmax(dim=1).numpy())
    np.testing.assert_array_equal(agent.act(obs), first)
    assert all(torch.equal(a, b) for a, b in zip(noise, agent.online.buffers()))  # no draw


def test_exploring_acts_of_a_noisy_agent_draw_fresh_noise_each_time():
    agent = noisy_agent()
    obs = np.random.default_rng(0).uniform(-1, 1, (200, 2)).astype(np.float32)
    greedy = agent.act(obs)
    explored = [agent.act(obs, explore=True) for _ in range(3)]
    assert not np.array_equal(explored[0], greedy)
    assert not np.array_equal(explored[0], explored[1])
    assert not np.array_equal(explored[1], explored[2])
    plain = make_agent("dqn", VECTOR, spaces.Discrete(4), seed=0, hidden=(16,))
    np.testing.assert_array_equal(plain.act(obs, explore=True), plain.act(obs))  # no noise


def test_every_gradient_step_draws_new_noise_in_both_networks():
    agent = noisy_agent(target_update=1000)
    seen = {"online": [], "target": []}
    for name in seen:
        getattr(agent, name).q.register_forward_hook(
            lambda module, args, out, name=name: seen[name].append(module.noise_out.clone())
        )
    agent.update_many(random_batch(48), 3)
    for name, noises in seen.items():
        distinct = {tuple(n.tolist()) for n in noises}
        assert len(distinct) == 3, name  # one draw per step (the target's copy is unchanged)


def test_a_noisy_cnn_has_a_noisy_512_unit_layer_and_keeps_plain_convolutions():
    pixels = spaces.Box(0, 255, (4, 84, 84), np.uint8)
    agent = make_agent("dueling", pixels, spaces.Discrete(3), seed=0, noisy=True)
    assert isinstance(agent.online.body.fc[0], NoisyLinear)
    assert agent.online.body.fc[0].out_features == 512
    assert isinstance(agent.online.value, NoisyLinear)
    assert isinstance(agent.online.body.convs[0], torch.nn.Conv2d)
    names = set(make_agent("dueling", pixels, spaces.Discrete(3)).online.state_dict())
    assert {"body.fc.0.weight", "value.weight", "advantage.bias"} <= names  # flags off: as before


# ---------------------------------------------------------- importance weights


def loss_per_row(settings: dict, taken: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Textbook per-row losses: Huber, squared error, or C51's cross-entropy."""
    if settings.get("distributional"):
        return -(target * F.log_softmax(taken, dim=-1)).sum(dim=-1)
    if settings.get("loss") == "mse":
        return (taken - target) ** 2
    return F.smooth_l1_loss(taken, target, reduction="none")


@pytest.mark.parametrize("settings", [{}, {"loss": "mse"}, {"distributional": True}])
def test_importance_weights_scale_each_rows_loss(settings):
    weights = np.random.default_rng(1).uniform(0, 2, 32)
    plain, weighted = (make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0, hidden=(8,), **settings)
                       for _ in range(2))  # fmt: skip
    batch = random_batch(32)
    with torch.no_grad():
        target = plain.td_target(batch)
        taken = plain.online(torch.as_tensor(batch.obs))[torch.arange(32), batch.actions]
        per_row = loss_per_row(settings, taken, target)
    unweighted = plain.update(batch)["loss"]
    assert unweighted == pytest.approx(float(per_row.mean()), rel=1e-6)
    weights = weights.astype(np.float32)
    loss = weighted.update(batch._replace(weights=weights))["loss"]
    assert loss == pytest.approx(float((torch.as_tensor(weights) * per_row).mean()), rel=1e-6)


@pytest.mark.parametrize("name", ["dqn", "rainbow"])
def test_a_row_of_weight_0_leaves_the_update_as_it_is_whatever_that_row_holds(name):
    agents = [make_agent(name, VECTOR, TWO_ACTIONS, seed=0, hidden=(8,)) for _ in range(2)]
    weights = np.ones(16, np.float32)
    weights[3] = 0.0
    batch = random_batch(16, weights=weights)
    rewards = batch.rewards.copy()
    rewards[3] = 1000.0  # a wildly wrong target on the row left out
    agents[0].update(batch)
    agents[1].update(batch._replace(rewards=rewards))
    for a, b in zip(agents[0].online.parameters(), agents[1].online.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("weights", [np.full(8, -1.0), np.full(8, np.nan), np.ones(3)])
def test_bad_importance_weights_are_refused(weights):
    agent = make_agent("dqn", VECTOR, TWO_ACTIONS, seed=0)
    with pytest.raises(ValueError, match="weights"):
        agent.update(random_batch(8, weights=weights.astype(np.float32)))
    assert agent.updates == 0


# ----------------------------------------------------- the variant and its flags


def test_rainbow_is_double_dueling_distributional_and_noisy_with_the_papers_settings():
    agent = make_agent("rainbow", VECTOR, TWO_ACTIONS)
    assert type(agent) is Rainbow and agent.name == "rainbow"
    assert (agent.double, agent.dueling, agent.distributional, agent.noisy) == (True,) * 4
    cfg = agent.config
    assert (cfg.n_step, cfg.prioritized, cfg.lr, cfg.adam_eps) == (3, True, 6.25e-5, 1.5e-4)
    assert (cfg.atoms, cfg.v_min, cfg.v_max, cfg.noisy_std) == (51, -10.0, 10.0, 0.5)
    assert (cfg.priority_alpha, cfg.priority_beta) == (0.5, 0.4)
    assert Rainbow(VECTOR, TWO_ACTIONS).config == cfg  # without make_agent too


def test_settings_given_to_rainbow_win_over_its_defaults_and_each_part_switches_off():
    agent = make_agent("rainbow", VECTOR, TWO_ACTIONS, lr=1e-3, n_step=1, noisy=False,
                       prioritized=False, distributional=False)  # fmt: skip
    assert (agent.config.lr, agent.config.n_step, agent.config.prioritized) == (1e-3, 1, False)
    assert (agent.double, agent.dueling, agent.distributional, agent.noisy) == (
        True, True, False, False,
    )  # fmt: skip
    assert make_agent("dqn", VECTOR, TWO_ACTIONS).config == AgentConfig()  # no table of its own


@pytest.mark.parametrize(
    "name, settings, flags",
    [
        ("dqn", {"prioritized": True}, (False, False, False, False)),
        ("ddqn", {"distributional": True}, (True, False, True, False)),
        ("dueling", {"noisy": True}, (True, True, False, True)),
        ("dqn", {"distributional": True, "noisy": True}, (False, False, True, True)),
    ],
)
def test_the_flags_compose_with_every_variant_and_it_learns(name, settings, flags):
    agent = make_agent(name, VECTOR, TWO_ACTIONS, seed=0, lr=1e-2, hidden=(32,), **settings)
    assert (agent.double, agent.dueling, agent.distributional, agent.noisy) == flags
    batch = random_batch(32, dones=np.ones(32, np.float32))  # targets = rewards: fixed
    first = agent.update(batch)["loss"]
    for _ in range(150):
        last = agent.update(batch)["loss"]
    assert math.isfinite(last) and last < first


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"v_min": 5.0, "v_max": 5.0}, "v_min must be below v_max"),
        ({"atoms": 1}, "atoms must be >= 2"),
        ({"priority_beta": 1.5}, "priority_beta must be between 0.0 and 1.0"),
        ({"priority_eps": 0.0}, "priority_eps must be above 0"),
        ({"noisy_std": -0.1}, "noisy_std must be >= 0.0"),
    ],
)
def test_bad_rainbow_settings_are_refused_naming_the_field(settings, message):
    with pytest.raises(ValueError, match=message):
        AgentConfig(**settings)


# ---------------------------------------------------------------------- state


def test_a_state_with_another_c51_support_is_refused_naming_v_min_and_v_max():
    saved = make_agent("rainbow", VECTOR, TWO_ACTIONS, seed=0, v_max=20.0).state_dict()
    agent = make_agent("rainbow", VECTOR, TWO_ACTIONS, seed=0)
    with pytest.raises(ValueError, match="support runs from -10.0 to 20.0 in the state.*v_max"):
        agent.load_state_dict(saved)


def test_a_state_of_a_plain_network_does_not_load_into_a_noisy_one():
    saved = make_agent("dueling", VECTOR, TWO_ACTIONS, seed=0).state_dict()
    with pytest.raises(ValueError, match="the state has no 'online.value.weight_mu'.*noisy"):
        make_agent("dueling", VECTOR, TWO_ACTIONS, noisy=True).load_state_dict(saved)


def test_a_corrupt_noise_generator_state_is_refused():
    state = make_agent("rainbow", VECTOR, TWO_ACTIONS, seed=0).state_dict()
    state["rng.noise"] = torch.zeros(7, dtype=torch.uint8)
    with pytest.raises(ValueError, match="rng.noise is not a torch generator state"):
        make_agent("rainbow", VECTOR, TWO_ACTIONS).load_state_dict(state)


def test_seeded_noisy_agents_draw_the_same_noise_and_unseeded_ones_do_not():
    obs = np.random.default_rng(0).uniform(-1, 1, (100, 2)).astype(np.float32)
    a, b = (noisy_agent() for _ in range(2))
    np.testing.assert_array_equal(a.act(obs, explore=True), b.act(obs, explore=True))
    c, d = (make_agent("dqn", VECTOR, TWO_ACTIONS, noisy=True) for _ in range(2))
    assert not torch.equal(c.noise_rng.get_state(), d.noise_rng.get_state())


# ------------------------------------------------------------- prioritized replay

CARTPOLE = gym.make("CartPole-v1")


def filled_replay(agent, steps: int = 300, seed: int = 0):
    """The agent's own replay holding `steps` CartPole transitions of random play."""
    replay = agent.make_replay(1_000)
    env = gym.make("CartPole-v1")
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        action = int(rng.integers(2))
        next_obs, reward, terminated, truncated, _ = env.step(action)
        replay.add(obs[None], [action], [reward], next_obs[None], [terminated], [truncated])
        obs = env.reset()[0] if terminated or truncated else next_obs
    env.close()
    return replay


def cartpole_agent(name: str = "dqn", **settings):
    return make_agent(name, CARTPOLE.observation_space, CARTPOLE.action_space, seed=0,
                      hidden=(16,), lr=1e-3, device="cpu", **settings)  # fmt: skip


def errors_of(agent, batch: ReplayBatch) -> np.ndarray:
    """What the agent's next step on `batch` will leave as priorities: |TD error|, or C51's
    cross-entropy of target and online distributions."""
    target = agent.td_target(batch)
    with torch.no_grad():
        out = agent.online(torch.as_tensor(batch.obs))
        taken = out[torch.arange(len(out)), torch.as_tensor(batch.actions)]
    if agent.distributional:
        return (-(target * F.log_softmax(taken, dim=-1)).sum(dim=-1)).numpy()
    return (taken - target).abs().numpy()


def test_agents_that_say_prioritized_get_a_prioritized_replay_with_their_alpha_and_eps():
    assert not cartpole_agent().make_replay(100).prioritized
    agent = cartpole_agent(prioritized=True, priority_alpha=0.7, priority_eps=1e-3)
    replay = agent.make_replay(100)
    assert replay.prioritized
    np.testing.assert_array_equal(replay.state_dict()["priority_settings"], [0.7, 1e-3])
    assert cartpole_agent("rainbow").make_replay(100).prioritized


@pytest.mark.parametrize("distributional", [False, True])
def test_after_a_step_the_sampled_transitions_priorities_are_their_errors(distributional):
    settings = {"prioritized": True, "priority_alpha": 0.6, "priority_eps": 1e-3}
    agent = cartpole_agent(distributional=distributional, **settings)
    twin = cartpole_agent(distributional=distributional, **settings)
    replay = filled_replay(agent)
    rng = np.random.default_rng(1)
    batch = replay.sample(32, copy.deepcopy(rng), beta=agent.beta_schedule(0))
    expected = (errors_of(twin, batch).astype(np.float64) + 1e-3) ** 0.6
    agent.learn(replay, 1, rng, 0)
    leaves = replay.state_dict()["priorities"]
    np.testing.assert_allclose(leaves[batch.ids], expected, rtol=1e-5)


@pytest.mark.parametrize("name", ["dqn", "rainbow"])
def test_learning_from_a_prioritized_replay_is_a_weighted_update_then_new_priorities(name):
    # beta at env step 300,000 of 1,000,000: 0.4 + 0.3 * 0.6 = 0.58.
    agent, by_hand = (cartpole_agent(name, prioritized=True) for _ in range(2))
    replay, replay_by_hand = filled_replay(agent), filled_replay(by_hand)
    rng, rng_by_hand = np.random.default_rng(2), np.random.default_rng(2)
    agent.learn(replay, 3, rng, 300_000)
    assert by_hand.beta_schedule(300_000) == pytest.approx(0.58)
    for _ in range(3):
        batch = replay_by_hand.sample(32, rng_by_hand, beta=0.58)
        before = copy.deepcopy(by_hand)  # its noise and weights as the step will see them
        before._reset_noise()
        by_hand.update(batch)
        replay_by_hand.update_priorities(batch.ids, errors_of(before, batch))
    for a, b in zip(agent.online.parameters(), by_hand.online.parameters(), strict=True):
        assert torch.equal(a, b)
    np.testing.assert_allclose(
        replay.state_dict()["priorities"], replay_by_hand.state_dict()["priorities"], rtol=1e-6
    )


# ------------------------------------------------------------------- learning


def test_rainbow_learns_cartpole_from_its_own_prioritized_replay_exploring_by_noise():
    env = gym.make("CartPole-v1")
    agent = make_agent("rainbow", env.observation_space, env.action_space, seed=0,
                       hidden=(64,), lr=1e-3, target_update=50, device="cpu")  # fmt: skip
    replay = agent.make_replay(5_000)
    assert replay.prioritized and replay.n_step == 3
    start = np.zeros(4, np.float32)
    assert np.abs(agent.q_values(start)).max() < 1  # the support's middle, -10..10
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    losses = []
    for step in range(1, 1001):
        action = agent.act(obs, explore=True)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        replay.add(obs[None], [action], [reward], next_obs[None], [terminated], [truncated])
        obs = env.reset()[0] if terminated or truncated else next_obs
        if step >= 200 and step % 2 == 0:
            losses.append(agent.learn(replay, 1, rng, step)["loss"])
    env.close()
    assert agent.updates == len(losses) == 401 and all(map(math.isfinite, losses))
    assert agent.q_values(start).max() > 3  # rewards of 1 a step: values rise up the support


def test_rainbow_learns_on_small_uint8_image_stacks():
    pixels = spaces.Box(0, 255, (2, 36, 36), np.uint8)
    agent = make_agent("rainbow", pixels, TWO_ACTIONS, seed=0, lr=1e-3, target_update=10,
                       device="cpu")  # fmt: skip
    replay = agent.make_replay(200)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (61, 36, 36), dtype=np.uint8)
    for t in range(59):
        obs, next_obs = frames[t : t + 2], frames[t + 1 : t + 3]
        ended = t % 20 == 19
        replay.add(obs[None], [t % 2], [float(t % 2)], next_obs[None], [ended], [False])
    stats = [agent.learn(replay, 2, rng, step) for step in range(5)]
    assert agent.updates == 10 and all(math.isfinite(s["loss"]) for s in stats)
    assert agent.act(frames[:2]) in (0, 1)
