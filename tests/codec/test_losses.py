"""Spectral losses are 0 for identical audio and grow with noise; metrics behave as their
definitions say (scale invariance, similarity of identical signals)."""

import numpy as np
import pytest
import torch

from musiclm.codec.losses import (
    MelLoss,
    MultiResolutionSTFTLoss,
    chroma_similarity,
    mel_distance,
    mr_stft_distance,
    onset_correlation,
    si_snr,
    spectral_convergence,
)

SR = 16000


def _tone(seconds=1.0, sr=SR, seed=0):
    """A chord with a decaying note every 0.25 s, plus a little noise."""
    t = np.arange(int(seconds * sr)) / sr
    env = np.exp(-8 * (t % 0.25))
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0))
    noise = 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.2 * env * chord + noise).astype(np.float32)


def test_stft_loss_zero_for_identical_and_grows_with_noise():
    torch.manual_seed(0)
    ref = torch.from_numpy(_tone())[None].repeat(2, 1)  # (2, T)
    loss = MultiResolutionSTFTLoss(complex_weight=1.0)
    same = loss(ref, ref)
    assert same.total.item() == 0 and same["sc"].item() == 0 and same.complex.item() == 0
    noise = torch.randn_like(ref)
    vals = [loss(ref + a * noise, ref) for a in (0.01, 0.05, 0.2)]
    for key in ("sc", "mag", "complex", "total"):
        assert vals[0][key] < vals[1][key] < vals[2][key], key
    assert dict(vals[0].items()).keys() == {"sc", "mag", "complex", "total"}
    # complex_weight 0 (default): the phase term is not computed and not in total.
    plain = MultiResolutionSTFTLoss()(ref + 0.05 * noise, ref)
    assert plain.complex.item() == 0
    assert plain.total.item() == pytest.approx(vals[1].sc.item() + vals[1].mag.item(), rel=1e-5)
    assert not list(loss.state_dict())  # windows are buffers, not saved


def test_complex_term_sees_phase_that_magnitudes_miss():
    ref = torch.from_numpy(_tone())[None]
    shifted = torch.roll(ref, 3, dims=-1)  # nearly equal magnitudes, different phase
    loss = MultiResolutionSTFTLoss(complex_weight=1.0)
    out = loss(shifted, ref)
    assert out.complex > 5 * out.mag


def test_losses_backprop_and_shapes():
    ref = torch.from_numpy(_tone(0.25))[None, None]  # (1, 1, T)
    est = (ref + 0.1 * torch.randn_like(ref)).requires_grad_()
    total = MultiResolutionSTFTLoss(complex_weight=0.5)(est, ref).total + MelLoss(SR)(est, ref)
    total.backward()
    assert torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        MelLoss(SR)(ref, ref[..., :-1])
    with pytest.raises(ValueError):
        MelLoss(SR, n_ffts=(1024, 512), n_mels=(80,))


def test_mel_loss_zero_for_identical_and_grows_with_noise():
    ref = torch.from_numpy(_tone())
    loss = MelLoss(SR, n_ffts=(1024, 512, 256), n_mels=(80, 40, 20))
    assert loss(ref, ref).item() == 0
    noise = torch.randn_like(ref)
    vals = [loss(ref + a * noise, ref).item() for a in (0.01, 0.05, 0.2)]
    assert 0 < vals[0] < vals[1] < vals[2]


def test_si_snr():
    ref = _tone()
    noise = np.random.default_rng(1).standard_normal(len(ref)).astype(np.float32)
    same = si_snr(ref, ref)
    assert same > 100
    assert si_snr(ref, -ref) == pytest.approx(same, rel=1e-6)  # sign and gain are free
    noisy = ref + 0.05 * noise
    assert si_snr(ref, 3.0 * noisy) == pytest.approx(si_snr(ref, noisy), abs=1e-6)
    assert si_snr(ref, noisy) > si_snr(ref, ref + 0.2 * noise)
    # ~ 10 log10(P_signal / P_noise) for independent noise
    expected = 10 * np.log10(np.var(ref) / np.var(0.05 * noise))
    assert si_snr(torch.from_numpy(ref), torch.from_numpy(noisy)) == pytest.approx(
        expected, abs=0.3
    )
    with pytest.raises(ValueError, match="lengths differ"):
        si_snr(ref, ref[:-1])


def test_spectral_metrics():
    ref = _tone()
    noise = np.random.default_rng(2).standard_normal(len(ref)).astype(np.float32)
    assert mel_distance(ref, ref, SR) == 0
    assert mr_stft_distance(ref, ref) == 0 and spectral_convergence(ref, ref) == 0
    for f in (lambda r, e: mel_distance(r, e, SR), mr_stft_distance, spectral_convergence):
        small, big = f(ref, ref + 0.01 * noise), f(ref, ref + 0.2 * noise)
        assert isinstance(small, float) and 0 < small < big


def test_chroma_and_onset_metrics():
    ref = _tone()
    assert chroma_similarity(ref, ref, SR) == pytest.approx(1.0)
    assert onset_correlation(ref, ref, SR) == pytest.approx(1.0)
    t = np.arange(len(ref)) / SR
    other_chord = (0.2 * sum(np.sin(2 * np.pi * f * t) for f in (293.7, 370.0, 440.0))).astype(
        np.float32
    )  # D major, steady: different harmony and no onsets every 0.25 s
    assert chroma_similarity(ref, other_chord, SR) < 0.9 * chroma_similarity(ref, ref * 0.5, SR)
    assert onset_correlation(ref, other_chord, SR) < 0.5
