"""Fitting a semantic tokenizer on a corpus: iteration 0 (k-means on frame features) or
iteration ``n >= 1`` (train the masked-prediction encoder on iteration ``n - 1``'s tokens,
then k-means on its layer), as HuBERT does (arXiv 2106.07447 §II).

    tok0 = fit_semantic("corpus", "runs/semantic-it0")
    tok1 = fit_semantic("corpus", "runs/semantic-it1", iteration=1, previous="runs/semantic-it0")
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from musiclm.data.manifest import read_manifest, resolve
from musiclm.errors import UserError
from musiclm.io import read_audio, write_json_atomic
from musiclm.modules.kmeans import kmeans
from musiclm.semantic.config import SemanticConfig
from musiclm.semantic.features import frame_features, moments
from musiclm.semantic.tokenizer import SemanticTokenizer

log = logging.getLogger(__name__)
FEATURE_FIELDS = (
    "sample_rate", "hop_length", "n_fft", "n_mels", "fmin", "fmax",
    "mel_weight", "chroma_weight", "onset_weight",
)  # fmt: skip
ENCODER_FIELDS = (
    "d_model", "n_layers", "n_heads", "ff_mult", "pos_kernel", "layer", "dropout",
    "mask_prob", "mask_span", "window_seconds",
)  # fmt: skip
REPORT = "fit_report.json"


@dataclass(frozen=True)
class TrainSettings:
    """How long and how hard to train the encoder (iteration >= 1)."""

    steps: int = 2000
    batch_size: int = 16
    lr: float = 5e-4
    warmup_steps: int = 200
    mixed_precision: str = "no"  # "bf16" on a recent GPU
    num_workers: int = 0


def corpus_features(
    data: str | os.PathLike,
    config: SemanticConfig,
    *,
    max_clips: int | None = None,
    max_seconds: float | None = None,
    progress: bool = True,
) -> tuple[list[np.ndarray], list[str]]:
    """Raw frame features of a corpus's clips, read at the analysis rate.

    Args:
        max_clips: use this many clips, evenly spaced over the manifest (all if None).
        max_seconds: read at most this much of each clip (whole clips if None).
    Returns:
        (features ``(T_i, F)`` per clip, clip ids).
    Raises:
        UserError: a missing or empty manifest, or unreadable audio.
    """
    records = read_manifest(data)
    if not records:
        raise UserError(f"the manifest of {data} holds no clips")
    if max_clips is not None:
        if max_clips < 1:
            raise UserError(f"max_clips must be >= 1, got {max_clips}")
        if max_clips < len(records):
            pick = np.linspace(0, len(records) - 1, max_clips).round().astype(int)
            records = [records[i] for i in pick]
    features = []
    for r in tqdm(records, desc="features", unit="clip", disable=not progress):
        audio, _ = read_audio(resolve(data, r.audio), config.sample_rate, seconds=max_seconds)
        features.append(frame_features(audio, config))
    return features, [r.id for r in records]


def _config_for(
    iteration: int,
    previous: SemanticTokenizer | None,
    config: str | SemanticConfig | None,
    changes: dict[str, Any],
) -> SemanticConfig:
    """The new tokenizer's config: a preset (``tiny`` by default) at iteration 0; at
    iteration ``n >= 1`` the previous tokenizer's features (its targets were made from
    them) with the encoder settings of ``config`` (the previous config's if None)."""
    base = SemanticConfig.preset(config) if isinstance(config, str) else config
    if previous is None:
        base = base or SemanticConfig.preset("tiny")
        return base.replace(iteration=0, **changes)
    prev = previous.config
    fields = {k: getattr(base or prev, k) for k in ENCODER_FIELDS + ("clusters",)}
    fields |= {"iteration": iteration, "targets": prev.clusters, **changes}
    return prev.replace(**fields)


def _cluster(
    reps: list[torch.Tensor], clusters: int, *, max_frames: int, iters: int, seed: int
) -> tuple[torch.Tensor, dict[str, float]]:
    """k-means on (a seeded sample of at most ``max_frames`` of) the frames of ``reps``."""
    x = torch.cat(reps)
    g = torch.Generator().manual_seed(seed)
    if len(x) > max_frames:
        x = x[torch.randperm(len(x), generator=g)[:max_frames].to(x.device)]
    if len(x) < clusters:
        raise UserError(
            f"only {len(x)} frames to fit {clusters} clusters; use more clips or --clusters"
        )
    result = kmeans(x, clusters, iters=iters, max_seed_points=clusters * 32, generator=g)
    p = result.counts / result.counts.sum()
    perplexity = float(torch.exp(-(p * torch.log(p.clamp_min(1e-12))).sum()))
    stats = {
        "frames": float(len(x)),
        "inertia": result.inertia,
        "used_clusters": float((result.counts > 0).sum()),
        "perplexity": perplexity,
    }
    return result.centroids, stats


def fit_semantic(
    data: str | os.PathLike,
    out: str | os.PathLike,
    *,
    iteration: int = 0,
    previous: str | os.PathLike | SemanticTokenizer | None = None,
    config: str | SemanticConfig | None = None,
    clusters: int | None = None,
    layer: int | None = None,
    max_clips: int | None = None,
    max_seconds: float | None = None,
    max_frames: int = 250_000,
    kmeans_iters: int = 20,
    train: TrainSettings = TrainSettings(),
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    seed: int = 0,
    device: str | None = None,
    progress: bool = True,
) -> SemanticTokenizer:
    """Fit a semantic tokenizer on the clips of ``data`` and save it to ``out``.

    Args:
        data: a corpus folder (or its ``manifest.jsonl``).
        out: folder for ``config.json`` + ``model.safetensors`` (+ ``fit_report.json``).
        iteration: 0 clusters frame features; ``n >= 1`` trains an encoder to predict the
            tokens of ``previous`` (of iteration ``n - 1``), then clusters its layer.
        previous: the iteration ``n - 1`` tokenizer (folder or object); iterations >= 1.
        config: a preset name or config (default ``tiny``; at iterations >= 1 the encoder
            settings of the previous tokenizer's config).
        clusters, layer: override the config's token vocabulary and clustered layer.
        max_clips, max_seconds: how much of the corpus to use (all of it by default).
        max_frames: k-means runs on a seeded random sample of at most this many frames.
        kmeans_iters: Lloyd iterations.
        train: encoder training settings (iterations >= 1).
        run_dir: the encoder's training run folder (checkpoints, logs); ``out/train``.
        resume: continue an interrupted encoder training in ``run_dir``.
        seed: fixes the frame sample, k-means seeding and training.
        device: where k-means and the encoder's analysis pass run (GPU if there is one).
    Raises:
        UserError: bad arguments, a missing corpus, or a previous tokenizer that does not fit.
    """
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise UserError(f"iteration must be an integer >= 0, got {iteration!r}")
    if iteration == 0 and previous is not None:
        raise UserError("iteration 0 fits on frame features; it takes no previous tokenizer")
    prev = None
    if iteration > 0:
        if previous is None:
            raise UserError(f"iteration {iteration} needs the iteration {iteration - 1} tokenizer")
        prev = (
            previous
            if isinstance(previous, SemanticTokenizer)
            else SemanticTokenizer.from_pretrained(previous)
        )
        if prev.config.iteration != iteration - 1:
            raise UserError(
                f"iteration {iteration} needs an iteration {iteration - 1} tokenizer; "
                f"{previous} is iteration {prev.config.iteration}"
            )
    changes = {k: v for k, v in {"clusters": clusters, "layer": layer}.items() if v is not None}
    if iteration == 0:
        changes.pop("layer", None)
    cfg = _config_for(iteration, prev, config, changes)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(out)
    train_config = _train_config(train, Path(run_dir or out / "train"), seed) if prev else None

    raw, _ = corpus_features(
        data, cfg, max_clips=max_clips, max_seconds=max_seconds, progress=progress
    )
    tok = SemanticTokenizer(cfg)
    mean, std = moments(raw)
    tok.feature_mean.copy_(torch.from_numpy(mean))
    tok.feature_std.copy_(torch.from_numpy(std))
    tok.to(device)
    report: dict[str, Any] = {"iteration": iteration, "clips": len(raw), "seed": seed}

    if prev is not None:
        prev.to(device)
        targets = [
            prev.tokens_from_features(f) for f in tqdm(raw, desc="targets", disable=not progress)
        ]
        prev.cpu()
        inputs = [tok.standardise(f).cpu().numpy() for f in raw]
        encoder, report["train"] = _train_encoder(cfg, inputs, targets, train_config, resume)
        tok.encoder.load_state_dict(encoder.state_dict())
        tok.to(device).eval()

    with torch.no_grad():
        reps = [
            tok.unnormalised(tok.standardise(f))
            for f in tqdm(raw, desc="layer", disable=not progress or prev is None)
        ]
        if prev is not None:  # standardise the layer's outputs; features already are
            flat = torch.cat(reps)
            rep_std = flat.std(0).clamp_min(1e-6)
            tok.rep_mean.copy_(flat.mean(0))
            tok.rep_std.copy_(rep_std)
            reps = [(r - tok.rep_mean) / tok.rep_std for r in reps]
        centroids, report["kmeans"] = _cluster(
            reps, cfg.clusters, max_frames=max_frames, iters=kmeans_iters, seed=seed
        )
        tok.centroids.copy_(centroids)
    tok = tok.cpu().eval()
    tok.save_pretrained(out)
    report |= {"config_hash": cfg.hash(), "fingerprint": tok.fingerprint}
    write_json_atomic(out / REPORT, report)
    log.info("semantic tokenizer (iteration %d) -> %s: %s", iteration, out, report["kmeans"])
    return tok


def _train_config(settings: TrainSettings, run_dir: Path, seed: int):
    from musiclm.training import TrainConfig

    steps = settings.steps
    return TrainConfig(
        steps=steps,
        batch_size=settings.batch_size,
        lr=settings.lr,
        warmup_steps=min(settings.warmup_steps, max(0, steps) // 10),
        mixed_precision=settings.mixed_precision,
        num_workers=settings.num_workers,
        seed=seed,
        out_dir=str(run_dir),
        log_every=max(1, min(50, steps)),
        eval_every=0,
        save_every=max(1, min(1000, steps)),
        keep_last=1,
    )


def _train_encoder(cfg: SemanticConfig, inputs, targets, train_config, resume: bool):
    """Train the encoder with the shared trainer; returns (encoder on CPU, metrics)."""
    from musiclm.semantic.train import MaskedPredictionTask
    from musiclm.training import Trainer

    trainer = Trainer(MaskedPredictionTask(cfg, inputs, targets), train_config)
    result = trainer.fit(resume=resume)
    return trainer.model.cpu().eval(), {"steps": result.step, **result.train_metrics}
