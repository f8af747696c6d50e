"""MuLan: two towers, one shared space, a symmetric InfoNCE loss, and RVQ tokens on top.

    mulan = MuLan.from_pretrained()                 # the bundled model, or a folder
    t = mulan.embed_text(["lo-fi hip hop with a mellow piano"])   # (1, 128) float32
    a = mulan.embed_audio(audio, sample_rate)       # (128,) float32, any length/rate/channels
    score = t @ a                                   # cosine: both are L2-normalised
    m = mulan.text_tokens(["..."])                  # (1, 12) int64 conditioning tokens

Training calls :meth:`MuLan.forward` on ``(B, window_samples)`` audio and ``B`` captions
(see :mod:`musiclm.mulan.train`); the RVQ is fitted afterwards with :meth:`fit_rvq`.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from musiclm.devices import resolve_device
from musiclm.errors import UserError
from musiclm.io import as_mono, check_rate, resample
from musiclm.mulan.audio import AudioTower, split_windows
from musiclm.mulan.config import MuLanConfig
from musiclm.mulan.rvq import EmbeddingRVQ, RVQFit
from musiclm.mulan.text import TextTower

BUNDLED = Path(__file__).resolve().parent.parent / "assets" / "mulan"


@dataclass
class MuLanOutput:
    loss: Tensor  # scalar: mean of the text->audio and audio->text cross-entropies
    text: Tensor  # (B, D) L2-normalised text embeddings
    audio: Tensor  # (B, D) L2-normalised audio embeddings
    logits: Tensor  # (B, B) scaled cosines, rows = texts, columns = clips
    acc_t2a: float  # in-batch top-1 text->audio retrieval accuracy
    acc_a2t: float  # in-batch top-1 audio->text retrieval accuracy
    temperature: float  # 1 / logit scale


def _check_texts(texts: str | Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        return [texts]
    texts = list(texts)
    bad = [t for t in texts if not isinstance(t, str)]
    if bad:
        raise UserError(f"texts must be strings, got a {type(bad[0]).__name__}")
    return texts


class MuLan(nn.Module):
    """Text and audio towers into one ``embed_dim`` space, plus RVQ conditioning tokens."""

    def __init__(self, config: MuLanConfig) -> None:
        super().__init__()
        self.config = c = config
        self.text_tower = TextTower(c)
        self.audio_tower = AudioTower(c)
        # log(1 / temperature), learned (CLIP); clamped at log(max_logit_scale) in use.
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / c.init_temperature)))
        self.rvq = EmbeddingRVQ(c.embed_dim, c.rvq_levels, c.rvq_codebook_size)

    # -- facts ---------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def embed_dim(self) -> int:
        return self.config.embed_dim

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    @property
    def temperature(self) -> float:
        return 1.0 / float(self._scale().detach())

    def config_hash(self) -> str:
        """SHA-256 of the config (see :meth:`MuLanConfig.hash`)."""
        return self.config.hash()

    def _scale(self) -> Tensor:
        return self.logit_scale.clamp(max=math.log(self.config.max_logit_scale)).exp()

    # -- tensors in, tensors out ----------------------------------------------------------

    def encode_text(self, texts: list[str]) -> Tensor:
        """``B`` strings -> (B, D) L2-normalised embeddings (with gradients)."""
        return F.normalize(self.text_tower(texts).float(), dim=-1)

    def encode_audio(self, audio: Tensor, samples: Tensor | None = None) -> Tensor:
        """(B, T) mono windows at ``sample_rate`` -> (B, D) L2-normalised embeddings.
        ``samples`` (B,) marks zero padding at the ends (see :class:`AudioTower`)."""
        return F.normalize(self.audio_tower(audio, samples).float(), dim=-1)

    def forward(self, audio: Tensor, texts: list[str]) -> MuLanOutput:
        """Symmetric InfoNCE (CLIP, arXiv 2103.00020) over a batch of (clip, caption) pairs.

        Identical captions in one batch (short aspect captions such as "techno" repeat)
        are all counted as positives of each other's clips, so the loss never pushes a
        clip away from a caption that describes it just as well.

        Args:
            audio: (B, T) mono at ``sample_rate``.
            texts: B captions, one per clip.
        """
        if audio.ndim != 2 or audio.shape[0] != len(texts):
            raise ValueError(
                f"need (B, T) audio and B texts, got {tuple(audio.shape)} and {len(texts)}"
            )
        t = self.encode_text(list(texts))  # (B, D)
        a = self.encode_audio(audio)  # (B, D)
        logits = self._scale() * t @ a.t()  # (B texts, B clips)
        index = {s: i for i, s in enumerate(texts)}
        key = torch.tensor([index[s] for s in texts], device=logits.device)
        same = (key[:, None] == key[None, :]).float()  # (B, B), symmetric, diagonal 1
        target = same / same.sum(1, keepdim=True)
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
        with torch.no_grad():
            hit_t2a = same.gather(1, logits.argmax(1, keepdim=True)).mean()
            hit_a2t = same.gather(1, logits.t().argmax(1, keepdim=True)).mean()
        temperature = 1.0 / float(self._scale().detach())
        return MuLanOutput(loss, t, a, logits, float(hit_t2a), float(hit_a2t), temperature)

    # -- numpy friendly -------------------------------------------------------------------

    @contextlib.contextmanager
    def _inference(self) -> Iterator[None]:
        was = self.training
        self.eval()
        try:
            with torch.no_grad():
                yield
        finally:
            self.train(was)

    def embed_text(self, texts: str | Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Texts (any length, any language; empty is fine) -> (N, D) float32, L2-normalised.

        Texts past the encoder's limit (256 word pieces for MiniLM) are truncated with a
        warning.
        """
        texts = _check_texts(texts)
        out = [np.zeros((0, self.embed_dim), np.float32)]
        with self._inference():
            for i in range(0, len(texts), batch_size):
                out.append(self.encode_text(texts[i : i + batch_size]).cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    def embed_audio(self, audio: np.ndarray | Tensor, sample_rate: int) -> np.ndarray:
        """One clip -> (D,) float32, L2-normalised.

        Args:
            audio: ``(samples,)`` or ``(channels, samples)`` at any rate and length: mixed
                to mono, resampled to :attr:`sample_rate`; clips longer than a window are
                embedded window by window and averaged; shorter ones are zero-padded.
            sample_rate: the rate of ``audio``.
        """
        return self.embed_audio_batch([audio], sample_rate)[0]

    def embed_audio_batch(
        self, clips: Sequence[np.ndarray | Tensor], sample_rate: int, batch_size: int = 16
    ) -> np.ndarray:
        """Several clips (as :meth:`embed_audio` takes) -> (N, D) float32, L2-normalised;
        the windows of all clips run together, ``batch_size`` at a time."""
        wins, counts = self.audio_windows(clips, sample_rate)
        emb = self.embed_windows(*wins, batch_size=batch_size)  # (W, D)
        out, start = np.zeros((len(counts), self.embed_dim), np.float32), 0
        for i, n in enumerate(counts):
            v = emb[start : start + n].mean(0)
            out[i] = v / max(float(np.linalg.norm(v)), 1e-12)
            start += n
        return out

    def audio_windows(
        self, clips: Sequence[np.ndarray | Tensor], sample_rate: int
    ) -> tuple[tuple[np.ndarray, np.ndarray], list[int]]:
        """Clips -> ``((windows (W, window), valid samples (W,)), windows per clip)``."""
        rate = check_rate(sample_rate)
        wins, lens, counts = [], [], []
        for clip in clips:
            y = resample(as_mono(clip), rate, self.sample_rate)
            w, n = split_windows(y, self.config.window_samples)
            wins.append(w)
            lens.append(n)
            counts.append(len(w))
        if not wins:
            empty = np.zeros((0, self.config.window_samples), np.float32)
            return (empty, np.zeros(0, np.int64)), []
        return (np.concatenate(wins), np.concatenate(lens)), counts

    def embed_windows(
        self, windows: np.ndarray, samples: np.ndarray, batch_size: int = 16
    ) -> np.ndarray:
        """(W, window) mono windows at :attr:`sample_rate` -> (W, D) normalised embeddings."""
        out = [np.zeros((0, self.embed_dim), np.float32)]
        with self._inference():
            for i in range(0, len(windows), batch_size):
                x = torch.from_numpy(windows[i : i + batch_size]).to(self.device)
                n = torch.from_numpy(samples[i : i + batch_size])
                full = bool((n >= windows.shape[1]).all())
                out.append(self.encode_audio(x, None if full else n).cpu().numpy())
        return np.concatenate(out).astype(np.float32)

    # -- conditioning tokens -------------------------------------------------------------

    def fit_rvq(self, embeddings: np.ndarray | Tensor, *, iters: int = 20, seed: int = 0) -> RVQFit:
        """Fit the RVQ codebooks on (N, D) embeddings (audio embeddings of 10 s windows,
        as MusicLM conditions its stages on those)."""
        return self.rvq.fit(
            torch.as_tensor(np.asarray(embeddings, np.float32)), iters=iters, seed=seed
        )

    def tokens(self, embeddings: np.ndarray | Tensor, n_levels: int | None = None) -> np.ndarray:
        """(N, D) or (D,) embeddings -> (N, levels) or (levels,) int64 RVQ codes."""
        x = torch.as_tensor(np.asarray(embeddings, np.float32))
        if x.ndim not in (1, 2) or x.shape[-1] != self.embed_dim:
            raise UserError(f"embeddings must be (N, {self.embed_dim}), got {tuple(x.shape)}")
        codes = self.rvq.encode(x.reshape(-1, self.embed_dim), n_levels).cpu().numpy()
        return codes[0] if x.ndim == 1 else codes

    def text_tokens(self, texts: str | Sequence[str]) -> np.ndarray:
        """Texts -> (N, levels) int64 conditioning tokens (what MusicLM uses at inference)."""
        return self.tokens(self.embed_text(texts))

    def audio_tokens(self, audio: np.ndarray | Tensor, sample_rate: int) -> np.ndarray:
        """One clip -> (levels,) int64 conditioning tokens (what MusicLM trains with)."""
        return self.tokens(self.embed_audio(audio, sample_rate))

    # -- files ---------------------------------------------------------------------------

    def save_pretrained(self, path: str | os.PathLike, fp16: bool = False) -> None:
        """Write ``config.json`` and ``model.safetensors``: our trained parts only (the
        frozen MiniLM weights come from their package and are not copied). ``fp16`` halves
        the file; the weights load back into fp32."""
        from musiclm.training.checkpoint import save_pretrained

        dtype = torch.float16 if fp16 else torch.float32
        save_pretrained(self, self.config.to_dict(), path, dtype=dtype)

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike | None = None, device: str | torch.device | None = None
    ) -> MuLan:
        """Load a folder written by :meth:`save_pretrained`; ``None`` loads the bundled model.
        ``device``: where it runs (``None``: the CPU; ``"auto"``: a GPU if there is one).

        Raises:
            UserError: no such folder, no bundled model, weights that do not fit the
                config, or a missing/altered MiniLM package.
        """
        if path is None:
            if not (BUNDLED / "config.json").exists():
                raise UserError(
                    "no bundled MuLan yet; train one with `musiclm mulan train --data CORPUS` "
                    "and pass its folder (--model DIR / MuLan.from_pretrained(DIR))"
                )
            path = BUNDLED
        from musiclm.training.checkpoint import load_pretrained

        state, config = load_pretrained(path)
        model = cls(MuLanConfig.from_dict(config))
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as e:
            detail = str(e).strip().splitlines()
            raise UserError(
                f"{path}: the weights do not match its MuLan config ({' '.join(detail[:3])})"
            ) from None
        return model.eval() if device is None else model.to(resolve_device(device)).eval()
