"""The shared k-means: recovers well-separated clusters, exact nearest search, seeded."""

import pytest
import torch

from musiclm.modules.kmeans import kmeans, kmeans_plus_plus, nearest


def blobs(k=6, per=150, dim=8, seed=0):
    """``k`` tight clusters whose centres are >= 10 apart: (points, true labels, centres)."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.eye(k, dim) * 10 + torch.randn(k, dim, generator=g) * 0.1
    labels = torch.arange(k).repeat_interleave(per)
    x = centres[labels] + 0.3 * torch.randn(k * per, dim, generator=g)
    perm = torch.randperm(len(x), generator=g)
    return x[perm], labels[perm], centres


@pytest.mark.parametrize("batch_size", [None, 128])
def test_recovers_well_separated_clusters(batch_size):
    x, labels, centres = blobs()
    g = torch.Generator().manual_seed(1)
    res = kmeans(x, 6, iters=20 if batch_size is None else 60, batch_size=batch_size, generator=g)
    found = nearest(x, res.centroids)
    # one found cluster per true cluster and vice versa
    pairs = {(int(a), int(b)) for a, b in zip(labels, found)}
    assert len(pairs) == 6 and len({b for _, b in pairs}) == 6
    # each centroid sits on a true centre
    d = torch.cdist(res.centroids, centres)
    assert float(d.min(1).values.max()) < 0.2
    assert res.counts.sum() == len(x) and res.inertia < 1.0


def test_nearest_matches_brute_force_and_returns_distances():
    g = torch.Generator().manual_seed(0)
    x, c = torch.randn(300, 5, generator=g), torch.randn(17, 5, generator=g)
    idx, dist = nearest(x, c, return_distance=True)
    d = torch.cdist(x.double(), c.double()).pow(2)
    assert torch.equal(idx, d.argmin(1))
    assert torch.allclose(dist.double(), d.min(1).values, atol=1e-4)
    assert nearest(x[:0], c).shape == (0,)


def test_seeded_fit_is_deterministic():
    x, _, _ = blobs(seed=3)
    a = kmeans(x, 6, generator=torch.Generator().manual_seed(7), max_seed_points=200)
    b = kmeans(x, 6, generator=torch.Generator().manual_seed(7), max_seed_points=200)
    assert torch.equal(a.centroids, b.centroids)


def test_more_clusters_than_distinct_points_and_bad_input():
    x = torch.tensor([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    res = kmeans(x, 5, generator=torch.Generator().manual_seed(0))
    assert res.centroids.shape == (5, 2) and torch.isfinite(res.centroids).all()
    assert res.inertia == pytest.approx(0.0, abs=1e-6)
    assert kmeans_plus_plus(x, 2, torch.Generator().manual_seed(0)).shape == (2, 2)
    with pytest.raises(ValueError):
        kmeans(x[:0], 2)
    with pytest.raises(ValueError):
        kmeans(x, 0)
