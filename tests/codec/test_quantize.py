"""Residual VQ: nearest codes, residuals shrink, encode/decode agree, dropout, EMA, restarts
by time unused, state dict, perplexity."""

import math

import pytest
import torch

from musiclm.codec.quantize import QuantizerOutput, ResidualVQ, VectorQuantizer


def _set_codebook(vq: VectorQuantizer, codebook: torch.Tensor, size: float = 10.0) -> None:
    """Give a quantizer a known codebook and mark it initialised (no data init)."""
    vq.codebook.copy_(codebook)
    vq.ema_size.fill_(size)
    vq.ema_sum.copy_(codebook * size)
    vq.unused_steps.zero_()
    vq.initialised.fill_(True)


def test_nearest_code_matches_brute_force():
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 32).eval()
    x = torch.randn(3, 8, 50)
    codes = vq.encode(x)  # (3, 50)
    flat = x.transpose(1, 2).reshape(-1, 8)
    d = torch.cdist(flat.double(), vq.codebook.double()).pow(2)  # (150, 32)
    chosen = d.gather(1, codes.reshape(-1, 1)).squeeze(1)
    assert torch.allclose(chosen, d.min(1).values, rtol=1e-5, atol=1e-6)
    q, idx = vq(x)
    assert torch.equal(idx, codes) and torch.equal(q, vq.codebook[codes].transpose(1, 2))


def test_data_init_and_residuals_shrink_level_by_level():
    torch.manual_seed(0)
    rvq = ResidualVQ(16, 4, 32, dropout=True)
    x = torch.randn(4, 16, 128)
    out = rvq.train()(x)  # first batch initialises every level, even ones dropout skipped
    assert all(bool(layer.initialised) for layer in rvq.layers)
    assert isinstance(out, QuantizerOutput) and out.codes.shape == (4, out.n_levels, 128)
    rvq.eval()
    codes = rvq.encode(x)
    errs = [(x - rvq.decode(codes[:, :n])).pow(2).mean().item() for n in range(1, 5)]
    assert x.pow(2).mean().item() > errs[0] > errs[1] > errs[2] > errs[3]


def test_init_with_fewer_frames_than_codes():
    torch.manual_seed(0)
    vq = VectorQuantizer(4, 64).train()
    x = torch.randn(1, 4, 10)
    vq(x)
    flat = x.transpose(1, 2).reshape(-1, 4)
    # Every frame became a code, so every frame is coded exactly.
    assert torch.allclose(vq.eval()(x)[0], x, atol=1e-3)  # EMA smoothing moves codes a hair
    assert torch.cdist(vq.codebook, flat).min(1).values.max() < 0.1


def test_encode_decode_equals_forward_at_eval():
    torch.manual_seed(1)
    rvq = ResidualVQ(8, 3, 16)
    rvq.train()(torch.randn(2, 8, 64))
    rvq.eval()
    x = torch.randn(2, 8, 40)
    for n in (1, 2, 3):
        out = rvq(x, n_levels=n)
        codes = rvq.encode(x, n_levels=n)
        assert codes.dtype == torch.int64 and codes.shape == (2, n, 40)
        assert torch.equal(out.codes, codes)
        assert torch.equal(rvq.decode(codes), out.quantized)


def test_straight_through_and_commit_loss():
    torch.manual_seed(2)
    rvq = ResidualVQ(8, 2, 16, dropout=False).train()
    x = torch.randn(2, 8, 32, requires_grad=True)
    out = rvq(x)
    out.quantized.pow(2).sum().backward()
    # Straight-through: d(sum q^2)/dx = 2q.
    assert torch.allclose(x.grad, 2 * out.quantized.detach(), atol=1e-5)
    assert out.commit_loss.ndim == 0 and out.commit_loss.item() > 0
    x.grad = None
    rvq(x).commit_loss.backward()
    assert x.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in rvq.parameters())  # EMA only: nothing to learn


def test_levels_dropout_and_validation():
    rvq = ResidualVQ(4, 5, 8, dropout=True)
    x = torch.randn(1, 4, 16)

    def draws(seed):
        torch.manual_seed(seed)
        fresh = ResidualVQ(4, 5, 8, dropout=True).train()
        return [fresh(x).n_levels for _ in range(60)]

    a = draws(0)
    assert set(a) == {1, 2, 3, 4, 5} and draws(0) == a  # uniform over 1..5, repeatable
    assert rvq.train()(x, n_levels=2).codes.shape[1] == 2
    rvq.eval()
    assert rvq(x).n_levels == 5 and rvq(x, n_levels=3).perplexity.shape == (3,)
    assert ResidualVQ(4, 5, 8, dropout=False).train()(x).n_levels == 5
    for bad in (0, 6, -1, 2.0, True):
        with pytest.raises(ValueError):
            rvq(x, n_levels=bad)
        with pytest.raises(ValueError):
            rvq.encode(x, n_levels=bad)
    with pytest.raises(ValueError):
        rvq(torch.randn(1, 3, 16))
    with pytest.raises(ValueError):
        rvq.decode(torch.zeros(1, 6, 4, dtype=torch.long))
    assert rvq.bitrate(50, 4) == 50 * 4 * 3
    assert ResidualVQ(4, 12, 1024).bitrate(50) == 6000.0  # MusicLM's 6 kbps


def test_ema_moves_codes_toward_data():
    vq = VectorQuantizer(2, 2, decay=0.8).train()
    _set_codebook(vq, torch.tensor([[0.0, 0.0], [10.0, 10.0]]))
    target = torch.tensor([2.0, -1.0])
    x = (target[:, None] + 0.01 * torch.randn(1, 2, 64)).float()  # all near target
    dists = []
    for _ in range(10):
        vq(x)
        dists.append((vq.codebook[0] - target).norm().item())
    assert dists[0] < target.norm().item() and dists[-1] < 0.5 * dists[0]
    assert torch.allclose(vq.codebook[1], torch.tensor([10.0, 10.0]))  # unused: unchanged


def test_dead_codes_restart_after_time_unused_and_live_codes_stay():
    torch.manual_seed(3)
    centers = torch.tensor([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
    far = torch.tensor([[1000.0, 1000.0]])
    vq = VectorQuantizer(2, 4, dead_after=3).train()
    _set_codebook(vq, torch.cat([centers, far]))

    def batch():
        pts = centers[torch.arange(60) % 3] + 0.1 * torch.randn(60, 2)
        return pts.t()[None]  # (1, 2, 60)

    for step in (1, 2):
        vq(batch())
        # (Laplace smoothing of the EMA sizes moves an unused code by ~1e-7 relative.)
        assert torch.allclose(vq.codebook[3], far[0]), f"restarted too early at step {step}"
        assert vq.unused_steps.tolist() == [0, 0, 0, step]
    x = batch()
    vq(x)
    new = vq.codebook[3]
    assert torch.isclose(torch.cdist(new[None], x[0].t()).min(), torch.tensor(0.0), atol=1e-6)
    assert vq.unused_steps.tolist() == [0, 0, 0, 0]
    assert (vq.codebook[:3] - centers).norm(dim=1).max() < 0.2  # live codes were not replaced


def test_state_dict_round_trip():
    torch.manual_seed(4)
    a = ResidualVQ(8, 3, 16, dead_after=2)
    for _ in range(4):
        a.train()(torch.randn(2, 8, 32))
    state = a.state_dict()
    for key in ("codebook", "ema_size", "ema_sum", "unused_steps", "initialised"):
        assert f"layers.0.{key}" in state
    b = ResidualVQ(8, 3, 16, dead_after=2)
    b.load_state_dict(state)
    assert all(bool(layer.initialised) for layer in b.layers)
    for k, v in b.state_dict().items():
        assert torch.equal(v, state[k]), k
    x = torch.randn(2, 8, 20)
    assert torch.equal(a.eval()(x).quantized, b.eval()(x).quantized)


def test_perplexity_uniform_and_collapsed():
    k = 8
    rvq = ResidualVQ(2, 1, k).eval()
    angles = torch.arange(k) * 2 * math.pi / k
    codebook = torch.stack([angles.cos(), angles.sin()], 1) * 5
    _set_codebook(rvq.layers[0], codebook)
    uniform = codebook.repeat(4, 1).t()[None]  # every code 4 times
    assert rvq(uniform).perplexity.item() == pytest.approx(k, rel=1e-5)
    collapsed = codebook[2:3].repeat(32, 1).t()[None]
    assert rvq(collapsed).perplexity.item() == pytest.approx(1.0, abs=1e-5)
