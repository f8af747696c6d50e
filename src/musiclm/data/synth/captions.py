"""MusicCaps-style captions for composed clips: several prose paraphrases plus an aspect list.

The composer knows exactly what a clip contains, so a caption only says what is audible:
every instrument word comes from `INSTRUMENT_WORDS` for a part that is present, and drum
details (kick, snare, hi-hats...) only from that part's `features`. The long paraphrases
imitate MusicCaps ("This is a ... The ... plays the melody while ..."); one short paraphrase
per clip imitates the prompts users type ("A violin melody backed with 808s"), so the text
side learns both registers. All randomness comes from the caller's numpy Generator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from musiclm.data.synth.vocabulary import (
    CATALOG,
    MULTI_FAMILIES,
    TIMBRE_ADJ,
    TIMBRE_PART,
    noun_kind,
    plural,
)


@dataclass(frozen=True)
class CaptionPart:
    name: str  # instrument name, a key of INSTRUMENT_WORDS (others fall back to the name)
    role: str  # "melody" | "counter" | "harmony" | "pad" | "bass" | "drums" | "percussion"
    drum: bool = False
    features: tuple[str, ...] = ()  # audible traits: "strong kick", "power chords", "slap"...


@dataclass(frozen=True)
class CaptionInput:
    genre: str  # genre id, e.g. "drum_and_bass"
    genre_name: str  # display name, e.g. "drum and bass"
    tempo: float  # bpm
    meter: str  # "4/4", "3/4", "6/8", ...
    key: str  # tonic name, e.g. "F#"
    mode: str  # "major", "minor", "dorian", "hijaz", ...
    moods: tuple[str, ...]  # adjectives, e.g. ("energetic", "dark")
    parts: tuple[CaptionPart, ...]  # only the parts audible in the clip
    only_timbre: str | None = None  # "humming" | "whistling": every pitched part uses it
    sections: tuple[str, ...] = ()  # section names in order
    seconds: float = 10.0
    ending: str = "final chord"  # "final chord" | "ring-out" | "fade-out"; "" = not audible
    swing: bool = False
    descriptors: tuple[str, ...] = ()  # genre sound words that are really in the audio
    era: str | None = None  # "90s", "80s", ...
    uses: tuple[str, ...] = ()  # "a workout playlist", ...
    solo: bool = False  # a single pitched instrument


# Upper bpm bound (exclusive) of each caption tempo word.
TEMPO_BANDS: tuple[tuple[float, str], ...] = (
    (80.0, "slow"),
    (105.0, "medium"),
    (128.0, "upbeat"),
    (float("inf"), "fast"),
)

# Phrases that say drums are absent; they contain "drum" words but name nothing.
NO_DRUMS_PHRASES: tuple[str, ...] = ("no drums", "without drums", "no drum kit")


def tempo_word(bpm: float) -> str:
    """The caption word for a tempo: "slow", "medium", "upbeat" or "fast"."""
    for upper, word in TEMPO_BANDS:
        if bpm < upper:
            return word
    return TEMPO_BANDS[-1][1]


# ----------------------------------------------------------------------------- grammar


def _a(phrase: str) -> str:
    """ "a" or "an" for a phrase, by sound ("an 808", "a euphoric", "an upbeat")."""
    w = phrase.lower()
    if w[:1] == "8" or w[:2] in ("11", "18") or w.startswith(("r&b", "hour", "honest")):
        return "an"
    if w.startswith(("eu", "uni", "use", "one", "uk")):
        return "a"
    return "an" if w[:1] in "aeiou" else "a"


def _with_a(phrase: str) -> str:
    return phrase if noun_kind(phrase) != "c" else f"{_a(phrase)} {phrase}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _s(verb: str) -> str:
    head, _, rest = verb.partition(" ")
    if head.endswith("y") and head[-2:-1] not in "aeiou":
        head = head[:-1] + "ies"
    elif head.endswith(("s", "sh", "ch", "x")):
        head += "es"
    else:
        head += "s"
    return f"{head} {rest}".strip()


def _ing(verb: str) -> str:
    head, _, rest = verb.partition(" ")
    head = head[:-1] + "ing" if head.endswith("e") and not head.endswith("ee") else head + "ing"
    return f"{head} {rest}".strip()


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(text: str) -> str:
    text = re.sub(r"\s+", " ", text).strip().rstrip(".")
    return _cap(text) + "."


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


# ------------------------------------------------------------------------------ groups

_ROLE_ORDER = ("melody", "counter", "harmony", "pad", "bass", "drums", "percussion")
_ROLE_VP: dict[str, tuple[tuple[str, str], ...]] = {
    "melody": (("play", "the melody"), ("carry", "the main melody"), ("take", "the lead")),
    "counter": (("play", "a countermelody"), ("answer", "with a countermelody")),
    "harmony": (("play", "the chords"), ("provide", "the harmony"), ("fill", "in the chords")),
    "pad": (("hold", "long sustained chords"), ("lay", "down a bed of held chords")),
    "bass": (("play", "the bass line"), ("hold", "down the low end")),
    "lowpart": (("hold", "down the low end"), ("play", "the lowest part")),
    "drums": (("keep", "the beat"), ("drive", "the rhythm"), ("lay", "down the groove")),
    "percussion": (("add", "rhythmic accents"), ("fill", "out the rhythm")),
}
_ROLE_OBJ = {
    "melody": "the melody",
    "counter": "a countermelody",
    "harmony": "the chords",
    "pad": "sustained chords",
    "bass": "the bass line",
    "lowpart": "the low part",
    "drums": "the beat",
    "percussion": "rhythmic accents",
}
_ROLE_NP = {"melody": "melody", "counter": "countermelody", "harmony": "chords"}
# Pitched-part features that replace what a role plays: feature -> (role, objects).
_FEATURE_OBJ: dict[str, tuple[str, tuple[str, ...]]] = {
    "offbeat skanks": ("harmony", ("offbeat skanks", "choppy offbeat skanks")),
    "power chords": ("harmony", ("power chords", "chugging power chords")),
    "arpeggios": ("harmony", ("arpeggios", "arpeggiated chords")),
    "walking bass": ("bass", ("a walking bass line",)),
    "sustained": ("bass", ("long sustained bass notes",)),
    "slap": ("bass", ("a slapped bass line",)),
}
_FEATURE_TAG = {"slap": "slap bass", "sustained": "sustained bass"}


@dataclass
class _Group:
    """All audible parts sharing one (effective) instrument name."""

    name: str
    families: tuple[str, ...]
    nouns: tuple[str, ...]
    roles: list[str]
    features: list[str]
    count: int
    drum: bool


def _groups(inp: CaptionInput) -> list[_Group]:
    by_name: dict[str, _Group] = {}
    for part in inp.parts:
        drum = part.drum or part.role in ("drums", "percussion")
        name = part.name
        if inp.only_timbre and not drum:
            name = TIMBRE_PART.get(inp.only_timbre, inp.only_timbre)
        if name in CATALOG:
            fams, nouns = CATALOG[name]
        else:  # unknown names are described by their own name only
            fams = (("kit",) if part.role == "drums" else ("perc",)) if drum else ()
            nouns = (name,)
        g = by_name.setdefault(name, _Group(name, fams, nouns, [], [], 0, drum))
        g.count += 1
        role = "lowpart" if part.role == "bass" and "bass" not in fams else part.role
        if role not in g.roles:
            g.roles.append(role)
        g.features += [f for f in part.features if f not in g.features]
    groups = list(by_name.values())
    for g in groups:
        g.roles.sort(key=lambda r: _ROLE_ORDER.index(r) if r in _ROLE_ORDER else 4)
    return sorted(groups, key=lambda g: _rank(g.roles[0]))


def _rank(role: str) -> int:
    return _ROLE_ORDER.index("bass") if role == "lowpart" else _ROLE_ORDER.index(role)


def _feature_text(f: str) -> str:
    return f.replace("four-on-the-floor", "four on the floor")


def _noun(g: _Group, rng: np.random.Generator, canonical: bool) -> str:
    noun = g.nouns[0] if canonical else _pick(rng, g.nouns)
    if g.count > 1 and noun_kind(noun) == "c" and any(f in MULTI_FAMILIES for f in g.families):
        noun = plural(noun)
        if rng.random() < 0.5 and g.count <= 4:
            noun = f"{('two', 'three', 'four')[g.count - 2]} {noun}"
    return noun


def _vp(g: _Group, noun: str, rng: np.random.Generator, participle: bool = False) -> str:
    """What the group does, as a verb phrase agreeing with `noun`."""
    objs: dict[str, str] = {}
    for f in g.features:
        if f in _FEATURE_OBJ and _FEATURE_OBJ[f][0] in g.roles:
            obj = _pick(rng, _FEATURE_OBJ[f][1])
            objs[_FEATURE_OBJ[f][0]] = obj if "bass" in g.families else obj.replace("bass ", "")
    if len(g.roles) == 1 and g.roles[0] not in objs:
        options = _ROLE_VP.get(g.roles[0], (("play", "along"),))
        if "lead" in noun:  # not "the square lead takes the lead"
            options = tuple(o for o in options if "lead" not in o[1])
        verb, obj = _pick(rng, options)
    else:
        verb = "play"
        roles = [r for r in g.roles if not (r == "pad" and "harmony" in g.roles)]
        obj = _join([objs.get(r, _ROLE_OBJ.get(r, "along")) for r in roles])
    if g.drum:
        kit_feats = [_with_a(_feature_text(f)) for f in g.features]
        if kit_feats:
            obj += " with " + _join(kit_feats)
    elif extra := [f for f in g.features if f not in _FEATURE_OBJ]:
        obj += ", featuring " + _join(extra)
    if participle:
        return f"{_ing(verb)} {obj}"
    return f"{verb if noun_kind(noun) == 'p' else _s(verb)} {obj}"


def _np(g: _Group, rng: np.random.Generator, canonical: bool = False) -> str:
    """A noun phrase naming the group with what it plays: "a violin melody", "808 drums"."""
    noun = _noun(g, rng, canonical)
    role = g.roles[0]
    has_feat_obj = any(f in _FEATURE_OBJ for f in g.features)
    if g.drum:
        feats = [_with_a(_feature_text(f)) for f in g.features]
        return _with_a(noun) + (" with " + _join(feats) if feats else "")
    if len(g.roles) > 1 or has_feat_obj or g.features:
        return f"{_with_a(noun)} {_vp(g, noun, rng, participle=True)}"
    if g.name in TIMBRE_ADJ:
        adj = TIMBRE_ADJ[g.name]
        tail = {"pad": "sustained chords", "bass": "low part", "lowpart": "low part"}
        return _with_a(f"{adj} {tail.get(role, _ROLE_NP.get(role, 'line'))}")
    if role in _ROLE_NP:
        phrase = f"{noun} {_ROLE_NP[role]}"
        return phrase if noun_kind(noun) != "c" and role == "harmony" else _with_a(phrase)
    if role == "pad":
        return _with_a(noun if "pad" in noun else f"sustained {noun}")
    if role == "lowpart":
        return f"{_with_a(noun)} in the low register"
    return _with_a(noun)


# ---------------------------------------------------------------------- sentence parts


def _genre_noun(inp: CaptionInput, rng: np.random.Generator) -> str:
    g = f"{inp.genre} {inp.genre_name}".lower()
    if inp.solo or any(w in g for w in ("classical", "baroque", "orchestral", "cinematic")):
        return _pick(rng, ("piece", "composition"))
    if "ambient" in g:
        return _pick(rng, ("piece", "track"))
    electronic = ("techno", "house", "trap", "hip", "edm", "drum", "lo-fi", "chip", "step")
    if any(w in g for w in electronic):
        return _pick(rng, ("track", "tune"))
    return _pick(rng, ("song", "tune", "track"))


def _key(inp: CaptionInput) -> str:
    return f"{_cap(inp.key)} {inp.mode}"


def _meter_clause(inp: CaptionInput, rng: np.random.Generator) -> str:
    if inp.meter == "3/4":
        return _pick(rng, ("in 3/4 time with a waltz feel", "with a waltz feel in 3/4 time"))
    if inp.meter == "6/8":
        return _pick(rng, ("in 6/8 time", "with a lilting 6/8 feel"))
    return f"in {inp.meter} time"


def _swing_clause(inp: CaptionInput, rng: np.random.Generator) -> str:
    if "blues" in inp.genre_name.lower():
        return _pick(rng, ("with a shuffle feel", "with a swung shuffle rhythm"))
    return _pick(rng, ("with a swung rhythm", "with a shuffle feel", "with a swing feel"))


def _tempo_sentence(inp: CaptionInput, say: dict[str, bool], rng: np.random.Generator) -> str:
    band, bpm = tempo_word(inp.tempo), f"{round(inp.tempo)} {_pick(rng, ('bpm', 'BPM'))}"
    extra = []
    if say["meter"]:
        extra.append(_meter_clause(inp, rng))
    if say["swing"]:
        extra.append(_swing_clause(inp, rng))
    tail = ""
    for clause in extra:  # "in 3/4 time with a waltz feel and a swing feel"
        both_with = clause.startswith("with ") and "with " in tail
        tail += " and " + clause.removeprefix("with ") if both_with else " " + clause
    form = int(rng.integers(3))
    if form == 0:
        text = f"The tempo is {band}" + (f" at {bpm}" if say["bpm"] else "") + tail
        if say["key"]:
            text += f", and the piece is in {_key(inp)}"
    elif form == 1:
        text = f"It moves at {_a(band)} {band} tempo" + (f" of {bpm}" if say["bpm"] else "")
        text += tail + (f", in {_key(inp)}" if say["key"] else "")
    else:
        text = f"Set in {_key(inp)}, it" if say["key"] else "It"
        text += f" is played at {_a(band)} {band} tempo" + (f" ({bpm})" if say["bpm"] else "")
        text += tail
    return _sentence(text)


def _mood_sentence(inp: CaptionInput, rng: np.random.Generator) -> str:
    m = _join(list(inp.moods))
    if not m:
        return ""
    forms = (
        f"The atmosphere is {m}",
        f"The mood is {m}",
        f"The overall feel is {m}",
        f"It sounds {m}",
    )
    return _sentence(_pick(rng, forms))


_ADJ_SUFFIX = ("ing", "ed", "y", "al", "ic", "ive", "ous", "ful", "ant", "ent", "ar", "ish")


def _desc_sentence(inp: CaptionInput, rng: np.random.Generator) -> str:
    def is_adj(d: str) -> bool:
        return " " not in d and (d.endswith(_ADJ_SUFFIX) or "-" in d or len(d) <= 5)

    adjs = [d for d in inp.descriptors if is_adj(d)]
    nouns = [d for d in inp.descriptors if not is_adj(d)]
    if adjs and nouns:
        return _sentence(f"The sound is {_join(adjs)}, with {_join(nouns)}")
    if adjs:
        return _sentence(_pick(rng, (f"The sound is {_join(adjs)}", f"It feels {_join(adjs)}")))
    if nouns:
        return _sentence(_pick(rng, (f"There is {_join(nouns)}", f"It has {_join(nouns)}")))
    return ""


_ENDINGS = {
    "final chord": ("ends on a held final chord", "closes on a sustained final chord"),
    "ring-out": ("ends by letting the last notes ring out", "rings out at the end"),
    "fade-out": ("fades out at the end", "ends with a fade-out"),
}


def _form_sentence(inp: CaptionInput, say: dict[str, bool], rng: np.random.Generator) -> str:
    parts = []
    if say["sections"]:
        s = list(inp.sections)
        parts.append(f"goes from the {s[0]} through the {_join(s[1:-1])} to the {s[-1]}")
        if len(s) == 2:
            parts[-1] = f"goes from the {s[0]} into the {s[1]}"
    if say["ending"] and inp.ending in _ENDINGS:
        parts.append(_pick(rng, _ENDINGS[inp.ending]))
    return _sentence("It " + " and ".join(parts)) if parts else ""


def _use_sentence(inp: CaptionInput, noun: str, rng: np.random.Generator) -> str:
    u = " or ".join(inp.uses)
    forms = (
        f"This music could be used in {u}",
        f"It would suit {u}",
        f"This {noun} would work well in {u}",
    )
    return _sentence(_pick(rng, forms))


def _timbre_clause(inp: CaptionInput, has_drums: str, rng: np.random.Generator) -> str:
    if inp.only_timbre == "humming":
        forms = ["only uses humming", "is entirely hummed", "uses nothing but humming"]
    elif inp.only_timbre == "whistling":
        forms = ["only uses whistling", "is entirely whistled", "uses nothing but whistling"]
    else:
        return ""
    tail = f", apart from the {has_drums}" if has_drums else ""
    return _pick(rng, forms) + tail


def _no_drums_sentence(rng: np.random.Generator, groups: list[_Group]) -> str:
    if any("drum" in g.name for g in groups):
        return "There is no drum kit."
    return _pick(rng, ("There are no drums.", "It is played without drums."))


# -------------------------------------------------------------------------- paraphrases

_BOWED = {"violin", "viola", "cello"}


def _is_quartet(inp: CaptionInput) -> bool:
    names = [p.name for p in inp.parts]
    return 3 <= len(names) <= 4 and set(names) <= _BOWED and {"violin", "cello"} <= set(names)


def _has_drums(groups: list[_Group]) -> bool:
    return any(g.drum for g in groups)


def _subject(inp: CaptionInput, groups: list[_Group], noun: str, say, rng, mood: bool) -> str:
    """ "energetic 90s techno track", "classical piece for solo piano" (no article)."""
    words = [_pick(rng, inp.moods) if mood and inp.moods else "", inp.era if say["era"] else ""]
    genre = inp.genre_name  # as written: "Celtic folk", "EDM"
    if inp.solo and groups:
        pitched = [g for g in groups if not g.drum] or groups
        return " ".join(filter(None, [*words, genre, noun, "for solo", pitched[0].nouns[0]]))
    if _is_quartet(inp):
        return " ".join(filter(None, [*words, genre, noun, "for string quartet"]))
    return " ".join(filter(None, [*words, genre, noun]))


def _clause(g: _Group, rng: np.random.Generator, canonical: bool) -> str:
    noun = _noun(g, rng, canonical)
    return f"the {noun} {_vp(g, noun, rng)}"


def _split(groups: list[_Group]) -> tuple[list[_Group], list[_Group]]:
    front = [g for g in groups if g.roles[0] in ("melody", "counter")] or groups[:1]
    return front, [g for g in groups if g not in front]


def _instrument_sentences(groups, rng, canonical: bool, lead_in: str = "") -> list[str]:
    front, back = _split(groups)
    first = [_clause(g, rng, canonical) for g in front]
    out = [lead_in + first[0] + (", while " + _join(first[1:]) if first[1:] else "")]
    if len(back) > 3:  # two sentences read better than one with five clauses
        pitched = [g for g in back if not g.drum]
        back = [g for g in back if g.drum]
        out.append(_join([_clause(g, rng, canonical) for g in pitched]))
    if back:
        opener = _pick(rng, ("", "", "Underneath, ", "Behind it, "))
        out.append(opener + _join([_clause(g, rng, canonical) for g in back]))
    return [_sentence(s) for s in out]


def _extras(inp, groups, say, noun, rng) -> list[str]:
    """The optional sentences, in reading order (empty strings are dropped later)."""
    return [
        _tempo_sentence(inp, say, rng),
        _mood_sentence(inp, rng) if say["mood"] else "",
        _desc_sentence(inp, rng) if say["desc"] else "",
        _no_drums_sentence(rng, groups) if say["nodrums"] else "",
        _form_sentence(inp, say, rng),
        _use_sentence(inp, noun, rng) if say["use"] else "",
    ]


def _long(inp, groups, say, style: int, rng, canonical: bool) -> str:
    noun = _genre_noun(inp, rng)
    rhythm = "drums" if any("kit" in g.families for g in groups) else "percussion"
    timbre = _timbre_clause(inp, rhythm if _has_drums(groups) else "", rng)
    if style == 0:  # "This is a ... The violin plays the melody while ..."
        subj = _subject(inp, groups, noun, say, rng, mood=rng.random() < 0.5)
        head = [_sentence(f"This is {_a(subj)} {subj}" + (f" that {timbre}" if timbre else ""))]
        head += _instrument_sentences(groups, rng, canonical)
    elif style == 1:  # "This song features a violin playing the melody, ..."
        subj = _subject(inp, groups, noun, say, rng, mood=False)
        feats = []
        for g in groups:
            n = _noun(g, rng, canonical)
            feats.append(f"{_with_a(n)} {_vp(g, n, rng, participle=True)}")
        head = [_sentence(f"This {subj} features {_join(feats)}")]
        if timbre:
            head.append(_sentence(f"It {timbre}"))
    elif style == 2:  # "A dark techno track with a violin melody and 808 drums."
        subj = _subject(inp, groups, noun, say, rng, mood=True)
        nps = _join([_np(g, rng, canonical) for g in groups])
        head = [_sentence(f"{_a(subj)} {subj} with {nps}")]
        if timbre:
            head.append(_sentence(f"The whole {noun} {timbre}"))
    else:  # "In this ... track, the violin carries the melody. Underneath, ..."
        subj = _subject(inp, groups, noun, say, rng, mood=False)
        head = _instrument_sentences(groups, rng, canonical, lead_in=f"In this {subj}, ")
        if timbre:
            head.insert(0, _sentence(f"This {noun} {timbre}"))
    extras = [s for s in _extras(inp, groups, say, noun, rng) if s]
    if style == 2 and rng.random() < 0.5:
        extras.reverse()
    while len(head) + len(extras) > 6 and len(extras) >= 2:  # MusicCaps: 2-6 sentences
        # Join the shortest adjacent pair of sentences that were not joined before.
        pairs = [i for i in range(len(extras) - 1) if ", and " not in extras[i] + extras[i + 1]]
        pairs = pairs or list(range(len(extras) - 1))
        i = min(pairs, key=lambda i: len(extras[i]) + len(extras[i + 1]))
        a, b = extras[i], extras[i + 1]
        extras[i : i + 2] = [a[:-1] + ", and " + b[0].lower() + b[1:]]
    return " ".join(head + extras)


def _short(inp: CaptionInput, groups: list[_Group], rng: np.random.Generator) -> str:
    """One prompt-like sentence of at most 15 words, like the prompts users type."""

    def art(*words: str) -> str:
        phrase = " ".join(w for w in words if w)
        return _cap(f"{_a(phrase)} {phrase}")

    noun = _genre_noun(inp, rng)
    genre, mood = inp.genre_name, (_pick(rng, inp.moods) if inp.moods else "")
    bpm, key = f"{round(inp.tempo)} bpm", _key(inp)
    kit = next((g for g in groups if g.drum and "drums" in g.roles), None)
    kit = kit or next((g for g in groups if g.drum), None)
    kit_np = "808s" if kit and kit.name == "TR-808 drum kit" else ""
    kit_np = kit_np or (_with_a(kit.nouns[0]) if kit else "")
    kick = next((f for g in groups if g.drum for f in g.features if "kick" in f), "")
    feat = _feature_text(kick or (kit.features[0] if kit and kit.features else ""))
    pitched = [g for g in groups if not g.drum]
    cands: list[str] = []
    if inp.only_timbre:
        with_ = f" with {_with_a(feat)}" if feat else (f" with {kit_np}" if kit else "")
        if inp.only_timbre == "humming":
            cands.append(f"{art(inp.era or '', genre, noun)}{with_} that only uses humming")
        else:
            cands.append(f"{art(inp.era or '', genre, noun)}{with_}, only using whistling")
    elif inp.solo and pitched:
        inst = pitched[0].nouns[0]
        cands += [f"{art(mood, 'solo', inst, 'piece')} in {key} at {bpm}"]
        cands += [f"{art(mood, inst, 'solo')} in {key}"]
    elif _is_quartet(inp):
        cands += [f"{_cap(genre)} string quartet, {mood}, in {key}" if mood else ""]
        cands += [f"{art(mood, genre, 'piece')} for string quartet in {key}"]
    else:
        lead = pitched[0] if pitched else None
        if kit and lead:
            cands += [f"{_cap(_np(lead, rng, True))} backed with {kit_np}"]
            cands += [f"{art(genre, noun)} with {_np(lead, rng)} and {kit_np}, {bpm}"]
        if kit and not lead:
            cands += [f"{art(inp.era or '', genre, noun)} with {kit_np}"]
        if kit and feat and kit_np == "808s":
            cands += [f"{art(inp.era or '', genre, noun)} with {_with_a(feat)} and 808s"]
        elif kit and feat:
            cands += [f"{art(inp.era or '', genre, noun)} with {_with_a(feat)}, {bpm}"]
        if kit_np != "808s":
            other = _np(_pick(rng, groups[1:] or groups), rng)
            band = _cap(tempo_word(inp.tempo))
            cands += [" ".join(filter(None, [band, mood, genre, "at", bpm, "with", other]))]
        if not kit and lead:
            cands += [f"{art(mood, genre, noun)} with {_np(lead, rng)} in {key}, no drums"]
            if genre[:1].isalpha():
                cands += [
                    ", ".join(filter(None, [f"{_cap(genre)} {lead.nouns[0]} in {key}", mood]))
                ]
                cands[-1] += ", no drums"
    cands = [c for c in cands if c and len(c.split()) <= 15]
    return _sentence(_pick(rng, cands) if cands else art(genre, noun))


def _jaccard(a: str, b: str) -> float:
    wa, wb = set(re.findall(r"[\w#/'-]+", a.lower())), set(re.findall(r"[\w#/'-]+", b.lower()))
    return len(wa & wb) / max(1, len(wa | wb))


def _plans(inp: CaptionInput, groups: list[_Group], n: int, rng) -> list[dict[str, bool]]:
    """Which optional facts each long paraphrase states; each applicable one in at least one."""
    facts = {  # fact: (applicable, probability)
        "bpm": (True, 0.5),
        "key": (True, 0.6),
        "mood": (bool(inp.moods), 0.9),
        "meter": (inp.meter != "4/4", 0.85),
        "swing": (inp.swing, 0.85),
        "era": (bool(inp.era), 0.6),
        "ending": (inp.ending in _ENDINGS, 0.5),
        "sections": (len(inp.sections) >= 2, 0.35),
        "use": (bool(inp.uses), 0.5),
        "desc": (bool(inp.descriptors), 0.6),
        "nodrums": (not _has_drums(groups), 0.6),
    }
    plans: list[dict[str, bool]] = [{} for _ in range(n)]
    for fact, (ok, p) in facts.items():
        says = [bool(ok and rng.random() < p) for _ in range(n)]
        if ok and not any(says):
            says[int(rng.integers(n))] = True
        for plan, s in zip(plans, says, strict=True):
            plan[fact] = s
    return plans


def write_captions(
    inp: CaptionInput, rng: np.random.Generator, n: int = 4
) -> tuple[list[str], list[str]]:
    """Caption a clip: `n` (>= 3) clearly different paraphrases and a MusicCaps aspect list.

    The first n - 1 captions are MusicCaps-style prose (2-6 sentences); the last is one
    short prompt-like sentence (<= 15 words). Same generator state, same output.
    """
    if n < 3:
        raise ValueError(f"n must be >= 3, got {n}")
    if not inp.parts:
        raise ValueError("a caption needs at least one audible part")
    groups = _groups(inp)
    styles = [int(s) for s in rng.permutation(4)]
    plans = _plans(inp, groups, n - 1, rng)
    captions = [_short(inp, groups, rng)]
    for i, plan in enumerate(plans):
        style = styles[i % len(styles)]
        for attempt in range(40):  # redraw wording until clearly different from the others
            text = _long(inp, groups, plan, (style + attempt // 4) % 4, rng, i == 0)
            if all(_jaccard(text, c) < 0.7 for c in captions):
                break
        captions.append(text)
    return captions[1:] + captions[:1], _aspects(inp, groups)


# ------------------------------------------------------------------------------ aspects


def _aspects(inp: CaptionInput, groups: list[_Group]) -> list[str]:
    genre = inp.genre_name.lower()
    tags = [genre]
    tags += [w for w in ("orchestral", "cinematic", "baroque", "classical") if w in genre.split()]
    tags += [
        inp.era or "",
        "solo" if inp.solo else "",
        "string quartet" if _is_quartet(inp) else "",
    ]
    for g in groups:
        noun, role = g.nouns[0], g.roles[0]
        if g.name in TIMBRE_ADJ:
            tags.append("humming" if g.name == "humming" else "whistling")
        elif g.drum or role in ("bass", "lowpart", "pad") or (role == "drums"):
            tags.append(noun)
        else:
            tags.append(f"{noun} {_ROLE_NP.get(role, '')}".strip())
        for f in g.features:
            tag = _feature_text(f) if g.drum else _FEATURE_TAG.get(f, f)
            tags.append(tag if g.drum or "bass" in g.families else tag.replace("bass", "").strip())
    if inp.only_timbre:
        tags.append(f"only {inp.only_timbre}")
    if not any("voice" in g.families for g in groups):
        tags.append("instrumental")
    if not _has_drums(groups):
        tags.append("no drum kit" if any("drum" in g.name for g in groups) else "no drums")
    tags += [f"{tempo_word(inp.tempo)} tempo", f"{round(inp.tempo)} bpm"]
    if inp.meter != "4/4":
        tags += [f"{inp.meter} time", "waltz" if inp.meter == "3/4" else ""]
    if inp.swing:
        tags.append("shuffle" if "blues" in genre else "swing")
    tags.append(f"{inp.key} {inp.mode}".lower())
    tags += [m.lower() for m in inp.moods] + [d.lower() for d in inp.descriptors]
    tags.append({"fade-out": "fade-out", "ring-out": "ring-out ending"}.get(inp.ending, ""))
    return list(dict.fromkeys(t for t in tags if t))
