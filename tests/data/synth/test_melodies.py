"""Melodies: the bundled corpus cache, pickup alignment, transposition, the procedural writer."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from musiclm.data.synth import melodies as mel
from musiclm.data.synth.melodies import (
    Melody,
    corpus_stats,
    load_corpus_melodies,
    pick_melody,
    procedural_melody,
)
from musiclm.data.synth.theory import MODES
from musiclm.errors import UserError

METERS = ["4/4", "3/4", "6/8", "2/4", "12/8", "7/8"]
SMALL_JOBS = [("ryansMammoth/AcaciaReel.abc", None), ("bach/bwv10.7.mxl", None)]


def _check_invariants(m: Melody) -> None:
    onsets = [o for o, _, _ in m.notes]
    assert onsets == sorted(onsets)
    assert onsets[0] >= 0
    for (o, d, _), (o2, _, _) in zip(m.notes, m.notes[1:], strict=False):
        assert d > 0 and o + d <= o2 + 1e-6, "notes overlap"
    assert m.notes[-1][0] + m.notes[-1][1] <= m.length_beats + 1e-6
    assert m.length_beats == pytest.approx(m.bars * m.bar_beats)
    assert m.mode in MODES and 0 <= m.tonic_pc < 12


# -- the bundled cache ------------------------------------------------------------------


def test_bundled_cache_loads_with_many_collections():
    melodies = load_corpus_melodies()
    stats = corpus_stats()
    assert len(melodies) >= 500 and stats["total"] == len(melodies)
    collections = {k: v for k, v in stats.items() if k != "total"}
    assert len(collections) >= 4
    assert max(collections.values()) <= 0.4 * len(melodies)
    assert load_corpus_melodies() is melodies  # loaded once


def test_bundled_melodies_satisfy_invariants():
    sources = set()
    for m in load_corpus_melodies():
        _check_invariants(m)
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


# -- building from music21 ---------------------------------------------------------------


def test_extract_small_corpus_files():
    melodies, dropped = mel._extract_melodies(SMALL_JOBS)
    assert not dropped and [m.source for m in melodies] == [
        "music21:ryansMammoth/AcaciaReel.abc",
        "music21:bach/bwv10.7.mxl",
    ]
    for m in melodies:
        _check_invariants(m)
    assert (melodies[1].tonic_pc, melodies[1].mode, melodies[1].meter) == (7, "minor", "4/4")


def test_build_cache_is_byte_reproducible(tmp_path, monkeypatch):
    monkeypatch.setattr(
        mel, "_corpus_jobs", lambda: [("ryansMammoth", SMALL_JOBS[:1]), ("bach", SMALL_JOBS[1:])]
    )
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    assert mel.build_melody_cache(a, progress=False) == 2
    mel.build_melody_cache(b, progress=False)
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()).startswith(b'{"format":"musiclm.melodies"')
    assert [m.collection for m in load_corpus_melodies(a)] == ["bach", "ryansMammoth"]


def test_pickup_is_shifted_to_the_end_of_a_leading_bar():
    from music21 import converter

    abc = "X:1\nT:Pickup\nM:3/4\nL:1/8\nK:D\nA2|d2 f2 a2|g2 e2 c2|d4 A2|B2 c2 d2|e6|\n"
    m, why = mel._melody_from_score(converter.parse(abc, format="abc"), "test.abc")
    assert m is not None, why
    assert m.notes[0][0] == pytest.approx(2.0)  # the pickup is beat 3 of bar 0
    assert [o for o, _, p in m.notes if p == 74][:1] == [3.0]  # d starts bar 1
    assert m.bars == 6 and m.tonic_pc == 2 and m.mode == "major"
    _check_invariants(m)


def test_measure_starts_keep_bar_lines_on_the_grid():
    # pickup, 2 full bars, a section's short last bar + the pickup completing it, full, short
    assert mel._measure_starts([1, 4, 4, 3, 1, 4, 3], 4.0) == [3, 4, 8, 12, 15, 16, 20]
    # a full bar after a lone short one waits for the next bar line
    assert mel._measure_starts([4, 3, 3, 4], 4.0) == [0, 4, 7, 12]
    assert mel._measure_starts([4, 5], 4.0) is None


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


# -- the procedural writer ---------------------------------------------------------------


@pytest.mark.parametrize("meter", METERS)
@pytest.mark.parametrize("mode", sorted(MODES))
def test_procedural_melody_is_musical_and_deterministic(mode, meter):
    kw = dict(tonic_pc=5, mode=mode, meter=meter, bars=8, low=55, high=76)
    a = procedural_melody(np.random.default_rng(7), **kw)
    assert a == procedural_melody(np.random.default_rng(7), **kw)
    assert a.notes != procedural_melody(np.random.default_rng(8), **kw).notes
    _check_invariants(a)
    assert a.bars == 8 and 55 <= a.lowest and a.highest <= 76
    scale = {(5 + s) % 12 for s in MODES[mode]}
    assert all(p % 12 in scale for *_, p in a.notes)
    onset, dur, last = a.notes[-1]
    assert last % 12 == 5 and onset % a.bar_beats == 0 and dur == a.bar_beats


@pytest.mark.parametrize("bars", [1, 2, 3, 5, 9, 16])
def test_procedural_melody_respects_bar_count(bars):
    m = procedural_melody(
        np.random.default_rng(bars), tonic_pc=9, mode="minor", meter="3/4", bars=bars
    )
    assert m.bars == bars and m.notes[-1][2] % 12 == 9
    _check_invariants(m)


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
