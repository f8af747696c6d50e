"""Form plans: the engine's planner at a prompt's genre, --form parsing, repeats."""

import pytest

from musiclm.conditions import Section
from musiclm.errors import UserError
from musiclm.form import (
    FORM_TOLERANCE,
    check_form,
    engine_sections,
    form_dicts,
    genre_in,
    parse_form,
    plan_form,
    repeats,
)
from musiclm.theory import SECTIONS


@pytest.mark.parametrize(
    "text, genre",
    [
        ("whistling over a techno beat", "techno"),
        ("a lo-fi hip hop beat", "lofi"),
        ("lofi hip hop to study to", "lofi"),
        ("a hip hop beat", "hip_hop"),
        ("Celtic folk with a fiddle", "celtic"),
        ("a folk song, then something Celtic", "folk"),
        ("heavy metal riffs", "metal"),
        ("fast drum and bass", "drum_and_bass"),
        ("a cinematic string swell", "orchestral"),
        ("calm solo piano", None),
        ("a housewarming tune", None),  # words, not substrings
    ],
)
def test_genre_in_reads_the_genre_a_prompt_names(text, genre):
    assert genre_in(text) == genre


def _covers(sections, seconds):
    assert sections[0].start == 0 and sections[-1].end == pytest.approx(seconds)
    for a, b in zip(sections, sections[1:]):
        assert b.start == pytest.approx(a.end) and a.end > a.start
    assert all(s.name in SECTIONS for s in sections)


@pytest.mark.parametrize("text", ["an upbeat pop song", "a techno track", "calm piano", "jazz"])
@pytest.mark.parametrize("seconds", [10.0, 60.0, 300.0])
def test_a_plan_covers_the_piece_and_ends_with_its_tail(text, seconds):
    plan = plan_form(text, seconds, seed=3)
    _covers(plan.sections, seconds)
    if plan.ending != "fade-out":
        tail = plan.sections[-1]
        assert tail.name == "tail" and 2.0 <= tail.end - tail.start <= 4.0 + 60 / plan.tempo * 4
    beat = 60.0 / plan.tempo
    for s in plan.sections[1:]:  # every section starts on a beat of the plan's tempo
        assert s.start / beat == pytest.approx(round(s.start / beat), abs=1e-6)


def test_long_plans_have_a_song_form_and_short_ones_do_not():
    long = plan_form("an upbeat pop song", 300.0, seed=1).sections
    names = [s.name for s in long]
    assert names[0] == "intro" and "outro" in names and names.count("chorus") >= 3
    assert "bridge" in names
    short = [s.name for s in plan_form("an upbeat pop song", 10.0, seed=1).sections]
    assert "chorus" not in short
    electronic = [s.name for s in plan_form("a techno track", 120.0, seed=1).sections]
    assert "drop" in electronic and "chorus" not in electronic


def test_plans_are_seeded_and_take_a_stated_tempo():
    a = plan_form("a rock song", 120.0, seed=5)
    assert a == plan_form("a rock song", 120.0, seed=5)
    assert len({plan_form("a rock song", 120.0, seed=s).tempo for s in range(8)}) > 1
    slow = plan_form("a rock song", 120.0, tempo=70.0, seed=5)
    assert slow.tempo == 70.0 and slow.meter == a.meter and slow.ending == a.ending
    assert slow.sections != a.sections


def test_a_plan_is_the_engine_songs_section_list():
    """The plan for a genre, tempo, meter and ending is the section list the corpus
    engine writes for a song with those facts (its 'ending' is our 'tail')."""
    from musiclm.data.synth.composer import ELECTRONIC_GROOVES, ComposeOptions, compose

    for index in range(3):
        song = compose(7, index, ComposeOptions(seconds=90.0, genres=("pop", "techno")))
        bs = song.beat_seconds
        engine = [(n, s * bs, min(e * bs, 90.0)) for n, s, e in song.sections]
        engine = [("tail" if n == "ending" else n, s, e) for n, s, e in engine if e - s > 0.02]
        ours = engine_sections(90.0, song.tempo, song.meter, song.ending,
                               song.genre.groove in ELECTRONIC_GROOVES)  # fmt: skip
        assert [(s.name, round(s.start, 6), round(s.end, 6)) for s in ours] == [
            (n, round(s, 6), round(e, 6)) for n, s, e in engine
        ]


def test_parse_form_reads_sections_and_seconds():
    form = parse_form("intro 8, verse 16, chorus 16s, ending 4", 44.0)
    assert [s.name for s in form] == ["intro", "verse", "chorus", "tail"]
    assert [(s.start, s.end) for s in form] == [(0, 8), (8, 24), (24, 40), (40, 44)]
    snapped = parse_form("Intro 8, verse 31.8", 40.0)
    assert snapped[-1].end == 40.0 and snapped[0].name == "intro"
    assert form_dicts(form)[1] == {"name": "verse", "start": 8.0, "end": 24.0}
    assert form_dicts(None) is None


@pytest.mark.parametrize(
    "spec, needle",
    [
        ("", "empty"),
        ("intro 8, verse", "part 2 'verse'"),
        ("intro 8, solo 16, chorus 16", "part 2 'solo 16': unknown section"),
        ("intro x, verse 30", "part 1 'intro x': the seconds"),
        ("intro -2, verse 42", "part 1"),
        ("intro 0, verse 40", "part 1"),
        ("intro nan, verse 40", "part 1"),
        ("intro 8, verse 16", "adds up to 24 s but the piece is 40 s"),
        ("intro 8, verse 40", "adds up to 48 s"),
    ],
)
def test_bad_forms_say_which_part_is_wrong(spec, needle):
    with pytest.raises(UserError) as e:
        parse_form(spec, 40.0)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


def test_the_tolerance_is_small():
    parse_form("verse 40.4", 40.0)
    with pytest.raises(UserError):
        parse_form(f"verse {40 + FORM_TOLERANCE + 0.1}", 40.0)


def test_check_form_takes_sections_that_tile_the_piece():
    good = (Section("intro", 0, 5), Section("verse", 5, 19.8))
    assert check_form(good, 20.0)[-1].end == 20.0
    for bad in [
        (),
        (Section("intro", 0, 5), Section("verse", 6, 20)),  # a gap
        (Section("intro", 0, 5), Section("solo", 5, 20)),  # an unknown name
        (Section("intro", 0, 5),),  # ends early
        ("intro", 0, 20),  # not Sections
    ]:
        with pytest.raises(UserError):
            check_form(bad, 20.0)


def test_repeats_pair_every_restatement_with_the_first_one():
    form = parse_form("intro 4, verse 8, chorus 8, verse 8, chorus 8, chorus 8, tail 4, tail 2", 50)
    pairs = [(a.start, b.start) for a, b in repeats(form)]
    assert pairs == [(4, 20), (12, 28), (12, 36)]  # verse 2, chorus 2 and 3; never the tail
    assert repeats(None) == []
