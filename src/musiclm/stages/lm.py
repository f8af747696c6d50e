"""One token stage: a :class:`TokenTransformer` over a :class:`LayoutConfig` sequence.

Training: ``prefix + target``, teacher forcing, cross-entropy on the target only; the
MuLan tokens are replaced by ``NULL`` for ``cond_dropout`` of the examples so the same
network also models ``p(target | no text)`` for classifier-free guidance.

Sampling: the prefix goes through once, then one position per step with the KV cache;
with guidance the conditional and unconditional prefixes run as one batch of 2B.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from musiclm.stages.config import StageConfig
from musiclm.stages.layout import LayoutConfig
from musiclm.stages.sampling import SamplingOptions, guide, sample
from musiclm.stages.transformer import TokenTransformer

IGNORE = -100
PREFILL_ROWS = 16  # rows of a batch whose prefix goes through at once (memory)


class StageLM(nn.Module):
    """A stage. Targets are semantic tokens ``(B, T)`` or codes ``(B, Q, T)`` of the
    stage's levels (level indices relative to the first level of the stage)."""

    def __init__(self, config: StageConfig):
        super().__init__()
        self.config = config
        self.layout = config.layout
        self.net = TokenTransformer(config.transformer())

    # -- training ------------------------------------------------------------------------

    def forward(self, prefix: Tensor, target: Tensor, frame_ids: Tensor | None = None) -> Tensor:
        """The training loss (see :meth:`loss`); ``forward`` so that DDP syncs gradients."""
        return self.loss(prefix, target, frame_ids)

    @staticmethod
    def _positions(frame_ids: Tensor | None, before: int) -> Tensor | None:
        """Per-position ids of a sequence whose target steps start after ``before``
        positions (the prefix but BOS): 0 there, then ``frame_ids (B, [C,] steps)``."""
        if frame_ids is None:
            return None
        ids = frame_ids.long()
        zeros = ids.new_zeros(*ids.shape[:-1], before)
        return torch.cat([zeros, ids], dim=-1)

    def labels(self, target: Tensor) -> Tensor:
        """What each target position must predict, ``(B, streams, steps)``, IGNORE where
        nothing is (delay padding, unused streams)."""
        lay = self.layout
        out = lay.target_pattern.labels(target, lay.target_codebook, IGNORE)
        extra = lay.n_streams - out.shape[1]
        if extra:
            out = torch.cat([out, out.new_full((out.shape[0], extra, out.shape[2]), IGNORE)], 1)
        return out

    def loss(self, prefix: Tensor, target: Tensor, frame_ids: Tensor | None = None) -> Tensor:
        """Mean cross-entropy of the target given ``prefix (B, streams, P)`` (which ends
        with BOS, see :meth:`LayoutConfig.prefix`) and, for layouts with per-frame
        conditions, their ids ``(B, channels, steps)`` of the target steps
        (:meth:`LayoutConfig.frame_ids`; ``(B, steps)`` for one channel)."""
        ids = torch.cat([prefix, self.layout.target_ids(target)], dim=2)
        # only the positions from the last prefix one (BOS) on predict the target
        p = prefix.shape[2] - 1
        logits = self.net(ids[:, :, :-1], logits_from=p, position_ids=self._positions(frame_ids, p))
        labels = self.labels(target)
        return F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]).float(), labels.reshape(-1), ignore_index=IGNORE
        )

    # -- sampling ------------------------------------------------------------------------

    @torch.no_grad()
    def generate(
        self,
        prefix: Tensor,
        frames: int,
        options: SamplingOptions = SamplingOptions(),
        *,
        uncond_prefix: Tensor | None = None,
        prompt: Tensor | None = None,
        generator: torch.Generator | None = None,
        progress=None,
        frame_ids: Tensor | None = None,
        uncond_frame_ids: Tensor | None = None,
        guides: Sequence[tuple[Tensor, Tensor | None, float]] = (),
    ) -> Tensor:
        """Sample ``frames`` frames of target after ``prefix (B, streams, P)``.

        ``uncond_prefix`` (same shape, MuLan tokens NULL) enables guidance with
        ``options.cfg``. ``prompt`` (semantic tokens ``(B, K)`` or this stage's codes
        ``(B, Q, K)``) is taken as the first ``K`` frames, for continuing a sequence (a
        sliding window, or given audio): the steps it fixes entirely are one chunk, and
        where a pattern spreads its last frames over later steps (the delays of levels
        ``q > 0``) those positions take the prompt's codes instead of a draw. ``progress``
        is called with 1 after each step. ``frame_ids (B, channels, steps)``: per-frame
        condition ids of the target steps (the prompt's included;
        :meth:`LayoutConfig.frame_ids`), for layouts with them; guidance's unconditional
        pass goes without, as trained, unless ``uncond_frame_ids`` (same shape) gives
        its own. ``guides``: more passes ``(prefix, frame_ids, weight)``, each with some
        conditions left out or others in their place, whose log-probabilities push the draw
        by ``weight`` times (conditional - that pass) on top of guidance (multi-condition
        guidance: e.g. toward the key and the tune alone, or away from another text).
        Returns semantic tokens ``(B, frames)`` or codes ``(B, Q, frames)``, the prompt included.
        """
        lay, b = self.layout, prefix.shape[0]
        guided = uncond_prefix is not None and options.cfg != 1.0
        guides = [g for g in guides if g[2] != 0.0]
        passes = 1 + guided + len(guides)
        seq = torch.cat([prefix, uncond_prefix]) if guided else prefix
        if guides:
            seq = torch.cat([seq, *(p for p, _, _ in guides)])
        q = lay.target_levels
        steps = self.steps_for(frames)
        known, forced = 0, None  # steps the prompt fixes entirely; its tokens in step order
        if prompt is not None:
            forced, known = self._prompt_steps(prompt, steps, frames)
            ids = lay.target_ids(prompt)[:, :, :known]
            seq = torch.cat([seq, torch.cat([ids] * passes)], dim=2)
        if self.config.prefix_len + steps > self.net.config.max_len:
            raise ValueError(
                f"{frames} frames do not fit this stage's window "
                f"({self.config.target_frames} frames)"
            )
        if frame_ids is not None:
            frame_ids = frame_ids.long()
            if frame_ids.ndim == 2:
                frame_ids = frame_ids[:, None]
            if frame_ids.shape[0] != b or frame_ids.shape[2] != steps:
                raise ValueError(
                    f"frame ids must be ({b}, channels, {steps}), got {tuple(frame_ids.shape)}"
                )
            rows = [frame_ids]
            if guided:
                other = torch.zeros_like(frame_ids)
                if uncond_frame_ids is not None:
                    other = uncond_frame_ids.long().reshape(frame_ids.shape)
                rows.append(other)
            for _, ids, _ in guides:
                rows.append(torch.zeros_like(frame_ids) if ids is None
                            else ids.long().reshape(frame_ids.shape))  # fmt: skip
            frame_ids = torch.cat(rows)
        p = prefix.shape[2] - 1
        first = self._positions(frame_ids[..., : known + 1] if frame_ids is not None else None, p)
        cache = self.net.new_cache(seq.shape[0])
        logits = self._prefill(seq, cache, first)  # (B', streams, V): the first step's
        mask = lay.target_pattern.real(q, steps, frames, prefix.device)
        out = [forced[:, :, i] for i in range(known)] if forced is not None else []
        for step in range(known, steps):
            if guides:
                parts = logits.split(b)
                cond = parts[0].float().log_softmax(-1)
                extra = sum(w * (cond - part.float().log_softmax(-1))
                            for (_, _, w), part in zip(guides, parts[1 + guided :]))  # fmt: skip
                logits = (guide(parts[0], parts[1], options.cfg) if guided else cond) + extra
            elif guided:
                logits = guide(logits[:b], logits[b:], options.cfg)
            logits = self._restrict(logits, step)
            tokens = sample(logits, options, generator)  # (B, streams)
            if mask is not None:  # delay padding and unused streams are not real codes
                tokens = tokens.clone()
                tokens[:, :q] = torch.where(mask[:, step], tokens[:, :q], -1)
                tokens[:, q:] = -1
            if forced is not None and step < forced.shape[2]:  # the prompt's delayed levels
                tokens = torch.where(forced[:, :, step] >= 0, forced[:, :, step], tokens)
            out.append(tokens)
            if step + 1 < steps:
                ids = self._step_ids(tokens, step)
                ids = torch.cat([ids] * passes) if passes > 1 else ids
                pos = frame_ids[..., step + 1 : step + 2] if frame_ids is not None else None
                logits = self.net(ids[:, :, None], cache, position_ids=pos)[:, :, -1]
            if progress is not None:
                progress(1)
        return self._assemble(torch.stack(out, dim=2), frames)

    def _prefill(self, seq: Tensor, cache, position_ids: Tensor | None) -> Tensor:
        """Run ``seq (B', streams, P)`` into ``cache``; the logits of its last position
        ``(B', streams, V)``. Rows go through ``PREFILL_ROWS`` at a time and the heads
        see the last position only: the fine stage's batch of 64 windows (P 151) made
        ~320 MB of activations and prefix logits at once, a 300 s piece's peak memory
        (docs/songs.md)."""
        last, out = seq.shape[2] - 1, []
        for a in range(0, seq.shape[0], PREFILL_ROWS):
            part = cache.rows(a, a + PREFILL_ROWS)
            pos = position_ids[a : a + PREFILL_ROWS] if position_ids is not None else None
            out.append(self.net(seq[a : a + PREFILL_ROWS], part, last, pos)[:, :, -1])
        cache.length = part.length
        return torch.cat(out)

    def _prompt_steps(self, prompt: Tensor, steps: int, frames: int) -> tuple[Tensor, int]:
        """A prompt's tokens in step order ``(B, streams, prompt steps)`` (-1 where a step
        is drawn: delay padding, unused streams, frames after the prompt), and how many
        leading steps it fixes entirely (delayed: ``K``, the later levels of its last
        frames come after; flattened and semantic: all of its steps)."""
        lay = self.layout
        k = prompt.shape[-1]
        if prompt.ndim != (2 if lay.stage.target == "semantic" else 3):
            raise ValueError(f"a {lay.kind} prompt has the target's shape, got {prompt.shape}")
        if not 0 < k < frames:
            raise ValueError(f"a prompt of {k} frames cannot start {frames} frames")
        forced = self.labels(prompt)
        forced = torch.where(forced == IGNORE, -1, forced)
        pattern, q = lay.target_pattern, lay.target_levels
        real = pattern.real(q, steps, frames, prompt.device)
        if real is None:  # every position of the pattern's streams holds a token
            real = torch.ones(pattern.streams(q), steps, dtype=torch.bool, device=prompt.device)
        n = forced.shape[2]
        free = (real[:, :n] & (forced[0, : real.shape[0]] < 0)).any(0)  # (n,) a draw is due
        known = int(free.float().argmax()) if bool(free.any()) else n
        return forced, known

    def steps_for(self, frames: int) -> int:
        """Sequential sampling steps for ``frames`` frames of target."""
        return self.layout.target_pattern.steps(self.layout.target_levels, frames)

    def _restrict(self, logits: Tensor, step: int) -> Tensor:
        """Flattened acoustic targets: allow only the ids of the level due at ``step``."""
        lay = self.layout
        return lay.target_pattern.restrict(logits, step, lay.target_levels, lay.target_codebook)

    def _step_ids(self, tokens: Tensor, step: int) -> Tensor:
        """Sampled tokens ``(B, streams)`` -> input ids of that position."""
        lay = self.layout
        return lay.target_pattern.step_ids(
            tokens, lay.target_offset, lay.target_codebook, lay.first_level
        )

    def _assemble(self, sampled: Tensor, frames: int) -> Tensor:
        """Stacked samples ``(B, streams, steps)`` -> tokens in frame order."""
        lay = self.layout
        return lay.target_pattern.assemble(sampled, frames, lay.target_levels, lay.target_codebook)


# -- files ----------------------------------------------------------------------------------


def save_stage(model: StageLM, path, fp16: bool = False) -> None:
    """``config.json`` + ``model.safetensors`` (fp16 halves the file). Input-embedding rows
    of ids the stage never sees (:meth:`LayoutConfig.used_ranges`) are left out."""
    from musiclm.training.checkpoint import save_pretrained

    dtype = torch.float16 if fp16 else torch.float32
    rows = _used_rows(model.layout)
    state = {
        k: v[rows] if _is_embedding(k) else v for k, v in model.state_dict().items()
    }  # fmt: skip
    save_pretrained(state, {**model.config.to_dict(), "embed_rows": "used"}, path, dtype=dtype)


def load_stage(path) -> StageLM:
    """Load a folder written by :func:`save_stage`, in eval mode, fp32."""
    from musiclm.errors import UserError
    from musiclm.training.checkpoint import load_pretrained

    state, config = load_pretrained(path)
    config = dict(config.get("stage", config))
    packed = config.pop("embed_rows", None) == "used"
    model = StageLM(StageConfig.from_dict(config))
    state = {k: v.float() for k, v in state.items()}
    if packed:  # put the stored rows back in place; rows of unused ids stay zero
        rows = _used_rows(model.layout)
        for k, v in list(state.items()):
            if _is_embedding(k) and v.shape[0] == len(rows):
                full = torch.zeros(model.layout.vocab_size, v.shape[1])
                full[rows] = v
                state[k] = full
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise UserError(f"{path}: the weights do not match its stage config ({e})") from None
    return model.eval()


def _is_embedding(key: str) -> bool:
    return key.startswith("net.embed.") and key.endswith(".weight")


def _used_rows(layout: LayoutConfig) -> torch.Tensor:
    return torch.cat([torch.arange(a, b) for a, b in layout.used_ranges()])
