"""DQN-family agents (DQN, Double, Dueling, Rainbow), their Q-networks and the replay buffer.

Importing this package imports torch; ``import rlgames`` alone never does.
"""

from rlgames.agents.config import AgentConfig
from rlgames.agents.dqn import DQN
from rlgames.agents.replay import ReplayBatch, ReplayBuffer
from rlgames.agents.variants import AGENTS, DoubleDQN, DuelingDQN, Rainbow, make_agent

__all__ = [
    "AGENTS",
    "AgentConfig",
    "DQN",
    "DoubleDQN",
    "DuelingDQN",
    "Rainbow",
    "ReplayBatch",
    "ReplayBuffer",
    "make_agent",
]
