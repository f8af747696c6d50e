"""The shared training machinery: one Accelerate trainer for every model of the project.

A model plugs in by implementing :class:`TrainTask` (network, data, loss); :class:`Trainer`
does the rest (devices, precision, data order, schedule, logs, exact resume). Weights are
saved without pickle (:func:`save_pretrained` / :func:`load_pretrained`).
"""

from musiclm.training.checkpoint import (
    Checkpoint,
    latest_checkpoint,
    load_checkpoint,
    load_pretrained,
    save_checkpoint,
    save_pretrained,
)
from musiclm.training.config import TrainConfig
from musiclm.training.task import TrainTask
from musiclm.training.trainer import FitResult, Trainer

__all__ = [
    "Checkpoint",
    "FitResult",
    "TrainConfig",
    "TrainTask",
    "Trainer",
    "latest_checkpoint",
    "load_checkpoint",
    "load_pretrained",
    "save_checkpoint",
    "save_pretrained",
]
