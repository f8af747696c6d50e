"""Planned tunes (musiclm.tune): in the key asked, over the form, repeated where the form
repeats, deterministic by seed."""

import numpy as np
import pytest

from musiclm.conditions import MELODY_PC0, MELODY_RATE, MELODY_REST, Section
from musiclm.data.synth.genres import GENRES
from musiclm.theory import key_index
from musiclm.tune import plan_key, plan_tune

MAJOR_SCALE = {0, 2, 4, 5, 7, 9, 11}
FORM = (
    Section("intro", 0.0, 8.0),
    Section("verse", 8.0, 24.0),
    Section("chorus", 24.0, 40.0),
    Section("verse", 40.0, 56.0),
    Section("chorus", 56.0, 72.0),
    Section("tail", 72.0, 76.0),
)


def _tune(key="D major", seed=0, genre="pop", tempo=120.0):
    return plan_tune(FORM, 80.0, genre=genre, tempo=tempo, meter="4/4",
                     key=key_index(*key.split()), seed=seed)  # fmt: skip


def test_a_tune_covers_the_piece_and_stays_in_its_key():
    ids = _tune("D major")
    assert ids.shape == (80 * MELODY_RATE,) and ids.dtype == np.int64
    assert set(np.unique(ids)) <= {MELODY_REST} | set(range(MELODY_PC0, MELODY_PC0 + 12))
    pcs = ids[ids >= MELODY_PC0] - MELODY_PC0
    in_key = np.isin((pcs - 2) % 12, list(MAJOR_SCALE)).mean()  # D major = C major + 2
    assert len(pcs) > 0.3 * len(ids) and in_key > 0.85


def test_intro_tail_and_after_the_form_are_rests_and_sections_repeat():
    ids = _tune()
    r = MELODY_RATE
    assert (ids[: 8 * r] == MELODY_REST).all()  # a long song rests its intro
    assert (ids[72 * r :] == MELODY_REST).all()  # tail and beyond the last section
    # the second verse and chorus sing what the first ones sang (16 s = 8 bars at 120 bpm)
    assert (ids[8 * r : 24 * r] == ids[40 * r : 56 * r]).all()
    assert (ids[24 * r : 40 * r] == ids[56 * r : 72 * r]).all()


def test_tunes_are_deterministic_by_seed_and_differ_between_seeds():
    assert (_tune(seed=3) == _tune(seed=3)).all()
    assert any(not np.array_equal(_tune(seed=0), _tune(seed=s)) for s in (1, 2, 3))


@pytest.mark.parametrize("genre", sorted(GENRES)[:12])
def test_plan_key_is_a_key_token_of_a_mode_the_genre_uses(genre):
    keys = {plan_key(genre, s) for s in range(20)}
    assert all(0 <= k < 24 for k in keys) and len(keys) > 3
