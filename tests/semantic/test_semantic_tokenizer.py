"""SemanticTokenizer: shapes at 25 Hz, determinism, save/load, silence, short audio, files."""

import numpy as np
import pytest
import torch

from fixtures.semantic import RATE, chord_clip
from musiclm.errors import UserError
from musiclm.semantic import SemanticConfig, SemanticTokenizer, save_tokens
from musiclm.semantic.tokenizer import BUNDLED


@pytest.fixture(scope="module")
def tok0(semantic_tok0_dir):
    return SemanticTokenizer.from_pretrained(semantic_tok0_dir)


@pytest.fixture(scope="module")
def tok1(semantic_tok1_dir):
    return SemanticTokenizer.from_pretrained(semantic_tok1_dir)


def test_tokens_of_any_rate_and_channels(tok0):
    y, _ = chord_clip(["C", "Eb"], seconds=10)
    stereo = np.stack([y, 0.5 * y])  # (channels, samples)
    tokens = tok0.encode(stereo, RATE)
    assert tokens.dtype == np.int64 and tokens.shape == (250,)
    assert 0 <= tokens.min() and tokens.max() < tok0.codebook_size
    assert len(np.unique(tokens)) > 1
    assert tok0.encode(torch.from_numpy(y), RATE).shape == (250,)


@pytest.mark.parametrize("which", ["tok0", "tok1"])
def test_same_audio_same_tokens_and_round_trip(which, request, tmp_path):
    tok = request.getfixturevalue(which)
    y, _ = chord_clip(["A7", "C"], seconds=9, seed=5)  # longer than the debug window (4 s)
    first = tok.encode(y, RATE)
    assert np.array_equal(first, tok.encode(y.copy(), RATE))
    tok.save_pretrained(tmp_path / "copy")
    again = SemanticTokenizer.from_pretrained(tmp_path / "copy")
    assert np.array_equal(first, again.encode(y, RATE))
    assert again.fingerprint == tok.fingerprint and again.config.hash() == tok.config.hash()


def test_silent_short_and_empty_audio(tok0, tok1):
    for tok in (tok0, tok1):
        silent = tok.encode(np.zeros(3 * RATE, np.float32), RATE)
        assert silent.shape == (75,)
        # every silent frame is alike; the encoder still sees where the clip starts and ends
        assert np.bincount(silent).max() >= (75 if tok is tok0 else 60)
        assert tok.encode(np.full(1, 0.3, np.float32), 8000).shape == (1,)
        assert tok.encode(np.zeros(100, np.float32), 48000).shape == (1,)
        assert tok.encode(np.zeros(0, np.float32), RATE).shape == (0,)
        assert tok.encode(np.zeros((2, 0), np.float32), RATE).shape == (0,)


def test_windowed_encoder_matches_one_pass_inside_a_window(tok1):
    y, _ = chord_clip(["F#m", "C"], seconds=4, seed=2)
    raw = tok1.features(y, RATE)
    assert len(raw) == tok1.config.window_frames
    one = tok1.encoder.hidden(tok1.standardise(raw)[None])[0]
    assert torch.allclose(tok1.unnormalised(tok1.standardise(raw)), one, atol=1e-5)
    long = np.concatenate([y] * 3)  # 3 windows long: frames from three windows, no seams lost
    assert tok1.encode(long, RATE).shape == (300,)


def test_fingerprint_tells_fits_apart_config_hash_does_not(tok0):
    other = SemanticTokenizer(tok0.config)
    assert other.config.hash() == tok0.config.hash() and other.fingerprint != tok0.fingerprint


def test_load_errors(semantic_tok0_dir, tmp_path):
    if not (BUNDLED / "config.json").exists():
        with pytest.raises(UserError, match="no bundled"):
            SemanticTokenizer.from_pretrained()
    with pytest.raises(UserError, match="no semantic tokenizer"):
        SemanticTokenizer.from_pretrained(tmp_path / "missing")
    wrong = SemanticTokenizer(SemanticConfig.preset("debug").replace(clusters=8))
    state = {k: v for k, v in wrong.state_dict().items()}
    from musiclm.training.checkpoint import save_pretrained

    save_pretrained(state, SemanticConfig.preset("debug").to_dict(), tmp_path / "bad")
    with pytest.raises(UserError, match="do not match"):
        SemanticTokenizer.from_pretrained(tmp_path / "bad")


def test_token_files(tok0, tmp_path):
    tokens = np.array([3, 1, 2])
    save_tokens(tmp_path / "t.npy", tokens, tok0)
    assert np.array_equal(np.load(tmp_path / "t.npy"), tokens)
    save_tokens(tmp_path / "t.npz", tokens, tok0)
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        assert np.array_equal(z["tokens"], tokens) and int(z["frame_rate"]) == 25
        assert str(z["config_hash"]) == tok0.config.hash()
        assert str(z["fingerprint"]) == tok0.fingerprint
    with pytest.raises(UserError, match=".npy or .npz"):
        save_tokens(tmp_path / "t.txt", tokens, tok0)
