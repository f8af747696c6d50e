"""MuLanTask: captions and aspects, uncaptioned clips skipped, a few trainer steps."""

import random

import numpy as np
import torch

from musiclm.data.manifest import ClipRecord
from musiclm.mulan.config import MuLanConfig
from musiclm.mulan.retrieval import average_precision, retrieval_metrics, target_ranks
from musiclm.mulan.train import MuLanTask, MuLanTrainOptions, fit_rvq, sample_caption
from musiclm.training import TrainConfig, Trainer


def test_sample_caption():
    r = ClipRecord("a", "a.wav", 16000, 1.0, ["first", "second"], aspects=["x", "y", "z"])
    rng = random.Random(0)
    only = {sample_caption(r, rng, aspect_prob=0.0) for _ in range(50)}
    assert only == {"first", "second"}
    built = [sample_caption(r, rng, aspect_prob=1.0, max_aspects=2) for _ in range(50)]
    assert all(1 <= len(b.split(", ")) <= 2 for b in built)
    assert {p for b in built for p in b.split(", ")} == {"x", "y", "z"}


def test_dataset_skips_uncaptioned_clips(mulan_corpus):
    task = MuLanTask(MuLanConfig.preset("debug"), mulan_corpus, options=MuLanTrainOptions(0.5))
    ds = task.train_dataset()
    assert task.skipped == 1 and len(ds) == 8
    item = ds[0]
    assert item["audio"].shape == (16000,) and isinstance(item["text"], str)
    val = task._dataset(mulan_corpus, train=False)
    assert val[3]["text"] == "tone number 3"


def test_trainer_runs_and_resumes(mulan_corpus, tmp_path):
    task = MuLanTask(MuLanConfig.preset("debug"), mulan_corpus, val=mulan_corpus)
    cfg = TrainConfig(steps=3, batch_size=4, warmup_steps=0, log_every=1, out_dir=str(tmp_path))
    trainer = Trainer(task, cfg)
    result = trainer.fit()
    assert result.step == 3 and "acc_t2a" in result.train_metrics
    assert "loss" in result.val_metrics
    fit = fit_rvq(trainer.model, mulan_corpus, progress=False)
    assert fit.points == 9  # every clip's one window, the uncaptioned one included
    trainer2 = Trainer(task, cfg.replace(steps=4))
    assert trainer2.fit(resume=True).step == 4


def test_retrieval_metrics():
    sim = np.eye(4) + 0.01 * np.arange(4)[None]  # every query ranks its match first
    assert target_ranks(sim).tolist() == [1, 1, 1, 1]
    m = retrieval_metrics(sim)
    assert m["R@1"] == 1.0 and m["chance R@1"] == 0.25 and m["mean rank"] == 1.0
    flipped = retrieval_metrics(-sim)
    assert flipped["R@1"] == 0.0 and flipped["mean rank"] > 2
    assert average_precision(np.array([3.0, 2, 1]), np.array([True, False, True])) == (
        (1 + 2 / 3) / 2
    )


def test_frozen_text_features_are_cached():
    from musiclm.mulan.text import TextTower

    torch.manual_seed(0)
    tower = TextTower(MuLanConfig.preset("debug"))
    assert not tower.cacheable  # the debug encoder trains; MiniLM frozen is cacheable
    tower.cacheable = True
    seen = []
    forward = tower.encoder.forward
    tower.encoder.forward = lambda ids, mask: seen.append(len(ids)) or forward(ids, mask)
    a = tower(["x", "y", "x"])
    b = tower(["y", "x", "z"])
    assert seen == [2, 1]  # "x", "y" once; then only "z"
    assert torch.allclose(a[0], b[1]) and torch.allclose(a[1], b[0])
