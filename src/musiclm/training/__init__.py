"""The shared training machinery: one Accelerate trainer for every model of the project.

A model plugs in by implementing :class:`TrainTask` (network, data, loss); :class:`Trainer`
does the rest (devices, precision, data order, schedule, logs, exact resume). Weights are
saved without pickle (:func:`save_pretrained` / :func:`load_pretrained`).

The names load on first use: ``from_pretrained`` of every model reads its weights with
:mod:`musiclm.training.checkpoint` (safetensors + JSON), and importing that must not pull
in the trainer and Accelerate (~0.25 s and ~60 modules at every start of inference;
``benchmarks/import_speed.py``).
"""

from __future__ import annotations

import importlib

_LAZY = {
    "Checkpoint": "musiclm.training.checkpoint",
    "latest_checkpoint": "musiclm.training.checkpoint",
    "load_checkpoint": "musiclm.training.checkpoint",
    "load_pretrained": "musiclm.training.checkpoint",
    "save_checkpoint": "musiclm.training.checkpoint",
    "save_pretrained": "musiclm.training.checkpoint",
    "TrainConfig": "musiclm.training.config",
    "TrainTask": "musiclm.training.task",
    "FitResult": "musiclm.training.trainer",
    "Trainer": "musiclm.training.trainer",
}
__all__ = sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'musiclm.training' has no attribute {name!r}")
