"""Drafts: a stage samples several candidates side by side and the one that plays the
piece's key best is kept.

The coarse stage is where a piece loses most of its key (docs/model.md, "Where the key
is lost"), and its draws differ a lot in how tonal they are. So drawing a few and
keeping the one whose audio fits the key best is a cheap way to make the pieces
follow their key: on 28 held-out captions that state it, 17 -> 22 right with 4 drafts
(the real clips: 21; docs/model.md, "Drafts"). The coarse levels decode with the pitch
(codec v2 keeps chroma r 0.93 at 4 levels, docs/codec.md), so the fine stage runs for
the kept draft only.

Text pieces draft each coarse window against the key their conditions carry (stated,
or planned with their tune); continuations draft their added seconds against the
prompt's chroma (:mod:`musiclm.continuation`). Both are choices by a proxy of the key
measures that judge them, which the docs say beside their figures.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from musiclm.devices import generator

DRAFT_SEED = 7919  # draft j of a piece seeded with its seed + j * this (draft 0: its own)


def generators(g: Sequence[torch.Generator], n: int, device) -> list[torch.Generator]:
    """Each piece's ``n`` drafts' generators side by side (piece-major): draft 0 is the
    piece's own, so one draft samples exactly what no drafting would."""
    return [gi if j == 0 else generator(device, gi.initial_seed() + DRAFT_SEED * j)
            for gi in g for j in range(n)]  # fmt: skip


def repeat_rows(x: Tensor | None, n: int) -> Tensor | None:
    """Each row of a batch ``n`` times in a row (piece-major, as :func:`generators`)."""
    return None if x is None or n == 1 else x.repeat_interleave(n, dim=0)


def chroma_scores(
    codec, codes: Tensor, scorers: Sequence[Callable[[np.ndarray], float] | None]
) -> np.ndarray:
    """Each row of coarse codes ``(B, Qc, T)`` decoded (one at a time, in chunks:
    :func:`musiclm.songs.decode`, so memory stays flat) and its mean chroma (C first)
    scored by its scorer. No scorer, or a silent draft: -2, so it loses."""
    from musiclm.analysis import mean_chroma
    from musiclm.songs import decode

    out = np.full(len(scorers), -2.0)
    with warnings.catch_warnings():  # a silent draft has no correlation
        warnings.simplefilter("ignore")
        for i, (c, score) in enumerate(zip(codes, scorers)):
            if score is not None:
                y = decode(codec, c).float().cpu().numpy()
                out[i] = score(mean_chroma(y, codec.sample_rate))
    return np.nan_to_num(out, nan=-2.0)


def key_fits(codec, codes: Tensor, keys: Sequence[int | None]) -> np.ndarray:
    """For coarse codes ``(B, Qc, T)`` and each row's key index (0-23; None: no key), the
    correlation of the decoded audio's mean chroma with that key's profile (the measure
    :func:`musiclm.analysis.key_fit` maximises over keys)."""
    from musiclm.analysis import key_scores

    def fit(key: int) -> Callable[[np.ndarray], float]:
        return lambda chroma: float(key_scores(chroma)[key])

    return chroma_scores(codec, codes, [None if k is None else fit(k) for k in keys])


def best(scores: np.ndarray, n: int) -> Tensor:
    """Each piece's best draft ``(B,)`` from the scores of its ``n`` drafts side by side
    (piece-major); the first wins ties, so a piece with no score keeps draft 0."""
    return torch.from_numpy(np.asarray(scores, np.float64).reshape(-1, n).argmax(axis=1))


def keep(x: Tensor, index: Tensor, n: int) -> Tensor:
    """Rows ``(B * n, ...)`` -> the kept draft of each piece ``(B, ...)``."""
    x = x.view(-1, n, *x.shape[1:])
    return x[torch.arange(x.shape[0]), index]


__all__ = [
    "DRAFT_SEED", "best", "chroma_scores", "generators", "keep", "key_fits", "repeat_rows",
]  # fmt: skip
