import pytest
import torch

from musiclm.stages.patterns import (
    PATTERNS,
    SINGLE,
    delay,
    delay_mask,
    flatten,
    undelay,
    unflatten,
)


def test_flatten_round_trip_and_layout():
    codes = torch.tensor([[1, 2, 3], [4, 5, 6]])  # 2 levels x 3 frames
    tokens = flatten(codes, codebook_size=10)
    assert tokens.tolist() == [1, 14, 2, 15, 3, 16]  # frame-major, level 2 offset by 10
    assert torch.equal(unflatten(tokens, 2, 10), codes)
    batch = torch.randint(0, 10, (4, 3, 7))
    assert torch.equal(unflatten(flatten(batch, 10), 3, 10), batch)
    with pytest.raises(ValueError):
        unflatten(torch.zeros(5, dtype=torch.long), 2, 10)


def test_delay_round_trip_and_mask():
    codes = torch.arange(12).reshape(3, 4)
    delayed = delay(codes, pad=-1)
    assert delayed.shape == (3, 6)
    assert delayed[1].tolist() == [-1, 4, 5, 6, 7, -1]
    assert torch.equal(undelay(delayed), codes)
    mask = delay_mask(3, 6, 4)
    assert torch.equal(mask, delayed != -1)
    batch = torch.randint(0, 9, (2, 4, 5))
    assert torch.equal(undelay(delay(batch, pad=99)), batch)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_every_pattern_round_trips_through_one_interface(name):
    """ids, sampled indices and codes agree for every pattern: what a stage samples at
    each step, read back by ``assemble``, is the codes the ids were made from."""
    p, q, frames, k = PATTERNS[name], 3, 5, 8
    codes = torch.randint(k, (2, q, frames))
    steps = p.steps(q, frames)
    labels = p.labels(codes, k, -100)  # (B, streams, steps) logit indices
    assert labels.shape == (2, p.streams(q), steps)
    sampled = torch.where(labels >= 0, labels, torch.full_like(labels, -1))
    torch.testing.assert_close(p.assemble(sampled, frames, q, k), codes)
    ids = p.ids(codes, 100, k, first=1, pad=0)
    assert ids.shape == labels.shape
    for step in range(steps):  # a step's ids are what step_ids makes of its sample
        torch.testing.assert_close(p.step_ids(sampled[:, :, step], 100, k, 1), ids[:, :, step])
        real = p.real(q, steps, frames)
        if real is not None:
            assert (labels[:, :, step][:, real[:, step]] >= 0).all()
    assert p.frame_of_step(steps, q).max() <= frames - 1 + (q - 1) * (name == "delay")
    assert p.frame_ids(codes, 100, k).shape[-1] == p.frame_positions(q, frames)


def test_the_flat_pattern_allows_only_the_level_due():
    logits = torch.zeros(1, 1, 3 * 4)
    out = PATTERNS["flat"].restrict(logits, step=4, q=3, k=4)  # step 4: level 1
    assert torch.isfinite(out[0, 0]).tolist() == [False] * 4 + [True] * 4 + [False] * 4
    assert SINGLE.restrict(logits, 4, 1, 12) is logits
