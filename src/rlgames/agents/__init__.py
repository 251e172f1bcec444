"""DQN-family agents, their Q-networks and the replay buffer.

Importing this package imports torch; ``import rlgames`` alone never does.
"""

from rlgames.agents.config import AgentConfig
from rlgames.agents.dqn import AGENTS, DQN, DoubleDQN, DuelingDQN, make_agent
from rlgames.agents.replay import ReplayBatch, ReplayBuffer

__all__ = [
    "AGENTS",
    "AgentConfig",
    "DQN",
    "DoubleDQN",
    "DuelingDQN",
    "ReplayBatch",
    "ReplayBuffer",
    "make_agent",
]
