"""fit_semantic: iteration 0 separates chords; iteration 1 trains and clusters; bad input."""

import json

import numpy as np
import pytest

from fixtures.semantic import CHORDS, RATE, chord_clip
from musiclm.errors import UserError
from musiclm.semantic import SemanticTokenizer, TrainSettings, fit_semantic


def purity(tokens: np.ndarray, labels: list[str]) -> float:
    """Share of frames whose token's most common label is their own label."""
    labels = np.asarray(labels)
    hits = 0
    for t in np.unique(tokens):
        _, counts = np.unique(labels[tokens == t], return_counts=True)
        hits += counts.max()
    return hits / len(tokens)


def test_iteration_0_tokens_follow_the_chords(semantic_tok0_dir):
    tok = SemanticTokenizer.from_pretrained(semantic_tok0_dir)
    assert tok.config.iteration == 0 and tok.encoder is None and tok.codebook_size == 16
    tokens, labels = [], []
    for i, name in enumerate(CHORDS):
        y, per_second = chord_clip([name, list(CHORDS)[(i + 2) % 4]], seed=10 + i)
        t = tok.encode(y, RATE)
        tokens.append(t)
        labels += [per_second[f // 25] for f in range(len(t))]
    assert purity(np.concatenate(tokens), labels) > 0.9
    report = json.loads((semantic_tok0_dir / "fit_report.json").read_text())
    assert report["clips"] == 8 and report["kmeans"]["used_clusters"] == 16
    assert report["fingerprint"] == tok.fingerprint


def test_iteration_1_trains_on_iteration_0_targets(semantic_tok0_dir, semantic_tok1_dir):
    tok = SemanticTokenizer.from_pretrained(semantic_tok1_dir)
    prev = SemanticTokenizer.from_pretrained(semantic_tok0_dir)
    assert tok.config.iteration == 1 and tok.encoder is not None
    assert tok.config.targets == prev.codebook_size
    assert tok.config.n_mels == prev.config.n_mels  # features carried over
    assert (semantic_tok1_dir / "train").is_dir()
    report = json.loads((semantic_tok1_dir / "fit_report.json").read_text())
    assert report["train"]["steps"] == 8 and np.isfinite(report["train"]["loss"])


def test_fit_rejects_bad_requests(semantic_corpus, semantic_tok0_dir, semantic_tok1_dir, tmp_path):
    with pytest.raises(UserError, match="needs the iteration 0"):
        fit_semantic(semantic_corpus, tmp_path / "a", iteration=1, progress=False)
    with pytest.raises(UserError, match="no previous"):
        fit_semantic(
            semantic_corpus, tmp_path / "b", iteration=0, previous=semantic_tok0_dir, progress=False
        )
    with pytest.raises(UserError, match="is iteration 1"):
        fit_semantic(
            semantic_corpus, tmp_path / "c", iteration=1, previous=semantic_tok1_dir, progress=False
        )
    with pytest.raises(UserError, match="iteration must be"):
        fit_semantic(semantic_corpus, tmp_path / "d", iteration=-1, progress=False)
    with pytest.raises(UserError, match="frames to fit"):
        fit_semantic(semantic_corpus, tmp_path / "e", config="debug", clusters=500, max_clips=1,
                     progress=False)  # fmt: skip
    with pytest.raises(UserError, match="no manifest"):
        fit_semantic(tmp_path / "nothing", tmp_path / "f", progress=False)
    with pytest.raises(UserError, match="steps"):
        fit_semantic(semantic_corpus, tmp_path / "g", iteration=1, previous=semantic_tok0_dir,
                     train=TrainSettings(steps=0), progress=False)  # fmt: skip
