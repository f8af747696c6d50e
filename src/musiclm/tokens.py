"""Cached token files and the MuLan window: what the tokenize step writes and the stages read.

Both ``musiclm.tokenize`` (which writes tokens) and ``musiclm.stages`` (which trains on
them) depend on this module and not on each other.

Files: one folder per token kind, one ``.npz`` per shard of clips.

Every stage trains on tokens, not audio, so a corpus is tokenized once and read many
times. Layout of ``OUT/<kind>/``::

    meta.json          kind, the tokenizer's fingerprint and description, the corpus
                       manifest's SHA-256, shard size, clips written and skipped
    00000.npz          ids (N,) plus, for every array name x the tokenizer returns,
    00001.npz ...      x.data (..., sum of lengths) and x.lengths (N,): per-clip arrays
                       joined along their last (time) axis

A reader checks the fingerprint it expects (the tokenizer a stage was built with), so
tokens of another model version are refused with a clear error instead of silently
training on the wrong vocabulary. Files are written atomically; a shard present on disk
is complete, which is what makes the tokenize step resumable.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from musiclm.errors import UserError
from musiclm.io import atomic_path, write_json_atomic

META = "meta.json"
FORMAT_VERSION = 1
MULAN_WINDOW_S = 10.0  # MuLan's audio tower sees ~10 s windows (arXiv 2208.12415)
MULAN_MIN_TAIL_S = 2.0  # a shorter tail after the last full window is dropped


def mulan_window_starts(samples: int, sample_rate: int) -> list[int]:
    """First sample of each MuLan window of a clip of ``samples`` samples: consecutive
    ``MULAN_WINDOW_S`` windows, plus the tail if it lasts ``MULAN_MIN_TAIL_S`` or more."""
    window = int(round(MULAN_WINDOW_S * sample_rate))
    starts = list(range(0, max(1, samples - window + 1), window))
    if samples - (starts[-1] + window) >= MULAN_MIN_TAIL_S * sample_rate:
        starts.append(starts[-1] + window)
    return starts


def mulan_window_at(start_s: float, seconds: float, windows: int) -> int:
    """The MuLan window (of ``windows``) whose tokens condition a training window of
    ``seconds`` from ``start_s``: the one holding its middle, or the last one."""
    return min(int((start_s + seconds / 2) // MULAN_WINDOW_S), windows - 1)


def shard_path(folder: str | os.PathLike, index: int) -> Path:
    return Path(folder) / f"{index:05d}.npz"


@dataclass
class Shard:
    clips: dict[str, dict[str, np.ndarray]]  # clip id -> {name: array}
    skipped: dict[str, str]  # clip id -> why it has no tokens


def write_shard(
    folder: str | os.PathLike,
    index: int,
    items: list[tuple[str, Mapping[str, np.ndarray]]],
    *,
    skipped: Mapping[str, str] | None = None,
) -> Path:
    """Write one shard atomically: ``items`` is ``[(clip id, {name: array}), ...]``; every
    clip must return the same names, each array's last axis being time (any length).
    ``skipped`` records the clips of this shard that have no tokens, and why."""
    skipped = dict(skipped or {})
    arrays: dict[str, np.ndarray] = {
        "ids": np.array([i for i, _ in items], dtype=str),
        "skipped_ids": np.array(list(skipped), dtype=str),
        "skipped_why": np.array(list(skipped.values()), dtype=str),
    }
    names = sorted(items[0][1]) if items else []
    for name in names:
        parts = []
        for clip_id, tokens in items:
            if set(tokens) != set(names):
                raise ValueError(f"clip {clip_id}: arrays {sorted(tokens)}, expected {names}")
            parts.append(np.asarray(tokens[name]))
        arrays[f"{name}.lengths"] = np.array([p.shape[-1] for p in parts], dtype=np.int64)
        arrays[f"{name}.data"] = np.concatenate(parts, axis=-1)
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # tokens barely compress; plain npz loads fastest
    path = shard_path(folder, index)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path


def read_shard(path: str | os.PathLike) -> Shard:
    """The clips (and the skipped clips) of one shard."""
    try:
        with np.load(str(path), allow_pickle=False) as z:
            ids = [str(i) for i in z["ids"]]
            names = sorted(k[: -len(".data")] for k in z.files if k.endswith(".data"))
            out: dict[str, dict[str, np.ndarray]] = {i: {} for i in ids}
            for name in names:
                data, lengths = z[f"{name}.data"], z[f"{name}.lengths"]
                ends = np.cumsum(lengths)
                for clip_id, end, n in zip(ids, ends, lengths):
                    out[clip_id][name] = data[..., end - n : end]
            skipped = dict(zip(map(str, z["skipped_ids"]), map(str, z["skipped_why"])))
    except FileNotFoundError:
        raise UserError(f"missing token shard {path}") from None
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{path} is not a musiclm token shard ({e})") from None
    return Shard(out, skipped)


def read_meta(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The folder's ``meta.json``, or None if there is none."""
    path = Path(folder) / META
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {path}: {e}") from None


def write_meta(folder: str | os.PathLike, meta: Mapping[str, Any]) -> None:
    write_json_atomic(Path(folder) / META, {"format_version": FORMAT_VERSION, **meta})


class TokenStore(Mapping[str, dict[str, np.ndarray]]):
    """Read the tokens of one kind: ``store[clip_id] -> {name: array}``.

    Args:
        root: the tokenize output folder (holding one folder per kind).
        kind: ``"acoustic"``, ``"semantic"`` or ``"mulan"``.
        expect: the fingerprint of the tokenizer the caller was built with; tokens made by
            another one raise :class:`UserError`. ``None`` accepts any.
    """

    def __init__(self, root: str | os.PathLike, kind: str, *, expect: str | None = None):
        self.folder = Path(root) / kind
        meta = read_meta(self.folder)
        if meta is None:
            raise UserError(
                f"no {kind} tokens in {root} (missing {self.folder / META}); "
                "run `musiclm tokenize` first"
            )
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise UserError(f"{self.folder}: token format {meta.get('format_version')} is newer")
        if expect is not None and meta.get("fingerprint") != expect:
            raise UserError(
                f"{self.folder} holds {kind} tokens of another model (fingerprint "
                f"{str(meta.get('fingerprint'))[:12]}, expected {expect[:12]}); re-run "
                "`musiclm tokenize --overwrite` with this model"
            )
        self.meta = meta
        self._items: dict[str, dict[str, np.ndarray]] = {}
        for index in range(int(meta.get("shards", 0))):
            path = shard_path(self.folder, index)
            if path.exists():
                self._items.update(read_shard(path).clips)

    @property
    def fingerprint(self) -> str:
        return str(self.meta["fingerprint"])

    def __getitem__(self, clip_id: str) -> dict[str, np.ndarray]:
        try:
            return self._items[clip_id]
        except KeyError:
            raise KeyError(f"no {self.meta.get('kind')} tokens for clip {clip_id!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __contains__(self, clip_id: object) -> bool:
        return clip_id in self._items

    def __len__(self) -> int:
        return len(self._items)
