import pytest
import torch

from musiclm.stages.sampling import SamplingOptions, filter_logits, guide, sample


def test_top_k_and_top_p_keep_the_right_tokens():
    logits = torch.tensor([[4.0, 3.0, 2.0, 1.0]])
    assert torch.isinf(filter_logits(logits, top_k=2)[0, 2:]).all()
    assert torch.isfinite(filter_logits(logits, top_k=2)[0, :2]).all()
    p = logits.softmax(-1)[0]  # ~[0.64, 0.24, 0.09, 0.03]
    kept = torch.isfinite(filter_logits(logits, top_p=float(p[0] + 0.01))[0])
    assert kept.tolist() == [True, True, False, False]
    assert torch.isfinite(filter_logits(logits, top_p=0.01)[0]).tolist() == [True] + [False] * 3


def test_sampling_is_seeded_and_follows_the_distribution():
    logits = torch.log(torch.tensor([0.7, 0.2, 0.1])).expand(20000, 3)
    opts = SamplingOptions()
    a = sample(logits, opts, torch.Generator().manual_seed(3))
    b = sample(logits, opts, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    freq = torch.bincount(a, minlength=3).float() / len(a)
    assert torch.allclose(freq, torch.tensor([0.7, 0.2, 0.1]), atol=0.02)
    assert sample(logits[:2], SamplingOptions(temperature=0), None).tolist() == [0, 0]


def test_guidance_pushes_away_from_the_unconditional():
    cond = torch.log(torch.tensor([0.5, 0.5]))
    uncond = torch.log(torch.tensor([0.9, 0.1]))
    g = guide(cond, uncond, 3.0).softmax(-1)
    assert g[1] > 0.5  # the token the condition favours more than the prior gains
    assert torch.allclose(guide(cond, uncond, 1.0).softmax(-1), cond.softmax(-1))


def test_bad_options():
    with pytest.raises(ValueError):
        SamplingOptions(top_p=0.0)
