"""``musiclm.theory``: one spelling, one mode vocabulary, keys as the 24 key tokens."""

import pytest

from musiclm.data.synth.genres import GENRES
from musiclm.stages.attributes import record_attributes
from musiclm.theory import (
    MAJOR_LIKE,
    MODES,
    N_KEYS,
    PITCH_NAMES,
    is_major,
    key_index,
    key_name,
    parse_key,
    pitch_class,
    pitch_name,
)

ENGINE_MODES = sorted({m for g in GENRES.values() for m in g.modes})


def test_the_engine_composes_only_with_modes_of_the_theory():
    assert set(ENGINE_MODES) <= set(MODES)


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("tonic", range(12))
def test_every_mode_the_engine_writes_round_trips(tonic, mode):
    """A manifest's (key, mode) -> key token -> key name -> the same token: no clip of
    any mode the engine knows gets an unknown key (harmonic minor, blues, hijaz and the
    pentatonic modes did)."""
    _, k = record_attributes(None, pitch_name(tonic), mode)
    assert 0 <= k < N_KEYS and k % 12 == tonic
    assert (k < 12) == (mode in MAJOR_LIKE) == is_major(mode)
    name = key_name(k)
    assert key_index(*name.split()) == k and parse_key(f"a piece in {name}") == k


def test_modes_count_as_the_quality_of_their_third():
    major = {"major", "mixolydian", "lydian", "major pentatonic", "hijaz", "double harmonic"}
    assert {m for m in MODES if is_major(m)} == major
    assert not is_major("in") and not is_major("blues") and not is_major("harmonic minor")
    assert is_major("Ionian") and not is_major("aeolian") and not is_major("locrian")
    with pytest.raises(ValueError, match="unknown mode"):
        key_index("C", "bebop")


def test_one_spelling_and_every_spelling_read():
    assert [pitch_name(i) for i in range(12)] == PITCH_NAMES
    for a, b in (("Db", "C#"), ("D#", "Eb"), ("a#", "Bb"), ("B-", "Bb"), ("E♭", "Eb"),
                 ("F♯", "F#"), ("E#", "F"), ("Cb", "B")):  # fmt: skip
        assert pitch_class(a) == pitch_class(b)
    assert key_name(key_index("D#", "minor")) == "Eb minor"
    with pytest.raises(ValueError):
        pitch_class("H")


@pytest.mark.parametrize(
    "text, key",
    [
        ("calm piano in E minor", "E minor"),
        ("in f# dorian", "F# minor"),
        ("Bb major ballad", "Bb major"),
        ("in C sharp minor", "C# minor"),
        ("a minor piece", None),  # "a" is an article there
        ("in A harmonic minor", None),  # engine-only colours are not read from prompts (yet)
        ("no key at all", None),
    ],
)
def test_prompts_state_keys(text, key):
    k = parse_key(text)
    assert (None if k is None else key_name(k)) == key
