"""The masked-prediction encoder of iterations >= 1 (HuBERT, arXiv 2106.07447 §II.B).

A small Transformer over standardised 25 Hz frame features. In training, spans of frames
are replaced by a learned mask vector and the network predicts the previous iteration's
cluster id of every masked frame (cross-entropy on masked frames only, HuBERT's alpha = 1).
To predict a masked chord or note it must infer it from the context, so its middle
layers learn what persists across a phrase rather than the surface of one frame; the
next iteration's tokens are k-means ids of one such layer.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from musiclm.semantic.config import SemanticConfig


def span_mask(frames: int, prob: float, span: int, rng: np.random.Generator) -> np.ndarray:
    """HuBERT/wav2vec 2.0 masking: each frame starts a masked span of ``span`` frames with
    probability ``prob`` (spans may overlap); at least one span. ``(frames,)`` bool."""
    starts = np.flatnonzero(rng.random(frames) < prob)
    if len(starts) == 0 and frames > 0:
        starts = rng.integers(0, max(1, frames - span + 1), size=1)
    mask = np.zeros(frames, dtype=bool)
    for s in starts:
        mask[s : s + span] = True
    return mask


class SemanticEncoder(nn.Module):
    """Frame features ``(B, T, F)`` -> logits over the previous iteration's tokens.

    Pre-norm Transformer layers (stable without warmup tricks at small sizes) after a
    depthwise-convolution positional embedding, which, unlike a learned table, serves
    any length (wav2vec 2.0 / HuBERT use a grouped convolution the same way).
    """

    def __init__(self, config: SemanticConfig):
        super().__init__()
        c = self.config = config
        self.proj = nn.Linear(c.feature_dim, c.d_model)
        self.mask_embedding = nn.Parameter(torch.randn(c.d_model) * 0.02)
        self.pos_conv = nn.Conv1d(
            c.d_model, c.d_model, c.pos_kernel, padding=c.pos_kernel // 2, groups=c.d_model
        )
        self.pos_norm = nn.LayerNorm(c.d_model)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(
                c.d_model,
                c.n_heads,
                c.ff_mult * c.d_model,
                c.dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(c.n_layers)
        )
        self.norm = nn.LayerNorm(c.d_model)
        self.head = nn.Linear(c.d_model, c.targets)

    def _embed(self, features: Tensor, mask: Tensor | None, padding: Tensor | None) -> Tensor:
        x = self.proj(features)  # (B, T, D)
        if mask is not None:
            x = torch.where(mask[..., None], self.mask_embedding.to(x.dtype), x)
        if padding is not None:
            x = x.masked_fill(padding[..., None], 0.0)  # no padding leaks in through the conv
        pos = self.pos_conv(x.transpose(1, 2)).transpose(1, 2)  # (B, T, D)
        return self.pos_norm(x + F.gelu(pos))

    def hidden(
        self,
        features: Tensor,
        layer: int | None = None,
        *,
        mask: Tensor | None = None,
        padding: Tensor | None = None,
    ) -> Tensor:
        """The residual stream after Transformer layer ``layer`` (1-based; default
        ``config.layer``; ``n_layers`` gives the last, before the final norm).

        Args:
            features: ``(B, T, F)`` standardised frame features.
            mask: ``(B, T)`` bool, frames replaced by the mask embedding.
            padding: ``(B, T)`` bool, True where a frame is padding (not attended to).
        Returns:
            ``(B, T, d_model)``.
        """
        layer = self.config.layer if layer is None else layer
        if not 1 <= layer <= len(self.layers):
            raise ValueError(f"layer must be in 1..{len(self.layers)}, got {layer}")
        x = self._embed(features, mask, padding)
        for block in self.layers[:layer]:
            x = block(x, src_key_padding_mask=padding)
        return x

    def forward(
        self, features: Tensor, mask: Tensor | None = None, padding: Tensor | None = None
    ) -> Tensor:
        """Logits ``(B, T, targets)`` of the previous iteration's token at every frame."""
        x = self.hidden(features, len(self.layers), mask=mask, padding=padding)
        return self.head(self.norm(x))


def masked_loss(
    logits: Tensor, targets: Tensor, mask: Tensor, padding: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Cross-entropy and accuracy over the targets of masked, non-padding frames.

    Args:
        logits: ``(B, T, K)`` from :meth:`SemanticEncoder.forward`.
        targets: ``(B, T)`` int64; mask, padding: ``(B, T)`` bool.
    Returns:
        ``(loss, accuracy)`` scalars.
    """
    keep = mask if padding is None else mask & ~padding
    picked, wanted = logits[keep], targets[keep]  # (N, K), (N,)
    loss = F.cross_entropy(picked.float(), wanted)
    accuracy = (picked.argmax(-1) == wanted).float().mean()
    return loss, accuracy
