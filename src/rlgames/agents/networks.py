"""Q-networks built from the observation space: a body (Nature CNN or MLP) and a head.

Pixels: uint8 ``(C, H, W)`` (or single ``(H, W)`` frames) of any H, W go through the Nature
DQN convolutions, scaled by 1/255 inside the network so replay and transfers stay uint8; the
flatten size is measured with a dummy forward pass. Float vectors (or stacks of them): an MLP.
The head is a linear layer (DQN) or the dueling streams ``Q = V + A - mean(A)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from gymnasium import spaces
from torch import nn


class NatureCNN(nn.Module):
    """Mnih et al. (2015) convolutions + a 512-unit layer; input uint8 (B, C, H, W)."""

    def __init__(
        self,
        in_channels: int,
        height: int,
        width: int,
        features: int = 512,
        add_channel_dim: bool = False,
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
        self.fc = nn.Sequential(nn.Linear(self.n_flat, features), nn.ReLU())
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
    """Body + Q head. ``dueling=True`` splits the head into value and advantage streams."""

    def __init__(self, body: nn.Module, n_actions: int, dueling: bool = False) -> None:
        super().__init__()
        self.body = body
        self.dueling = dueling
        if dueling:
            self.value = nn.Linear(body.out_features, 1)
            self.advantage = nn.Linear(body.out_features, n_actions)
        else:
            self.q = nn.Linear(body.out_features, n_actions)

    def value_advantage(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dueling streams: V (B, 1) and A (B, n_actions)."""
        features = self.body(x)
        return self.value(features), self.advantage(features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.dueling:
            return self.q(self.body(x))
        value, advantage = self.value_advantage(x)
        return value + advantage - advantage.mean(dim=1, keepdim=True)


def build_q_network(
    observation_space: spaces.Space,
    n_actions: int,
    dueling: bool = False,
    hidden: Sequence[int] = (256, 256),
) -> QNetwork:
    """Nature CNN for uint8 (C, H, W) or (H, W) boxes, MLP for other boxes; else an error."""
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
        body: nn.Module = NatureCNN(*shape)
    elif len(shape) == 2 and observation_space.dtype == np.uint8:
        body = NatureCNN(1, *shape, add_channel_dim=True)
    elif len(shape) >= 1 and observation_space.dtype != np.uint8:
        body = MLP(int(np.prod(shape)), hidden)
    else:
        raise TypeError(
            f"no network for observations {observation_space.dtype}{list(shape)}: expected "
            "uint8 (C, H, W) or (H, W) images (channel-first, e.g. from rlgames.make_env) or "
            "float vectors"
        )
    return QNetwork(body, n_actions, dueling)
