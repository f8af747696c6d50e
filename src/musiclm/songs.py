"""Whole songs in one call: a piece's form and story turned into frame facts for the
window schedule (:mod:`musiclm.windows`), and decoding in chunks.

- :class:`Timeline`: the conditions in force from each start on (one part without a
  story; one part per story part with one), so every window takes the part it lies in.
- :func:`copies`: where a repeated section (a second chorus) restates the first one's
  opening semantic tokens (:func:`musiclm.form.repeats`).
- :func:`decode`: codes to audio in overlapping chunks of :data:`DECODE_CHUNK_S`,
  crossfaded, so a 5-minute piece takes the decoder's memory of a 30 s one; pieces up
  to one chunk are decoded in one go, exactly as before.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from musiclm.conditions import Conditions, Section
from musiclm.form import repeats
from musiclm.windows import Copy

DECODE_CHUNK_S = 30.0  # seconds of codes decoded at once (the decoder's memory is linear)
DECODE_OVERLAP_S = 1.0  # seconds two chunks share, crossfaded


@dataclass(frozen=True)
class Timeline:
    """The conditions of a batch over time: ``parts[k]`` (one :class:`Conditions` per
    piece) is in force from ``starts[k]`` seconds on; ``starts[0] == 0``."""

    starts: tuple[float, ...]
    parts: tuple[tuple[Conditions, ...], ...]

    @classmethod
    def single(cls, conditions: Sequence[Conditions]) -> Timeline:
        return cls((0.0,), (tuple(conditions),))

    def breaks(self, rate: float) -> list[int]:
        """Frames at ``rate`` where a part starts (the first excepted)."""
        return [round(s * rate) for s in self.starts[1:]]

    def part_at(self, frame: int, rate: float) -> int:
        """The part frame ``frame`` (at ``rate``) lies in."""
        return bisect.bisect_right(self.breaks(rate), frame)

    def pieces(self, index: Sequence[int]) -> Timeline:
        """The timeline of some of the pieces only."""
        return Timeline(self.starts, tuple(tuple(p[i] for i in index) for p in self.parts))


def copies(form: tuple[Section, ...] | None, rate: int, window: int) -> tuple[Copy, ...]:
    """Semantic frames each repeated section restates: the first occurrence's opening,
    as long as a sliding window's prompt (``window // 2`` frames) or the shorter of the
    two sections, so the window after it continues the first chorus's material."""
    out = []
    for first, again in repeats(form):
        src, start = round(first.start * rate), round(again.start * rate)
        n = min(
            window // 2,
            round(first.end * rate) - src,
            round(again.end * rate) - start,
            start - src,
        )
        if n > 0:
            out.append(Copy(start, src, n))
    return tuple(out)


def groups(keys: Sequence[object]) -> list[list[int]]:
    """Indices of equal keys, in first-seen order: pieces sampled together (a batch
    must share one window schedule)."""
    out: dict[object, list[int]] = {}
    for i, k in enumerate(keys):
        out.setdefault(k, []).append(i)
    return list(out.values())


def decode(codec, codes: torch.Tensor) -> torch.Tensor:
    """One piece's codes ``(Q, T)`` -> audio ``(T * hop,)``: in one go up to
    :data:`DECODE_CHUNK_S`, else in chunks that share :data:`DECODE_OVERLAP_S`,
    joined with a linear crossfade (both chunks decode the same codes there, so
    the fade only hides where their phase reconstructions differ)."""
    rate, q_t = codec.frame_rate, codes.shape[-1]
    chunk, overlap = round(DECODE_CHUNK_S * rate), round(DECODE_OVERLAP_S * rate)
    if q_t <= chunk:
        return codec.batch_decode(codes[None])[0]
    hop = codec.hop_length
    out = torch.zeros(q_t * hop)
    fade = torch.linspace(0.0, 1.0, overlap * hop + 2)[1:-1]  # (overlap * hop,)
    start = 0
    while True:
        end = min(start + chunk, q_t)
        y = codec.batch_decode(codes[None, :, start:end])[0].float().cpu()
        if start:
            y[: overlap * hop] *= fade
            out[start * hop : (start + overlap) * hop] *= 1.0 - fade
        out[start * hop : end * hop] += y
        if end == q_t:
            return out
        start = end - overlap


__all__ = ["Timeline", "copies", "decode", "groups"]
