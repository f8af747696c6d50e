"""Planned tunes (musiclm.tune): in the key asked, over the form, repeated where the form
repeats, deterministic by seed."""

import numpy as np
import pytest

from musiclm.conditions import MELODY_PC0, MELODY_RATE, MELODY_REST, Section
from musiclm.data.synth.genres import GENRES
from musiclm.theory import key_index
from musiclm.tune import key_margin, plan_key, plan_tune

MAJOR_SCALE = {0, 2, 4, 5, 7, 9, 11}
FORM = (
    Section("intro", 0.0, 8.0),
    Section("verse", 8.0, 24.0),
    Section("chorus", 24.0, 40.0),
    Section("verse", 40.0, 56.0),
    Section("chorus", 56.0, 72.0),
    Section("tail", 72.0, 76.0),
)


def _tune(key="D major", seed=0, genre="pop", tempo=120.0, **kw):
    return plan_tune(FORM, 80.0, genre=genre, tempo=tempo, meter="4/4",
                     key=key_index(*key.split()), seed=seed, **kw)  # fmt: skip


def test_a_tune_covers_the_piece_and_stays_in_its_key():
    ids = _tune("D major")
    assert ids.shape == (80 * MELODY_RATE,) and ids.dtype == np.int64
    assert set(np.unique(ids)) <= {MELODY_REST} | set(range(MELODY_PC0, MELODY_PC0 + 12))
    pcs = ids[ids >= MELODY_PC0] - MELODY_PC0
    in_key = np.isin((pcs - 2) % 12, list(MAJOR_SCALE)).mean()  # D major = C major + 2
    assert len(pcs) > 0.3 * len(ids) and in_key > 0.85


def test_intro_and_after_the_form_are_rests_and_sections_repeat():
    ids = _tune()
    r = MELODY_RATE
    assert (ids[: 8 * r] == MELODY_REST).all()  # a long song rests its intro
    assert (ids[76 * r :] == MELODY_REST).all()  # beyond the last section
    # the second verse and chorus sing what the first ones sang (16 s = 8 bars at 120 bpm)
    assert (ids[8 * r : 24 * r] == ids[40 * r : 56 * r]).all()
    assert (ids[24 * r : 40 * r] == ids[56 * r : 72 * r]).all()


def test_the_ending_is_the_engines_a_held_tonic_or_the_last_beats_under_a_fade():
    r, d = MELODY_RATE, MELODY_PC0 + 2  # D major's tonic
    ring = _tune(ending="ring-out")  # the tonic for 0.3 s from the tail's start, then rests
    held = int(0.3 * r)  # frames whose centre falls in the first 0.3 s
    assert (ring[72 * r : 72 * r + held] == d).all()
    assert (ring[72 * r + held + 1 :] == MELODY_REST).all()
    chord = _tune(ending="final chord")  # held for the tail less 1.6 s: 2.4 s of 4
    assert (chord[72 * r : 72 * r + round(2.4 * r)] == d).all()
    assert (chord[72 * r + round(2.4 * r) + 1 :] == MELODY_REST).all()
    fade = _tune(ending="fade-out")  # the last 4 beats (2 s at 120 bpm) again
    assert (fade[72 * r : 76 * r] == np.concatenate([fade[70 * r : 72 * r]] * 2)).all()
    one = _tune(ending="fade-out", candidates=1)  # one draw: the body does not change
    assert (one[: 72 * r] == _tune(ending="final chord", candidates=1)[: 72 * r]).all()
    with pytest.raises(ValueError, match="ending"):
        _tune(ending="crash")


def test_the_tune_kept_states_its_key_at_least_as_clearly_as_the_first_drawn():
    """Of several tunes drawn, the one whose notes name the key most clearly is kept; the
    first one drawn is what a single draw gives, so the kept one is never less clear."""
    margins = []
    for seed in range(6):
        for key in ("A minor", "E major"):
            k = key_index(*key.split())
            one = key_margin(_tune(key, seed, candidates=1), k)
            best = key_margin(_tune(key, seed, candidates=8), k)
            margins.append((one, best))
    assert all(best >= one for one, best in margins)
    assert sum(best > one for one, best in margins) >= 3
    assert sum(best > 0 for _, best in margins) > sum(one > 0 for one, _ in margins)


def test_key_margin_is_positive_for_a_tonic_triad_and_no_notes_is_minus_infinity():
    triad = np.array([MELODY_PC0 + pc for pc in (0, 0, 0, 4, 4, 7, 7, 7)])
    assert key_margin(triad, key_index("C", "major")) > 0
    assert key_margin(triad, key_index("G", "major")) < 0
    assert key_margin(np.full(10, MELODY_REST), 0) == -np.inf


def test_tunes_are_deterministic_by_seed_and_differ_between_seeds():
    assert (_tune(seed=3) == _tune(seed=3)).all()
    assert any(not np.array_equal(_tune(seed=0), _tune(seed=s)) for s in (1, 2, 3))


@pytest.mark.parametrize("genre", sorted(GENRES)[:12])
def test_plan_key_is_a_key_token_of_a_mode_the_genre_uses(genre):
    keys = {plan_key(genre, s) for s in range(20)}
    assert all(0 <= k < 24 for k in keys) and len(keys) > 3
