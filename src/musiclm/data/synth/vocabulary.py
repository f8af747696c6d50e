"""The words captions may use for each instrument, and nothing else.

Every instrument word a caption contains comes from ``INSTRUMENT_WORDS`` of a part that
really plays (tests scan for it), so this table is the whole of what captions can name.
"""

from __future__ import annotations

# Words a family shares; a caption may use them when any part of that family is present.
FAMILY_WORDS: dict[str, tuple[str, ...]] = {
    "eguitar": ("guitar", "guitars", "electric guitar", "electric guitars"),
    "aguitar": ("guitar", "guitars", "acoustic guitar"),
    "bass": ("bass", "bass line", "bassline", "bass notes"),
    "bowed": ("strings", "string section", "string quartet"),
    "brass": ("brass", "brass section", "horns"),
    "synth": ("synth", "synths", "synthesizer"),
    "voice": ("vocals", "voices"),
    "kit": ("drums", "drum kit", "beat", "percussion"),
    "perc": ("percussion", "hand percussion", "beat"),
}
# Families where two parts of one name are two players ("two violins"), not one.
MULTI_FAMILIES = {"eguitar", "bowed", "brass", "wind"}

# name -> (families, prose nouns; the first is the canonical one).
CATALOG: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "piano": (("keys",), ("piano", "acoustic piano", "grand piano")),
    "electric piano": (("keys",), ("electric piano", "keys", "e-piano")),
    "organ": (("keys",), ("organ",)),
    "harpsichord": (("keys",), ("harpsichord",)),
    "clean guitar": (("eguitar",), ("clean electric guitar", "clean guitar")),
    "electric guitar": (("eguitar",), ("electric guitar", "guitar")),
    "overdriven guitar": (("eguitar",), ("overdriven guitar", "overdriven electric guitar")),
    "distorted guitar": (("eguitar",), ("distorted guitar", "distorted electric guitar")),
    "acoustic guitar": (("aguitar",), ("acoustic guitar", "guitar")),
    "nylon guitar": (("aguitar",), ("nylon guitar", "nylon-string guitar", "classical guitar")),
    "bass": (("bass",), ("bass", "electric bass", "bass guitar")),
    "electric bass": (("bass",), ("electric bass", "bass guitar", "bass")),
    "acoustic bass": (("bass",), ("upright bass", "acoustic bass", "double bass")),
    "slap bass": (("bass",), ("slap bass", "slapped bass")),
    "808-style bass": (("bass",), ("808 bass", "booming 808 bass", "808 sub bass")),
    "synth bass": (("bass", "synth"), ("synth bass", "deep synth bass", "bass synth")),
    "violin": (("bowed",), ("violin",)),
    "viola": (("bowed",), ("viola",)),
    "cello": (("bowed",), ("cello",)),
    "strings": (("bowed",), ("strings", "string section", "string ensemble")),
    "brass": (("brass",), ("brass", "brass section", "horns")),
    "trumpet": (("brass",), ("trumpet",)),
    "trombone": (("brass",), ("trombone",)),
    "french horn": (("brass",), ("french horn", "horn")),
    "saxophone": (("wind",), ("saxophone", "sax")),
    "flute": (("wind",), ("flute",)),
    "clarinet": (("wind",), ("clarinet",)),
    "pan flute": (("wind",), ("pan flute", "pan pipes")),
    "harp": (("plucked",), ("harp",)),
    "timpani": (("perc",), ("timpani",)),
    "choir": (("voice",), ("choir", "choir voices")),
    "humming": (("voice",), ("humming", "hummed vocals", "hummed voices")),
    "whistle": (("whistle",), ("whistle", "whistling")),
    "synth pad": (("synth",), ("synth pad", "pad", "synthesizer pad")),
    "square lead": (("synth",), ("square lead", "square wave lead", "chiptune lead")),
    "synth lead": (("synth",), ("synth lead", "lead synth")),
    "vibraphone": (("mallet",), ("vibraphone", "vibes")),
    "marimba": (("mallet",), ("marimba",)),
    "music box": (("mallet",), ("music box",)),
    "steel drums": (("mallet",), ("steel drums", "steel pan")),
    "sitar": (("plucked",), ("sitar",)),
    "koto": (("plucked",), ("koto",)),
    "shamisen": (("plucked",), ("shamisen",)),
    "banjo": (("plucked",), ("banjo",)),
    "accordion": (("keys",), ("accordion",)),
    "harmonica": (("wind",), ("harmonica",)),
    "TR-808 drum kit": (("kit",), ("808 drums", "808s", "TR-808 drums", "808 drum machine")),
    "standard drum kit": (("kit",), ("drums", "drum kit", "acoustic drum kit")),
    "brush drum kit": (("kit",), ("brushed drums", "brush kit", "drums played with brushes")),
    "electronic drum kit": (("kit",), ("electronic drums", "drum machine")),
    "congas": (("perc",), ("congas", "conga drums")),
    "bongos": (("perc",), ("bongos",)),
    "shaker": (("perc",), ("shaker",)),
    "tambourine": (("perc",), ("tambourine",)),
    "tabla-style percussion": (("perc",), ("tabla-style percussion", "tabla", "tabla drums")),
    # the engine's remaining instrument names (musiclm.data.synth.instruments)
    "bright piano": (("keys",), ("bright piano", "piano")),
    "celesta": (("mallet",), ("celesta",)),
    "glockenspiel": (("mallet",), ("glockenspiel",)),
    "xylophone": (("mallet",), ("xylophone",)),
    "tubular bells": (("mallet",), ("tubular bells", "bells")),
    "dulcimer": (("plucked",), ("dulcimer", "hammered dulcimer")),
    "rock organ": (("keys",), ("rock organ", "organ")),
    "church organ": (("keys",), ("church organ", "pipe organ")),
    "jazz guitar": (("eguitar",), ("jazz guitar", "hollow-body guitar")),
    "clean electric guitar": (("eguitar",), ("clean electric guitar", "clean guitar")),
    "muted guitar": (("eguitar",), ("muted guitar", "palm-muted guitar")),
    "picked bass": (("bass",), ("picked bass", "electric bass")),
    "fretless bass": (("bass",), ("fretless bass",)),
    "contrabass": (("bass", "bowed"), ("double bass", "contrabass")),
    "tremolo strings": (("bowed",), ("tremolo strings",)),
    "pizzicato strings": (("bowed",), ("pizzicato strings", "plucked strings")),
    "synth strings": (("synth",), ("synth strings", "string synth")),
    "synth voice": (("synth",), ("synth voice", "synthetic choir")),
    "tuba": (("brass",), ("tuba",)),
    "muted trumpet": (("brass",), ("muted trumpet",)),
    "brass section": (("brass",), ("brass section", "brass", "horns")),
    "synth brass": (("synth",), ("synth brass",)),
    "soprano sax": (("wind",), ("soprano sax", "soprano saxophone")),
    "alto sax": (("wind",), ("alto sax", "alto saxophone", "saxophone", "sax")),
    "tenor sax": (("wind",), ("tenor sax", "tenor saxophone", "saxophone", "sax")),
    "oboe": (("wind",), ("oboe",)),
    "bassoon": (("wind",), ("bassoon",)),
    "piccolo": (("wind",), ("piccolo",)),
    "recorder": (("wind",), ("recorder",)),
    "shakuhachi": (("wind",), ("shakuhachi", "bamboo flute")),
    "ocarina": (("wind",), ("ocarina",)),
    "sawtooth lead": (("synth",), ("sawtooth lead", "saw lead", "synth lead")),
    "polysynth pad": (("synth",), ("polysynth pad", "polysynth", "synth pad")),
    "kalimba": (("plucked",), ("kalimba", "thumb piano")),
    "bagpipe": (("wind",), ("bagpipes", "bagpipe")),
    "fiddle": (("bowed",), ("fiddle", "violin")),
    "shehnai": (("wind",), ("shehnai",)),
    "taiko drum": (("perc",), ("taiko drums", "taiko")),
    "room drum kit": (("kit",), ("drums", "drum kit", "roomy drums")),
    "power drum kit": (("kit",), ("drums", "drum kit", "punchy drums")),
    "jazz drum kit": (("kit",), ("drums", "jazz drum kit", "jazz drums")),
    "orchestral percussion": (("perc",), ("orchestral percussion", "concert bass drum", "cymbals")),
    "hand drums": (("perc",), ("hand drums", "hand percussion")),
    "timbales": (("perc",), ("timbales",)),
}
EXTRA_WORDS = {"humming": ("hummed", "hum"), "whistle": ("whistled", "whistles")}
TIMBRE_PART = {"humming": "humming", "whistling": "whistle"}
TIMBRE_ADJ = {"humming": "hummed", "whistle": "whistled"}


def plural(noun: str) -> str:
    return noun + ("es" if noun.endswith(("s", "x", "sh", "ch")) else "s")


def noun_kind(noun: str) -> str:
    """ "c" countable singular, "p" plural, "m" mass (no article, singular verb)."""
    last = noun.split()[-1]
    if last in ("humming", "whistling", "percussion", "brass"):
        return "m"
    if last == "timpani" or (last.endswith("s") and not last.endswith("ss")):
        return "p"
    return "c"


def words_for(name: str, families: tuple[str, ...], nouns: tuple[str, ...]) -> tuple[str, ...]:
    out = list(nouns) + [plural(n) for n in nouns if noun_kind(n) == "c"]
    for fam in families:
        out += FAMILY_WORDS.get(fam, ())
    out += EXTRA_WORDS.get(name, ())
    return tuple(dict.fromkeys(out))


# Every word or phrase a caption may use for a part of that name (lowercase).
INSTRUMENT_WORDS: dict[str, tuple[str, ...]] = {
    name: tuple(w.lower() for w in words_for(name, fams, nouns))
    for name, (fams, nouns) in CATALOG.items()
}
