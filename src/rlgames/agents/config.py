"""`AgentConfig`: a DQN-family agent's hyperparameters, each read by the agent alone."""

from __future__ import annotations

from dataclasses import dataclass

from rlgames.config import Bounds, check_fields


@dataclass
class AgentConfig:
    """Hyperparameters of a DQN-family agent. One "update" is one gradient step."""

    lr: float = 1e-4
    """Adam learning rate (at step 0 when lr_end is set)."""
    lr_end: float | None = None
    """Learning rate reached linearly after lr_decay_steps env steps, kept from then on
    (None: lr throughout). Annealing steadies the final greedy policy."""
    lr_decay_steps: int = 0
    """Env steps over which the learning rate moves from lr to lr_end."""
    gamma: float = 0.99
    """Discount per env step (the replay's n-step returns use it too)."""
    n_step: int = 1
    """Env steps summed into one return before bootstrapping (the agent's replay uses it)."""
    batch_size: int = 32
    """Transitions per gradient step."""
    grad_clip: float = 10.0
    """Max global L2 norm of the gradients; 0 disables clipping."""
    target_update: int = 1000
    """Updates between hard copies of the online network into the target network."""
    tau: float = 1.0
    """1.0 = hard copy every target_update updates; < 1 = Polyak average after every update."""
    double: bool | None = None
    """Double-DQN targets; None = the variant's default (dqn: False, ddqn/dueling: True)."""
    dueling: bool | None = None
    """Dueling head; None = the variant's default (dueling: True, others False)."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the MLP used for vector observations."""
    loss: str = "huber"
    """TD loss: "huber" (smooth L1, delta 1) or "mse"."""
    adam_eps: float = 1e-8
    """Adam epsilon (Dopamine uses 1.5e-4 on Atari)."""
    device: str = "auto"
    """"auto" = CUDA when available, else CPU; or any torch device string."""

    def __post_init__(self) -> None:
        self.device = str(self.device)  # a torch.device too
        check_fields(self, _BOUNDS, {"loss": ("huber", "mse")})
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"AgentConfig.tau must be in (0, 1], got {self.tau}")
        if self.lr <= 0.0:
            raise ValueError(f"AgentConfig.lr must be above 0, got {self.lr}")
        if self.lr_end is not None and self.lr_decay_steps == 0:
            raise ValueError(
                "AgentConfig.lr_end is set but lr_decay_steps is 0: give the env steps over "
                "which the learning rate moves from lr to lr_end (e.g. the run's length)"
            )


_BOUNDS: Bounds = {
    "lr_end": (0.0, None),
    "lr_decay_steps": (0, None),
    "gamma": (0.0, 1.0),
    "n_step": (1, None),
    "batch_size": (1, None),
    "grad_clip": (0.0, None),
    "target_update": (1, None),
    "hidden": (1, None),
    "adam_eps": (0.0, None),
}
