"""The planned ending, rendered: a piece fades out or rings out instead of stopping.

MusicLM "doesn't know how to end"; the stages here are told where the end is (the
per-frame ``to_end`` channel, docs/songs.md) but alone they stop quietly rather than
over seconds (last 5 s only ~2 dB below the 20 s before). Endings are partly a mixing
decision, and the corpus engine makes them so too (:mod:`musiclm.data.synth.render`):
a fade-out song is faded on the master, and a ring-out is the last chord dying away in
the room. :func:`finish` does the same to a generated piece, from its form plan alone:

- a plan that ends with a ``tail`` of at least :data:`MIN_RING_S` rings out: the
  :data:`DIM_S` before the tail ease down by :data:`DIM_DB` (a diminuendo into the last
  chord), then from the tail's start the level falls exponentially, 60 dB in
  :data:`RING_RT60_S` (a concert hall's reverberation time). A tail shorter than
  :data:`MIN_RING_OUT_S` rings out over that much all the same (at most a quarter of the
  piece), from that far before the end: over a 1.5 s tail steady audio measured only
  4.6 dB over its last 5 s against the 20 s before (the goal is 6; docs/songs.md), and a
  generated 60 s piece missed it.
  Without the diminuendo, steady audio rung out over a 4 s tail measures only 6.4 dB.
  In pieces under 60 s the diminuendo takes at most :data:`DIM_SHARE` of the piece and
  the ring-out at most :data:`RING_SHARE` (but :data:`MIN_RING_OUT_S`), so a 10 s piece
  holds its level to 6.5 s, nearer the engine's clips (~9 s) than the ~2 s it held;
- any other plan (a fade-out's tail is only bar rounding) fades out over the engine's
  fade length (:func:`musiclm.data.synth.form.fade_seconds`, 2-8 s) with its curve,
  the square of a linear ramp;
- every piece ends with the engine's 0.25 s linear ramp, so no last sample clicks.

``GenerationOptions(ending=False)`` (``--no-ending``) leaves the model's own ending.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from musiclm.conditions import Section

TAIL = "tail"
MIN_RING_S = 1.0  # a shorter tail is bar rounding (fade-out plans), not a ring-out
RING_RT60_S = 2.0  # seconds the ring-out takes to fall 60 dB (a hall's RT60, ~1.8-2.2 s)
# the least time a ring-out takes: over 2.5 s steady audio measures 6.8 dB over its last
# 5 s (2 s: 5.7, 1.5 s: 4.6; the goal 6)
MIN_RING_OUT_S = 2.5
CLICK_S = 0.25  # the engine's last ramp (render.py)
DIM_S, DIM_DB = 4.0, 6.0  # the diminuendo before a ring-out: seconds, and dB it falls
# short pieces: the diminuendo takes at most this share of the piece, the ring-out at most
# RING_SHARE (but MIN_RING_OUT_S): a 10 s piece fell from ~2 s and was silent from ~8 s,
# where the engine's 10 s clips hold their level to ~9 s; pieces of 60 s and more are
# unchanged (docs/songs.md, "The ending of short pieces")
DIM_SHARE, RING_SHARE = 0.1, 0.125


def kind(form: Sequence[Section] | None) -> str | None:
    """How a piece of this plan ends: ``"ring-out"``, ``"fade-out"`` or None (no plan)."""
    if not form:
        return None
    last = form[-1]
    return "ring-out" if last.name == TAIL and last.end - last.start >= MIN_RING_S else "fade-out"


def curve(
    form: Sequence[Section] | None, seconds: float, sample_rate: int
) -> tuple[int, np.ndarray]:
    """Where the ending of a piece of this plan begins (a sample) and its gain from there
    to the end, float32 (the piece is untouched before it). A piece without a plan gets
    only the last ramp."""
    from musiclm.data.synth.form import fade_seconds

    n = round(seconds * sample_rate)
    how, last = kind(form), form[-1] if form else None
    click = min(n, round(CLICK_S * sample_rate))
    if how == "ring-out":
        # lengthened to MIN_RING_OUT_S, but never past a quarter of a short piece
        ring = max(last.end - last.start, min(MIN_RING_OUT_S, seconds / 4))
        ring = min(ring, max(MIN_RING_OUT_S, RING_SHARE * seconds))  # short pieces
        tail = n - round(ring * sample_rate)
        dim = min(tail, round(min(DIM_S, DIM_SHARE * seconds) * sample_rate))
        rt60 = min(RING_RT60_S, ring)
        t = np.arange(n - tail, dtype=np.float64) / sample_rate
        db = np.linspace(0.0, -DIM_DB, dim + 1)[1:]  # linear in dB, reaching -DIM_DB
        gain = np.concatenate([10.0 ** (db / 20), 10.0 ** (-DIM_DB / 20 - 3.0 * t / rt60)])
        start = tail - dim
    elif how == "fade-out":
        k = min(n, round(fade_seconds(seconds) * sample_rate))
        gain, start = np.linspace(1.0, 0.0, k) ** 2, n - k
    else:
        gain, start = np.ones(click), n - click
    gain = gain.astype(np.float32)
    if click > len(gain):  # an ending shorter than the last ramp
        gain, start = np.concatenate([np.ones(click - len(gain), np.float32), gain]), n - click
    gain[len(gain) - click :] *= np.linspace(1.0, 0.0, click, dtype=np.float32)
    return start, gain


def envelope(form: Sequence[Section] | None, seconds: float, sample_rate: int) -> np.ndarray:
    """The whole gain ``(round(seconds * sample_rate),)`` float32 a piece of this plan
    ends with (1 before the ending; :func:`curve`)."""
    start, gain = curve(form, seconds, sample_rate)
    out = np.ones(round(seconds * sample_rate), np.float32)
    out[start:] = gain
    return out


def finish(
    audio: np.ndarray, forms: Sequence, sample_rate: int, keep: int = 0, *, inplace: bool = False
) -> np.ndarray:
    """``audio`` ``(B, samples)`` with each piece's planned ending (``forms[i]``: its
    sections); ``inplace`` (float32 audio): scaled where it lies, not copied (a 300 s
    piece is 29 MB). ``keep``: leading samples never touched (a continuation's prompt,
    played as given); an ending that would start inside them is squeezed after them."""
    out = audio if inplace else np.array(audio, np.float32, copy=True)
    n = out.shape[1]
    for i, form in enumerate(forms):
        start, gain = curve(form, n / sample_rate, sample_rate)
        if 0 < keep < n and start < keep:
            grid = np.linspace(0.0, len(gain) - 1, n - keep)
            gain = np.interp(grid, np.arange(len(gain)), gain).astype(np.float32)
            start = keep
        out[i, start:] *= gain[: n - start]
    return out


__all__ = [
    "CLICK_S",
    "DIM_DB",
    "DIM_S",
    "DIM_SHARE",
    "MIN_RING_OUT_S",
    "MIN_RING_S",
    "RING_RT60_S",
    "RING_SHARE",
    "curve",
    "envelope",
    "finish",
    "kind",
]
