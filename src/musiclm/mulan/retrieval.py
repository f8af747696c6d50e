"""Embedding a corpus with MuLan, searching it by text, and retrieval metrics.

Shared by ``musiclm mulan search`` and ``benchmarks/mulan_retrieval.py``. A corpus
embedding can be kept in an ``.npz`` index, reused while the model and clips are the same.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from musiclm.data.manifest import ClipRecord, read_manifest, resolve
from musiclm.errors import UserError
from musiclm.io import atomic_path, check_output, read_audio
from musiclm.mulan.model import MuLan

INDEX_KEYS = {"ids", "embeddings", "fingerprint"}  # what an index .npz holds


def fingerprint(model: MuLan) -> str:
    """SHA-256 of the config and every saved tensor: the same model gives the same value."""
    h = hashlib.sha256(model.config_hash().encode())
    for key, t in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(t.detach().float().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def embed_corpus(
    model: MuLan,
    data: str | os.PathLike,
    *,
    max_clips: int | None = None,
    clips_per_batch: int = 8,
    progress: bool = True,
) -> tuple[list[ClipRecord], np.ndarray]:
    """Every clip's audio embedding (whole clip: windows averaged).

    Returns:
        ``(records, embeddings (N, D) float32, L2-normalised)``.
    """
    records = read_manifest(data)[:max_clips]
    if not records:
        raise UserError(f"no clips in {data}")
    out = []
    bar = tqdm(total=len(records), desc="embed", unit="clip", disable=not progress)
    for i in range(0, len(records), clips_per_batch):
        chunk = records[i : i + clips_per_batch]
        audio = [read_audio(resolve(data, r.audio), model.sample_rate)[0] for r in chunk]
        missing = [r.id for r, a in zip(chunk, audio) if a.size == 0]
        if missing:
            raise UserError(f"clip {missing[0]} in {data} has no audio")
        out.append(model.embed_audio_batch(audio, model.sample_rate))
        bar.update(len(chunk))
    bar.close()
    return records, np.concatenate(out)


def indexed_corpus(
    model: MuLan, data: str | os.PathLike, index: str | os.PathLike | None, *, progress=True
) -> tuple[list[ClipRecord], np.ndarray]:
    """:func:`embed_corpus`, reusing ``index`` (.npz) when it was written by the same model
    for the same clip ids, and (re)writing it otherwise."""
    records = read_manifest(data)
    ids = np.array([r.id for r in records])
    key = fingerprint(model) if index is not None else ""
    if index is not None:
        check_output(index, what="--index")
    if index is not None and Path(index).is_file():
        try:
            f = np.load(index, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            f = None
        ours = hasattr(f, "files") and set(f.files) == INDEX_KEYS  # an .npz of ours
        if ours:
            with f:
                if str(f["fingerprint"]) == key and np.array_equal(f["ids"], ids):
                    return records, f["embeddings"].astype(np.float32)
        if not ours:  # a file of the user's: never overwrite it
            raise UserError(
                f"--index {index} exists and is not a musiclm search index; give another path "
                "(an index of another model or corpus is rebuilt, any other file is kept)"
            )
    records, emb = embed_corpus(model, data, progress=progress)
    if index is not None:
        with atomic_path(index, suffix=".npz") as tmp, tmp.open("wb") as f:
            np.savez(f, ids=ids, embeddings=emb, fingerprint=np.array(key))
    return records, emb


@dataclass
class Hit:
    rank: int  # 1-based
    score: float  # cosine similarity
    record: ClipRecord


def search(
    model: MuLan, query: str, records: list[ClipRecord], embeddings: np.ndarray, top: int = 10
) -> list[Hit]:
    """The ``top`` clips most similar to ``query``, best first."""
    scores = embeddings @ model.embed_text([query])[0]
    order = np.argsort(-scores, kind="stable")[:top]
    return [Hit(i + 1, float(scores[j]), records[j]) for i, j in enumerate(order)]


def target_ranks(sim: np.ndarray) -> np.ndarray:
    """1-based rank of the true match (the diagonal) in each row of ``sim`` (N queries x N
    items); ties count against the query (pessimistic)."""
    return (sim >= np.diag(sim)[:, None]).sum(1)  # the match itself counts once


def retrieval_metrics(sim: np.ndarray, ks: tuple[int, ...] = (1, 10)) -> dict[str, float]:
    """R@k (fraction of queries whose match ranks within k), mean and median rank, beside
    the chance values for N items (R@k = k / N, mean rank = (N + 1) / 2)."""
    n = sim.shape[0]
    ranks = target_ranks(sim)
    out: dict[str, float] = {"n": float(n)}
    for k in ks:
        out[f"R@{k}"] = float((ranks <= k).mean())
        out[f"chance R@{k}"] = min(1.0, k / n)
    out["mean rank"] = float(ranks.mean())
    out["median rank"] = float(np.median(ranks))
    out["chance mean rank"] = (n + 1) / 2
    return out


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Average precision of ranking by ``scores`` (N,) for the boolean ``relevant`` (N,)."""
    if not relevant.any():
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    hits = relevant[order].astype(np.float64)
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision * hits).sum() / hits.sum())
