"""k-means in torch: k-means++ seeding, then Lloyd or mini-batch iterations; CPU or GPU.

The project's one k-means. The codec's RVQ seeds its codebooks with it
(:mod:`musiclm.codec.quantize`) and the semantic tokenizer fits its 1024 clusters with it
(MusicLM §3.1: k-means on w2v-BERT layer-7 features; HuBERT, arXiv 2106.07447, §II.A).

Randomness comes from a CPU ``torch.Generator`` (or torch's global RNG when none is
given), never from a device generator, so a seeded fit gives the same clusters on any
device up to floating-point rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

CHUNK_ELEMENTS = 1 << 24  # points x centroids per distance block (64 MiB of float32)


@dataclass
class KMeansResult:
    centroids: Tensor  # (K, D) float32
    counts: Tensor  # (K,) float32 points assigned to each centroid at the end
    inertia: float  # mean squared distance of a point to its centroid


def nearest(x: Tensor, centroids: Tensor, *, return_distance: bool = False):
    """Index of the nearest centroid by squared L2, in float32, chunked over rows.

    Args:
        x: (N, D) points.
        centroids: (K, D).
        return_distance: also return the (N,) squared distances.
    Returns:
        (N,) int64 indices, and the distances when asked.
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        x = x.float()
        centroids = centroids.float()
        # |x - c|^2 = |x|^2 - 2 x.c + |c|^2; |x|^2 does not change the argmin.
        c2 = centroids.pow(2).sum(1)  # (K,)
        chunk = max(1, CHUNK_ELEMENTS // max(1, centroids.shape[0]))
        idx, dist = [], []
        for xs in x.split(chunk):
            d = torch.addmm(c2, xs, centroids.t(), beta=1.0, alpha=-2.0)  # (n, K)
            best, arg = d.min(1)
            idx.append(arg)
            if return_distance:
                dist.append((best + xs.pow(2).sum(1)).clamp_min(0))
    out = torch.cat(idx) if idx else x.new_zeros(0, dtype=torch.long)
    if return_distance:
        return out, torch.cat(dist) if dist else x.new_zeros(0)
    return out


def _uniform(n: int, generator: torch.Generator | None) -> Tensor:
    return torch.rand(n, generator=generator)  # CPU: works with a CPU generator on any device


def _draw(weights: Tensor, generator: torch.Generator | None) -> int:
    """One index drawn with probability proportional to ``weights`` (non-negative)."""
    cum = weights.double().cumsum(0)
    u = _uniform(1, generator).to(cum.device, cum.dtype) * cum[-1]
    return int(torch.searchsorted(cum, u).clamp_max(len(weights) - 1))


def kmeans_plus_plus(x: Tensor, k: int, generator: torch.Generator | None = None) -> Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): ``k`` rows of ``x`` (N, D), N >= 1,
    each drawn with probability proportional to its squared distance to the nearest one
    already chosen. Returns (k, D) float32."""
    x = x.float()
    n, d = x.shape
    p2 = x.pow(2).sum(1)  # (N,)
    centroids = x.new_empty(k, d)
    centroids[0] = x[int(_uniform(1, generator)[0] * n) % n]
    d2 = (p2 - 2 * x @ centroids[0] + centroids[0].pow(2).sum()).clamp_min(0)
    for i in range(1, k):
        # The tiny floor keeps the draw defined once every point is a centroid already.
        centroids[i] = x[_draw(d2 + 1e-12, generator)]
        new = (p2 - 2 * x @ centroids[i] + centroids[i].pow(2).sum()).clamp_min(0)
        d2 = torch.minimum(d2, new)
    return centroids


def lloyd(x: Tensor, centroids: Tensor, iters: int) -> Tensor:
    """``iters`` Lloyd iterations from ``centroids`` (K, D) on ``x`` (N, D). A centroid that
    loses all its points keeps its place. Returns new (K, D) float32."""
    x, c = x.float(), centroids.float().clone()
    k = c.shape[0]
    for _ in range(iters):
        idx = nearest(x, c)
        counts = torch.bincount(idx, minlength=k).float()
        sums = torch.zeros_like(c).index_add_(0, idx, x)
        c = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], c)
    return c


def minibatch(
    x: Tensor,
    centroids: Tensor,
    steps: int,
    batch_size: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Mini-batch k-means (Sculley 2010): each step moves a centroid towards the mean of its
    points in a random batch with rate (batch points / all points it has seen), so memory
    and time per step do not grow with N. Returns new (K, D) float32."""
    x, c = x.float(), centroids.float().clone()
    k = c.shape[0]
    seen = torch.zeros(k, device=x.device)
    for _ in range(steps):
        pick = (_uniform(batch_size, generator) * len(x)).long().clamp_max(len(x) - 1)
        xb = x[pick.to(x.device)]
        idx = nearest(xb, c)
        counts = torch.bincount(idx, minlength=k).float()
        sums = torch.zeros_like(c).index_add_(0, idx, xb)
        seen += counts
        rate = (counts / seen.clamp_min(1))[:, None]
        c = torch.where(
            counts[:, None] > 0, c + rate * (sums / counts.clamp_min(1)[:, None] - c), c
        )
    return c


def kmeans(
    x: Tensor,
    k: int,
    *,
    iters: int = 20,
    max_seed_points: int | None = None,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
) -> KMeansResult:
    """Cluster ``x`` (N, D) into ``k`` groups.

    Args:
        k: clusters; with fewer distinct points than ``k`` some centroids are duplicates.
        iters: Lloyd iterations, or mini-batch steps when ``batch_size`` is set.
        max_seed_points: k-means++ draws from a random subset of this many points (its cost
            is O(k x points)); ``None`` uses all of them.
        batch_size: mini-batch k-means with this many points a step (for N too large for
            full Lloyd passes); ``None`` runs full Lloyd iterations.
        generator: a CPU generator for a reproducible fit (torch's global RNG if None).
    Raises:
        ValueError: an empty ``x`` or ``k < 1``.
    """
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"need a non-empty (N, D) tensor, got shape {tuple(x.shape)}")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    x = x.float()
    pts = x
    if max_seed_points is not None and len(x) > max_seed_points:
        pick = torch.randperm(len(x), generator=generator)[:max_seed_points]
        pts = x[pick.to(x.device)]
    centroids = kmeans_plus_plus(pts, k, generator)
    if batch_size is None:
        centroids = lloyd(x, centroids, iters)
    else:
        centroids = minibatch(x, centroids, iters, batch_size, generator)
    idx, dist = nearest(x, centroids, return_distance=True)
    counts = torch.bincount(idx, minlength=k).float()
    return KMeansResult(centroids, counts, float(dist.mean()))
