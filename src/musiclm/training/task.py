"""What a model must tell the trainer: :class:`TrainTask`, the one base every model implements.

The trainer owns the loop (devices, precision, data order, schedule, checkpoints, logs);
a task owns everything model-specific: how to build the network, the data, the loss.

One optimizer (the usual case)::

    class CodecTask(TrainTask):
        def build_model(self): return Codec(self.cfg)
        def model_config(self): return self.cfg.to_dict()
        def train_dataset(self): return ClipDataset(...)
        def loss(self, model, batch, step, optimizer="main"):
            out = model(batch)
            return out.loss, {"mel": out.mel.item()}

Several optimizers (a GAN): ``build_model`` returns a dict of networks, ``optimizers`` one
optimizer per name, and ``loss`` is called once per optimizer name, in the dict's order,
each call followed by that optimizer's update before the next name's loss is computed —
so the generator's adversarial loss sees the discriminator already updated, as in
EnCodec/HiFi-GAN training.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from musiclm.training.config import TrainConfig

Models = nn.Module | dict[str, nn.Module]


def parameters(model: Models) -> list[nn.Parameter]:
    """All trainable parameters of a model or of a dict of models."""
    modules = model.values() if isinstance(model, dict) else [model]
    return [p for m in modules for p in m.parameters() if p.requires_grad]


def adamw(params: Iterable[nn.Parameter], config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with decay on weight matrices only (biases and norm gains are not decayed)."""
    params = list(params)
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas)


class TrainTask(abc.ABC):
    """A trainable model: its network, its data and its loss.

    Batches reach :meth:`loss` already on the training device. Datasets should draw any
    randomness (crops, augmentation) from ``random``/``numpy``/``torch`` global RNGs
    inside ``__getitem__``: the trainer seeds them per item from (seed, epoch, index), so
    an example is the same whatever the number of workers or processes, and on resume.
    """

    @abc.abstractmethod
    def build_model(self) -> Models:
        """A fresh network (or a dict of networks, e.g. generator and discriminator),
        on CPU, in fp32. Called under a fixed seed."""

    @abc.abstractmethod
    def model_config(self) -> dict[str, Any]:
        """The JSON-able config that rebuilds the network; saved as ``config.json`` beside
        the weights and hashed so that a checkpoint of another config is refused."""

    @abc.abstractmethod
    def train_dataset(self) -> Dataset:
        """The training examples (a map-style dataset with ``len``)."""

    def val_dataset(self) -> Dataset | None:
        """The validation examples, or ``None`` for no validation."""
        return None

    def collate(self, items: list[Any]) -> Any:
        """Turn a list of dataset items into a batch (default: torch's default_collate)."""
        return torch.utils.data.default_collate(items)

    def optimizers(self, model: Models, config: TrainConfig) -> dict[str, torch.optim.Optimizer]:
        """One optimizer per name, updated in this order each step.

        Default: a single AdamW ``"main"`` over every trainable parameter. A GAN returns
        e.g. ``{"discriminator": ..., "generator": ...}``. The learning-rate schedule of
        ``config`` scales every group's ``lr`` as set here.
        """
        return {"main": adamw(parameters(model), config)}

    @abc.abstractmethod
    def loss(
        self, model: Models, batch: Any, step: int, optimizer: str = "main"
    ) -> tuple[torch.Tensor | None, dict[str, float]]:
        """The loss to minimise with optimizer ``optimizer`` at ``step``, and metrics.

        Args:
            model: the prepared network (or dict of networks), in train mode; call it,
                not its ``.module``, so that distributed gradient sync happens.
            batch: one micro-batch from :meth:`collate`, on the training device.
            step: optimizer updates done so far (0-based).
            optimizer: which optimizer this loss is for (a key of :meth:`optimizers`).
        Returns:
            ``(loss, metrics)``: a scalar tensor and plain floats to log (averaged over
            micro-batches, processes and the log interval). ``loss`` may be ``None`` to
            skip this optimizer at this step; decide that from ``step`` alone, so that
            every process and micro-batch agrees.

        Under DDP every forward of a network with gradients enabled must reach a backward:
        compute what only another optimizer's loss needs under ``torch.no_grad()``.
        """

    def val_metrics(self, model: Models, batch: Any, step: int) -> dict[str, float]:
        """Metrics of one validation batch (no grad, eval mode, fixed seed), averaged by
        the trainer over the validation set, weighted by batch size.

        Default: the value of ``loss(model, batch, step)`` (the default optimizer name) as
        ``"loss"``, plus its metrics; a multi-optimizer task may override it.
        """
        value, metrics = self.loss(model, batch, step)
        out = {"loss": float(value)} if value is not None else {}
        return {**out, **metrics}
