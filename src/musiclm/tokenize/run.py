"""``tokenize_corpus``: a corpus in, cached token files of every kind out.

Resumable by shard (a shard file on disk is complete; rerunning skips it), parallel over
shards in spawned worker processes (each loads the models once), with a progress bar.
Clips whose audio is missing or unreadable are skipped and counted, never fatal.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from musiclm.data.manifest import ClipRecord, manifest_path, read_manifest, resolve
from musiclm.errors import UserError
from musiclm.io import check_output_dir, folder_lock, read_audio, remove_temporaries
from musiclm.tokenize.tokenizers import KINDS, TokenKind
from musiclm.tokens import read_meta, read_shard, shard_path, write_meta, write_shard

ModelPaths = Mapping[str, "str | os.PathLike | None"]


@dataclass
class TokenizeResult:
    out: Path
    clips: int  # clips in the corpus
    shards_written: int  # shards tokenized by this call (others were already on disk)
    skipped: dict[str, str] = field(default_factory=dict)  # clip id -> why (all shards)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_kinds(models: ModelPaths) -> None:
    if not models:
        raise UserError(f"nothing to tokenize: choose at least one of {sorted(KINDS)}")
    unknown = sorted(set(models) - set(KINDS))
    if unknown:
        raise UserError(f"unknown token kind(s) {unknown}; choose from {sorted(KINDS)}")


def _prepare(folder: Path, tk: TokenKind, corpus_sha: str, shards: int, overwrite: bool):
    """Check what a previous run left in ``folder``; clear it if asked or refuse."""
    meta = read_meta(folder)
    stale = meta is not None and (
        meta.get("fingerprint") != tk.fingerprint or meta.get("corpus_sha256") != corpus_sha
    )
    if stale and not overwrite:
        why = "another model" if meta.get("fingerprint") != tk.fingerprint else "another corpus"
        raise UserError(
            f"{folder} holds {tk.kind} tokens of {why}; pass --overwrite to replace them"
        )
    if stale or (overwrite and meta is not None):
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_meta(
        folder,
        {
            "kind": tk.kind,
            "fingerprint": tk.fingerprint,
            "model": tk.describe(),
            "corpus_sha256": corpus_sha,
            "shards": shards,
            "complete": False,
        },
    )


# -- worker side ---------------------------------------------------------------------------

_WORKER: dict[str, TokenKind] = {}


def _init_worker(models: dict[str, str | None], threads: int) -> None:
    torch.set_num_threads(threads)
    _WORKER.clear()
    _WORKER.update({kind: KINDS[kind].load(path) for kind, path in models.items()})


def _tokenize_shard(
    job: tuple[int, str, list[ClipRecord], list[str], str],
    tokenizers: Mapping[str, TokenKind] | None = None,
) -> tuple[int, int, dict[str, str]]:
    """Tokenize one shard for the kinds it lacks; returns (shard, clips, skipped)."""
    index, manifest, records, kinds, out = job
    tokenizers = tokenizers or _WORKER
    items: dict[str, list] = {k: [] for k in kinds}
    skipped: dict[str, str] = {}
    for rec in records:
        try:
            audio, rate = read_audio(resolve(manifest, rec.audio))
            if audio.size == 0:
                raise UserError("empty audio")
            for kind in kinds:
                items[kind].append((rec.id, tokenizers[kind].of_record(audio, rate, rec, manifest)))
        except UserError as e:
            skipped[rec.id] = str(e)
            for kind in kinds:  # a clip is in every kind or in none
                items[kind] = [(i, t) for i, t in items[kind] if i != rec.id]
    for kind in kinds:
        write_shard(Path(out) / kind, index, items[kind], skipped=skipped)
    return index, len(records), skipped


# -- driver --------------------------------------------------------------------------------


def tokenize_corpus(
    corpus: str | os.PathLike,
    out: str | os.PathLike,
    models: ModelPaths,
    *,
    shard_size: int = 100,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> TokenizeResult:
    """Tokenize every clip of ``corpus`` with each model in ``models``.

    Args:
        corpus: a corpus folder or ``manifest.jsonl``.
        out: output folder; one sub-folder per kind (see :mod:`musiclm.tokens`).
        models: ``{kind: model folder or None for the bundled model}`` for kinds among
            ``acoustic``, ``semantic``, ``mulan``.
        shard_size: clips per shard file (the unit of resuming and of parallel work).
        workers: processes; each loads every model once and uses ``cpus / workers``
            torch threads.
        overwrite: replace tokens made by another model or from another corpus
            (otherwise refused).
    """
    _check_kinds(models)
    if shard_size < 1 or workers < 1:
        raise UserError("shard_size and workers must be >= 1")
    records = read_manifest(corpus)
    manifest = manifest_path(corpus)
    corpus_sha = _sha256(manifest)
    out = check_output_dir(out, what="token folder")
    with folder_lock(out):
        return _tokenize(records, manifest, corpus_sha, out, models, shard_size, workers,
                         overwrite, progress)  # fmt: skip


def _tokenize(records, manifest, corpus_sha, out, models, shard_size, workers, overwrite,
              progress) -> TokenizeResult:  # fmt: skip
    n_shards = -(-len(records) // shard_size)
    remove_temporaries(out)  # a killed run's write probe
    loaded = {kind: KINDS[kind].load(path) for kind, path in models.items()}
    for kind, tk in loaded.items():
        _prepare(out / kind, tk, corpus_sha, n_shards, overwrite)
        remove_temporaries(out / kind)  # half-written shards of a killed run

    jobs = []
    for index in range(n_shards):
        todo = [k for k in loaded if not shard_path(out / k, index).exists()]
        if todo:
            chunk = records[index * shard_size : (index + 1) * shard_size]
            jobs.append((index, str(manifest), chunk, todo, str(out)))
    bar = tqdm(
        total=sum(len(j[2]) for j in jobs), unit="clip", desc="tokenize", disable=not progress
    )
    with bar:
        if workers == 1 or len(jobs) <= 1:
            for job in jobs:
                bar.update(_tokenize_shard(job, loaded)[1])
        else:
            threads = max(1, (os.cpu_count() or 1) // workers)
            paths = {k: None if p is None else str(p) for k, p in models.items()}
            with ProcessPoolExecutor(
                workers, mp.get_context("spawn"), initializer=_init_worker,
                initargs=(paths, threads),
            ) as pool:  # fmt: skip
                for _, n, _ in pool.map(_tokenize_shard, jobs):
                    bar.update(n)

    skipped: dict[str, str] = {}
    for kind in loaded:
        written = 0
        for index in range(n_shards):
            shard = read_shard(shard_path(out / kind, index))
            written += len(shard.clips)
            skipped.update(shard.skipped)
        meta = read_meta(out / kind) or {}
        write_meta(
            out / kind,
            {**meta, "complete": True, "clips": written, "skipped": len(skipped)},
        )
    return TokenizeResult(out, len(records), len(jobs), skipped)
