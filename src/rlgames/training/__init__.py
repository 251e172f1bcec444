"""The training room: the loop, its run state, checkpoints, logs and plots, evaluation.

    trainer = rlgames.train("CartPole-v1", agent="dqn", steps=30_000, seed=0, out="runs/cp")
    trainer = Trainer.resume("runs/cp"); trainer.train()   # continue, e.g. in a new process
    plot_run("runs/cp")                                     # runs/cp/curves.png from its CSVs

Names load on first use (PEP 562), so ``rlgames.training.defaults`` and the CLI's parser
stay free of torch.
"""

from __future__ import annotations

from rlgames.lazy import lazy_names

_HOMES = {
    "Trainer": "loop",
    "train": "loop",
    "make_train_envs": "loop",
    "evaluate": "evaluation",
    "evaluate_episodes": "evaluation",
    "load_agent": "evaluation",
    "export_policy": "evaluation",
    "resolve_checkpoint": "evaluation",
    "plot_run": "plots",
    "RunLogger": "logs",
}

__all__ = sorted(_HOMES)


__getattr__, __dir__ = lazy_names(__name__, _HOMES, globals())
