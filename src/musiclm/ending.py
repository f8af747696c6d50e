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
  :data:`RING_RT60_S` (a concert hall's reverberation time; shorter tails fall over their
  own length). Without the diminuendo, steady audio rung out over a 4 s tail measures
  only 6.4 dB over its last 5 s against the 20 s before (the goal is 6; docs/songs.md);
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
CLICK_S = 0.25  # the engine's last ramp (render.py)
DIM_S, DIM_DB = 4.0, 6.0  # the diminuendo before a ring-out: seconds, and dB it falls


def kind(form: Sequence[Section] | None) -> str | None:
    """How a piece of this plan ends: ``"ring-out"``, ``"fade-out"`` or None (no plan)."""
    if not form:
        return None
    last = form[-1]
    return "ring-out" if last.name == TAIL and last.end - last.start >= MIN_RING_S else "fade-out"


def envelope(form: Sequence[Section] | None, seconds: float, sample_rate: int) -> np.ndarray:
    """The gain ``(round(seconds * sample_rate),)`` float32 a piece of this plan ends with
    (1 before the ending). A piece without a plan gets only the last ramp."""
    from musiclm.data.synth.form import fade_seconds

    n = round(seconds * sample_rate)
    gain = np.ones(n, np.float32)
    how, last = kind(form), form[-1] if form else None
    if how == "ring-out":
        start = round(last.start * sample_rate)
        rt60 = min(RING_RT60_S, last.end - last.start)
        t = np.arange(n - start, dtype=np.float64) / sample_rate
        dim = min(start, round(DIM_S * sample_rate))
        db = np.linspace(0.0, -DIM_DB, dim + 1)[1:]  # linear in dB, reaching -DIM_DB
        gain[start - dim : start] = 10.0 ** (db / 20)
        gain[start:] = (10.0 ** (-DIM_DB / 20 - 3.0 * t / rt60)).astype(np.float32)
    elif how == "fade-out":
        k = min(n, round(fade_seconds(seconds) * sample_rate))
        gain[n - k :] = np.linspace(1.0, 0.0, k, dtype=np.float32) ** 2
    k = min(n, round(CLICK_S * sample_rate))
    gain[n - k :] *= np.linspace(1.0, 0.0, k, dtype=np.float32)
    return gain


def finish(audio: np.ndarray, forms: Sequence, sample_rate: int, keep: int = 0) -> np.ndarray:
    """``audio`` ``(B, samples)`` with each piece's planned ending (``forms[i]``: its
    sections). ``keep``: leading samples never touched (a continuation's prompt, played
    as given); an ending that would start inside them starts after them."""
    out = np.array(audio, np.float32, copy=True)
    n = out.shape[1]
    for i, form in enumerate(forms):
        gain = envelope(form, n / sample_rate, sample_rate)
        start = int(np.argmax(gain < 1.0))  # where the ending begins
        if 0 < keep and start < keep < n:  # it would begin in the prompt: squeeze it after
            curve = gain[start:]
            grid = np.linspace(0.0, len(curve) - 1, n - keep)
            gain = np.ones(n, np.float32)
            gain[keep:] = np.interp(grid, np.arange(len(curve)), curve)
        out[i] *= gain[:n]
    return out


__all__ = ["CLICK_S", "DIM_DB", "DIM_S", "MIN_RING_S", "RING_RT60_S", "envelope", "finish", "kind"]
