"""How RVQ levels become a token sequence: the paper's flattening or MusicGen's delays.

Codes are ``(Q, T)``: Q levels per frame. A stage predicts them either

- **flattened** (MusicLM, arXiv 2301.11325 §3.2): one level per step, frame by frame,
  ``Q * T`` steps; or
- **delayed** (MusicGen, arXiv 2306.05284 §2.2): one step per frame with level ``q``
  shifted right by ``q`` frames, so a step predicts every level at once while level
  ``q`` still sees levels ``< q`` of its own frame; ``T + Q - 1`` steps.

On our CPU the steps decide the speed (a few ms each), which is why both exist.

A stage reads its pattern as an object (:data:`PATTERNS`, :class:`Pattern`), as
audiocraft's ``CodebooksPatternProvider``: the layout and the stage ask it for steps,
ids, labels and the codes back, and never switch on its name. The semantic stage's one
stream of tokens is the trivial pattern :data:`SINGLE`.
"""

from __future__ import annotations

import math

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


class Pattern:
    """How ``Q`` levels of ``T`` frames become sampling steps; one object per pattern.

    ``codes`` are ``(B, Q, T)`` (:data:`SINGLE`: tokens ``(B, T)``); ids are ``(B, streams,
    steps)`` with streams as :meth:`streams` gives (the layout pads them to its width);
    ``offset`` is the first vocabulary id of the tokens, ``k`` the codebook size,
    ``first`` the index of the stage's first level (flattened ids give each level its
    own ``k`` ids)."""

    name = ""

    def steps(self, q: int, frames: int) -> int:
        """Sequential sampling steps of ``frames`` frames."""
        return frames

    def streams(self, q: int) -> int:
        """Ids per position."""
        return 1

    def out_vocab(self, q: int, k: int) -> int:
        """Logits per stream (and acoustic ids in the vocabulary)."""
        return k

    def frame_positions(self, q: int, frames: int) -> int:
        """Positions :meth:`frame_ids` takes for ``frames`` frames of context."""
        return frames

    def frame_of_step(self, steps: int, q: int, device=None) -> Tensor:
        """``(steps,)``: the frame each step predicts (delayed: that of the first level)."""
        return torch.arange(steps, device=device)

    def ids(self, codes: Tensor, offset: int, k: int, first: int, pad: int) -> Tensor:
        """Target codes -> input ids in step order."""
        raise NotImplementedError

    def frame_ids(self, codes: Tensor, offset: int, k: int) -> Tensor:
        """Context codes -> input ids, frame by frame (levels side by side)."""
        raise NotImplementedError

    def labels(self, codes: Tensor, k: int, ignore: int) -> Tensor:
        """What each step predicts (logit indices), ``ignore`` where nothing is."""
        raise NotImplementedError

    def restrict(self, logits: Tensor, step: int, q: int, k: int) -> Tensor:
        """The logits of ``step`` with the ids it cannot take masked out."""
        return logits

    def real(self, q: int, steps: int, frames: int, device=None) -> Tensor | None:
        """``(Q, steps)`` bool: positions that hold a real code (None: all do)."""
        return None

    def step_ids(self, tokens: Tensor, offset: int, k: int, first: int) -> Tensor:
        """Sampled logit indices ``(B, streams)`` (-1: padding) -> the step's input ids."""
        raise NotImplementedError

    def assemble(self, sampled: Tensor, frames: int, q: int, k: int) -> Tensor:
        """Sampled indices ``(B, streams, steps)`` -> codes ``(B, Q, frames)``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<pattern {self.name}>"


class Single(Pattern):
    """One stream of one token a frame (the semantic tokens)."""

    name = "single"

    def ids(self, codes: Tensor, offset: int, k: int, first: int, pad: int) -> Tensor:
        return (codes.long() + offset)[:, None]

    def frame_ids(self, codes: Tensor, offset: int, k: int) -> Tensor:
        return (codes.long() + offset)[:, None]

    def labels(self, codes: Tensor, k: int, ignore: int) -> Tensor:
        return codes.long()[:, None]

    def step_ids(self, tokens: Tensor, offset: int, k: int, first: int) -> Tensor:
        return tokens + offset

    def assemble(self, sampled: Tensor, frames: int, q: int, k: int) -> Tensor:
        return sampled[:, 0]


class Flat(Pattern):
    """The paper's flattening: one level per step, frame-major, each level its own ids."""

    name = "flat"

    def steps(self, q: int, frames: int) -> int:
        return frames * q

    def out_vocab(self, q: int, k: int) -> int:
        return k * q

    def frame_positions(self, q: int, frames: int) -> int:
        return frames * q

    def frame_of_step(self, steps: int, q: int, device=None) -> Tensor:
        return torch.arange(steps, device=device) // q

    def ids(self, codes: Tensor, offset: int, k: int, first: int, pad: int) -> Tensor:
        levels = torch.arange(first, first + codes.shape[1], device=codes.device)
        shifted = codes.long() + (levels * k)[:, None]
        return (flatten(shifted, 0) + offset)[:, None]

    def frame_ids(self, codes: Tensor, offset: int, k: int) -> Tensor:
        return self.ids(codes, offset, k, 0, 0)

    def labels(self, codes: Tensor, k: int, ignore: int) -> Tensor:
        levels = torch.arange(codes.shape[1], device=codes.device)
        shifted = codes.long() + (levels * k)[:, None]
        return shifted.transpose(1, 2).reshape(codes.shape[0], 1, -1)

    def restrict(self, logits: Tensor, step: int, q: int, k: int) -> Tensor:
        level = step % q
        allowed = torch.full_like(logits, -math.inf)
        allowed[..., level * k : (level + 1) * k] = 0.0
        return logits.float() + allowed

    def step_ids(self, tokens: Tensor, offset: int, k: int, first: int) -> Tensor:
        return tokens + offset + first * k

    def assemble(self, sampled: Tensor, frames: int, q: int, k: int) -> Tensor:
        return (sampled[:, 0].reshape(-1, frames, q) % k).transpose(1, 2)


class Delay(Pattern):
    """MusicGen's delays: one step a frame, level ``q`` in stream ``q``, ``q`` steps late."""

    name = "delay"

    def steps(self, q: int, frames: int) -> int:
        return frames + q - 1

    def streams(self, q: int) -> int:
        return q

    def ids(self, codes: Tensor, offset: int, k: int, first: int, pad: int) -> Tensor:
        return delay(codes.long() + offset, pad)  # (B, Q, T + Q - 1)

    def frame_ids(self, codes: Tensor, offset: int, k: int) -> Tensor:
        return codes.long() + offset

    def labels(self, codes: Tensor, k: int, ignore: int) -> Tensor:
        return delay(codes.long(), ignore)

    def real(self, q: int, steps: int, frames: int, device=None) -> Tensor | None:
        return delay_mask(q, steps, frames, device)

    def step_ids(self, tokens: Tensor, offset: int, k: int, first: int) -> Tensor:
        return torch.where(tokens >= 0, tokens + offset, 0)  # -1 (padding) -> PAD (0)

    def assemble(self, sampled: Tensor, frames: int, q: int, k: int) -> Tensor:
        return undelay(sampled[:, :q])


SINGLE = Single()
PATTERNS: dict[str, Pattern] = {p.name: p for p in (Flat(), Delay())}  # the acoustic choices
