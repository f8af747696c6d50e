"""A generated piece on disk: the WAV, optionally its PNG spectrogram, and last its JSON
sidecar (settings, conditions, model facts), so a piece with a sidecar is complete.

Shared by ``musiclm generate`` and the studio page: both write what :func:`settings`
says of a piece, so a take from the page and a file from the command line record the
same facts (form, ending, story, melody, guidance) and can be made again from either."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from musiclm.conditions import Conditions
    from musiclm.continuation import Prompt
    from musiclm.pipeline import Generation


PLANNED_TUNE = "planned tune"  # the sidecar's "melody" for a tune the model planned
PROMPT_TUNE = "the prompt's tune"  # ... for a continuation prompt's own tune, carried on


def melody_source(cond: Conditions, melody: str | None = None, prompt: Prompt | None = None):
    """What a piece's melody was: ``melody`` (the given file's name), a planned tune, the
    continuation prompt's own tune, or None."""
    if cond.melody is None:
        return None
    if cond.tune:
        return PROMPT_TUNE if prompt is not None else PLANNED_TUNE
    return None if melody is None else str(melody)


def settings(
    made: Generation,
    i: int,
    *,
    seed: int,
    seconds: float,
    model: str,
    wall: float,
    melody: str | None = None,
    prompt: Prompt | None = None,
) -> dict:
    """The sidecar's account of piece ``i`` of ``made`` (:meth:`MusicLM.run`'s result):
    its text, seed, length and sampling settings as used (temperatures resolved, pitch
    guidance, drafts), its tempo and key, form plan and ending, where its melody came from, the
    recording it continues (``prompt``) and a story's parts; ``wall``: seconds it took."""
    from musiclm.ending import kind
    from musiclm.form import form_dicts

    cond, opts = made.conditions[i], made.options
    out = {
        "prompt": cond.text, "seed": seed, "seconds": seconds, "cfg": opts.cfg,
        "temperature": list(opts.temperature), "top_k": opts.top_k[0],
        "pitch_cfg": opts.pitch_weight, "model": model, **cond.attributes(),
        "wall_seconds": round(wall, 2), "timings": dict(made.timings.seconds),
        "batch": len(made.conditions), "form": form_dicts(cond.form),
        "melody": melody_source(cond, melody, prompt),
        "ending": kind(cond.form) if opts.ending else None,
        # drafts drawn, one kept (musiclm.drafts): a piece with no key to fit keeps its first
        "drafts": opts.drafts if prompt is not None or cond.key is not None else 1,
    }  # fmt: skip
    if prompt is not None:
        out |= {"continue": prompt.describe()}
    if made.story:
        out |= {"story": [p.to_dict() for p in made.story],
                "story_contrast": opts.story_contrast}  # fmt: skip
    return out


def write_piece(path: Path, caption: str, y, net, spectrogram: bool, meta: dict) -> None:
    """The WAV, its PNG and last its JSON sidecar (a piece with a sidecar is complete)."""
    from musiclm.io import write_audio, write_json_atomic
    from musiclm.pipeline import describe

    write_audio(path, y, net.sample_rate)
    if spectrogram:
        from musiclm.spectrogram import save_spectrograms

        save_spectrograms(path.with_suffix(".png"), {caption: y}, net.sample_rate)
    write_json_atomic(path.with_suffix(".json"), {**meta, **describe(net)})
