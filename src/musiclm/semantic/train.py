"""Training the masked-prediction encoder with the shared trainer.

Features and targets are computed once per clip before training (~25 ms a clip) and
held in memory (2000 clips of 10 s at 77 floats a frame: 150 MB), so a step costs only
the network; reading and analysing audio per step would dominate on a CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from musiclm.semantic.config import SemanticConfig
from musiclm.semantic.encoder import SemanticEncoder, masked_loss, span_mask
from musiclm.training import TrainTask

IGNORE = -100  # target of padding frames (cross-entropy's ignore_index)


class MaskedFrames(Dataset):
    """Random ``window_frames`` crops of per-clip features, with targets and a span mask.

    Items: ``{"features": (W, F) float32, "targets": (W,) int64, "mask": (W,) bool,
    "padding": (W,) bool}``. Clips shorter than the window are zero-padded at the end.
    The crop and the mask come from NumPy's global RNG, which the trainer seeds per
    (seed, epoch, index).

    Args:
        features: per clip, standardised ``(T_i, F)`` float32.
        targets: per clip, the previous iteration's tokens ``(T_i,)`` int64.
    """

    def __init__(
        self, features: list[np.ndarray], targets: list[np.ndarray], config: SemanticConfig
    ):
        if len(features) != len(targets) or not features:
            raise ValueError("need as many target arrays as feature arrays, at least one")
        for f, t in zip(features, targets):
            if len(f) != len(t):
                raise ValueError(f"features of {len(f)} frames with {len(t)} targets")
        self.features, self.targets, self.config = features, targets, config

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        c, w = self.config, self.config.window_frames
        f, t = self.features[index], self.targets[index]
        start = int(np.random.randint(0, len(f) - w + 1)) if len(f) > w else 0
        f, t = f[start : start + w], t[start : start + w]
        n = len(f)
        features = np.zeros((w, f.shape[1]), np.float32)
        features[:n] = f
        targets = np.full(w, IGNORE, np.int64)
        targets[:n] = t
        padding = np.arange(w) >= n
        mask = np.zeros(w, dtype=bool)
        mask[:n] = span_mask(n, c.mask_prob, c.mask_span, np.random.default_rng(_draw_seed()))
        return {
            "features": torch.from_numpy(features),
            "targets": torch.from_numpy(targets),
            "mask": torch.from_numpy(mask),
            "padding": torch.from_numpy(padding),
        }


def _draw_seed() -> int:
    return int(np.random.randint(0, 2**31 - 1))  # from the trainer-seeded global RNG


class MaskedPredictionTask(TrainTask):
    """The encoder as a :class:`TrainTask`: masked frames in, cross-entropy out."""

    def __init__(
        self,
        config: SemanticConfig,
        features: list[np.ndarray],
        targets: list[np.ndarray],
        *,
        val_features: list[np.ndarray] | None = None,
        val_targets: list[np.ndarray] | None = None,
    ):
        self.config = config
        self.train = MaskedFrames(features, targets, config)
        self.val = MaskedFrames(val_features, val_targets, config) if val_features else None

    def build_model(self) -> SemanticEncoder:
        return SemanticEncoder(self.config)

    def model_config(self) -> dict[str, Any]:
        return {"semantic": self.config.to_dict()}

    def train_dataset(self) -> Dataset:
        return self.train

    def val_dataset(self) -> Dataset | None:
        return self.val

    def loss(self, model, batch: dict[str, torch.Tensor], step: int, optimizer: str = "main"):
        padding = batch["padding"] if bool(batch["padding"].any()) else None
        # Call the (possibly DDP-wrapped) model itself so that gradients sync.
        logits = model(batch["features"], mask=batch["mask"], padding=padding)
        loss, accuracy = masked_loss(logits, batch["targets"], batch["mask"], padding)
        return loss, {"accuracy": accuracy.item()}
