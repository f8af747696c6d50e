"""The masked-prediction encoder: masks, shapes, and the loss going down."""

import numpy as np
import torch

from musiclm.semantic.config import SemanticConfig
from musiclm.semantic.encoder import SemanticEncoder, masked_loss, span_mask
from musiclm.semantic.train import IGNORE, MaskedFrames


def test_span_mask_has_spans_and_at_least_one():
    rng = np.random.default_rng(0)
    m = span_mask(200, 0.08, 5, rng)
    assert m.dtype == bool and m.shape == (200,) and 0.15 < m.mean() < 0.6
    assert span_mask(10, 1e-9, 5, rng).sum() == 5  # one span even when none was drawn
    assert span_mask(3, 0.5, 5, rng).sum() >= 1


def test_hidden_and_logit_shapes():
    c = SemanticConfig.preset("debug")
    enc = SemanticEncoder(c).eval()
    x = torch.randn(2, 30, c.feature_dim)
    assert enc(x).shape == (2, 30, c.targets)
    assert enc.hidden(x).shape == (2, 30, c.d_model)
    assert enc.hidden(x, 2).shape == (2, 30, c.d_model)


def test_masked_prediction_loss_goes_down_on_a_fixed_batch():
    torch.manual_seed(0)
    c = SemanticConfig.preset("debug")
    enc = SemanticEncoder(c)
    b, t = 4, c.window_frames
    x = torch.randn(b, t, c.feature_dim)
    # targets that the context predicts: a slowly changing "chord" per 10 frames
    targets = (torch.arange(t) // 10 + torch.arange(b)[:, None] * 3) % c.targets
    x[..., :4] += targets[..., None].float() / c.targets  # weakly visible where unmasked
    rng = np.random.default_rng(0)
    mask = torch.from_numpy(np.stack([span_mask(t, c.mask_prob, c.mask_span, rng) for _ in x]))
    opt = torch.optim.AdamW(enc.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        loss, _ = masked_loss(enc(x, mask=mask), targets, mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0], losses[::8]


def test_masked_frames_crops_pads_and_masks():
    c = SemanticConfig.preset("debug")
    w = c.window_frames
    feats = [np.ones((w + 30, c.feature_dim), np.float32), np.ones((7, c.feature_dim), np.float32)]
    targets = [np.arange(w + 30) % c.targets, np.zeros(7, np.int64)]
    ds = MaskedFrames(feats, targets, c)
    np.random.seed(0)
    long, short = ds[0], ds[1]
    assert long["features"].shape == (w, c.feature_dim) and not long["padding"].any()
    assert long["mask"].any()
    assert short["padding"].sum() == w - 7 and (short["targets"][7:] == IGNORE).all()
    assert not (short["mask"] & short["padding"]).any() and short["mask"][:7].any()
