"""How to train: one dataclass shared by every model, saved in each checkpoint."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

from musiclm.configs import Config
from musiclm.errors import UserError

SCHEDULES = ("cosine", "constant")
PRECISIONS = ("no", "bf16", "fp16")


@dataclass
class TrainConfig(Config):
    """Optimisation, schedule, logging and checkpoint settings of one training run.

    A *step* is one optimizer update; with ``grad_accum = k`` it consumes ``k`` micro-batches
    of ``batch_size`` examples on every process, so the global batch is
    ``batch_size * grad_accum * num_processes``.
    """

    NAME: ClassVar[str] = "train"

    steps: int = 1000  # optimizer updates in total (a resumed run continues up to this)
    batch_size: int = 16  # examples per micro-batch, per process
    lr: float = 3e-4  # peak learning rate, reached at the end of warmup
    weight_decay: float = 0.01  # AdamW decay, applied to weight matrices only (nanoGPT)
    betas: tuple[float, float] = (0.9, 0.99)
    warmup_steps: int = 100  # linear warmup from 0 to ``lr``
    schedule: str = "cosine"  # "cosine" (decays to min_lr_ratio * lr at ``steps``) | "constant"
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0  # max global gradient norm per optimizer; 0 disables clipping
    grad_accum: int = 1  # micro-batches per optimizer step
    mixed_precision: str = "no"  # "no" | "bf16" | "fp16" (autocast; weights stay fp32)
    seed: int = 0  # fixes initialisation, data order and every RNG
    log_every: int = 10  # steps between train-metric records
    eval_every: int = 500  # steps between validations (0: only at the end)
    val_batches: int = 0  # cap on validation batches per process (0: the whole set)
    save_every: int = 1000  # steps between checkpoints (0: only at the end)
    keep_last: int = 3  # checkpoints kept in out_dir (0: keep all)
    num_workers: int = 0  # DataLoader worker processes
    out_dir: str = "runs/train"
    extra: dict[str, Any] = field(default_factory=dict)  # free task-specific settings

    def __post_init__(self) -> None:
        self.betas = tuple(float(b) for b in self.betas)  # JSON gives a list back
        self.validate()

    @classmethod
    def for_run(cls, steps: int, *, out_dir, every: int = 1000, **kw) -> TrainConfig:
        """The CLI's defaults for a run of ``steps``: warmup a tenth of the run (at most
        500 steps), validation and checkpoints every ``every`` steps (at least once), a
        log record every 50; ``kw`` sets anything else."""
        n = max(1, min(every, steps))
        base = dict(
            warmup_steps=min(500, steps // 10),
            eval_every=n,
            save_every=n,
            log_every=max(1, min(50, steps)),
        )
        return cls(steps=steps, out_dir=str(out_dir), **{**base, **kw})

    def validate(self) -> None:
        """Raise :class:`UserError` naming the first bad setting."""
        positive = ("steps", "batch_size", "grad_accum", "log_every")
        for name in positive:
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise UserError(f"train config: {name} must be an integer >= 1")
        counts = ("warmup_steps", "eval_every", "val_batches", "save_every", "keep_last")
        for name in counts + ("num_workers",):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise UserError(f"train config: {name} must be an integer >= 0")
        if not (isinstance(self.lr, int | float) and 0 < self.lr < math.inf):
            raise UserError(f"train config: lr must be a finite number > 0, got {self.lr}")
        if not (isinstance(self.seed, int) and 0 <= self.seed < 2**32):  # NumPy's limit
            raise UserError(f"train config: seed must be an integer in [0, 2**32), got {self.seed}")
        if not 0 <= self.weight_decay < math.inf:
            raise UserError(f"train config: weight_decay must be >= 0, got {self.weight_decay}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise UserError(f"train config: betas must be two numbers in [0, 1), got {self.betas}")
        if self.schedule not in SCHEDULES:
            raise UserError(
                f"train config: schedule must be one of {SCHEDULES}, got {self.schedule!r}"
            )
        if not 0 <= self.min_lr_ratio <= 1:
            raise UserError(
                f"train config: min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}"
            )
        if not 0 <= self.grad_clip < math.inf:
            raise UserError(f"train config: grad_clip must be >= 0, got {self.grad_clip}")
        if self.mixed_precision not in PRECISIONS:
            raise UserError(
                f"train config: mixed_precision must be one of {PRECISIONS}, "
                f"got {self.mixed_precision!r}"
            )
        if not str(self.out_dir):
            raise UserError("train config: out_dir must not be empty")

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)
