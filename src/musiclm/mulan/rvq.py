"""Residual k-means over MuLan embeddings: the conditioning tokens M of MusicLM.

MusicLM quantises the 128-d MuLan embedding with RVQ, 12 levels x 1024 codes (arXiv
2301.11325 §3.1). The codebooks are fitted once, after contrastive training, on audio
embeddings of 10 s windows: level 1 is k-means on the embeddings, level l is k-means on
what levels 1..l-1 left. No gradients and no EMA state, so the module is just the
codebooks (levels x K x D floats) stored beside the towers in ``model.safetensors``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from musiclm.errors import UserError
from musiclm.modules.kmeans import nearest


@dataclass
class RVQFit:
    """What :meth:`EmbeddingRVQ.fit` measured on the fitting data."""

    points: int  # embeddings it was fitted on
    relative_error: list[float]  # |x - decode(encode(x))|^2 / |x|^2 after each level
    perplexity: list[float]  # exp(entropy) of the code histogram of each level


class EmbeddingRVQ(nn.Module):
    """``levels`` codebooks of ``codebook_size`` vectors of size ``dim``."""

    def __init__(self, dim: int, levels: int, codebook_size: int) -> None:
        super().__init__()
        self.dim, self.levels, self.codebook_size = dim, levels, codebook_size
        self.register_buffer("codebooks", torch.zeros(levels, codebook_size, dim))
        self.register_buffer("fitted", torch.tensor(False))

    @property
    def is_fitted(self) -> bool:
        return bool(self.fitted)

    @torch.no_grad()
    def fit(self, x: Tensor, *, iters: int = 20, seed: int = 0) -> RVQFit:
        """Fit every level on ``x`` (N, D) by residual k-means (k-means++ seeding, Lloyd).

        With fewer points than codes, some codes are duplicates: that wastes codes but
        encodes every point exactly, which is the best a small corpus allows.
        """
        from musiclm.modules.kmeans import kmeans

        if x.ndim != 2 or x.shape[1] != self.dim or len(x) == 0:
            raise ValueError(f"need (N >= 1, {self.dim}) embeddings, got {tuple(x.shape)}")
        x = x.detach().float().cpu()
        g = torch.Generator().manual_seed(seed)
        residual, errors, ppl = x.clone(), [], []
        energy = x.pow(2).sum().clamp_min(1e-12)
        for level in range(self.levels):
            fit = kmeans(
                residual,
                self.codebook_size,
                iters=iters,
                max_seed_points=16 * self.codebook_size,
                generator=g,
            )
            self.codebooks[level].copy_(fit.centroids.to(self.codebooks.device))
            idx = nearest(residual, fit.centroids)
            residual = residual - fit.centroids[idx]
            errors.append(float(residual.pow(2).sum() / energy))
            p = torch.bincount(idx, minlength=self.codebook_size).float() / len(idx)
            ppl.append(float(torch.exp(-(p * p.clamp_min(1e-12).log()).sum())))
        self.fitted.fill_(True)
        return RVQFit(len(x), errors, ppl)

    def _check(self) -> None:
        if not self.is_fitted:
            raise UserError(
                "this MuLan has no fitted RVQ codebooks yet (`musiclm mulan train` fits them "
                "after training; in Python call MuLan.fit_rvq(audio_embeddings))"
            )

    @torch.no_grad()
    def encode(self, x: Tensor, n_levels: int | None = None) -> Tensor:
        """(N, D) embeddings -> (N, n_levels) int64 codes (all levels by default)."""
        self._check()
        n = self.levels if n_levels is None else n_levels
        if not 1 <= n <= self.levels:
            raise UserError(f"n_levels must be in 1..{self.levels}, got {n_levels!r}")
        residual = x.float().to(self.codebooks.device)
        codes = []
        for level in range(n):
            idx = nearest(residual, self.codebooks[level])
            residual = residual - self.codebooks[level][idx]
            codes.append(idx)
        return torch.stack(codes, 1)

    def decode(self, codes: Tensor) -> Tensor:
        """(N, Q) codes, Q <= levels -> (N, D) sum of code vectors."""
        self._check()
        if codes.ndim != 2 or not 1 <= codes.shape[1] <= self.levels:
            raise UserError(f"codes must be (N, 1..{self.levels}), got {tuple(codes.shape)}")
        if int(codes.min()) < 0 or int(codes.max()) >= self.codebook_size:
            raise UserError(f"code values must be in 0..{self.codebook_size - 1}")
        codes = codes.long().to(self.codebooks.device)
        return sum(self.codebooks[q][codes[:, q]] for q in range(codes.shape[1]))
