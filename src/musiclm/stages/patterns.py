"""How RVQ levels become a token sequence: the paper's flattening or MusicGen's delays.

Codes are ``(Q, T)``: Q levels per frame. A stage predicts them either

- **flattened** (MusicLM, arXiv 2301.11325 §3.2): one level per step, frame by frame,
  ``Q * T`` steps; or
- **delayed** (MusicGen, arXiv 2306.05284 §2.2): one step per frame with level ``q``
  shifted right by ``q`` frames, so a step predicts every level at once while level
  ``q`` still sees levels ``< q`` of its own frame; ``T + Q - 1`` steps.

On our CPU the steps decide the speed (a few ms each), which is why both exist.
"""

from __future__ import annotations

import torch
from torch import Tensor


def flatten(codes: Tensor, codebook_size: int) -> Tensor:
    """``(..., Q, T)`` codes -> ``(..., T * Q)`` tokens, frame-major, level ``q`` offset by
    ``q * codebook_size`` so every level has its own ids."""
    q = codes.shape[-2]
    offsets = torch.arange(q, device=codes.device)[:, None] * codebook_size
    return (codes + offsets).transpose(-1, -2).reshape(*codes.shape[:-2], -1)


def unflatten(tokens: Tensor, levels: int, codebook_size: int) -> Tensor:
    """Inverse of :func:`flatten`: ``(..., T * Q)`` -> ``(..., Q, T)``."""
    if tokens.shape[-1] % levels:
        raise ValueError(f"{tokens.shape[-1]} tokens are not whole frames of {levels} levels")
    frames = tokens.reshape(*tokens.shape[:-1], -1, levels).transpose(-1, -2)
    offsets = torch.arange(levels, device=tokens.device)[:, None] * codebook_size
    return frames - offsets


def delay(codes: Tensor, pad: int) -> Tensor:
    """``(..., Q, T)`` -> ``(..., Q, T + Q - 1)``: level ``q`` starts ``q`` steps late;
    the gaps hold ``pad``."""
    q, t = codes.shape[-2:]
    out = codes.new_full((*codes.shape[:-2], q, t + q - 1), pad)
    for level in range(q):
        out[..., level, level : level + t] = codes[..., level, :]
    return out


def undelay(tokens: Tensor) -> Tensor:
    """Inverse of :func:`delay`: ``(..., Q, S)`` -> ``(..., Q, S - Q + 1)``."""
    q, s = tokens.shape[-2:]
    t = s - q + 1
    if t < 0:
        raise ValueError(f"{s} delayed steps hold no whole frame of {q} levels")
    return torch.stack([tokens[..., level, level : level + t] for level in range(q)], dim=-2)


def delay_mask(levels: int, steps: int, frames: int, device=None) -> Tensor:
    """``(Q, steps)`` bool: which delayed positions hold a real code of a sequence of
    ``frames`` frames (the rest are padding the sampler must force)."""
    step = torch.arange(steps, device=device)[None]
    level = torch.arange(levels, device=device)[:, None]
    return (step >= level) & (step < level + frames)
