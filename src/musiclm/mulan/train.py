"""Training MuLan with the shared trainer, then fitting its RVQ on the training audio.

Each example is a ``window_seconds`` crop of a clip and one caption: one of the clip's
paraphrases, or (with probability ``aspect_prob``) a caption built from a random subset of
its aspect list in random order ("techno, whistling, fast tempo"). The short aspect
captions teach the text tower the single-attribute queries that users type and that
MusicCaps' aspect lists hold (MuLan trained on such short tags too, arXiv 2208.12415 §4).
Clips without any caption are skipped and counted.
"""

from __future__ import annotations

import logging
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from musiclm.data.dataset import ClipDataset
from musiclm.data.manifest import (
    ClipRecord,
    read_manifest,
    resolve,
)
from musiclm.errors import UserError
from musiclm.io import read_audio
from musiclm.mulan.config import MuLanConfig
from musiclm.mulan.model import MuLan
from musiclm.mulan.rvq import RVQFit
from musiclm.training import TrainTask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MuLanTrainOptions:
    aspect_prob: float = 0.3  # chance that a caption is built from the clip's aspects
    max_aspects: int = 6  # at most this many aspects in such a caption

    def __post_init__(self) -> None:
        if not 0.0 <= self.aspect_prob <= 1.0:
            raise UserError(f"aspect_prob must be in [0, 1], got {self.aspect_prob}")
        if self.max_aspects < 1:
            raise UserError(f"max_aspects must be >= 1, got {self.max_aspects}")


def has_caption(record: ClipRecord) -> bool:
    return any(c.strip() for c in record.captions)


def sample_caption(
    record: ClipRecord, rng: random.Random, aspect_prob: float = 0.3, max_aspects: int = 6
) -> str:
    """A training caption for ``record``: a random paraphrase, or with ``aspect_prob`` a
    comma-joined random subset (1..max_aspects, random order) of its aspects."""
    captions = [c for c in record.captions if c.strip()]
    aspects = [a.strip() for a in record.aspects if a.strip()]
    if aspects and (not captions or rng.random() < aspect_prob):
        k = rng.randint(1, min(max_aspects, len(aspects)))
        return ", ".join(rng.sample(aspects, k))
    if not captions:
        raise ValueError(f"clip {record.id} has neither captions nor aspects")
    return rng.choice(captions)


class CaptionedClips(ClipDataset):
    """:class:`ClipDataset` over the clips that have a caption (``skipped`` counts the rest),
    yielding ``{"audio": (window,), "text": str}``.

    In training, crop and caption come from the global RNGs, which the trainer seeds per
    (seed, epoch, index): a new crop and caption every epoch, the same ones on resume.
    In validation, the centre window and the first caption.
    """

    def __init__(self, manifest, *, options: MuLanTrainOptions, train: bool, **kw: Any):
        records = read_manifest(manifest)
        keep = [r for r in records if has_caption(r)]
        self.skipped = len(records) - len(keep)
        if not keep:
            raise UserError(f"no clip in {manifest} has a caption; MuLan needs captions")
        kw |= dict(random_crop=train, caption_mode="first")
        super().__init__(manifest, records=keep, **kw)
        self.options, self.train = options, train

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.train:
            self.epoch = random.randrange(2**31)  # ClipDataset draws the crop from this
        item = super().__getitem__(index)
        record = self.records[item["index"]]
        if self.train:
            text = sample_caption(
                record,
                random.Random(random.getrandbits(64)),
                self.options.aspect_prob,
                self.options.max_aspects,
            )
        else:
            text = item["text"]
        return {"audio": item["audio"], "text": text}


class MuLanTask(TrainTask):
    """MuLan as a :class:`TrainTask`: (crop, caption) pairs in, symmetric InfoNCE out."""

    def __init__(
        self,
        config: MuLanConfig,
        data: str | Path,
        *,
        val: str | Path | None = None,
        options: MuLanTrainOptions = MuLanTrainOptions(),
        seed: int = 0,
    ):
        self.config, self.data, self.val, self.options, self.seed = config, data, val, options, seed
        self._train_set: CaptionedClips | None = None

    def _dataset(self, manifest, train: bool) -> CaptionedClips:
        return CaptionedClips(
            manifest,
            options=self.options,
            train=train,
            sample_rate=self.config.sample_rate,
            seconds=self.config.window_seconds,
            seed=self.seed,
        )

    def train_dataset(self) -> CaptionedClips:
        if self._train_set is None:
            self._train_set = self._dataset(self.data, True)
            if self._train_set.skipped:
                log.warning("skipped %d clip(s) without captions", self._train_set.skipped)
        return self._train_set

    @property
    def skipped(self) -> int:
        """Training clips without a caption, left out."""
        return self.train_dataset().skipped

    def val_dataset(self) -> CaptionedClips | None:
        return self._dataset(self.val, False) if self.val else None

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "audio": torch.stack([it["audio"] for it in items]),
            "text": [it["text"] for it in items],
        }

    def model_config(self) -> dict[str, Any]:
        return {"mulan": self.config.to_dict(), "options": asdict(self.options)}

    def build_model(self) -> MuLan:
        return MuLan(self.config)

    def loss(self, model, batch: dict[str, Any], step: int, optimizer: str = "main"):
        out = model(batch["audio"], batch["text"])
        metrics = {
            "acc_t2a": out.acc_t2a,
            "acc_a2t": out.acc_a2t,
            "temperature": out.temperature,
        }
        return out.loss, metrics


def corpus_windows(
    model: MuLan,
    data: str | Path,
    *,
    max_windows: int = 100_000,
    seed: int = 0,
    batch_size: int = 16,
    progress: bool = True,
) -> np.ndarray:
    """Audio embeddings (W, D) of the 10 s windows of a corpus' clips (every window of
    every clip, or a random ``max_windows`` of them): the points the RVQ is fitted on."""
    if max_windows < 1:
        raise UserError(f"max_windows must be >= 1, got {max_windows}")
    records = read_manifest(data)
    rng = np.random.default_rng(seed)
    out = []
    for r in tqdm(records, desc="embed", unit="clip", disable=not progress):
        audio, rate = read_audio(resolve(data, r.audio), model.sample_rate)
        if audio.size == 0:
            continue
        (wins, lens), _ = model.audio_windows([audio], rate)
        out.append(model.embed_windows(wins, lens, batch_size=batch_size))
    if not out:
        raise UserError(f"no audio to embed in {data}")
    emb = np.concatenate(out)
    if len(emb) > max_windows:
        emb = emb[np.sort(rng.choice(len(emb), max_windows, replace=False))]
    return emb


def fit_rvq(
    model: MuLan,
    data: str | Path,
    *,
    max_windows: int = 100_000,
    seed: int = 0,
    progress: bool = True,
) -> RVQFit:
    """Embed the corpus' audio windows and fit ``model``'s RVQ on them."""
    emb = corpus_windows(model, data, max_windows=max_windows, seed=seed, progress=progress)
    return model.fit_rvq(emb, seed=seed)
