"""Melodies: the bundled corpus cache, pickup alignment, transposition, the procedural writer."""

from __future__ import annotations

import numpy as np
import pytest

from musiclm.data.synth import melodies as mel
from musiclm.data.synth.melodies import (
    Melody,
    corpus_stats,
    load_corpus_melodies,
    pick_melody,
)
from musiclm.errors import UserError

METERS = ["4/4", "3/4", "6/8", "2/4", "12/8", "7/8"]
SMALL_JOBS = [("ryansMammoth/AcaciaReel.abc", None), ("bach/bwv10.7.mxl", None)]


# -- the bundled cache ------------------------------------------------------------------


def test_bundled_cache_loads_with_many_collections():
    melodies = load_corpus_melodies()
    stats = corpus_stats()
    assert len(melodies) >= 500 and stats["total"] == len(melodies)
    collections = {k: v for k, v in stats.items() if k != "total"}
    assert len(collections) >= 4
    assert max(collections.values()) <= 0.4 * len(melodies)
    assert load_corpus_melodies() is melodies  # loaded once


def test_bundled_melodies_satisfy_invariants(check_melody):
    sources = set()
    for m in load_corpus_melodies():
        check_melody(m)
        assert m.highest - m.lowest <= 24
        assert len(m.notes) >= 12 and 4 <= m.bars <= 48
        assert m.source.startswith("music21:")
        sources.add(m.source)
    assert len(sources) == len(load_corpus_melodies())


def test_missing_or_corrupt_cache_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="missing"):
        load_corpus_melodies(tmp_path / "nope.json.gz")
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not gzip")
    with pytest.raises(UserError, match="corrupt"):
        load_corpus_melodies(bad)


def test_pick_melody_is_deterministic_and_filters_meter():
    a = pick_melody(np.random.default_rng(3), meter_family="compound")
    b = pick_melody(np.random.default_rng(3), meter_family="compound")
    assert a == b and a.meter in mel.METER_FAMILIES["compound"]
    assert pick_melody(np.random.default_rng(0), prefer="bach").collection == "bach"
    with pytest.raises(UserError):
        pick_melody(np.random.default_rng(0), meter_family="quintuple")


# -- the Melody type ---------------------------------------------------------------------


def _toy(pitches=(60, 62, 64, 65, 67, 65, 64, 62, 60), meter="3/4") -> Melody:
    notes = [(i * 1.0 + 2.0, 1.0, p) for i, p in enumerate(pitches)]
    return Melody("procedural", "toy", meter, 0, "major", notes)


def test_melody_properties_and_round_trip():
    m = _toy()
    assert m.bar_beats == 3.0 and m.length_beats == 12.0 and m.bars == 4
    assert (m.lowest, m.highest) == (60, 67)
    assert Melody.from_dict(m.to_dict()) == m
    assert mel._decode(mel._encode(m)) == m
    assert Melody("p", "t", "6/8", 0, "minor", [(0, 1, 60)]).bar_beats == 3.0
    assert Melody("p", "t", "7/8", 0, "minor", [(0, 1, 60)]).bar_beats == 3.5


def test_transposed_and_to_range():
    m = _toy()
    up = m.transposed(14)
    assert up.tonic_pc == 2 and [p for *_, p in up.notes] == [p + 14 for *_, p in m.notes]
    assert [n[:2] for n in up.notes] == [n[:2] for n in m.notes]
    fitted = up.to_range(48, 60)
    assert 48 <= fitted.lowest and fitted.highest <= 60 and fitted.tonic_pc == 2
    assert (fitted.lowest - up.lowest) % 12 == 0
    centred = m.to_range(70, 100)  # room for several octaves: pick the central one
    assert (centred.lowest + centred.highest) / 2 == pytest.approx(87.5, abs=6)
    wide = _toy((40, 60, 70)).to_range(50, 70)  # too wide: the least overflow
    assert wide.lowest >= 38 and wide.highest <= 82
