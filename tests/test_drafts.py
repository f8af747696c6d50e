"""Drafts: the coarse window that fits the piece's key is kept; one draft is the plain draw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from musiclm import drafts, songs
from musiclm.pipeline import GenerationOptions, MusicLM
from musiclm.theory import key_index


@pytest.fixture(scope="module")
def model():
    return MusicLM.debug(seed=0, attributes=True, beats=True)


def _chord(sr: int, seconds: float, freqs) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (sum(np.sin(2 * np.pi * f * t) for f in freqs) * 0.2).astype(np.float32)


A_MAJOR = (220.0, 277.18, 329.63)
E_FLAT_MAJOR = (311.13, 392.0, 466.16)


def test_the_draft_kept_is_the_one_that_fits_its_piece_s_key(model, monkeypatch):
    sr = model.sample_rate
    played = iter([
        _chord(sr, 1.0, E_FLAT_MAJOR), _chord(sr, 1.0, A_MAJOR),  # piece 0, in A major
        _chord(sr, 1.0, A_MAJOR), _chord(sr, 1.0, E_FLAT_MAJOR),  # piece 1, in Eb major
        np.zeros(sr, np.float32), _chord(sr, 1.0, A_MAJOR),  # piece 2: no key, not decoded
    ])  # fmt: skip
    monkeypatch.setattr(songs, "decode", lambda codec, codes: torch.from_numpy(next(played)))
    keys = [key_index("A"), key_index("A"), key_index("Eb"), key_index("Eb"), None, None]
    codes = torch.zeros(6, 2, 3, dtype=torch.long)
    scores = drafts.key_fits(model.codec, codes, keys)
    assert scores[1] > scores[0] and scores[3] > scores[2] and scores[4] == scores[5] == -2
    index = drafts.best(scores, 2)
    assert index.tolist() == [1, 1, 0]  # no key: the first draft, the plain draw
    rows = torch.arange(6)[:, None] * torch.ones(1, 4, dtype=torch.long)
    assert drafts.keep(rows, index, 2)[:, 0].tolist() == [1, 3, 4]


def test_a_silent_draft_loses(model, monkeypatch):
    sr = model.sample_rate
    played = iter([np.zeros(sr, np.float32), _chord(sr, 1.0, E_FLAT_MAJOR)])
    monkeypatch.setattr(songs, "decode", lambda codec, codes: torch.from_numpy(next(played)))
    scores = drafts.key_fits(model.codec, torch.zeros(2, 2, 3, dtype=torch.long), [0, 0])
    assert scores[0] == -2 and drafts.best(scores, 2).tolist() == [1]


def test_draft_0_is_the_single_draw_and_drafts_are_timed(model, monkeypatch):
    conds = model.conditions(["calm piano in A minor", "fast techno in F major"])
    one = model.run(conds, 3.0, seed=5, options=GenerationOptions(drafts=1))
    assert "drafts" not in one.timings.seconds and one.options.drafts == 1
    four = model.run(conds, 3.0, seed=5, options=GenerationOptions(drafts=4))
    assert "drafts" in four.timings.seconds and four.audio.shape == one.audio.shape
    assert four.options.drafts == 4
    monkeypatch.setattr(drafts, "best", lambda scores, n: torch.zeros(len(scores) // n).long())
    first = model.run(conds, 3.0, seed=5, options=GenerationOptions(drafts=4))
    np.testing.assert_array_equal(first.audio, one.audio)  # draft 0: each piece's own draw


def test_pieces_without_a_key_are_not_drafted(model):
    conds = model.conditions(["calm piano"])  # no key stated, and no tune to plan one
    assert conds[0].key is None
    gen = model.run(conds, 2.0, seed=1, options=GenerationOptions(drafts=4))
    assert "drafts" not in gen.timings.seconds


def test_default_drafts_by_kind_of_piece():
    from musiclm.pipeline import CONTINUE_DRAFTS, LONG_DRAFTS, LONG_PIECE_S, TEXT_DRAFTS

    opts = GenerationOptions()
    assert opts.resolved().drafts == opts.resolved(seconds=LONG_PIECE_S).drafts == TEXT_DRAFTS
    assert opts.resolved(seconds=LONG_PIECE_S + 1).drafts == LONG_DRAFTS < TEXT_DRAFTS
    assert GenerationOptions(drafts=3).resolved(seconds=300).drafts == 3
    assert opts.resolved(follows_audio=True).drafts == CONTINUE_DRAFTS  # a continuation
    assert opts.resolved(follows_audio=True, melody=True).drafts == 1  # a given melody
    assert GenerationOptions(drafts=2).resolved(follows_audio=True, melody=True).drafts == 2
