"""A form plan for every piece: which sections (intro, verse, chorus, ..., tail) it is made
of and when each starts, in seconds.

The plan is *sampled the way the training songs were made*: the corpus engine's own form
planner (:func:`musiclm.data.synth.form.plan_length` and ``plan_sections``) at the
piece's tempo, meter and ending, drawn from the genre template as
:func:`musiclm.data.synth.composer.compose` draws them. Every song the stages learn form
from was cut by that planner, so its section lengths (whole 4-, 2- or 1-bar phrases by
length), its order (intro, verse/chorus cycles, bridge, outro) and its ending (a tail
of 2.5-4 s that rings out, or a fade) are the training distribution itself; a model
fitted to a manifest's section lists could only approximate it (docs/songs.md).

- :func:`genre_in`: the engine genre a prompt names ("a techno beat" -> ``techno``).
- :func:`plan_form`: the plan for a prompt and a length (seeded: the piece's seed).
- :func:`parse_form`: a user's plan, ``"intro 8, verse 16, chorus 16"`` (seconds each).
- :func:`repeats`: which sections restate an earlier one (a second chorus), for the
  pipeline's reuse of the first one's material.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musiclm.conditions import Section
from musiclm.errors import UserError
from musiclm.theory import SECTIONS

DEFAULT_GENRE = "pop"  # a prompt that names no genre gets the commonest song form
TAIL = "tail"  # the ending after the last section (the manifest calls it "ending")
FORM_TOLERANCE = 0.5  # seconds a --form may miss --seconds by (snapped to the end)
# words that name a genre without its template's name ("cinematic" -> orchestral)
_ALIASES = {
    "dnb": "drum_and_bass",
    "drum n bass": "drum_and_bass",
    "cinematic": "orchestral",
    "salsa": "latin",
    "irish": "celtic",
    "hiphop": "hip_hop",
    "lo fi": "lofi",
    "electronic dance": "edm",
}


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def genre_in(text: str) -> str | None:
    """The engine genre id a prompt names, or None: the earliest genre name in the text
    (the longest where several start at the same word), so "lo-fi hip hop" is lofi and
    "Celtic folk" Celtic."""
    from musiclm.data.synth.genres import GENRES

    phrases: dict[str, str] = dict(_ALIASES)
    for g in GENRES.values():
        for p in (_words(g.name), _words(g.id), _words(g.id).replace(" ", "")):
            phrases.setdefault(p, g.id)
    text = f" {_words(text)} "
    found = []
    for phrase, gid in phrases.items():
        at = text.find(f" {phrase} ")
        if at >= 0:
            found.append((at, -len(phrase), gid))
    return min(found)[2] if found else None


@dataclass(frozen=True)
class FormPlan:
    """A sampled plan and what it was sampled at (the sidecar shows the sections)."""

    sections: tuple[Section, ...]
    genre: str  # engine genre id the plan is drawn for
    tempo: float  # bpm the bars are counted at
    meter: str
    ending: str  # final chord / ring-out / fade-out (the engine's endings)


def plan_form(text: str, seconds: float, *, tempo: float | None = None, seed: int = 0) -> FormPlan:
    """The form of a ``seconds``-long piece for prompt ``text``: the engine's planner at
    the genre's tempo (``tempo`` when the prompt states one), meter and ending, drawn
    with ``seed`` (the piece's), so a seeded piece always gets the same plan. Sections
    end on bar lines of that tempo; the last is ``tail``, the ending, unless a fade-out
    leaves less than a frame for it."""
    from musiclm.data.synth.composer import ELECTRONIC_GROOVES
    from musiclm.data.synth.genres import GENRES

    if not (isinstance(seconds, int | float) and seconds > 0):
        raise UserError(f"a form needs a length > 0 s, got {seconds!r}")
    g = GENRES[genre_in(text) or DEFAULT_GENRE]
    rng = np.random.default_rng(seed)
    drawn = float(rng.integers(g.tempo[0], g.tempo[1] + 1))  # drawn even if stated: same plan
    bpm = float(tempo) if tempo else drawn
    meter = str(rng.choice(g.meters))
    ending = str(rng.choice(g.endings))
    sections = engine_sections(seconds, bpm, meter, ending, g.groove in ELECTRONIC_GROOVES)
    return FormPlan(sections, g.id, bpm, meter, ending)


def engine_sections(
    seconds: float, tempo: float, meter: str, ending: str, electronic: bool
) -> tuple[Section, ...]:
    """The sections the corpus engine gives a song of these facts (its manifest's
    section list, in seconds), the ending named ``tail``: the planner of
    :mod:`musiclm.data.synth.form` exactly as :func:`~musiclm.data.synth.composer.compose`
    calls it."""
    from musiclm.data.synth.form import plan_length, plan_sections

    bar = int(meter.split("/")[0]) * 4 / int(meter.split("/")[1])
    body, _tail = plan_length(float(seconds), tempo, bar, ending)
    beat = 60.0 / tempo
    sections = [
        Section(name, s * beat, min(e * beat, seconds))
        for name, s, e in plan_sections(body, bar, electronic)
    ]
    if seconds - sections[-1].end > 0.02:  # a tail of at least one codec frame
        sections.append(Section(TAIL, sections[-1].end, float(seconds)))
    else:
        sections[-1] = Section(sections[-1].name, sections[-1].start, float(seconds))
    return tuple(sections)


def parse_form(spec: str, seconds: float) -> tuple[Section, ...]:
    """A user's form, ``"intro 8, verse 16, chorus 16, tail 4"``: sections in order, each
    a name of :data:`musiclm.theory.SECTIONS` (``ending`` reads as ``tail``) and its
    seconds, adding up to ``seconds`` within :data:`FORM_TOLERANCE` (the last section
    is stretched or cut to end exactly there). Anything else is one line naming the part."""
    example = "write e.g. 'intro 8, verse 16, chorus 16'"
    parts = [p.strip() for p in spec.split(",")]
    if not spec.strip():
        raise UserError(f"the form is empty; {example}")
    sections, t = [], 0.0
    for i, part in enumerate(parts, 1):
        where = f"form part {i} {part!r}"
        bits = part.split()
        if len(bits) != 2:
            raise UserError(f"{where}: write a section name and its seconds, e.g. 'verse 16'")
        name = {"ending": TAIL}.get(bits[0].lower(), bits[0].lower())
        if name not in SECTIONS:
            raise UserError(
                f"{where}: unknown section {bits[0]!r}; sections are {', '.join(SECTIONS)}"
            )
        try:
            length = float(bits[1].removesuffix("s"))
        except ValueError:
            length = float("nan")
        if not length > 0 or length == float("inf"):
            raise UserError(f"{where}: the seconds must be a number > 0, got {bits[1]!r}")
        sections.append(Section(name, t, t + length))
        t += length
    if abs(t - seconds) > FORM_TOLERANCE:
        raise UserError(
            f"the form adds up to {t:g} s but the piece is {seconds:g} s (--seconds); "
            f"make its parts add up within {FORM_TOLERANCE:g} s"
        )
    if sections[-1].start >= seconds:
        raise UserError(f"form part {len(parts)} starts at {sections[-1].start:g} s, past the end")
    last = sections[-1]
    sections[-1] = Section(last.name, last.start, float(seconds))
    return tuple(sections)


def check_form(form: Sequence[Section], seconds: float) -> tuple[Section, ...]:
    """A form given as :class:`Section` s (the API's ``form=``), checked as
    :func:`parse_form` checks text: known names, consecutive from 0, ending at
    ``seconds`` within :data:`FORM_TOLERANCE` (snapped to it)."""
    form = tuple(form)
    if not form or not all(isinstance(s, Section) for s in form):
        raise UserError("a form is a list of Section(name, start, end) covering the piece")
    t = 0.0
    for i, s in enumerate(form, 1):
        if s.name not in SECTIONS:
            raise UserError(
                f"form section {i}: unknown name {s.name!r}; sections are {', '.join(SECTIONS)}"
            )
        if abs(s.start - t) > 1e-6 or not s.end > s.start:
            raise UserError(
                f"form section {i} ({s.name} {s.start:g}-{s.end:g} s) must start where the "
                f"previous one ends ({t:g} s) and end after it starts"
            )
        t = s.end
    if abs(t - seconds) > FORM_TOLERANCE or form[-1].start >= seconds:
        raise UserError(f"the form ends at {t:g} s but the piece is {seconds:g} s (--seconds)")
    return form[:-1] + (Section(form[-1].name, form[-1].start, float(seconds)),)


def repeats(form: tuple[Section, ...] | None) -> list[tuple[Section, Section]]:
    """``(first, again)`` for every section that restates an earlier one of the same name
    (a second chorus, a third verse): the pipeline starts ``again`` from ``first``'s
    material. The ending (``tail``) is never a restatement."""
    first: dict[str, Section] = {}
    out = []
    for s in form or ():
        if s.name == TAIL:
            continue
        if s.name in first:
            out.append((first[s.name], s))
        else:
            first[s.name] = s
    return out


def form_dicts(form: tuple[Section, ...] | None) -> list[dict] | None:
    """The plan as the sidecar writes it: ``[{"name", "start", "end"}, ...]``."""
    return None if form is None else [s.to_dict() for s in form]


__all__ = [
    "FormPlan",
    "check_form",
    "engine_sections",
    "form_dicts",
    "genre_in",
    "parse_form",
    "plan_form",
    "repeats",
]
