"""Whole songs in one call: a piece's form and story turned into frame facts for the
window schedule (:mod:`musiclm.windows`), and decoding in chunks.

- :class:`Timeline`: the conditions in force from each start on (one part without a
  story; one part per story part with one), so every window takes the part it lies in.
- :func:`copies`: where a repeated section (a second chorus) restates the first one's
  opening semantic tokens (:func:`musiclm.form.repeats`).
- :func:`decode`: codes to audio in overlapping chunks of :data:`DECODE_CHUNK_S`,
  crossfaded, so a 5-minute piece takes the decoder's memory of a 30 s one; pieces up
  to one chunk are decoded in one go, exactly as before.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import torch

from musiclm.conditions import Conditions, Section
from musiclm.form import repeats
from musiclm.windows import Copy

# Coarse windows overlap by OVERLAP_S (when a window is at least 4x that): the stages
# were trained on 10 s clips that end, so each 10 s window tends to fade in its last
# second (docs/songs.md, measured); the next window starts OVERLAP_S early, takes over
# LEAD of it later with an equal-power crossfade of FADE, and the previous window's last
# OVERLAP_S - LEAD - FADE are never heard.
OVERLAP_S = 2.5
LEAD, FADE = 0.2, 0.4  # shares of the overlap: before the take-over, the crossfade
DECODE_CHUNK_S = 30.0  # seconds of codes decoded at once (the decoder's memory is linear)
DECODE_OVERLAP_S = 1.0  # seconds two chunks share, crossfaded


@dataclass(frozen=True)
class Timeline:
    """The conditions of a batch over time: ``parts[k]`` (one :class:`Conditions` per
    piece) is in force from ``starts[k]`` seconds on; ``starts[0] == 0``."""

    starts: tuple[float, ...]
    parts: tuple[tuple[Conditions, ...], ...]

    @classmethod
    def single(cls, conditions: Sequence[Conditions]) -> Timeline:
        return cls((0.0,), (tuple(conditions),))

    def breaks(self, rate: float) -> list[int]:
        """Frames at ``rate`` where a part starts (the first excepted)."""
        return [round(s * rate) for s in self.starts[1:]]

    def part_at(self, frame: int, rate: float) -> int:
        """The part frame ``frame`` (at ``rate``) lies in."""
        return bisect.bisect_right(self.breaks(rate), frame)

    def neighbours(self, k: int) -> tuple[tuple[Conditions, ...], ...]:
        """The parts before and after part ``k`` (those there are)."""
        return tuple(self.parts[j] for j in (k - 1, k + 1) if 0 <= j < len(self.parts))

    def pieces(self, index: Sequence[int]) -> Timeline:
        """The timeline of some of the pieces only."""
        return Timeline(self.starts, tuple(tuple(p[i] for i in index) for p in self.parts))

    def without_given_melody(self) -> Timeline:
        """This timeline with the melodies a user gave (``--melody``) left out; planned
        and carried tunes (``Conditions.tune``) stay. What the semantic stage reads unless
        ``GenerationOptions.semantic_melody``."""

        def drop(c: Conditions) -> Conditions:
            return replace(c, melody=None) if c.given_melody else c

        return Timeline(self.starts, tuple(tuple(drop(c) for c in p) for p in self.parts))


def copies(form: tuple[Section, ...] | None, rate: int, window: int) -> tuple[Copy, ...]:
    """Semantic frames each repeated section restates: the first occurrence's opening,
    as long as a sliding window's prompt (``window // 2`` frames) or the shorter of the
    two sections, so the window after it continues the first chorus's material."""
    out = []
    for first, again in repeats(form):
        src, start = round(first.start * rate), round(again.start * rate)
        n = min(
            window // 2,
            round(first.end * rate) - src,
            round(again.end * rate) - start,
            start - src,
        )
        if n > 0:
            out.append(Copy(start, src, n))
    return tuple(out)


def overlap_for(window_s: float, asked: float | None) -> float:
    """Seconds the coarse windows overlap: ``asked`` (0: consecutive windows), or by
    default :data:`OVERLAP_S` where the windows are at least 4x that long (the bundled
    10 s ones; not the debug model's 1 s)."""
    if asked is None:
        return OVERLAP_S if window_s >= 4 * OVERLAP_S else 0.0
    from musiclm.errors import UserError

    if not (isinstance(asked, int | float) and 0 <= asked <= window_s / 2):
        raise UserError(
            f"overlap must be 0-{window_s / 2:g} s (half of this model's {window_s:g} s "
            f"coarse window), got {asked!r}"
        )
    return float(asked)


def stitch(audio: Iterable[torch.Tensor], wins, fade: int, hop: int, total: int) -> torch.Tensor:
    """One piece's audio from its overlapping windows' (``wins``:
    :func:`musiclm.windows.stitched_windows`; ``audio`` yields the decode of window
    ``k`` in turn, so a generator keeps one window's audio at a time): each window alone
    from its take-over to the next one's, with an equal-power crossfade of ``fade``
    frames after every take-over (shorter where the windows leave less)."""
    out = torch.zeros(total * hop)
    fades = []
    for k in range(1, len(wins)):
        room = wins[k - 1].start + wins[k - 1].frames - wins[k].fade_in
        nxt = wins[k + 1].fade_in if k + 1 < len(wins) else total
        fades.append(max(1, min(fade, room, nxt - wins[k].fade_in)) * hop)
    for k, (y, w) in enumerate(zip(audio, wins)):
        y = y.float().cpu()[: w.frames * hop].clone()
        if k > 0:
            a, f = (w.fade_in - w.start) * hop, fades[k - 1]
            t = (torch.arange(f) + 0.5) / f
            y[:a] = 0.0
            y[a : a + f] *= torch.sin(0.5 * torch.pi * t)
        if k + 1 < len(wins):
            b, f = (wins[k + 1].fade_in - w.start) * hop, fades[k]
            t = (torch.arange(f) + 0.5) / f
            y[b : b + f] *= torch.cos(0.5 * torch.pi * t)
            y[b + f :] = 0.0
        out[w.start * hop : w.start * hop + y.shape[0]] += y
    return out


def groups(keys: Sequence[object]) -> list[list[int]]:
    """Indices of equal keys, in first-seen order: pieces sampled together (a batch
    must share one window schedule)."""
    out: dict[object, list[int]] = {}
    for i, k in enumerate(keys):
        out.setdefault(k, []).append(i)
    return list(out.values())


def decode(codec, codes: torch.Tensor) -> torch.Tensor:
    """One piece's codes ``(Q, T)`` -> audio ``(T * hop,)``: in one go up to
    :data:`DECODE_CHUNK_S`, else in chunks that share :data:`DECODE_OVERLAP_S`,
    joined with a linear crossfade (both chunks decode the same codes there, so
    the fade only hides where their phase reconstructions differ)."""
    rate, q_t = codec.frame_rate, codes.shape[-1]
    chunk, overlap = round(DECODE_CHUNK_S * rate), round(DECODE_OVERLAP_S * rate)
    if q_t <= chunk:
        return codec.batch_decode(codes[None])[0]
    hop = codec.hop_length
    out = torch.zeros(q_t * hop)
    fade = torch.linspace(0.0, 1.0, overlap * hop + 2)[1:-1]  # (overlap * hop,)
    start = 0
    while True:
        end = min(start + chunk, q_t)
        y = codec.batch_decode(codes[None, :, start:end])[0].float().cpu()
        if start:
            y[: overlap * hop] *= fade
            out[start * hop : (start + overlap) * hop] *= 1.0 - fade
        out[start * hop : end * hop] += y
        if end == q_t:
            return out
        start = end - overlap


__all__ = ["Timeline", "copies", "decode", "groups", "overlap_for", "stitch"]
