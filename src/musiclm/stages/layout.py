"""Token layout of the three stages: one input vocabulary, one sequence per example.

MusicLM's stages (arXiv 2301.11325 §3.2) are

- semantic: ``p(S | M)``;
- coarse acoustic: ``p(A_coarse | M, S)``;
- fine acoustic: ``p(A_fine | A_coarse)``,

with ``M`` the MuLan tokens, ``S`` the semantic tokens and ``A`` the codec's RVQ codes. A
sequence is a *prefix* (conditioning, never predicted), ``BOS``, then the *target*.
We add timing tokens to the prefix of conditioned stages (seconds from the start and
seconds in total, 1 s buckets; see DESIGN.md §2) so the model learns where a song is.

Input ids share one vocabulary, in ranges::

    [special][mulan level 0 .. level L-1][start s][total s][semantic][acoustic]
    [tempo bins][keys]                                    (only with ``attributes``)

The acoustic range holds ``codebook_size`` ids per level when flattened (each level its
own ids) and ``codebook_size`` in all when delayed (each level is its own stream with
its own embedding table). Every position carries ``n_streams`` ids; positions with
fewer real tokens fill the other streams with ``PAD`` (embedding index of zeros).

With ``attributes`` the conditioned stages also take a tempo and a key token after the
timing tokens (:mod:`musiclm.stages.attributes`); their ids come last, so a layout
without them keeps every other id, and a trained stage can be warm-started into one.
With ``beats`` too, every target step also gets the phase of its frame within the beat
of that tempo (:meth:`LayoutConfig.beat_ids`, a per-position input of the Transformer):
the model need not count frames to play on the beat.

Per-frame conditions (:meth:`LayoutConfig.frame_ids`, one channel each, every target
step its id, 0 unknown): the beat phase (``beats``), the melody (``melody``: the pitch
class of the tune at that moment, :data:`musiclm.conditions.MELODY_IDS`) and the form
(``form``: the section the frame is in, :data:`musiclm.theory.SECTIONS`, and how many
seconds are left to the end, in :data:`TO_END_EDGES` buckets). Each channel has its own
embedding table, added to the token embeddings and zero at first, so a trained stage
warm-starts into a layout with more channels unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from musiclm.conditions import FORM_RATE, MELODY_IDS, MELODY_RATE
from musiclm.configs import Config
from musiclm.stages.attributes import BEAT_PHASES, TEMPO_BINS
from musiclm.stages.patterns import PATTERNS, SINGLE, Pattern
from musiclm.theory import N_KEYS, SECTIONS

PAD, BOS, NULL = 0, 1, 2  # NULL replaces dropped conditioning (classifier-free guidance)
N_SPECIAL = 4
# seconds left to the end of the piece, bucketed: finer near the end, where it matters
TO_END_EDGES = (0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0)


@dataclass(frozen=True)
class Kind:
    """What distinguishes the stages, as data (not ``if kind == ...`` branches)."""

    name: str
    conditioned: bool  # MuLan, timing and attribute tokens in the prefix; guidance
    target: str  # "semantic" tokens or "acoustic" codes
    levels: str | None  # the LayoutConfig field counting its target levels (None: one)
    context: str | None  # what the prefix holds after the conditioning: None, "semantic"
    # tokens (the coarse stage) or "coarse" codes (the fine stage)
    needs: tuple[str, ...]  # token kinds it trains on (musiclm tokenize)
    prompted: bool = False  # can continue a prompt of its own tokens (sliding window)


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("semantic", True, "semantic", None, None, ("mulan", "semantic"), prompted=True),
        Kind("coarse", True, "acoustic", "coarse_levels", "semantic",
             ("mulan", "semantic", "acoustic")),
        Kind("fine", False, "acoustic", "fine_levels", "coarse", ("acoustic",)),
    )
}  # fmt: skip


@dataclass
class LayoutConfig(Config):
    NAME: ClassVar[str] = "layout"

    kind: str = "semantic"  # semantic | coarse | fine (KINDS)
    pattern: str = "delay"  # acoustic targets: flat (paper) | delay (MusicGen)
    mulan_levels: int = 12
    mulan_codebook: int = 256
    semantic_codebook: int = 1024
    semantic_rate: int = 25  # semantic frames per second
    acoustic_codebook: int = 1024
    acoustic_rate: int = 50  # codec frames per second
    coarse_levels: int = 4  # RVQ levels 1..coarse_levels (paper: 4 of 12)
    fine_levels: int = 4  # the levels after them
    timing: bool = True
    max_seconds: int = 320  # timing buckets (1 s each); longer clips share the last
    attributes: bool = False  # tempo and key tokens in the prefix (conditioned stages)
    beats: bool = False  # and the beat phase of every target frame (needs attributes)
    melody: bool = False  # the tune's pitch class of every target frame (conditioned stages)
    form: bool = False  # the section and seconds to the end of every target frame
    # with form: the seconds-to-end channel is read (False: always unknown, so the timing
    # is the prefix's start and total alone, as Stable Audio's; docs/songs.md measures both)
    to_end: bool = True

    def __post_init__(self) -> None:
        if self.kind not in KINDS or self.pattern not in PATTERNS:
            raise ValueError(f"kind must be in {tuple(KINDS)} and pattern in {tuple(PATTERNS)}")

    @property
    def stage(self) -> Kind:
        return KINDS[self.kind]

    @property
    def target_pattern(self) -> Pattern:
        """How the target becomes steps: the acoustic ``pattern``, or one stream of
        semantic tokens."""
        return SINGLE if self.stage.target == "semantic" else PATTERNS[self.pattern]

    @property
    def target_rate(self) -> int:
        return self.semantic_rate if self.stage.target == "semantic" else self.acoustic_rate

    @property
    def target_codebook(self) -> int:
        return self.semantic_codebook if self.stage.target == "semantic" else self.acoustic_codebook

    @property
    def target_offset(self) -> int:
        return self.semantic_offset if self.stage.target == "semantic" else self.acoustic_offset

    @property
    def first_level(self) -> int:
        """Index of the target's first level among the acoustic levels."""
        return self.coarse_levels if self.stage.context == "coarse" else 0

    # -- vocabulary ranges -------------------------------------------------------------

    @property
    def mulan_offset(self) -> int:
        return N_SPECIAL

    @property
    def timing_offset(self) -> int:
        return self.mulan_offset + self.mulan_levels * self.mulan_codebook

    @property
    def semantic_offset(self) -> int:
        return self.timing_offset + 2 * self.max_seconds

    @property
    def acoustic_offset(self) -> int:
        return self.semantic_offset + self.semantic_codebook

    @property
    def target_levels(self) -> int:
        return getattr(self, self.stage.levels) if self.stage.levels else 1

    @property
    def acoustic_ids(self) -> int:
        """Acoustic ids in the vocabulary: per level when flattened, shared when delayed."""
        levels = self.coarse_levels + self.fine_levels
        return PATTERNS[self.pattern].out_vocab(levels, self.acoustic_codebook)

    @property
    def attribute_offset(self) -> int:
        return self.acoustic_offset + self.acoustic_ids

    @property
    def has_attributes(self) -> bool:
        return self.attributes and self.conditioned

    @property
    def has_beats(self) -> bool:
        return self.beats and self.has_attributes

    @property
    def frame_channels(self) -> tuple[tuple[str, int], ...]:
        """The per-frame condition channels ``(name, ids incl. 0 = unknown)``, in the
        order of :meth:`frame_ids`."""
        out = []
        if self.has_beats:
            out.append(("beats", BEAT_PHASES + 1))
        if self.melody and self.conditioned:
            out.append(("melody", MELODY_IDS))
        if self.form and self.conditioned:
            out += [("section", len(SECTIONS) + 1), ("to_end", len(TO_END_EDGES) + 2)]
        return tuple(out)

    @property
    def position_ids(self) -> int:
        """Ids of the Transformer's first per-position table (0: none)."""
        return self.frame_channels[0][1] if self.frame_channels else 0

    @property
    def more_position_ids(self) -> tuple[int, ...]:
        """Ids of its further per-position tables (melody, form)."""
        return tuple(n for _, n in self.frame_channels[1:])

    def step_seconds(self, start_s: Tensor, steps: int) -> Tensor:
        """Seconds from the piece's start of the frame each target step predicts, ``(B,
        steps)`` float64."""
        frame = self.target_pattern.frame_of_step(steps, self.target_levels, start_s.device)
        return start_s.double()[:, None] + frame.double()[None] / self.target_rate

    def frame_ids(
        self,
        start_s: Tensor,
        steps: int,
        *,
        bpm: Tensor | None = None,
        melody: Tensor | None = None,
        sections: Tensor | None = None,
        total_s: Tensor | None = None,
    ) -> Tensor | None:
        """Per-frame condition ids ``(B, channels, steps)`` of the target steps of windows
        starting at ``start_s (B,)`` s; None for layouts without channels.

        ``bpm (B,)`` (<= 0 unknown) gives the beat phase; ``melody (B, N)`` melody ids of
        the whole piece at ``MELODY_RATE`` (frames past its end: unknown) the melody;
        ``sections (B, N)`` section ids (1 + index in SECTIONS, 0 unknown) at
        ``FORM_RATE`` the section, and ``total_s (B,)`` (<= 0 unknown) the seconds to the
        end. A missing one is all 0 (unknown), as a dropped one in training."""
        if not self.frame_channels:
            return None
        t = self.step_seconds(start_s, steps)
        b = start_s.shape[0]
        zeros = torch.zeros(b, steps, dtype=torch.long, device=start_s.device)
        out = []
        for name, _ in self.frame_channels:
            if name == "beats":
                out.append(zeros if bpm is None else self.beat_ids(bpm, start_s, steps))
            elif name in ("melody", "section"):
                seq, rate = (melody, MELODY_RATE) if name == "melody" else (sections, FORM_RATE)
                out.append(zeros if seq is None else _at_times(seq.long(), t, rate))
            else:  # to_end
                if total_s is None or not self.to_end:
                    out.append(zeros)
                    continue
                left = total_s.double()[:, None] - t
                edges = torch.tensor(TO_END_EDGES, dtype=torch.float64, device=t.device)
                ids = torch.bucketize(left.clamp(min=0), edges, right=True) + 1
                out.append(torch.where(total_s[:, None] > 0, ids, zeros))
        return torch.stack(out, dim=1)

    def beat_ids(self, bpm: Tensor, start_s: Tensor, steps: int) -> Tensor:
        """Beat phase ids ``(B, steps)`` of the frame each target step predicts: ``1 +
        floor(8 * (beats since the clip's start mod 1))``, 0 where ``bpm`` is unknown (<= 0).
        The engine's clips start on a beat (their onset strength peaks at phase 0)."""
        t = self.step_seconds(start_s, steps)  # (B, steps) s
        beats = t * bpm.double()[:, None] / 60.0
        phase = ((beats - beats.floor()) * BEAT_PHASES).long().clamp(0, BEAT_PHASES - 1) + 1
        return torch.where(bpm[:, None] > 0, phase, torch.zeros_like(phase))

    @property
    def vocab_size(self) -> int:
        return self.attribute_offset + (TEMPO_BINS + N_KEYS) * self.has_attributes

    @property
    def n_streams(self) -> int:
        """Ids per position: the acoustic stages share one width, that of the wider."""
        if self.stage.target == "semantic":
            return 1
        p = PATTERNS[self.pattern]
        return max(p.streams(self.coarse_levels), p.streams(self.fine_levels))

    def used_ranges(self) -> list[tuple[int, int]]:
        """``[start, end)`` id ranges this stage's sequences can hold; the vocabulary spans
        every kind of token, but the fine stage, say, never sees a MuLan or semantic id,
        so those embedding rows need not be stored."""
        ranges = [(0, N_SPECIAL)]
        if self.conditioned:
            ranges.append((self.mulan_offset, self.semantic_offset))  # MuLan + timing
        if "semantic" in (self.stage.target, self.stage.context):
            ranges.append((self.semantic_offset, self.acoustic_offset))
        if self.stage.target == "acoustic":
            ranges.append((self.acoustic_offset, self.attribute_offset))
        if self.has_attributes:
            ranges.append((self.attribute_offset, self.vocab_size))
        return ranges

    @property
    def conditioned(self) -> bool:
        """Whether the stage sees MuLan tokens (and so supports guidance)."""
        return self.stage.conditioned

    # -- sequences ---------------------------------------------------------------------

    def timing_ids(self, start_s: Tensor, total_s: Tensor) -> Tensor:
        """``(B,)`` seconds -> ``(B, 2)`` ids."""
        top = self.max_seconds - 1
        start = start_s.long().clamp(0, top) + self.timing_offset
        total = total_s.long().clamp(0, top) + self.timing_offset + self.max_seconds
        return torch.stack([start, total], dim=1)

    def mulan_ids(self, tokens: Tensor, drop: Tensor | None = None) -> Tensor:
        """``(B, L)`` MuLan tokens -> ids; rows where ``drop`` is True become ``NULL``.

        Only the first ``mulan_levels`` levels are used, so a stage may condition on the
        coarser part of a deeper RVQ (its fine levels can memorise a small corpus)."""
        if tokens.shape[1] < self.mulan_levels:
            raise ValueError(f"{tokens.shape[1]} MuLan levels given; {self.mulan_levels} needed")
        levels = torch.arange(self.mulan_levels, device=tokens.device)
        ids = tokens[:, : self.mulan_levels].long() + self.mulan_offset
        ids = ids + levels * self.mulan_codebook
        if drop is not None:
            ids = torch.where(drop[:, None], torch.full_like(ids, NULL), ids)
        return ids

    def attribute_ids(
        self, tempo: Tensor | None, key: Tensor | None, b: int, drop: Tensor | None = None
    ) -> Tensor:
        """Tempo bins and key indices ``(B,)`` (-1 or None: unknown) -> ``(B, 2)`` ids,
        ``NULL`` where unknown or where ``drop`` is True."""
        out = []
        for values, offset, size in (
            (tempo, self.attribute_offset, TEMPO_BINS),
            (key, self.attribute_offset + TEMPO_BINS, N_KEYS),
        ):
            v = torch.full((b,), -1, dtype=torch.long) if values is None else values.long()
            if v.shape != (b,) or bool((v >= size).any()):
                raise ValueError(f"attribute ids must be (B,) in [-1, {size}), got {v.tolist()}")
            known = v >= 0 if drop is None else (v >= 0) & ~drop
            out.append(torch.where(known, v + offset, torch.full_like(v, NULL)))
        return torch.stack(out, dim=1)

    def target_ids(self, target: Tensor) -> Tensor:
        """Target tokens -> input ids, in the stage's pattern.

        ``target`` is ``(B, T)`` semantic tokens or ``(B, Q, T)`` acoustic codes of this
        stage's levels. Returns ``(B, streams, steps)``.
        """
        ids = self.target_pattern.ids(
            target, self.target_offset, self.target_codebook, self.first_level, PAD
        )
        return self._pad_streams(ids)

    def context_ids(self, context: Tensor) -> Tensor:
        """The non-MuLan context -> ``(B, streams, steps)``: semantic tokens ``(B, T)`` for
        the coarse stage, coarse codes ``(B, Qc, T)`` (one position a frame, levels in
        streams; flattened when the pattern is flat) for the fine stage."""
        if self.stage.context == "semantic":
            ids = SINGLE.frame_ids(context, self.semantic_offset, self.semantic_codebook)
        else:
            ids = PATTERNS[self.pattern].frame_ids(
                context, self.acoustic_offset, self.acoustic_codebook
            )
        return self._pad_streams(ids)

    def _pad_streams(self, ids: Tensor) -> Tensor:
        b, s, t = ids.shape
        if s == self.n_streams:
            return ids
        pad = ids.new_full((b, self.n_streams - s, t), PAD)
        return torch.cat([ids, pad], dim=1)

    def prefix(
        self,
        *,
        mulan: Tensor | None = None,
        start_s: Tensor | None = None,
        total_s: Tensor | None = None,
        context: Tensor | None = None,
        drop: Tensor | None = None,
        tempo: Tensor | None = None,
        key: Tensor | None = None,
    ) -> Tensor:
        """The conditioning part, ending with ``BOS``: ``(B, streams, P)``. ``tempo`` and
        ``key`` (``(B,)`` tempo bins / key indices, -1 unknown) are used by layouts with
        ``attributes`` and ignored by the others."""
        parts = []
        if self.conditioned:
            if mulan is None:
                raise ValueError(f"the {self.kind} stage needs MuLan tokens")
            b = mulan.shape[0]
            parts.append(self.mulan_ids(mulan, drop)[:, None])
            if self.timing:
                if start_s is None or total_s is None:
                    raise ValueError("timing needs start_s and total_s")
                parts.append(self.timing_ids(start_s, total_s)[:, None])
            if self.has_attributes:
                parts.append(self.attribute_ids(tempo, key, b, drop).to(mulan.device)[:, None])
        if self.stage.context:
            if context is None:
                raise ValueError(f"the {self.kind} stage needs its context tokens")
            b = context.shape[0]
        elif not parts:
            raise ValueError(f"the {self.kind} stage needs MuLan tokens")
        parts = [self._pad_streams(p) for p in parts]
        if context is not None and self.stage.context:
            parts.append(self.context_ids(context))
        bos = torch.full((b, self.n_streams, 1), PAD, dtype=torch.long, device=parts[0].device)
        bos[:, 0] = BOS
        return torch.cat(parts + [bos], dim=2)


def _at_times(seq: Tensor, t: Tensor, rate: int) -> Tensor:
    """``seq (B, N)`` sampled at ``rate`` -> its ids at times ``t (B, steps)``; 0 past
    either end."""
    if seq.shape[1] == 0:
        return torch.zeros(t.shape, dtype=torch.long, device=t.device)
    index = torch.floor(t * rate + 1e-6).long()
    inside = (index >= 0) & (index < seq.shape[1])
    got = torch.gather(seq, 1, index.clamp(0, max(seq.shape[1] - 1, 0)))
    return torch.where(inside, got, torch.zeros_like(got))
