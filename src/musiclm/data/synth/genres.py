"""Genre templates: what each style fixes (tempo, meter, swing, kit, grooves, bass, harmony,
instrument pools, moods) so that clips of a genre sound and read like that genre.

The last seven templates are music that MusicCaps-like data under-represents (Celtic,
Afrobeat, Latin, Indian-classical-inspired, Japanese, Middle-Eastern, Caribbean); the
coverage report measures their share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from musiclm.errors import UserError

# Chord progressions as scale degrees (0 = tonic), one chord a bar; "major" progressions
# are used for major-like modes, "minor" for the rest.
POP_MAJOR = [[0, 4, 5, 3], [0, 5, 3, 4], [0, 3, 0, 4], [5, 3, 0, 4]]
POP_MINOR = [[0, 5, 2, 6], [0, 3, 4, 0], [0, 5, 3, 4], [0, 6, 5, 6]]
BLUES = [[0, 0, 0, 0, 3, 3, 0, 0, 4, 3, 0, 4]]  # 12-bar blues (I7 IV7 V7)
JAZZ = [[1, 4, 0, 0], [0, 5, 1, 4], [2, 5, 1, 4]]  # ii-V-I family
MODAL = [[0, 0, 0, 0], [0, 6, 0, 6], [0, 0, 6, 6]]  # vamps: techno, Indian drone, maqam
EPIC = [[0, 5, 2, 6], [0, 3, 5, 4], [0, 5, 3, 4]]
BAROQUE = [[0, 3, 4, 0], [0, 5, 1, 4], [0, 4, 5, 2, 3, 0, 3, 4]]


@dataclass(frozen=True)
class Genre:
    id: str
    name: str  # display name used in captions
    tempo: tuple[int, int]
    meters: tuple[str, ...] = ("4/4",)
    modes: tuple[str, ...] = ("major", "minor")
    swing: float = 0.0  # 0 straight .. 1 full triplet swing of the off-beat eighths
    kits: tuple[str, ...] = ("standard drum kit",)  # () = no drum kit
    groove: str = "pop"  # key of drums.GROOVES
    percussion: tuple[str, ...] = ()  # hand percussion that may join
    lead: tuple[str, ...] = ("piano",)
    harmony: tuple[str, ...] = ("piano",)
    comp: str = "block"  # accompaniment figure, see composer
    bass: tuple[str, ...] = ("electric bass",)
    bass_style: str = "root"
    pad: tuple[str, ...] = ()
    solo: tuple[str, ...] = ()  # instruments that may play a solo piece in this genre
    progressions: dict[str, list[list[int]]] = field(
        default_factory=lambda: {"major": POP_MAJOR, "minor": POP_MINOR}
    )
    moods: tuple[str, ...] = ("upbeat",)
    descriptors: tuple[str, ...] = ()
    eras: tuple[str | None, ...] = (None,)
    uses: tuple[str, ...] = ()
    melody_from: tuple[str, ...] = ("corpus", "procedural")
    density: tuple[float, float] = (0.3, 0.6)
    humanize: bool = True
    endings: tuple[str, ...] = ("final chord", "ring-out")


_E = ("electronic",)
GENRES: dict[str, Genre] = {
    g.id: g
    for g in [
        Genre("techno", "techno", (122, 140), modes=("minor", "dorian", "phrygian"),
              kits=("TR-808 drum kit", "electronic drum kit"), groove="techno",
              lead=("sawtooth lead", "square lead", "synth voice", "whistle"), harmony=("synth pad", "polysynth pad"),
              comp="stab", bass=("synth bass",), bass_style="offbeat", pad=("synth pad",),
              progressions={"major": MODAL, "minor": MODAL}, moods=("hypnotic", "driving", "dark", "energetic"),
              descriptors=("repetitive", "four-on-the-floor"), eras=(None, "90s"), uses=("a club", "a workout playlist"),
              melody_from=("procedural",), density=(0.4, 0.7), humanize=False, endings=("ring-out", "fade-out")),
        Genre("house", "house", (118, 128), modes=("minor", "major", "dorian"),
              kits=("electronic drum kit", "TR-808 drum kit"), groove="house", percussion=("shaker", "congas"),
              lead=("electric piano", "synth voice", "piano", "brass section"), harmony=("piano", "electric piano", "organ"),
              comp="stab", bass=("synth bass", "slap bass"), bass_style="octave", pad=("synth strings",),
              moods=("groovy", "uplifting", "danceable"), descriptors=("four-on-the-floor",), eras=(None, "90s"),
              uses=("a dance floor", "a summer party"), humanize=False, endings=("ring-out", "fade-out")),
        Genre("trap", "trap", (130, 160), modes=("minor", "harmonic minor", "phrygian"),
              kits=("TR-808 drum kit",), groove="trap",
              lead=("violin", "piano", "flute", "music box", "choir", "pizzicato strings"),
              harmony=("strings", "synth pad", "piano"), comp="pad", bass=("808-style bass",), bass_style="808",
              progressions={"major": POP_MINOR, "minor": [[0, 5, 0, 5], [0, 3, 5, 4], [0, 0, 5, 4]]},
              moods=("dark", "menacing", "confident"), descriptors=("rolling hi-hats", "booming low end"),
              uses=("a rap freestyle", "a street video"), melody_from=("procedural",), density=(0.3, 0.6),
              humanize=False, endings=("ring-out", "final chord")),
        Genre("hip_hop", "hip hop", (84, 98), modes=("minor", "dorian"), swing=0.25,
              kits=("standard drum kit", "TR-808 drum kit"), groove="boom_bap",
              lead=("piano", "electric piano", "vibraphone", "muted trumpet", "flute"), harmony=("electric piano", "piano"),
              comp="comp", bass=("electric bass", "synth bass"), bass_style="root",
              moods=("laid-back", "confident", "nostalgic"), descriptors=("boom bap beat",), eras=(None, "90s"),
              uses=("a rap verse", "a city documentary")),
        Genre("drum_and_bass", "drum and bass", (165, 178), modes=("minor", "dorian"),
              kits=("electronic drum kit", "standard drum kit"), groove="dnb",
              lead=("synth pad", "piano", "synth voice", "sawtooth lead"), harmony=("synth pad", "synth strings"),
              comp="pad", bass=("synth bass", "808-style bass"), bass_style="sustained", pad=("synth pad",),
              moods=("energetic", "intense", "dark", "euphoric"), descriptors=("breakbeat", "fast-paced"),
              eras=(None, "90s"), uses=("a racing game", "a rave"), melody_from=("procedural",), humanize=False,
              endings=("ring-out", "fade-out")),
        Genre("rock", "rock", (100, 140), kits=("standard drum kit", "room drum kit", "power drum kit"), groove="rock",
              lead=("overdriven guitar", "distorted guitar", "clean electric guitar", "rock organ", "humming"),
              harmony=("overdriven guitar", "distorted guitar", "clean electric guitar", "rock organ"), comp="power",
              bass=("picked bass", "electric bass"), bass_style="eighths", moods=("energetic", "rebellious", "powerful"),
              descriptors=("driving",), eras=(None, "70s", "90s"), uses=("a road trip", "a sports highlight reel")),
        Genre("metal", "heavy metal", (140, 190), modes=("minor", "phrygian", "harmonic minor"),
              kits=("power drum kit", "standard drum kit"), groove="metal", lead=("distorted guitar",),
              harmony=("distorted guitar",), comp="power", bass=("picked bass",), bass_style="eighths",
              progressions={"major": POP_MINOR, "minor": [[0, 5, 6, 0], [0, 1, 0, 6], [0, 3, 5, 4]]},
              moods=("aggressive", "heavy", "intense"), descriptors=("double kick", "palm-muted riffs"),
              uses=("a boss fight", "a workout playlist"), humanize=False, endings=("final chord",)),
        Genre("punk", "punk rock", (160, 200), modes=("major",), kits=("standard drum kit", "power drum kit"),
              groove="punk", lead=("overdriven guitar", "distorted guitar"), harmony=("distorted guitar",),
              comp="power", bass=("picked bass",), bass_style="eighths", moods=("rebellious", "raw", "energetic"),
              descriptors=("fast", "raw"), eras=(None, "70s"), uses=("a skate video",), endings=("final chord",)),
        Genre("pop", "pop", (95, 125), kits=("standard drum kit", "electronic drum kit"), groove="pop",
              lead=("piano", "synth voice", "acoustic guitar", "bright piano", "electric piano", "whistle", "humming"),
              harmony=("piano", "acoustic guitar", "synth pad", "electric piano"), comp="arpeggio",
              bass=("electric bass", "synth bass"), bass_style="root", pad=("synth strings", "synth pad"),
              moods=("catchy", "happy", "uplifting", "romantic"), uses=("a commercial", "a radio station"),
              solo=("piano", "acoustic guitar")),
        Genre("jazz", "jazz", (90, 180), modes=("major", "dorian", "minor"), swing=0.9,
              kits=("jazz drum kit", "brush drum kit"), groove="jazz",
              lead=("tenor sax", "alto sax", "trumpet", "muted trumpet", "vibraphone", "jazz guitar", "piano"),
              harmony=("piano", "jazz guitar", "electric piano"), comp="comp", bass=("acoustic bass",),
              bass_style="walking", progressions={"major": JAZZ, "minor": JAZZ},
              moods=("sophisticated", "relaxed", "smooth", "late-night"), descriptors=("walking bass",),
              uses=("a hotel lounge", "a late-night bar"), solo=("piano", "vibraphone"), density=(0.4, 0.8)),
        Genre("blues", "blues", (60, 110), modes=("mixolydian", "blues"), swing=0.9,
              kits=("standard drum kit", "brush drum kit"), groove="shuffle",
              lead=("overdriven guitar", "clean electric guitar", "harmonica", "tenor sax"),
              harmony=("piano", "organ", "clean electric guitar"), comp="comp",
              bass=("electric bass", "acoustic bass"), bass_style="walking",
              progressions={"major": BLUES, "minor": BLUES}, moods=("soulful", "melancholic", "gritty"),
              descriptors=("shuffle",), uses=("a roadhouse bar",), solo=("clean electric guitar",)),
        Genre("funk", "funk", (95, 115), modes=("dorian", "mixolydian"), swing=0.15,
              kits=("standard drum kit",), groove="funk", percussion=("congas",),
              lead=("brass section", "alto sax", "clean electric guitar", "synth brass"),
              harmony=("muted guitar", "clean electric guitar", "electric piano", "organ"), comp="stab",
              bass=("slap bass", "electric bass"), bass_style="funk",
              progressions={"major": MODAL, "minor": MODAL}, moods=("groovy", "funky", "danceable"),
              descriptors=("syncopated", "brass stabs"), eras=(None, "70s"), uses=("a dance party",)),
        Genre("reggae", "reggae", (70, 90), modes=("major", "minor"), swing=0.2,
              kits=("standard drum kit", "room drum kit"), groove="one_drop",
              lead=("organ", "trumpet", "alto sax", "piano", "harmonica"),
              harmony=("clean electric guitar", "organ"), comp="skank", bass=("electric bass",),
              bass_style="reggae", moods=("laid-back", "sunny", "relaxed"), descriptors=("offbeat skanks",),
              uses=("a beach bar",)),
        Genre("bossa_nova", "bossa nova", (120, 145), modes=("major", "minor"),
              kits=("brush drum kit",), groove="bossa", percussion=("shaker",),
              lead=("flute", "nylon guitar", "alto sax", "vibraphone", "piano"), harmony=("nylon guitar",),
              comp="bossa", bass=("acoustic bass",), bass_style="bossa", progressions={"major": JAZZ, "minor": JAZZ},
              moods=("gentle", "romantic", "breezy"), uses=("a cafe", "a sunset scene"), solo=("nylon guitar",)),
        Genre("baroque", "baroque", (70, 120), meters=("4/4", "3/4"), kits=(),
              lead=("violin", "harpsichord", "flute", "oboe", "recorder"), harmony=("harpsichord", "strings", "viola"),
              comp="alberti", bass=("cello", "bassoon", "contrabass"), bass_style="continuo",
              progressions={"major": BAROQUE, "minor": BAROQUE}, moods=("elegant", "lively", "noble"),
              descriptors=("contrapuntal",), uses=("a period drama",), melody_from=("chorale", "corpus", "procedural"),
              solo=("harpsichord", "violin", "cello", "piano"), endings=("final chord",)),
        Genre("classical", "classical", (60, 130), meters=("4/4", "3/4", "2/4"), kits=(),
              lead=("piano", "violin", "flute", "clarinet", "cello"), harmony=("piano", "strings"), comp="alberti",
              bass=("cello", "piano"), bass_style="continuo", progressions={"major": BAROQUE, "minor": BAROQUE},
              moods=("calm", "elegant", "sad", "tender"), uses=("a concert hall", "studying"),
              melody_from=("chorale", "corpus", "procedural"), solo=("piano", "cello", "violin", "harp"),
              endings=("final chord", "ring-out")),
        Genre("orchestral", "orchestral cinematic", (60, 110), modes=("minor", "major"),
              kits=("orchestral percussion",), groove="orchestral",
              lead=("french horn", "brass section", "strings", "violin", "choir", "trumpet"),
              harmony=("strings", "tremolo strings", "brass section"), comp="pad",
              bass=("contrabass", "cello", "tuba"), bass_style="sustained", pad=("choir", "strings"),
              percussion=(), progressions={"major": EPIC, "minor": EPIC},
              moods=("epic", "heroic", "dramatic", "majestic"), descriptors=("timpani rolls",),
              uses=("a movie trailer", "a fantasy film"), endings=("final chord",)),
        Genre("ambient", "ambient", (60, 85), modes=("major", "lydian", "minor", "dorian"), kits=(),
              lead=("synth pad", "celesta", "music box", "vibraphone", "flute", "electric piano"),
              harmony=("synth pad", "polysynth pad", "synth strings"), comp="pad", bass=("synth bass",),
              bass_style="drone", pad=("synth pad", "choir"), progressions={"major": MODAL, "minor": MODAL},
              moods=("calm", "dreamy", "meditative", "spacious"), descriptors=("slowly evolving", "drone"),
              uses=("meditation", "a nature documentary"), melody_from=("procedural",), density=(0.0, 0.25),
              solo=("synth pad",), endings=("fade-out", "ring-out")),
        Genre("lofi", "lo-fi hip hop", (70, 90), modes=("major", "dorian", "minor"), swing=0.4,
              kits=("standard drum kit", "jazz drum kit"), groove="lofi",
              lead=("electric piano", "piano", "vibraphone", "jazz guitar", "flute"),
              harmony=("electric piano", "piano", "jazz guitar"), comp="block", bass=("electric bass", "acoustic bass"),
              bass_style="root", progressions={"major": JAZZ, "minor": JAZZ},
              moods=("mellow", "chill", "nostalgic", "relaxing"), descriptors=("laid-back beat",),
              uses=("studying", "a rainy afternoon"), density=(0.2, 0.5)),
        Genre("folk", "folk", (80, 130), meters=("4/4", "3/4", "6/8"), modes=("major", "dorian", "mixolydian", "minor"),
              kits=(), percussion=("tambourine",),
              lead=("acoustic guitar", "violin", "accordion", "harmonica", "recorder", "flute", "banjo"),
              harmony=("acoustic guitar", "nylon guitar"), comp="strum", bass=("acoustic bass",), bass_style="root",
              moods=("warm", "nostalgic", "earthy", "cheerful"), uses=("a campfire", "a countryside vlog"),
              melody_from=("corpus",), solo=("acoustic guitar", "accordion", "violin")),
        Genre("country", "country", (90, 140), kits=("standard drum kit", "brush drum kit"), groove="country",
              lead=("fiddle", "banjo", "acoustic guitar", "harmonica", "clean electric guitar"),
              harmony=("acoustic guitar", "piano"), comp="strum", bass=("electric bass", "acoustic bass"),
              bass_style="root_fifth", moods=("cheerful", "heartfelt", "homely"), descriptors=("twangy",),
              uses=("a road trip", "a barn dance"), melody_from=("corpus", "procedural")),
        Genre("chiptune", "chiptune", (120, 160), kits=("electronic drum kit",), groove="chiptune",
              lead=("square lead",), harmony=("square lead",), comp="arpeggio", bass=("square lead",),
              bass_style="octave", moods=("playful", "nostalgic", "energetic"), descriptors=("8-bit",),
              eras=(None, "80s"), uses=("a video game", "a retro platformer"), density=(0.5, 0.9), humanize=False),
        Genre("synthwave", "synthwave", (95, 118), modes=("minor", "dorian"),
              kits=("electronic drum kit", "TR-808 drum kit"), groove="synthwave",
              lead=("sawtooth lead", "synth brass", "synth voice"), harmony=("polysynth pad", "synth strings"),
              comp="arpeggio", bass=("synth bass",), bass_style="eighths", pad=("synth pad",),
              moods=("nostalgic", "dreamy", "neon-lit"), descriptors=("retro",), eras=("80s",),
              uses=("a night drive", "a retro film"), humanize=False, endings=("fade-out", "ring-out")),
        Genre("edm", "EDM", (124, 132), kits=("electronic drum kit", "TR-808 drum kit"), groove="house",
              lead=("sawtooth lead", "synth voice", "piano", "square lead"), harmony=("polysynth pad", "synth pad"),
              comp="stab", bass=("synth bass",), bass_style="offbeat", pad=("synth pad",),
              moods=("euphoric", "energetic", "uplifting"), descriptors=("four-on-the-floor", "big drop"),
              uses=("a festival", "a workout playlist"), humanize=False, endings=("ring-out",)),
        Genre("disco", "disco", (110, 126), kits=("standard drum kit",), groove="disco", percussion=("congas",),
              lead=("strings", "brass section", "electric piano", "synth brass"),
              harmony=("clean electric guitar", "electric piano", "strings"), comp="stab",
              bass=("electric bass", "slap bass"), bass_style="octave", moods=("groovy", "joyful", "danceable"),
              descriptors=("four-on-the-floor", "open hi-hats"), eras=("70s",), uses=("a roller disco",)),
        # music that MusicCaps-like corpora under-represent
        Genre("celtic", "Celtic folk", (90, 130), meters=("6/8", "4/4", "3/4"), modes=("major", "dorian", "mixolydian"),
              kits=(), percussion=("hand drums",), lead=("fiddle", "whistle", "bagpipe", "flute", "accordion"),
              harmony=("harp", "acoustic guitar"), comp="strum", bass=("acoustic bass", "cello"), bass_style="root",
              moods=("spirited", "joyful", "wistful"), descriptors=("jig",), uses=("a pub session", "a fantasy tavern"),
              melody_from=("celtic", "corpus"), density=(0.5, 0.8), solo=("harp", "fiddle")),
        Genre("afrobeat", "Afrobeat", (100, 125), modes=("dorian", "minor", "mixolydian"), swing=0.1,
              kits=("standard drum kit",), groove="afrobeat", percussion=("congas", "shaker"),
              lead=("brass section", "tenor sax", "alto sax", "trumpet", "organ"),
              harmony=("clean electric guitar", "muted guitar", "organ"), comp="stab", bass=("electric bass",),
              bass_style="funk", progressions={"major": MODAL, "minor": MODAL},
              moods=("hypnotic", "joyful", "energetic"), descriptors=("interlocking guitars", "polyrhythmic"),
              eras=(None, "70s"), uses=("a street festival",)),
        Genre("latin", "Latin salsa", (160, 200), modes=("minor", "major"), kits=(), groove="salsa",
              percussion=("congas", "timbales", "bongos"), lead=("trumpet", "brass section", "flute", "piano"),
              harmony=("piano",), comp="montuno", bass=("acoustic bass", "electric bass"), bass_style="tumbao",
              moods=("fiery", "festive", "danceable"), descriptors=("montuno", "clave rhythm"),
              uses=("a salsa club",), density=(0.4, 0.7)),
        Genre("indian", "Indian classical-inspired", (60, 110), modes=("double harmonic", "major", "mixolydian", "phrygian"),
              kits=(), percussion=("hand drums",), lead=("sitar", "shehnai", "flute"), harmony=("sitar",),
              comp="drone", bass=("sitar",), bass_style="drone", progressions={"major": MODAL, "minor": MODAL},
              moods=("meditative", "devotional", "mystical"), descriptors=("drone",), uses=("a yoga class",),
              melody_from=("procedural",), density=(0.4, 0.8), solo=("sitar",), endings=("ring-out",)),
        Genre("japanese", "traditional Japanese", (60, 100), modes=("in", "minor pentatonic"),
              kits=(), percussion=(), lead=("koto", "shakuhachi", "shamisen"), harmony=("koto",), comp="arpeggio",
              bass=("taiko drum",), bass_style="taiko", progressions={"major": MODAL, "minor": MODAL},
              moods=("serene", "contemplative", "mysterious"), uses=("a temple garden scene",),
              melody_from=("procedural",), density=(0.2, 0.5), solo=("koto", "shakuhachi"), endings=("ring-out",)),
        Genre("middle_eastern", "Middle-Eastern", (80, 120), modes=("hijaz", "double harmonic", "phrygian"),
              kits=(), percussion=("hand drums", "tambourine"), lead=("shehnai", "violin", "dulcimer", "flute"),
              harmony=("dulcimer", "strings", "harp"), comp="arpeggio", bass=("contrabass", "acoustic bass"),
              bass_style="root", progressions={"major": MODAL, "minor": MODAL},
              moods=("mysterious", "exotic", "passionate"), descriptors=("maqam scale",),
              uses=("a desert caravan scene",), melody_from=("procedural",), density=(0.4, 0.8)),
        Genre("calypso", "Caribbean calypso", (100, 125), modes=("major",), kits=("standard drum kit",),
              groove="calypso", percussion=("congas", "shaker"), lead=("steel drums",),
              harmony=("steel drums", "acoustic guitar"), comp="skank", bass=("electric bass",), bass_style="root_fifth",
              moods=("sunny", "joyful", "carefree"), descriptors=("island rhythm",), uses=("a beach party",)),
    ]
}

UNDER_REPRESENTED = ("celtic", "afrobeat", "latin", "indian", "japanese", "middle_eastern", "calypso")


def get_genre(name: str) -> Genre:
    """Look up a genre by id or display name (case/space/dash-insensitive)."""
    def norm(s: str) -> str:
        return s.lower().replace("-", "_").replace(" ", "_")

    key = norm(name)
    for g in GENRES.values():
        if key in (g.id, norm(g.name)):
            return g
    aliases = {"hiphop": "hip_hop", "dnb": "drum_and_bass", "lo_fi": "lofi", "cinematic": "orchestral",
               "bossa": "bossa_nova", "salsa": "latin", "caribbean": "calypso", "edm": "edm"}
    if key in aliases:
        return GENRES[aliases[key]]
    raise UserError(f"unknown genre {name!r}; choose from: {', '.join(GENRES)}")
