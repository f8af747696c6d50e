import re

import numpy as np
import pytest

from musiclm.data.synth.captions import (
    NO_DRUMS_PHRASES,
    TEMPO_BANDS,
    CaptionInput,
    CaptionPart,
    tempo_word,
    write_captions,
)
from musiclm.data.synth.vocabulary import INSTRUMENT_WORDS

# ------------------------------------------------------------------------ random inputs

NAMES_BY_ROLE = {
    "melody": (
        "violin",
        "flute",
        "piano",
        "square lead",
        "synth lead",
        "trumpet",
        "saxophone",
        "sitar",
        "koto",
        "whistle",
        "humming",
        "steel drums",
        "distorted guitar",
        "nylon guitar",
    ),
    "counter": ("cello", "viola", "clarinet", "electric guitar", "shamisen"),
    "harmony": (
        "piano",
        "electric piano",
        "organ",
        "nylon guitar",
        "clean guitar",
        "acoustic guitar",
        "harp",
        "strings",
        "brass",
        "overdriven guitar",
    ),
    "pad": ("synth pad", "strings", "choir", "organ"),
    "bass": ("bass", "808-style bass", "synth bass", "slap bass", "acoustic bass", "cello"),
    "drums": ("TR-808 drum kit", "standard drum kit", "brush drum kit", "electronic drum kit"),
    "percussion": ("congas", "shaker", "tabla-style percussion", "bongos", "tambourine"),
}
DRUM_FEATURES = (
    "strong kick",
    "four-on-the-floor kick",
    "open hi-hats",
    "claps",
    "double kick",
    "brushed snare",
    "rimshots",
)
GUITAR_FEATURES = ("offbeat skanks", "power chords", "arpeggios")
BASS_FEATURES = ("walking bass", "sustained", "slap")
DESCRIPTORS = ("driving", "syncopated", "vinyl crackle", "warm", "sidechain pumping")
MOODS = ("energetic", "dark", "calm", "sad", "happy", "dreamy", "aggressive", "uplifting")
GENRES = (
    ("techno", "techno"),
    ("drum_and_bass", "drum and bass"),
    ("rock", "rock"),
    ("jazz", "jazz"),
    ("blues", "blues"),
    ("classical", "classical"),
    ("cinematic", "orchestral cinematic"),
    ("hip_hop", "hip hop"),
    ("ambient", "ambient"),
)
DRUM_COMPONENTS = (
    "kick",
    "snare",
    "hi-hat",
    "hi-hats",
    "clap",
    "claps",
    "rimshot",
    "rimshots",
    "cymbal",
    "cymbals",
    "toms",
    "crash",
    "ride",
    "cowbell",
)
INVENTED = ("male", "female", "singer", "singing", "lyrics", "vinyl", "crackle", "reverb")


def pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def random_input(rng: np.random.Generator) -> CaptionInput:
    roles = [r for r in NAMES_BY_ROLE if rng.random() < 0.5] or ["melody"]
    parts = []
    for role in roles:
        name = pick(rng, NAMES_BY_ROLE[role])
        drum = role in ("drums", "percussion")
        feats: tuple[str, ...] = ()
        if role == "drums":
            feats = tuple(f for f in DRUM_FEATURES if rng.random() < 0.3)
        elif role == "harmony" and "guitar" in name and rng.random() < 0.5:
            feats = (pick(rng, GUITAR_FEATURES),)
        elif role == "bass" and name != "cello" and rng.random() < 0.4:
            feats = (pick(rng, BASS_FEATURES),)
        parts.append(CaptionPart(name, role, drum, feats))
    pitched = [p for p in parts if not p.drum]
    genre, genre_name = pick(rng, GENRES)
    return CaptionInput(
        genre=genre,
        genre_name=genre_name,
        tempo=float(rng.uniform(50, 180)),
        meter=pick(rng, ("4/4", "4/4", "3/4", "6/8", "5/4")),
        key=pick(rng, ("C", "F#", "Bb", "A", "E")),
        mode=pick(rng, ("major", "minor", "dorian", "hijaz", "minor pentatonic")),
        moods=tuple(m for m in MOODS if rng.random() < 0.25),
        parts=tuple(parts),
        only_timbre=pick(rng, (None, None, None, "humming", "whistling")) if pitched else None,
        sections=pick(rng, ((), ("intro", "verse", "chorus", "outro"), ("intro", "outro"))),
        ending=pick(rng, ("final chord", "ring-out", "fade-out", "")),
        swing=bool(rng.random() < 0.2),
        descriptors=tuple(d for d in DESCRIPTORS if rng.random() < 0.2),
        era=pick(rng, (None, None, "90s", "80s")),
        uses=pick(rng, ((), ("a workout playlist",), ("a video game soundtrack",))),
        solo=len(pitched) == 1 and len(parts) == 1,
    )


def present_names(inp: CaptionInput) -> set[str]:
    timbre = {"humming": "humming", "whistling": "whistle"}
    names = set()
    for p in inp.parts:
        drum = p.drum or p.role in ("drums", "percussion")
        names.add(timbre[inp.only_timbre] if inp.only_timbre and not drum else p.name)
    return names


ALL_WORDS = sorted({w for ws in INSTRUMENT_WORDS.values() for w in ws}, key=len, reverse=True)
# Longest phrase first, so "electric piano" is one mention, not also "piano".
MENTION = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ALL_WORDS)) + r")(?![\w-])")


def mentions(text: str, genre_name: str) -> list[str]:
    t = text.lower()
    for phrase in (genre_name.lower(), *NO_DRUMS_PHRASES):  # these name no instrument
        t = t.replace(phrase, " | ")
    return MENTION.findall(t)


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9#/'-]+", text.lower()))


def jaccard(a: str, b: str) -> float:
    wa, wb = words(a), words(b)
    return len(wa & wb) / len(wa | wb)


INPUTS = [random_input(np.random.default_rng(1000 + i)) for i in range(300)]


# ------------------------------------------------------------------------------- tests


def test_tempo_words():
    assert [tempo_word(b) for b in (60, 70, 90, 118, 128, 174)] == [
        "slow",
        "slow",
        "medium",
        "upbeat",
        "fast",
        "fast",
    ]
    uppers = [u for u, _ in TEMPO_BANDS]
    assert uppers == sorted(uppers)


def test_deterministic_by_seed():
    inp = INPUTS[0]
    a = write_captions(inp, np.random.default_rng(7))
    b = write_captions(inp, np.random.default_rng(7))
    assert a == b
    others = {tuple(write_captions(inp, np.random.default_rng(s))[0]) for s in range(8)}
    assert len(others) > 1


def test_n_must_be_at_least_three():
    with pytest.raises(ValueError):
        write_captions(INPUTS[0], np.random.default_rng(0), n=2)


@pytest.mark.parametrize("n", [3, 4, 6])
def test_paraphrases_differ_and_are_well_formed(n):
    for i, inp in enumerate(INPUTS[:120]):
        caps, aspects = write_captions(inp, np.random.default_rng(i), n=n)
        assert len(caps) == n
        for j, a in enumerate(caps):
            assert a.isascii() and re.fullmatch(r"[A-Z][^\n]*\.", a), a
            assert ".." not in a and "  " not in a and " ," not in a, a
            for b in caps[j + 1 :]:
                assert jaccard(a, b) < 0.8, (a, b)
        for a in caps[:-1]:
            assert 2 <= a.count(". ") + 1 <= 6, a
        short = caps[-1]
        assert len(short.split()) <= 15 and short.count(".") == 1, short
        assert aspects == list(dict.fromkeys(aspects)) and all(t == t.lower() for t in aspects)


def test_never_names_an_absent_instrument_or_feature():
    for i, inp in enumerate(INPUTS):
        caps, aspects = write_captions(inp, np.random.default_rng(i))
        names = present_names(inp)
        if any("slap" in p.features for p in inp.parts):  # a slapped bass is a slap bass
            names.add("slap bass")
        allowed = {w for name in names for w in INSTRUMENT_WORDS[name]}
        features = " ".join(f for p in inp.parts for f in p.features)
        for text in [*caps, *aspects]:
            for m in mentions(text, inp.genre_name):
                assert m in allowed, (m, text, inp.parts)
            tokens = words(text)
            for comp in DRUM_COMPONENTS:
                assert comp not in tokens or comp in features, (comp, text)
            for d in DESCRIPTORS[1:]:  # "driving" is also a verb ("drums driving the rhythm")
                assert d in inp.descriptors or d not in text.lower(), (d, text)
            for w in INVENTED:
                if not any(w in d for d in inp.descriptors):
                    assert w not in tokens, (w, text)


def test_mention_scanner_is_meaningful():
    # The check above must catch a wrong instrument and not be fooled by substrings.
    assert mentions("An electric piano plays chords.", "jazz") == ["electric piano"]
    assert mentions("A booming 808 bass and 808s.", "trap") == ["booming 808 bass", "808s"]
    assert mentions("Fast drum and bass with no drums.", "drum and bass") == []
    assert mentions("The upbeat tempo.", "pop") == []
    assert "piano" not in INSTRUMENT_WORDS["electric piano"]
    assert (
        "bass" not in INSTRUMENT_WORDS["cello"] and "808s" not in INSTRUMENT_WORDS["808-style bass"]
    )


def test_facts_appear_somewhere():
    for i, inp in enumerate(INPUTS):
        caps, aspects = write_captions(inp, np.random.default_rng(i))
        text = " ".join(caps)
        bpm = str(round(inp.tempo))
        assert re.search(rf"\b{bpm} bpm\b", text, re.I), text
        assert f"{inp.key} {inp.mode}" in text, text
        for long in caps[:-1]:
            assert tempo_word(inp.tempo) in long and inp.genre_name in long.lower(), long
        for mood in inp.moods:
            assert mood in text
        if inp.meter != "4/4":
            assert inp.meter in text
        if inp.meter == "3/4":
            assert "waltz" in text
        if inp.swing:
            assert re.search(r"swung|swing|shuffle", text), text
        if inp.era:
            assert inp.era in text
        if inp.uses:
            assert inp.uses[0] in text
        if not any(p.drum or p.role in ("drums", "percussion") for p in inp.parts):
            assert "no drums" in text or "without drums" in text or "no drum kit" in text
            assert "no drums" in aspects or "no drum kit" in aspects
        if inp.solo:
            assert "solo" in text and "solo" in aspects
        assert inp.genre_name in aspects and f"{tempo_word(inp.tempo)} tempo" in aspects


def _all(inp: CaptionInput, seeds=range(20)) -> list[tuple[str, list[str], list[str]]]:
    out = []
    for s in seeds:
        caps, aspects = write_captions(inp, np.random.default_rng(s))
        out.append((" ".join(caps), caps, aspects))
    return out


def test_seed_prompt_violin_with_808s():
    inp = CaptionInput(
        "trap",
        "trap",
        140.0,
        "4/4",
        "F",
        "minor",
        ("dark",),
        (
            CaptionPart("violin", "melody"),
            CaptionPart("808-style bass", "bass"),
            CaptionPart("TR-808 drum kit", "drums", True, ("claps",)),
        ),
    )
    for text, _caps, aspects in _all(inp):
        assert "808s" in text and "808 bass" in text and "violin" in text
        assert "808 drums" in aspects and "violin melody" in aspects


def test_seed_prompt_rock_humming():
    inp = CaptionInput(
        "rock",
        "rock",
        120.0,
        "4/4",
        "E",
        "minor",
        ("energetic",),
        (
            CaptionPart("humming", "melody"),
            CaptionPart("humming", "harmony"),
            CaptionPart("humming", "bass"),
            CaptionPart("standard drum kit", "drums", True),
        ),
        only_timbre="humming",
    )
    for text, caps, aspects in _all(inp):
        assert "only uses humming" in text and "humming" in aspects
        assert "A rock" in caps[-1] and "only uses humming" in caps[-1]


def test_seed_prompt_90s_techno_whistling_strong_kick():
    inp = CaptionInput(
        "techno",
        "techno",
        132.0,
        "4/4",
        "A",
        "minor",
        ("hypnotic",),
        (
            CaptionPart("whistle", "melody"),
            CaptionPart(
                "TR-808 drum kit", "drums", True, ("strong kick", "four-on-the-floor kick")
            ),
        ),
        only_timbre="whistling",
        era="90s",
    )
    for text, _caps, aspects in _all(inp):
        assert "only using whistling" in text and "strong kick" in text and "90s techno" in text
        assert "four on the floor" in text
        assert "whistling" in aspects and "strong kick" in aspects


def test_seed_prompt_solo_piano_and_string_quartet():
    piano = CaptionInput(
        "classical",
        "classical",
        70.0,
        "4/4",
        "C",
        "major",
        ("calm",),
        (CaptionPart("piano", "melody"), CaptionPart("piano", "harmony")),
        solo=True,
    )
    for text, _caps, aspects in _all(piano):
        assert "solo piano" in text and "C major" in text and "slow" in text
        assert "70 bpm" in text.lower()
        assert "no drums" in aspects
    quartet = CaptionInput(
        "baroque",
        "baroque",
        112.0,
        "4/4",
        "D",
        "major",
        ("lively",),
        (
            CaptionPart("violin", "melody"),
            CaptionPart("violin", "counter"),
            CaptionPart("viola", "harmony"),
            CaptionPart("cello", "bass"),
        ),
    )
    for text, _caps, aspects in _all(quartet):
        assert "string quartet" in text and "string quartet" in aspects and "D major" in text


def test_no_drums_is_said():
    inp = CaptionInput(
        "ambient",
        "ambient",
        60.0,
        "4/4",
        "A",
        "minor",
        ("calm",),
        (CaptionPart("synth pad", "pad"),),
    )
    for text, _caps, aspects in _all(inp):
        assert "no drums" in text or "without drums" in text
        assert "no drums" in aspects and "instrumental" in aspects


def test_catalog_covers_the_engine_names():
    for role_names in NAMES_BY_ROLE.values():
        for name in role_names:
            assert name in INSTRUMENT_WORDS and INSTRUMENT_WORDS[name]
