"""``ClipDataset``: fixed-length, captioned audio windows from any manifest.

Every training stage reads its audio through this one class, so crops, resampling and
caption sampling behave the same whether the corpus is synthetic, MusicCaps or a folder.
"""

from __future__ import annotations

import math
import os

import numpy as np
import torch
from torch.utils.data import Dataset

from musiclm.data.manifest import ClipRecord, manifest_path, read_manifest
from musiclm.errors import UserError
from musiclm.io import read_audio

CAPTION_MODES = ("random", "first", "all")
MIN_RATE, MAX_RATE = 8_000, 192_000


class ClipDataset(Dataset):
    """Windows of ``seconds`` of mono audio at ``sample_rate``, with one caption each.

    Items are ``{"audio": (samples,) float32, "text": str, "id": str, "index": int}``
    with ``samples == round(seconds * sample_rate)``, so the default collate batches
    them into ``audio (B, samples)`` and ``text`` a list of ``B`` strings. With
    ``caption_mode="all"``, ``text`` is the list of every paraphrase; clips have
    different numbers of them, so batch those with your own ``collate_fn``.

    Randomness (the crop, the paraphrase) is a function of ``(seed, epoch, index)`` only,
    so a run is reproducible whatever the worker count; call :meth:`set_epoch` each epoch
    for fresh crops (with ``num_workers > 0``, keep ``persistent_workers=False`` so the
    workers see the new epoch).

    Args:
        manifest: a ``manifest.jsonl`` or the corpus folder holding it.
        sample_rate: output rate; files at other rates are resampled (soxr).
        seconds: window length. Longer clips are cropped, shorter ones zero-padded at
            the end.
        random_crop: a random window per (seed, epoch, index); else the centre window.
        seed: base seed of every random choice.
        caption_mode: ``"random"`` paraphrase, the ``"first"`` one, or ``"all"``.
        records: the manifest's clips to use (default: all of them), e.g. a filtered
            :func:`~musiclm.data.manifest.read_manifest`; their paths stay relative to
            the manifest's folder.
    Raises:
        ValueError: a bad ``seconds``, ``sample_rate`` or ``caption_mode``.
        UserError: a missing or empty manifest, or a clip without a caption.
    """

    def __init__(
        self,
        manifest: str | os.PathLike,
        *,
        sample_rate: int = 24_000,
        seconds: float = 10.0,
        random_crop: bool = True,
        seed: int = 0,
        caption_mode: str = "random",
        records: list[ClipRecord] | None = None,
    ) -> None:
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"seconds must be a positive number, got {seconds!r}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int):
            raise ValueError(f"sample_rate must be an integer, got {sample_rate!r}")
        if not MIN_RATE <= sample_rate <= MAX_RATE:
            raise ValueError(f"sample_rate must be in {MIN_RATE}..{MAX_RATE} Hz, got {sample_rate}")
        if caption_mode not in CAPTION_MODES:
            raise ValueError(
                f"caption_mode must be one of {', '.join(CAPTION_MODES)}, got {caption_mode!r}"
            )
        self.manifest = manifest_path(manifest)
        self.records: list[ClipRecord] = (
            read_manifest(self.manifest) if records is None else list(records)
        )
        if not self.records:
            raise UserError(f"manifest {self.manifest} holds no clips")
        uncaptioned = [r.id for r in self.records if not any(c.strip() for c in r.captions)]
        if uncaptioned:
            raise UserError(
                f"{len(uncaptioned)} clip(s) in {self.manifest} have no caption "
                f"(first: {uncaptioned[0]!r})"
            )
        self.root = self.manifest.parent
        self.sample_rate = sample_rate
        self.seconds = float(seconds)
        self.num_samples = round(self.seconds * sample_rate)
        self.random_crop = random_crop
        self.seed = int(seed)
        self.caption_mode = caption_mode
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw different crops and paraphrases from now on (same ones for the same epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for {len(self)} clips")
        index = index % len(self)
        record = self.records[index]
        # Separate streams so the crop does not shift when the caption mode changes.
        crop_rng = np.random.default_rng([self.seed, self.epoch, index, 0])
        text_rng = np.random.default_rng([self.seed, self.epoch, index, 1])

        start = self._crop_start(record, crop_rng)
        audio, _ = read_audio(
            self.root / record.audio,
            self.sample_rate,
            start=start,
            seconds=self.seconds,
        )
        # Resampling a window of round(seconds * file_rate) frames can land a sample
        # either side of num_samples; short clips come back short. Fix the length here.
        audio = audio[: self.num_samples]
        if audio.shape[0] < self.num_samples:
            audio = np.pad(audio, (0, self.num_samples - audio.shape[0]))

        captions = [c for c in record.captions if c.strip()]
        if self.caption_mode == "first":
            text = captions[0]
        elif self.caption_mode == "random":
            text = captions[int(text_rng.integers(len(captions)))]
        else:
            text = list(captions)
        return {"audio": torch.from_numpy(audio), "text": text, "id": record.id, "index": index}

    def _crop_start(self, record: ClipRecord, rng: np.random.Generator) -> float:
        """Window start in seconds, on the file's own sample grid (from the manifest's
        ``sample_rate``/``seconds``, so no file is opened to choose it)."""
        total = round(record.seconds * record.sample_rate)
        window = round(self.seconds * record.sample_rate)
        spare = total - window
        if spare <= 0:
            return 0.0
        first = int(rng.integers(spare + 1)) if self.random_crop else spare // 2
        return first / record.sample_rate
