import pytest
import torch

from musiclm.stages.patterns import delay, delay_mask, flatten, undelay, unflatten


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
