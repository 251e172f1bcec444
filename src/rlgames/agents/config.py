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
    """Double-DQN targets; None = the variant's default (dqn: False; ddqn, dueling, rainbow:
    True)."""
    dueling: bool | None = None
    """Dueling head; None = the variant's default (dueling, rainbow: True; others False)."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden layer widths of the MLP used for vector observations."""
    loss: str = "huber"
    """TD loss: "huber" (smooth L1, delta 1) or "mse"."""
    adam_eps: float = 1e-8
    """Adam epsilon (Dopamine uses 1.5e-4 on Atari)."""
    distributional: bool | None = None
    """C51 head and loss (a return distribution per action); None = the variant's default
    (rainbow: True, others False)."""
    atoms: int = 51
    """C51: atoms of the fixed support from v_min to v_max."""
    v_min: float = -10.0
    """C51: lowest return of the support (targets below are clipped to it)."""
    v_max: float = 10.0
    """C51: highest return of the support (targets above are clipped to it)."""
    noisy: bool | None = None
    """Noisy linear layers in the head (and the Nature CNN's 512-unit layer) explore in place
    of epsilon (the Trainer acts with epsilon 0); None = the variant's default (rainbow: True,
    others False)."""
    noisy_std: float = 0.5
    """sigma_0 of the factorised Gaussian noise: each sigma starts at sigma_0 / sqrt(fan_in)."""
    prioritized: bool = False
    """The agent's replay samples transitions in proportion to (priority + priority_eps) **
    priority_alpha, the priority being the transition's last error."""
    priority_alpha: float = 0.5
    """Prioritized replay: how strongly priorities shape sampling (0 = uniform, 1 = in
    proportion)."""
    priority_beta: float = 0.4
    """Prioritized replay: importance-sampling exponent at step 0, annealed linearly to 1
    over priority_beta_steps env steps."""
    priority_beta_steps: int = 1_000_000
    """Env steps over which priority_beta rises to 1."""
    priority_eps: float = 1e-6
    """Prioritized replay: added to each error (|TD error|, or C51's cross-entropy) so no
    transition's priority is 0; above 0 and below 1."""
    device: str = "auto"
    """"auto" = CUDA when available, else CPU; or any torch device string."""

    def __post_init__(self) -> None:
        self.device = str(self.device)  # a torch.device too
        check_fields(self, _BOUNDS, {"loss": ("huber", "mse")})
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"AgentConfig.tau must be in (0, 1], got {self.tau}")
        if self.lr <= 0.0:
            raise ValueError(f"AgentConfig.lr must be above 0, got {self.lr}")
        if not 0.0 < self.priority_eps < 1.0:
            raise ValueError(
                f"AgentConfig.priority_eps must be above 0 and below 1, got {self.priority_eps}"
            )
        if self.lr_end is not None and self.lr_decay_steps == 0:
            raise ValueError(
                "AgentConfig.lr_end is set but lr_decay_steps is 0: give the env steps over "
                "which the learning rate moves from lr to lr_end (e.g. the run's length)"
            )
        if not self.v_min < self.v_max:
            raise ValueError(
                f"AgentConfig.v_min must be below v_max, got v_min={self.v_min} and "
                f"v_max={self.v_max}"
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
    "atoms": (2, None),
    "noisy_std": (0.0, None),
    "priority_alpha": (0.0, 1.0),
    "priority_beta": (0.0, 1.0),
    "priority_beta_steps": (0, None),
}
