"""Extracting the melody corpus from music21 (two small files; the full run: `make melodies`)."""

from __future__ import annotations

import gzip

import pytest

from musiclm.data.synth import melody_cache as mc
from musiclm.data.synth.melodies import load_corpus_melodies

SMALL_JOBS = [("ryansMammoth/AcaciaReel.abc", None), ("bach/bwv10.7.mxl", None)]


# -- building from music21 ---------------------------------------------------------------


def test_extract_small_corpus_files(check_melody):
    melodies, dropped = mc._extract_melodies(SMALL_JOBS)
    assert not dropped and [m.source for m in melodies] == [
        "music21:ryansMammoth/AcaciaReel.abc",
        "music21:bach/bwv10.7.mxl",
    ]
    for m in melodies:
        check_melody(m)
    assert (melodies[1].tonic_pc, melodies[1].mode, melodies[1].meter) == (7, "minor", "4/4")


def test_build_cache_is_byte_reproducible(tmp_path, monkeypatch):
    monkeypatch.setattr(
        mc, "_corpus_jobs", lambda: [("ryansMammoth", SMALL_JOBS[:1]), ("bach", SMALL_JOBS[1:])]
    )
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    assert mc.build_melody_cache(a, progress=False) == 2
    mc.build_melody_cache(b, progress=False)
    assert a.read_bytes() == b.read_bytes()
    assert gzip.decompress(a.read_bytes()).startswith(b'{"format":"musiclm.melodies"')
    assert [m.collection for m in load_corpus_melodies(a)] == ["bach", "ryansMammoth"]


def test_pickup_is_shifted_to_the_end_of_a_leading_bar(check_melody):
    from music21 import converter

    abc = "X:1\nT:Pickup\nM:3/4\nL:1/8\nK:D\nA2|d2 f2 a2|g2 e2 c2|d4 A2|B2 c2 d2|e6|\n"
    m, why = mc._melody_from_score(converter.parse(abc, format="abc"), "test.abc")
    assert m is not None, why
    assert m.notes[0][0] == pytest.approx(2.0)  # the pickup is beat 3 of bar 0
    assert [o for o, _, p in m.notes if p == 74][:1] == [3.0]  # d starts bar 1
    assert m.bars == 6 and m.tonic_pc == 2 and m.mode == "major"
    check_melody(m)


def test_measure_starts_keep_bar_lines_on_the_grid():
    # pickup, 2 full bars, a section's short last bar + the pickup completing it, full, short
    assert mc._measure_starts([1, 4, 4, 3, 1, 4, 3], 4.0) == [3, 4, 8, 12, 15, 16, 20]
    # a full bar after a lone short one waits for the next bar line
    assert mc._measure_starts([4, 3, 3, 4], 4.0) == [0, 4, 7, 12]
    assert mc._measure_starts([4, 5], 4.0) is None
