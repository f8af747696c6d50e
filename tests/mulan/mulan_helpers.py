"""Helpers shared by the MuLan tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import numpy as np
import torch

from musiclm.mulan.config import MuLanConfig
from musiclm.mulan.model import MuLan


def make(seed: int = 0, **changes) -> MuLan:
    """A debug MuLan (random, tiny), in eval mode."""
    torch.manual_seed(seed)
    return MuLan(MuLanConfig.preset("debug").replace(**changes)).eval()


def tone(freq: float, seconds: float = 1.0, sr: int = 16000) -> np.ndarray:
    """Three harmonics of ``freq``: distinct clips the debug towers can tell apart."""
    t = np.arange(int(seconds * sr)) / sr
    y = sum(0.3 / k * np.sin(2 * np.pi * k * freq * t) for k in (1, 2, 3))
    return y.astype(np.float32)
