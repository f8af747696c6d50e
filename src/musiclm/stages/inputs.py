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
from dataclasses import dataclass

import torch
from torch import Tensor

from musiclm.conditions import Conditions
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
    beats: Tensor | None  # (B, steps) beat-phase ids of the target steps; None: none


class StageInputs:
    """Builds one stage's inputs; the conditioning tensors of a batch are made once."""

    def __init__(self, layout: LayoutConfig, conditions: Sequence[Conditions], device):
        self.layout, self.device = layout, torch.device(device)
        self.b = len(conditions)
        self._cond: dict[str, Tensor] = {}
        if layout.conditioned:
            self._cond["mulan"] = torch.stack([c.mulan for c in conditions]).long().to(device)
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

    def __call__(self, window: Window, guided: bool) -> Inputs:
        """The inputs of ``window``; ``guided``: also the unconditional prefix (stages
        without MuLan tokens have none)."""
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
        return Inputs(prefix, uncond, self.per_frame(kw.get("start_s"), window.steps))

    def per_frame(self, start_s: Tensor | None, steps: int) -> Tensor | None:
        """Per-frame conditions of the target steps: the beat phase of the tempo."""
        if not self.layout.has_beats:
            return None
        return self.layout.beat_ids(self._bpm, start_s, steps)
