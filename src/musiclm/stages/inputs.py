"""A stage's inputs for one window, built from the prompts' :class:`Conditions`.

As audiocraft's ``ConditioningProvider`` turns conditioning attributes into what the LM
takes, :class:`StageInputs` turns a batch of :class:`~musiclm.conditions.Conditions`
and a window (where it starts, how long the piece is, the context tokens it continues)
into the stage's prefix, the prefix of guidance's unconditional pass and the per-frame
conditions (the beat phase). The pipeline knows windows, not layouts.

Adding a per-frame condition: a field of ``Conditions`` (read by
:func:`musiclm.conditions.parse`), its ids here (``per_frame``), and the layout that
makes room for them; docs/stages.md lists the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from musiclm.conditions import Conditions, section_ids
from musiclm.stages.attributes import tempo_bin
from musiclm.stages.layout import LayoutConfig


@dataclass(frozen=True)
class Window:
    """Where a window of a stage's target lies in the piece."""

    start_s: float  # seconds from the start of the piece
    total_s: float  # seconds of the whole piece
    steps: int  # sampling steps of the target (see StageLM.steps_for)
    context: Tensor | None = None  # semantic tokens (B, T) or coarse codes (B, Qc, T)


@dataclass
class Inputs:
    """What :meth:`StageLM.generate` takes besides the number of frames."""

    prefix: Tensor  # (B, streams, P)
    uncond_prefix: Tensor | None  # (B, streams, P) with conditioning dropped; None: no guidance
    per_frame: Tensor | None  # (B, channels, steps) per-frame condition ids; None: none
    # the unconditional pass's per-frame ids; None: all unknown (as trained with dropout)
    uncond_per_frame: Tensor | None = None
    # the pass without the pitch conditions (the key token and the melody), everything
    # else kept, for guidance toward them (GenerationOptions.pitch_cfg); None: none
    pitchless_prefix: Tensor | None = None
    pitchless_per_frame: Tensor | None = None
    # prefixes with another story part's MuLan tokens, everything else kept, for guidance
    # away from those texts (GenerationOptions.story_contrast); empty: none
    contrast_prefixes: list[Tensor] = field(default_factory=list)


class StageInputs:
    """Builds one stage's inputs; the conditioning tensors of a batch are made once."""

    def __init__(
        self,
        layout: LayoutConfig,
        conditions: Sequence[Conditions],
        device,
        contrast: Sequence[Sequence[Conditions]] = (),
    ):
        """``contrast``: the conditions of other story parts (each one per piece, as
        ``conditions``), whose texts guidance may push away from."""
        self.layout, self.device = layout, torch.device(device)
        self.b = len(conditions)
        self._cond: dict[str, Tensor] = {}
        self._bpm: Tensor | None = None
        self._contrast: list[Tensor] = []
        if layout.conditioned:
            self._cond["mulan"] = torch.stack([c.mulan for c in conditions]).long().to(device)
            self._contrast = [torch.stack([c.mulan for c in other]).long().to(device)
                              for other in contrast]  # fmt: skip
            if layout.has_attributes:
                self._cond["tempo"] = torch.tensor(
                    [tempo_bin(c.tempo) if c.tempo else -1 for c in conditions]
                ).to(device)
                self._cond["key"] = torch.tensor(
                    [c.key if c.key is not None else -1 for c in conditions]
                ).to(device)
                self._bpm = torch.tensor(
                    [float(c.tempo) if c.tempo else 0.0 for c in conditions]
                ).to(device)
        names = {n for n, _ in layout.frame_channels}
        melodies = [c.melody for c in conditions] if "melody" in names else []
        forms = [section_ids(c.form) if c.form else None for c in conditions] if (
            "section" in names) else []  # fmt: skip
        self._melody = _stack(melodies, self.device)
        self._sections = _stack(forms, self.device)

    def __call__(
        self,
        window: Window,
        guided: bool,
        keep_melody: bool = False,
        pitch: bool = False,
        contrast: bool = False,
    ) -> Inputs:
        """The inputs of ``window``; ``guided``: also the unconditional prefix (stages
        without MuLan tokens have none); ``keep_melody``: the unconditional pass keeps the
        melody, so guidance pushes toward the text alone (``GenerationOptions``);
        ``pitch``: also the pass without the key and the melody (stages with key tokens,
        or pieces with a melody); ``contrast``: also a pass per other story part given,
        with that part's MuLan tokens."""
        lay = self.layout
        kw = dict(self._cond)
        if lay.conditioned:
            kw["start_s"] = torch.full((self.b,), float(window.start_s), device=self.device)
            kw["total_s"] = torch.full((self.b,), float(window.total_s), device=self.device)
        if window.context is not None:
            kw["context"] = window.context
        prefix = lay.prefix(**kw)
        uncond = None
        if lay.conditioned and guided:
            uncond = lay.prefix(**kw, drop=torch.ones(prefix.shape[0], dtype=torch.bool))
        frames = self.per_frame(kw.get("start_s"), kw.get("total_s"), window.steps)
        uncond_frames = None
        if uncond is not None and keep_melody and self._melody is not None:
            uncond_frames = lay.frame_ids(kw["start_s"], window.steps, melody=self._melody)
        out = Inputs(prefix, uncond, frames, uncond_frames)
        if pitch and lay.conditioned and (lay.has_attributes or self._melody is not None):
            out.pitchless_prefix = lay.prefix(**{**kw, "key": None})
            if frames is not None:
                out.pitchless_per_frame = lay.frame_ids(
                    kw["start_s"], window.steps, bpm=self._bpm, sections=self._sections,
                    total_s=kw.get("total_s"),
                )  # fmt: skip
        if contrast:
            out.contrast_prefixes = [lay.prefix(**{**kw, "mulan": m}) for m in self._contrast]
        return out

    def per_frame(
        self, start_s: Tensor | None, total_s: Tensor | None, steps: int
    ) -> Tensor | None:
        """Per-frame conditions of the target steps (:meth:`LayoutConfig.frame_ids`): the
        beat phase of the tempo, the melody, the section of the form plan and the
        seconds left."""
        if not self.layout.frame_channels:
            return None
        return self.layout.frame_ids(
            start_s,
            steps,
            bpm=self._bpm,
            melody=self._melody,
            sections=self._sections,
            total_s=total_s,
        )


def _stack(seqs: list[Tensor | None], device: torch.device) -> Tensor | None:
    """Per-piece id sequences -> ``(B, N)`` padded with 0 (unknown); None if all None."""
    if all(x is None for x in seqs):
        return None
    n = max(len(x) for x in seqs if x is not None)
    out = torch.zeros(len(seqs), n, dtype=torch.long)
    for i, x in enumerate(seqs):
        if x is not None:
            out[i, : len(x)] = torch.as_tensor(x).long()
    return out.to(device)
