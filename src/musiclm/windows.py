"""The schedule of windows a piece is generated in: which frames each stage samples when.

A stage samples at most its window (``StageConfig.target_frames``) at a time:

- semantic: one window, then a *sliding window* (MusicLM §4): each next window keeps
  the last half of the tokens so far as its prompt and adds up to the other half;
- coarse: consecutive windows of ``window_seconds``, each conditioned on the semantic
  tokens of the same seconds (the last one padded with its own end);
- fine: the coarse codes cut in windows, sampled side by side in batches
  (:func:`fine_batches`), as the fine windows depend only on their own coarse codes.

Pure arithmetic on frame counts, so :func:`plan_steps`-style totals and the generation
itself read the same schedule.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

FINE_BATCH = 64  # fine-stage windows sampled together


@dataclass(frozen=True)
class SemanticWindow:
    start: int  # first frame of the window (its prompt's first frame)
    keep: int  # frames of the prompt (the previous window's last half); 0 for the first
    frames: int  # frames of the window, the prompt included

    @property
    def new(self) -> int:
        return self.frames - self.keep


def semantic_windows(total: int, window: int) -> Iterator[SemanticWindow]:
    """The sliding windows that make ``total`` semantic frames with a ``window``-frame
    stage: the first window, then windows that keep ``window // 2`` frames."""
    done = min(total, window)
    yield SemanticWindow(0, 0, done)
    while done < total:
        keep = window // 2
        new = min(window - keep, total - done)
        yield SemanticWindow(done - keep, keep, keep + new)
        done += new


def continuation_windows(
    total: int, known: int, window: int, align: int = 1
) -> Iterator[SemanticWindow]:
    """Sliding windows that continue ``known`` given frames up to ``total`` (a prompt's
    tokens or codes): each keeps up to half a ``window`` of the frames so far as its
    prompt, as :func:`semantic_windows` does after its first window, and adds the rest.
    Starts and prompts are multiples of ``align`` frames (acoustic windows start on a
    semantic frame)."""
    done = known
    while done < total:
        keep = min(window // 2, done) // align * align
        start = (done - keep) // align * align
        keep = done - start
        new = min((start + window) // align * align - done, total - done)
        if new <= 0:
            raise ValueError(f"a {window}-frame window cannot continue {keep} frames")
        yield SemanticWindow(start, keep, keep + new)
        done += new


@dataclass(frozen=True)
class CoarseWindow:
    start_s: float  # seconds from the start of the piece
    semantic: int  # first semantic frame of its context
    frames: int  # acoustic frames it samples


def coarse_windows(
    total: int, window_frames: int, window_s: float, semantic_rate: int, breaks: Sequence[int] = ()
) -> Iterator[CoarseWindow]:
    """Consecutive windows covering ``total`` acoustic frames, ``window_frames`` (=
    ``window_s`` seconds) each but the last. ``breaks``: frames where a window must
    start (a story's parts), so no window spans two parts."""
    done, start = 0, 0.0
    stops = sorted(b for b in set(breaks) if 0 < b < total)
    while done < total:
        stop = next((b for b in stops if b > done), total)
        frames = min(window_frames, total - done, stop - done)
        yield CoarseWindow(start, round(start * semantic_rate), frames)
        done += frames
        # summed, not multiplied: the same floats as ever; a window cut at a break
        # advances by its own length
        start += window_s if frames == window_frames else frames * window_s / window_frames


@dataclass(frozen=True)
class StitchedWindow:
    """A coarse window that overlaps its neighbours (:func:`stitched_windows`)."""

    start: int  # first acoustic frame it samples
    frames: int  # frames it samples
    fade_in: int  # frame where it takes over from the previous window (0: the first)


def stitched_windows(
    total: int, window: int, overlap: int, lead: int, breaks: Sequence[int] = ()
) -> list[StitchedWindow]:
    """Coarse windows of up to ``window`` frames that each start ``overlap`` frames before
    the previous one ends, for crossfading their audio: window ``k + 1`` takes over
    (starts fading in) ``lead`` frames after its own start, so neither the previous
    window's last frames (where a stage trained on short clips plays an ending) nor its
    own first ones are heard alone. A frame of ``breaks`` (a story part's start) is
    always a take-over point. ``overlap = 0`` gives :func:`coarse_windows`'s spans."""
    stops = sorted(b for b in set(breaks) if 0 < b < total)
    out: list[StitchedWindow] = []
    start, fade_in = 0, 0
    while True:
        end = min(start + window, total)
        if end == total:
            out.append(StitchedWindow(start, end - start, fade_in))
            return out
        take = end - (overlap - lead)  # the next window's take-over point
        take = next((b for b in stops if fade_in < b <= take), take)
        end = min(end, take + overlap - lead)
        out.append(StitchedWindow(start, end - start, fade_in))
        start, fade_in = take - lead, take


@dataclass(frozen=True)
class Copy:
    """A restatement: frames ``[src, src + frames)`` written again from frame ``start``."""

    start: int
    src: int
    frames: int


def song_windows(
    total: int,
    window: int,
    breaks: Sequence[int] = (),
    copies: Sequence[Copy] = (),
    break_keep: int | None = None,
) -> Iterator[SemanticWindow | Copy]:
    """:func:`semantic_windows` for a song: a window's new frames never cross a frame of
    ``breaks`` (where a story part starts: the next window takes the new part's
    conditions), and at each :class:`Copy` (a repeated section's start) the first
    occurrence's frames are restated, so the next window continues them instead of the
    half-window before. ``break_keep``: frames of the previous part the first window of
    a part keeps as its prompt (None: half a window, as everywhere else). With neither
    breaks nor copies it is :func:`semantic_windows` exactly."""
    at = {c.start: c for c in copies if 0 < c.start < total}
    cuts = {b for b in breaks if 0 < b < total}
    stops = sorted(cuts | set(at))
    done = 0
    while done < total:
        if done in at:
            c = at.pop(done)
            n = min(c.frames, total - done)
            yield Copy(done, c.src, n)
            done += n
            continue
        keep = min(window // 2 if break_keep is None or done not in cuts else break_keep, done)
        stop = next((b for b in stops if b > done), total)
        new = min(window - keep, stop - done)
        yield SemanticWindow(done - keep, keep, keep + new)
        done += new


def fine_batches(pieces: int, n_win: int) -> list[list[tuple[int, int, int]]]:
    """How the fine windows are sampled: batches of ``(piece, first, end)`` window
    ranges. A piece's windows are cut in blocks of ``FINE_BATCH`` as if it were alone
    (so its draws do not depend on the batch), and blocks of several pieces are sampled
    together while a batch stays within ``FINE_BATCH`` windows (at least one block)."""
    blocks = [
        (p, a, min(a + FINE_BATCH, n_win))
        for a in range(0, n_win, FINE_BATCH)
        for p in range(pieces)
    ]
    batches: list[list[tuple[int, int, int]]] = []
    size = 0
    for blk in blocks:
        n = blk[2] - blk[1]
        if batches and size + n <= FINE_BATCH:
            batches[-1].append(blk)
            size += n
        else:
            batches.append([blk])
            size = n
    return batches


def frames(seconds: float, rate: int) -> int:
    """Frames of ``seconds`` at ``rate`` (the last one may be partial)."""
    return math.ceil(seconds * rate)
