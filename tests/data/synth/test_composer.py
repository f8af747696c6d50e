"""Composition without rendering: structure, determinism, arrangements, every genre."""

import pytest

from musiclm.data.synth.composer import ComposeOptions, compose, map_mode
from musiclm.data.synth.genres import GENRES
from musiclm.data.synth.instruments import INSTRUMENTS


def _notes(song):
    return [
        (p.name, p.role, [(n.start, n.dur, n.pitch, n.velocity) for n in p.notes])
        for p in song.parts
    ]


@pytest.mark.parametrize("genre", sorted(GENRES))
def test_every_genre_composes_a_sounding_piece(genre):
    for index in range(3):
        song = compose(11, index, ComposeOptions(seconds=12.0, genres=(genre,)))
        assert song.genre.id == genre
        assert song.parts, "no audible parts"
        roles = {p.role for p in song.parts}
        assert "melody" in roles
        end_beat = song.seconds * song.tempo / 60
        for p in song.parts:
            assert p.name in INSTRUMENTS
            assert len(p.notes) >= 2
            for n in p.notes:
                assert 0 <= n.start < end_beat + 1e-6
                assert 0 <= n.pitch <= 127 and 1 <= n.velocity <= 127
        assert song.sections[-1][0] == "ending"
        assert GENRES[genre].tempo[0] <= song.tempo <= GENRES[genre].tempo[1]


def test_same_seed_and_index_give_the_same_song_and_others_differ():
    a = compose(3, 7, ComposeOptions(seconds=20))
    b = compose(3, 7, ComposeOptions(seconds=20))
    assert _notes(a) == _notes(b)
    assert _notes(compose(3, 8, ComposeOptions(seconds=20))) != _notes(a)
    assert _notes(compose(4, 7, ComposeOptions(seconds=20))) != _notes(a)


@pytest.mark.parametrize(
    "arrangement,timbre", [("only humming", "humming"), ("only whistling", "whistle")]
)
def test_only_timbre_arrangements_put_every_pitched_part_on_it(arrangement, timbre):
    for index in range(6):
        song = compose(1, index, ComposeOptions(seconds=10, arrangement=arrangement))
        pitched = [p for p in song.parts if not p.spec.drum]
        assert pitched and all(p.name == timbre for p in pitched)


def test_long_songs_have_form_and_short_clips_still_end():
    song = compose(5, 0, ComposeOptions(seconds=300, genres=("pop",)))
    names = [s[0] for s in song.sections]
    assert names[0] == "intro" and "chorus" in names and "outro" in names and names[-1] == "ending"
    assert names.count("chorus") >= 3
    short = compose(5, 1, ComposeOptions(seconds=5, genres=("classical",)))
    assert short.sections[-1][0] == "ending"
    body_end = short.sections[-1][1]
    assert body_end * 60 / short.tempo < 5.0


def test_lead_option_sets_the_melody_instrument():
    song = compose(2, 0, ComposeOptions(seconds=10, genres=("trap",), lead="violin"))
    assert [p.name for p in song.parts if p.role == "melody"] == ["violin"]
    assert any(p.name == "TR-808 drum kit" for p in song.parts)


def test_map_mode_moves_degrees_and_snaps_to_pentatonic():
    # C major scale degree 3 (E) becomes Eb in C minor; F# (chromatic) keeps its offset
    assert map_mode(64, 0, "major", "minor") == 63
    assert map_mode(66, 0, "major", "minor") == 66
    # every note lands in the target pentatonic scale
    for p in range(60, 72):
        assert map_mode(p, 0, "major", "minor pentatonic") % 12 in {0, 3, 5, 7, 10}
