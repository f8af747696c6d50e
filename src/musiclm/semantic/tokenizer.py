"""Audio -> semantic tokens: 25 Hz k-means ids of a frame representation.

    tok = SemanticTokenizer.from_pretrained("runs/semantic-it1")
    tokens = tok.encode(audio, sample_rate)   # (frames,) int64, frames = ceil(seconds * 25)

The representation is, per frame, standardised hand-made features (iteration 0) or the
standardised output of one layer of the masked-prediction encoder (iteration >= 1); the
token is the id of its nearest centroid. Everything that decides a token (config, feature
and representation statistics, centroids, encoder weights) is in ``config.json`` +
``model.safetensors``, and nothing in :meth:`encode` is random: the same audio gives the
same tokens.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from musiclm.devices import resolve_device
from musiclm.errors import UserError
from musiclm.io import atomic_path
from musiclm.modules.kmeans import nearest
from musiclm.semantic.config import SemanticConfig
from musiclm.semantic.encoder import SemanticEncoder
from musiclm.semantic.features import frame_features, group_scale, prepare_audio

BUNDLED = Path(__file__).resolve().parent.parent / "assets" / "semantic"


class SemanticTokenizer(nn.Module):
    """MusicLM's semantic tokenizer, grown HuBERT-style (see :mod:`musiclm.semantic.config`).

    A fresh instance has identity statistics and zero centroids; :func:`fit_semantic`
    fills them. ``encoder`` is ``None`` at iteration 0.
    """

    def __init__(self, config: SemanticConfig):
        super().__init__()
        self.config = c = config
        rep_dim = c.feature_dim if c.iteration == 0 else c.d_model
        self.encoder = SemanticEncoder(c) if c.iteration > 0 else None
        self.register_buffer("feature_mean", torch.zeros(c.feature_dim))
        self.register_buffer("feature_std", torch.ones(c.feature_dim))
        self.register_buffer("rep_mean", torch.zeros(rep_dim))
        self.register_buffer("rep_std", torch.ones(rep_dim))
        self.register_buffer("centroids", torch.zeros(c.clusters, rep_dim))
        scale = torch.from_numpy(group_scale(c))
        self.register_buffer("group_scale", scale, persistent=False)  # from the config

    # -- facts ---------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def frame_rate(self) -> int:
        return self.config.frame_rate

    @property
    def hop_length(self) -> int:
        return self.config.hop_length

    @property
    def codebook_size(self) -> int:
        return self.config.clusters

    @property
    def device(self) -> torch.device:
        return self.centroids.device

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the config and every persistent tensor: unlike ``config.hash()``, it
        tells apart two tokenizers fitted with the same recipe on different data, so a
        token file can name exactly the tokenizer that made it."""
        h = hashlib.sha256(self.config.hash().encode())
        for key, value in sorted(self.state_dict().items()):
            h.update(key.encode())
            h.update(value.detach().float().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()

    # -- representation ------------------------------------------------------------------

    def standardise(self, raw: np.ndarray | Tensor) -> Tensor:
        """Raw frame features ``(T, F)`` -> standardised ``(T, F)`` float32 on the device:
        the encoder's input, and (times the group scale) iteration 0's representation."""
        x = torch.as_tensor(np.asarray(raw) if not isinstance(raw, Tensor) else raw)
        return (x.float().to(self.device) - self.feature_mean) / self.feature_std

    @torch.no_grad()
    def unnormalised(self, x: Tensor) -> Tensor:
        """Standardised features ``(T, F)`` -> the representation before its own
        standardisation ``(T, D)``: group-scaled features, or the encoder's layer output
        computed in overlapping windows of ``window_seconds`` (so memory stays bounded on
        long audio; each frame keeps the output of the window where it is most central)."""
        if self.encoder is None:
            return x * self.group_scale
        self.encoder.eval()
        total, window = len(x), self.config.window_frames
        if total <= window:
            return self.encoder.hidden(x[None])[0]
        context = window // 4
        step = window - 2 * context
        out = x.new_empty(total, self.config.d_model)
        for start in range(0, total, step):
            lo, hi = max(0, start - context), min(total, start + step + context)
            if hi - lo < window:  # the last windows: take a full one ending at the clip's end
                lo = max(0, min(lo, total - window))
                hi = min(total, lo + window)
            h = self.encoder.hidden(x[None, lo:hi])[0]  # (hi - lo, D)
            end = min(total, start + step)
            out[start:end] = h[start - lo : end - lo]
        return out

    @torch.no_grad()
    def represent(self, raw: np.ndarray | Tensor) -> Tensor:
        """Raw frame features ``(T, F)`` -> the representation k-means clusters ``(T, D)``."""
        return (self.unnormalised(self.standardise(raw)) - self.rep_mean) / self.rep_std

    @torch.no_grad()
    def tokens_from_features(self, raw: np.ndarray | Tensor) -> np.ndarray:
        """Raw frame features ``(T, F)`` -> tokens ``(T,)`` int64."""
        if len(raw) == 0:
            return np.zeros(0, np.int64)
        return nearest(self.represent(raw), self.centroids).cpu().numpy().astype(np.int64)

    def features(self, audio: np.ndarray | Tensor, sample_rate: int) -> np.ndarray:
        """Raw frame features ``(frames, feature_dim)`` of any audio (see :meth:`encode`)."""
        return frame_features(prepare_audio(audio, sample_rate, self.sample_rate), self.config)

    def encode(self, audio: np.ndarray | Tensor, sample_rate: int) -> np.ndarray:
        """Tokens of one clip of any rate, channel count and length.

        Args:
            audio: ``(samples,)`` or ``(channels, samples)`` float; mixed down to mono and
                resampled (soxr) to :attr:`sample_rate` (16 kHz).
            sample_rate: the rate of ``audio``.
        Returns:
            ``(frames,)`` int64 in ``0..codebook_size - 1``, 25 a second:
            ``frames = ceil(resampled samples / hop)``, so any non-empty clip, however
            short, gets at least one token and an empty one gets none. Silence is fine.
        Raises:
            UserError: a wrong shape, non-finite samples or a bad sample rate.
        """
        return self.tokens_from_features(self.features(audio, sample_rate))

    # -- files -----------------------------------------------------------------------------

    def save_pretrained(self, path: str | os.PathLike) -> None:
        """Write ``config.json`` and ``model.safetensors`` (fp32: centroids, statistics,
        encoder weights)."""
        from musiclm.training.checkpoint import save_pretrained

        save_pretrained(self, self.config.to_dict(), path, dtype=torch.float32)

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike | None = None, device: str | torch.device | None = None
    ) -> SemanticTokenizer:
        """Load a folder written by :meth:`save_pretrained`; ``None`` loads the bundled one.
        ``device``: where it runs (``None``: the CPU; ``"auto"``: a GPU if there is one).

        Raises:
            UserError: no such folder, no bundled tokenizer, or weights that do not fit.
        """
        if path is None:
            if not (BUNDLED / "config.json").exists():
                raise UserError(
                    "no bundled semantic tokenizer yet; fit one with `musiclm semantic fit` "
                    "and pass --model"
                )
            path = BUNDLED
        if not Path(path).is_dir():
            raise UserError(f"no semantic tokenizer folder at {path}")
        from musiclm.training.checkpoint import load_pretrained

        state, config = load_pretrained(path)
        model = cls(SemanticConfig.from_dict(config))
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            detail = " ".join(str(e).strip().splitlines()[:3])
            raise UserError(
                f"{path}: the weights do not match its semantic config ({detail})"
            ) from None
        return model.eval() if device is None else model.to(resolve_device(device)).eval()


def save_tokens(path: str | os.PathLike, tokens: np.ndarray, tokenizer: SemanticTokenizer) -> None:
    """Write tokens atomically: ``.npy`` holds the bare ``(frames,)`` int64 array; ``.npz``
    adds ``frame_rate``, ``codebook_size``, ``config_hash`` and ``fingerprint`` so a reader
    can check which tokenizer made them (never pickled)."""
    path = Path(path)
    tokens = np.asarray(tokens, dtype=np.int64)
    buf = io.BytesIO()
    if path.suffix == ".npy":
        np.save(buf, tokens, allow_pickle=False)
    elif path.suffix == ".npz":
        np.savez_compressed(
            buf,
            tokens=tokens,
            frame_rate=np.int64(tokenizer.frame_rate),
            codebook_size=np.int64(tokenizer.codebook_size),
            config_hash=np.str_(tokenizer.config.hash()),
            fingerprint=np.str_(tokenizer.fingerprint),
        )
    else:
        raise UserError(f"token file must end in .npy or .npz, got {path.name!r}")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
