"""Huber TD gradients of a plain MLP Q-network, written out: autograd's arithmetic, no graph.

A gradient step on CartPole's 4-256-256-2 network is a few small matrix products, and
recording and replaying autograd's graph (16 nodes) cost about a fifth of it. For a network
of Linear layers with ReLU between them (an `MLP` body with a plain `Linear` head), this
module runs the same operations autograd's backward formulas run, in the same order, so the
gradients are bit-identical to ``loss.backward()``'s (tests/test_agents.py checks it):

- ``F.linear`` -> ``addmm``: weight gradient ``grad.t() @ input``, bias gradient
  ``grad.sum(0)``, input gradient ``grad @ weight``;
- ReLU: ``threshold_backward(grad, output, 0)``;
- ``gather``: the gradient scattered into zeros;
- ``smooth_l1_loss`` (beta 1, mean): ``clamp(q - target, -1, 1) / batch``.

Other networks (Nature CNN, dueling heads) and other losses use autograd.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from rlgames.agents.networks import MLP, QNetwork


def plain_linears(net: nn.Module) -> list[nn.Linear] | None:
    """The Linear layers of an MLP Q-network without a dueling head, input first (a ReLU
    follows each but the last); None for any other network."""
    if not isinstance(net, QNetwork) or net.dueling or not isinstance(net.body, MLP):
        return None
    body = list(net.body.layers)
    linears = body[0::2]
    if not all(isinstance(m, nn.Linear) for m in linears):
        return None
    if not all(isinstance(m, nn.ReLU) and not m.inplace for m in body[1::2]):
        return None
    return [*linears, net.q]


def _inputs(linears: list[nn.Linear], x: torch.Tensor) -> list[torch.Tensor]:
    """The input of each layer: the observations as a float (B, features) batch, then each
    hidden layer's ReLU output."""
    inputs = [x.float().flatten(1)]
    for layer in linears[:-1]:
        inputs.append(F.linear(inputs[-1], layer.weight, layer.bias).relu_())
    return inputs


def forward(linears: list[nn.Linear], x: torch.Tensor) -> torch.Tensor:
    """The network's output for a float batch (B, ...): what ``net(x)`` computes, with less
    Python in between (the same operations)."""
    last = linears[-1]
    return F.linear(_inputs(linears, x)[-1], last.weight, last.bias)


@torch.no_grad()
def huber_td_gradients(
    linears: list[nn.Linear], obs: torch.Tensor, actions: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Q(obs, actions) and the gradients of ``smooth_l1_loss(Q(obs, actions), target)`` (mean
    over the batch) with respect to each layer's weight and bias, in parameter order.
    ``actions``: int64 (B, 1); ``target``: float (B,)."""
    inputs = _inputs(linears, obs)
    last = linears[-1]
    q = F.linear(inputs[-1], last.weight, last.bias)
    q_taken = q.gather(1, actions).squeeze(1)
    grad_taken = (q_taken - target).clamp(-1.0, 1.0) * (1.0 / len(q_taken))
    grad = torch.zeros_like(q).scatter_(1, actions, grad_taken.unsqueeze(1))
    grads: list[torch.Tensor] = []
    for index in range(len(linears) - 1, -1, -1):
        layer = linears[index]
        grads += [grad.sum(0), grad.t().mm(inputs[index])]  # bias, weight (reversed below)
        if index:  # the observations need no gradient
            grad = torch.ops.aten.threshold_backward(grad.mm(layer.weight), inputs[index], 0)
    grads.reverse()
    return q_taken, grads
