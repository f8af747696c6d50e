"""Drawing the next token: temperature, top-k, top-p, classifier-free guidance.

Every draw takes an explicit ``torch.Generator`` so a seed fixes the whole generation,
whatever else uses the global RNG.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def sample(
    logits: Tensor,
    options: SamplingOptions,
    generator: torch.Generator | Sequence[torch.Generator] | None,
) -> Tensor:
    """Draw one token per row of ``logits (B, ..., V)``; temperature 0 takes the argmax.

    ``generator`` may be one generator per row of ``B``: each run of consecutive rows
    sharing a generator is drawn in one call, so a piece's rows draw exactly what they
    draw when that piece is sampled alone (batch-independent seeds)."""
    if options.temperature == 0:
        return logits.argmax(-1)
    logits = filter_logits(logits / options.temperature, options.top_k, options.top_p)
    probs = logits.softmax(-1)
    if generator is None or isinstance(generator, torch.Generator):
        flat = probs.reshape(-1, probs.shape[-1])
        return torch.multinomial(flat, 1, generator=generator).reshape(probs.shape[:-1])
    if len(generator) != probs.shape[0]:
        raise ValueError(f"{len(generator)} generators for {probs.shape[0]} rows")
    draws, start = [], 0
    for end in range(1, len(generator) + 1):
        if end == len(generator) or generator[end] is not generator[start]:
            group = probs[start:end]
            flat = group.reshape(-1, group.shape[-1])
            draws.append(torch.multinomial(flat, 1, generator=generator[start]))
            draws[-1] = draws[-1].reshape(group.shape[:-1])
            start = end
    return torch.cat(draws)
