"""Shared fixtures for the data-engine tests."""

import pytest

from musiclm.data.synth.melodies import Melody
from musiclm.theory import MODES


@pytest.fixture
def check_melody():
    """A function asserting a Melody's invariants: sorted, monophonic, within its bars."""

    def check(m: Melody) -> None:
        onsets = [o for o, _, _ in m.notes]
        assert onsets == sorted(onsets)
        assert onsets[0] >= 0
        for (o, d, _), (o2, _, _) in zip(m.notes, m.notes[1:], strict=False):
            assert d > 0 and o + d <= o2 + 1e-6, "notes overlap"
        assert m.notes[-1][0] + m.notes[-1][1] <= m.length_beats + 1e-6
        assert m.length_beats == pytest.approx(m.bars * m.bar_beats)
        assert m.mode in MODES and 0 <= m.tonic_pc < 12

    return check
