"""Q-networks built from the observation space: a body (Nature CNN or MLP) and a head.

Pixels: uint8 ``(C, H, W)`` (or single ``(H, W)`` frames) of any H, W go through the Nature
DQN convolutions, scaled by 1/255 inside the network so replay and transfers stay uint8; the
flatten size is measured with a dummy forward pass. Float vectors (or stacks of them): an MLP.
The head is a linear layer (DQN) or the dueling streams ``Q = V + A - mean(A)``; either can
be distributional (C51: logits over a fixed support of returns per action) and noisy
(`NoisyLinear` in place of the head's layers and of the Nature CNN's 512-unit layer).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn


class NoisyLinear(nn.Module):
    """Linear layer with learned factorised Gaussian noise (Fortunato et al. 2018):
    ``W = W_mu + W_sigma * outer(f(e_out), f(e_in))``, ``b = b_mu + b_sigma * f(e_out)`` with
    ``f(e) = sign(e) sqrt(|e|)``. In training mode it uses the noise drawn by the last
    `reset_noise`; in eval mode (``.eval()``) the mean weights alone, deterministically."""

    def __init__(self, in_features: int, out_features: int, std_init: float = 0.5) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        bound = 1.0 / math.sqrt(in_features)
        shape = (out_features, in_features)
        self.weight_mu = nn.Parameter(torch.empty(shape).uniform_(-bound, bound))
        self.weight_sigma = nn.Parameter(torch.full(shape, std_init * bound))
        self.bias_mu = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))
        self.bias_sigma = nn.Parameter(torch.full((out_features,), std_init * bound))
        self.register_buffer("noise_in", torch.zeros(in_features))  # f(e_in)
        self.register_buffer("noise_out", torch.zeros(out_features))  # f(e_out)
        self.reset_noise()

    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        """Draw new noise from `generator` (a CPU generator; default: torch's global RNG)."""
        for buffer in (self.noise_in, self.noise_out):
            e = torch.randn(len(buffer), generator=generator)
            buffer.copy_(e.sign() * e.abs().sqrt())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return F.linear(x, self.weight_mu, self.bias_mu)
        weight = self.weight_mu + self.weight_sigma * torch.outer(self.noise_out, self.noise_in)
        return F.linear(x, weight, self.bias_mu + self.bias_sigma * self.noise_out)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


@contextmanager
def mean_weights(net: nn.Module) -> Iterator[nn.Module]:
    """Within the block, `net`'s NoisyLinear layers use their mean weights (eval mode)."""
    training = net.training
    net.train(False)
    try:
        yield net
    finally:
        net.train(training)


def linear(in_features: int, out_features: int, noisy_std: float | None = None) -> nn.Module:
    """``nn.Linear``, or `NoisyLinear` with sigma_0 = `noisy_std` when it is given."""
    if noisy_std is None:
        return nn.Linear(in_features, out_features)
    return NoisyLinear(in_features, out_features, noisy_std)


class NatureCNN(nn.Module):
    """Mnih et al. (2015) convolutions + a 512-unit layer (noisy when `noisy_std` is given);
    input uint8 (B, C, H, W)."""

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        features: int = 512,
        add_channel_dim: bool = False,
        noisy_std: float | None = None,
    ) -> None:
        super().__init__()
        self.add_channel_dim = add_channel_dim  # inputs are (B, H, W) single frames
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=8, stride=4),
            nn.ReLU(),
            nn.Conv2d(32, 64, kernel_size=4, stride=2),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, stride=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        if min(height, width) < 36:  # each convolution needs its kernel to fit
            raise ValueError(
                f"the Nature CNN needs images of at least 36x36 pixels, got {height}x{width}: "
                "make the env's frames larger (make_env(..., size=84))"
            )
        with torch.no_grad():
            n_flat = self.convs(torch.zeros(1, in_channels, height, width)).shape[1]
        self.n_flat = int(n_flat)
        self.fc = nn.Sequential(linear(self.n_flat, features, noisy_std), nn.ReLU())
        self.out_features = features
        # Channels-last convolutions run faster forward + backward on CPU (oneDNN); the flatten
        # reads logical (C, H, W) order, so the maths and the weights' meaning are unchanged.
        self.convs.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.add_channel_dim:
            x = x.unsqueeze(1)
        x = (x.float() / 255.0).contiguous(memory_format=torch.channels_last)
        return self.fc(self.convs(x))


class MLP(nn.Module):
    """ReLU multilayer perceptron for float observations (flattened after the batch axis)."""

    def __init__(self, in_features: int, hidden: Sequence[int] = (256, 256)) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(in_features, width), nn.ReLU()]
            in_features = width
        self.layers = nn.Sequential(*layers)
        self.out_features = in_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.float().flatten(1))


class QNetwork(nn.Module):
    """Body + head. ``dueling=True`` splits the head into value and advantage streams.

    ``forward`` gives the head's output: Q-values (B, n_actions), or with a `support` (C51)
    logits (B, n_actions, atoms) of each action's return distribution over that support;
    `expected_q` turns either into Q-values. ``noisy_std``: the head's layers are NoisyLinear.
    """

    def __init__(
        self,
        body: nn.Module,
        n_actions: int,
        dueling: bool = False,
        support: torch.Tensor | None = None,
        noisy_std: float | None = None,
    ) -> None:
        super().__init__()
        self.body = body
        self.dueling = dueling
        self.n_actions = n_actions
        self.distributional = support is not None
        self.atoms = 1 if support is None else len(support)
        if support is not None:
            self.register_buffer("support", torch.as_tensor(support, dtype=torch.float32))
        width = body.out_features
        if dueling:
            self.value = linear(width, self.atoms, noisy_std)
            self.advantage = linear(width, n_actions * self.atoms, noisy_std)
        else:
            self.q = linear(width, n_actions * self.atoms, noisy_std)

    def value_advantage(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dueling streams: V (B, 1) and A (B, n_actions); per atom, (B, 1, atoms) and
        (B, n_actions, atoms), when distributional."""
        features = self.body(x)
        value, advantage = self.value(features), self.advantage(features)
        if self.distributional:
            return value.unsqueeze(1), advantage.view(-1, self.n_actions, self.atoms)
        return value, advantage

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.dueling:
            out = self.q(self.body(x))
            return out.view(-1, self.n_actions, self.atoms) if self.distributional else out
        value, advantage = self.value_advantage(x)
        return value + advantage - advantage.mean(dim=1, keepdim=True)

    def expected_q(self, out: torch.Tensor) -> torch.Tensor:
        """Q-values (B, n_actions) from `forward`'s output: itself, or for C51 the mean of
        each action's distribution, ``sum_z z * softmax(logits)``."""
        if not self.distributional:
            return out
        return (out.softmax(dim=-1) * self.support).sum(dim=-1)

    def reset_noise(self, generator: torch.Generator | None = None) -> None:
        """New noise in every NoisyLinear layer (none: nothing happens)."""
        for module in self.modules():
            if isinstance(module, NoisyLinear):
                module.reset_noise(generator)


def build_q_network(
    observation_space: spaces.Space,
    n_actions: int,
    dueling: bool = False,
    hidden: Sequence[int] = (256, 256),
    *,
    support: torch.Tensor | None = None,
    noisy_std: float | None = None,
) -> QNetwork:
    """Nature CNN for uint8 (C, H, W) or (H, W) boxes, MLP for other boxes; else an error.
    A `support` makes the head distributional (C51); `noisy_std` makes the head's layers and
    the Nature CNN's 512-unit layer NoisyLinear (the MLP's hidden layers stay plain)."""
    shape = tuple(observation_space.shape or ())
    if not isinstance(observation_space, spaces.Box):
        raise TypeError(f"Q-networks need a Box observation space, got {observation_space}")
    if len(shape) == 3 and observation_space.dtype == np.uint8:
        if shape[2] < 36 <= min(shape[0], shape[1]):  # (H, W, C): channel-last
            raise ValueError(
                f"image observations of shape {shape} look channel-last (H, W, C); the Nature "
                "CNN takes channel-first (C, H, W) stacks, as rlgames.make_env gives them (or "
                "rlgames.wrappers.ChannelsFirst for another env)"
            )
        body: nn.Module = NatureCNN(*shape, noisy_std=noisy_std)
    elif len(shape) == 2 and observation_space.dtype == np.uint8:
        body = NatureCNN(1, *shape, add_channel_dim=True, noisy_std=noisy_std)
    elif len(shape) >= 1 and observation_space.dtype != np.uint8:
        body = MLP(int(np.prod(shape)), hidden)
    else:
        raise TypeError(
            f"no network for observations {observation_space.dtype}{list(shape)}: expected "
            "uint8 (C, H, W) or (H, W) images (channel-first, e.g. from rlgames.make_env) or "
            "float vectors"
        )
    return QNetwork(body, n_actions, dueling, support, noisy_std)
