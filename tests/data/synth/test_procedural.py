"""The procedural melody writer: musical, deterministic, within its bounds."""

from __future__ import annotations

import numpy as np
import pytest

from musiclm.data.synth.procedural import procedural_melody
from musiclm.errors import UserError
from musiclm.theory import MODES

METERS = ["4/4", "3/4", "6/8", "2/4", "12/8", "7/8"]


# -- the procedural writer ---------------------------------------------------------------


@pytest.mark.parametrize("meter", METERS)
@pytest.mark.parametrize("mode", sorted(MODES))
def test_procedural_melody_is_musical_and_deterministic(mode, meter, check_melody):
    kw = dict(tonic_pc=5, mode=mode, meter=meter, bars=8, low=55, high=76)
    a = procedural_melody(np.random.default_rng(7), **kw)
    assert a == procedural_melody(np.random.default_rng(7), **kw)
    assert a.notes != procedural_melody(np.random.default_rng(8), **kw).notes
    check_melody(a)
    assert a.bars == 8 and 55 <= a.lowest and a.highest <= 76
    scale = {(5 + s) % 12 for s in MODES[mode]}
    assert all(p % 12 in scale for *_, p in a.notes)
    onset, dur, last = a.notes[-1]
    assert last % 12 == 5 and onset % a.bar_beats == 0 and dur == a.bar_beats


@pytest.mark.parametrize("bars", [1, 2, 3, 5, 9, 16])
def test_procedural_melody_respects_bar_count(bars, check_melody):
    m = procedural_melody(
        np.random.default_rng(bars), tonic_pc=9, mode="minor", meter="3/4", bars=bars
    )
    assert m.bars == bars and m.notes[-1][2] % 12 == 9
    check_melody(m)


def test_density_controls_note_rate():
    def count(density: float) -> float:
        return np.mean(
            [
                len(
                    procedural_melody(
                        np.random.default_rng(s),
                        tonic_pc=0,
                        mode="major",
                        meter="4/4",
                        bars=8,
                        density=density,
                    ).notes
                )
                for s in range(12)
            ]
        )

    sparse, medium, busy = count(0.0), count(0.5), count(1.0)
    assert sparse < medium < busy
    assert sparse < 8 * 4 and busy > 8 * 6  # ~1 vs > 1.5 notes per beat


def test_procedural_melody_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(UserError):
        procedural_melody(rng, tonic_pc=0, mode="klingon", meter="4/4", bars=4)
    with pytest.raises(UserError):
        procedural_melody(rng, tonic_pc=0, mode="major", meter="4/5", bars=4)
    with pytest.raises(UserError):
        procedural_melody(rng, tonic_pc=0, mode="major", meter="4/4", bars=4, low=61, high=64)
