"""STFT discriminator: output shapes, and the adversarial losses backpropagate."""

import pytest
import torch

from musiclm.codec.discriminator import (
    MultiScaleSTFTDiscriminator,
    discriminator_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)


def test_shapes():
    torch.manual_seed(0)
    disc = MultiScaleSTFTDiscriminator((256, 128), channels=8)
    out = disc(torch.randn(3, 1, 4000))
    assert len(out.logits) == len(out.features) == 2
    for n, logits, feats in zip((256, 128), out.logits, out.features):
        frames, freq = 4000 // (n // 4) + 1, n // 2 + 1
        # three stride-2 layers over frequency: ceil-halving three times
        f = freq
        for _ in range(3):
            f = (f + 1) // 2
        assert logits.shape == (3, 1, frames, f)
        assert len(feats) == 5 and all(h.shape[:2] == (3, 8) for h in feats)
    assert disc(torch.randn(3, 4000)).logits[0].shape == out.logits[0].shape
    with pytest.raises(ValueError):
        disc(torch.randn(3, 2, 4000))


def test_losses_backprop():
    torch.manual_seed(1)
    disc = MultiScaleSTFTDiscriminator((256, 128), channels=8)
    real = torch.randn(2, 1, 2000)
    fake = (0.5 * torch.randn(2, 1, 2000)).requires_grad_()

    # Discriminator step: gradients reach the discriminator, not the (detached) generator.
    d_real, d_fake = disc(real), disc(fake.detach())
    d_loss = discriminator_loss(d_real.logits, d_fake.logits)
    d_loss.backward()
    assert d_loss.item() >= 0 and fake.grad is None
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in disc.parameters())

    # Generator step: adversarial + feature matching reach the generator output.
    disc.zero_grad()
    g_fake = disc(fake)
    g_loss = generator_adversarial_loss(g_fake.logits)
    fm = feature_matching_loss(disc(real).features, g_fake.features)
    (g_loss + fm).backward()
    assert fake.grad is not None and fake.grad.abs().sum() > 0
    assert fm.item() > 0


def test_loss_values():
    ones, zeros = [torch.ones(2, 1, 4, 4)], [torch.zeros(2, 1, 4, 4)]
    assert discriminator_loss(ones, [-o for o in ones]).item() == 0  # perfectly separated
    assert discriminator_loss(zeros, zeros).item() == 2
    assert generator_adversarial_loss(ones).item() == 0
    feats = [[torch.randn(2, 3, 4, 4) for _ in range(3)]]
    assert feature_matching_loss(feats, feats).item() == 0
    with pytest.raises(ValueError):
        discriminator_loss(ones, ones + ones)
