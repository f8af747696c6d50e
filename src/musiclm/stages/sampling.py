"""Drawing the next token: temperature, top-k, top-p, classifier-free guidance.

Every draw takes an explicit ``torch.Generator`` so a seed fixes the whole generation,
whatever else uses the global RNG.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SamplingOptions:
    temperature: float = 1.0  # paper: 1.0 semantic, 0.95 coarse, 0.4 fine (§3.2)
    top_k: int = 0  # keep the k most likely tokens (0: all)
    top_p: float = 1.0  # keep the smallest set holding this much probability (1: all)
    cfg: float = 1.0  # guidance scale: 1 is plain conditional sampling

    def __post_init__(self) -> None:
        if self.temperature < 0 or self.top_k < 0 or not 0 < self.top_p <= 1 or self.cfg < 0:
            raise ValueError(f"bad sampling options {self}")


def guide(cond: Tensor, uncond: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance on logits (Ho & Salimans 2022): ``u + s (c - u)``,
    computed on log-probabilities so both sides share one normalisation."""
    cond, uncond = cond.float().log_softmax(-1), uncond.float().log_softmax(-1)
    return uncond + scale * (cond - uncond)


def filter_logits(logits: Tensor, top_k: int = 0, top_p: float = 1.0) -> Tensor:
    """Set logits outside the top-k / nucleus to -inf; ``(..., V)`` kept."""
    logits = logits.float()
    if 0 < top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = logits.sort(dim=-1, descending=True)
        cumulative = sorted_logits.softmax(-1).cumsum(-1)
        # drop a token when the tokens before it already hold top_p; the first always stays
        drop_sorted = cumulative - sorted_logits.softmax(-1) >= top_p
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample(logits: Tensor, options: SamplingOptions, generator: torch.Generator | None) -> Tensor:
    """Draw one token per row of ``logits (..., V)``; temperature 0 takes the argmax."""
    if options.temperature == 0:
        return logits.argmax(-1)
    logits = filter_logits(logits / options.temperature, options.top_k, options.top_p)
    probs = logits.softmax(-1)
    flat = probs.reshape(-1, probs.shape[-1])
    draw = torch.multinomial(flat, 1, generator=generator)
    return draw.reshape(probs.shape[:-1])
