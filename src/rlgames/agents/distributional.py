"""C51's target (Bellemare et al. 2017): the Bellman update of a return distribution on a fixed
support, projected back onto that support."""

from __future__ import annotations

import torch


def support_of(atoms: int, v_min: float, v_max: float) -> torch.Tensor:
    """The fixed returns z_0 = v_min < ... < z_{atoms-1} = v_max, float32 (atoms,)."""
    return torch.linspace(v_min, v_max, atoms, dtype=torch.float32)


def project_distribution(
    probs: torch.Tensor, rewards: torch.Tensor, bootstrap: torch.Tensor, support: torch.Tensor
) -> torch.Tensor:
    """The distribution of ``Tz = r + bootstrap * z`` (z ~ `probs` (B, atoms) over `support`),
    projected onto `support`: float (B, atoms), each row summing to 1.

    ``bootstrap`` (B,) is ``discount * (1 - done)``: 0 for terminated transitions, which puts
    all mass at r. Tz is clipped to [v_min, v_max]; a Tz between two atoms gives each its
    share by distance (the triangle kernel ``max(0, 1 - |b - j|)`` at fractional index b), so
    a Tz exactly on an atom gives that atom all its mass and no share is lost."""
    v_min, v_max = float(support[0]), float(support[-1])
    atoms = len(support)
    spacing = (v_max - v_min) / (atoms - 1)
    tz = (rewards.float()[:, None] + bootstrap.float()[:, None] * support[None, :]).clamp(
        v_min, v_max
    )
    index = ((tz - v_min) / spacing).clamp(0, atoms - 1)  # fractional atom index, (B, atoms)
    atom = torch.arange(atoms, dtype=index.dtype, device=index.device)
    # weight[b, i, j]: share of source atom i's mass that lands on atom j.
    weight = (1 - (index[:, :, None] - atom[None, None, :]).abs()).clamp(min=0)
    return torch.einsum("bi,bij->bj", probs.float(), weight)
