"""A stage's config (its layout, sizes and training settings) and the named presets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from musiclm.configs import Config
from musiclm.errors import UserError
from musiclm.stages.layout import LayoutConfig
from musiclm.stages.patterns import PATTERNS
from musiclm.stages.transformer import TransformerConfig


@dataclass
class StageConfig(Config):
    NAME: ClassVar[str] = "stage"

    layout: LayoutConfig = field(default_factory=LayoutConfig)
    dim: int = 256
    n_layers: int = 4
    n_heads: int = 4
    mlp_ratio: int = 4
    dropout: float = 0.0
    window_seconds: float = 10.0  # training / generation window of the target
    context_seconds: float = 0.0  # fine stage: coarse frames seen (0: the window itself)
    cond_dropout: float = 0.1  # share of examples trained without MuLan tokens (CFG)
    # share of examples conditioned on a caption's MuLan tokens instead of the audio's
    # (needs `captions` tokens): what the stage sees at inference, where text prompts it
    text_cond: float = 0.0
    # layouts with tempo/key tokens: share of examples where each is dropped (unknown), so
    # prompts that state neither still work
    attr_dropout: float = 0.3
    # layouts with melody / form channels: share of examples trained without each
    melody_dropout: float = 0.5
    form_dropout: float = 0.3
    # training: a clip counts once per window of its length (whole songs beside clips)
    per_window: bool = False

    # -- sizes ---------------------------------------------------------------------------

    @property
    def target_frames(self) -> int:
        return int(round(self.window_seconds * self.layout.target_rate))

    @property
    def target_steps(self) -> int:
        lay = self.layout
        return lay.target_pattern.steps(lay.target_levels, self.target_frames)

    @property
    def prefix_len(self) -> int:
        lay = self.layout
        n = 1  # BOS
        if lay.conditioned:
            n += lay.mulan_levels + 2 * lay.timing + 2 * lay.has_attributes
        if lay.stage.context == "semantic":
            n += int(round(self.window_seconds * lay.semantic_rate))
        elif lay.stage.context == "coarse":
            frames = int(round(lay.acoustic_rate * (self.context_seconds or self.window_seconds)))
            n += PATTERNS[lay.pattern].frame_positions(lay.coarse_levels, frames)
        return n

    @property
    def out_vocab(self) -> int:
        lay = self.layout
        return lay.target_pattern.out_vocab(lay.target_levels, lay.target_codebook)

    def transformer(self) -> TransformerConfig:
        return TransformerConfig(
            vocab_size=self.layout.vocab_size, dim=self.dim, n_layers=self.n_layers,
            n_heads=self.n_heads, mlp_ratio=self.mlp_ratio, dropout=self.dropout,
            max_len=self.prefix_len + self.target_steps, n_streams=self.layout.n_streams,
            out_vocab=self.out_vocab, position_ids=self.layout.position_ids,
            more_position_ids=self.layout.more_position_ids,
        )  # fmt: skip


# -- presets --------------------------------------------------------------------------------

# Per-stage sizes. ``tiny`` is the bundled model's: d=256 x 4 layers decodes a step in a
# few ms on the 2-core CPU (issue measurement: ~3.5 ms eager with the cache, batch 2), and
# the delay pattern makes 10 s of coarse codes ~500 steps instead of 2,000 flattened.
# ``base`` is MusicLM's (arXiv 2301.11325 §3.2: 24 layers, 16 heads, d=1024, flattened).
STAGE_PRESETS: dict[str, dict[str, dict]] = {
    "debug": {
        "semantic": dict(dim=32, n_layers=1, n_heads=2, window_seconds=2.0),
        "coarse": dict(dim=32, n_layers=1, n_heads=2, window_seconds=2.0),
        "fine": dict(dim=32, n_layers=1, n_heads=2, window_seconds=1.0),
    },
    "tiny": {
        "semantic": dict(dim=256, n_layers=4, n_heads=4, window_seconds=10.0),
        "coarse": dict(dim=256, n_layers=4, n_heads=4, window_seconds=10.0),
        "fine": dict(dim=256, n_layers=4, n_heads=4, window_seconds=3.0),
    },
    "base": {
        kind: dict(dim=1024, n_layers=24, n_heads=16, window_seconds=w, layout=dict(
            pattern="flat", mulan_codebook=1024, coarse_levels=4, fine_levels=8))
        for kind, w in (("semantic", 30.0), ("coarse", 10.0), ("fine", 3.0))
    },
}  # fmt: skip


def stage_config(
    kind: str,
    preset: str = "tiny",
    *,
    attributes: bool = False,
    beats: bool = False,
    text_cond: float = 0.0,
    melody: bool = False,
    form: bool = False,
    melody_dropout: float | None = None,
    per_window: bool = False,
    **layout: Any,
) -> StageConfig:
    """The ``preset`` sizes for stage ``kind``; ``layout`` overrides vocabulary facts (e.g.
    ``mulan_codebook`` and ``coarse_levels`` read from the token files).

    The stage rules: tempo and key tokens (``attributes``, with ``beats`` the beat phase
    too) and text conditioning (``text_cond``, the share of examples conditioned on a
    caption) are for the conditioned stages; the fine stage takes no MuLan tokens, so it
    ignores them; so are the per-frame ``melody`` and ``form`` channels. ``beats`` needs
    ``attributes`` (the beat grid comes from the tempo). ``melody_dropout`` (the share of
    examples trained without their melody) and ``per_window`` (form and timing read per
    training window) go to the config as given; None keeps the default."""
    if beats and not attributes:
        raise UserError("beats need attributes (the beat grid comes from the tempo)")
    if not 0.0 <= text_cond <= 1.0:
        raise UserError(f"text_cond must be in [0, 1], got {text_cond}")
    if preset not in STAGE_PRESETS:
        raise UserError(f"unknown stage preset {preset!r}; choose from {sorted(STAGE_PRESETS)}")
    if kind not in STAGE_PRESETS[preset]:
        raise UserError(f"unknown stage {kind!r}; choose from {sorted(STAGE_PRESETS[preset])}")
    d = dict(STAGE_PRESETS[preset][kind])
    conditioned = LayoutConfig(kind=kind).conditioned
    if conditioned and attributes:
        layout = {**layout, "attributes": True, "beats": beats}
    if conditioned and (melody or form):
        layout = {**layout, "melody": melody, "form": form}
    if conditioned and text_cond > 0:
        d["text_cond"] = text_cond
    if melody_dropout is not None:
        if not 0.0 <= melody_dropout <= 1.0:
            raise UserError(f"melody_dropout must be in [0, 1], got {melody_dropout}")
        d["melody_dropout"] = melody_dropout
    if per_window:
        d["per_window"] = True
    lay = LayoutConfig(**{**d.pop("layout", {}), **layout, "kind": kind})
    return StageConfig(layout=lay, **d)
