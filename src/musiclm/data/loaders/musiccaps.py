"""Import MusicCaps (Agostinelli et al. 2023, the MusicLM eval set) into a manifest.

MusicCaps ships captions only (``musiccaps-public.csv``): the user fetches the 10-second
YouTube clips themselves. This loader pairs each CSV row with the clip the user holds,
found by any of the common download naming schemes, and writes ``manifest.jsonl``.
"""

from __future__ import annotations

import ast
import csv
import math
import os
from pathlib import Path
from typing import Any

from musiclm.data.loaders.common import (
    ImportResult,
    finish_import,
    progress_bar,
    relative_to,
    walk_files,
)
from musiclm.data.manifest import ClipRecord
from musiclm.errors import UserError
from musiclm.io import audio_info, check_output_dir

REQUIRED_COLUMNS = ("ytid", "start_s", "end_s", "caption")
# In order of preference when one clip exists in several formats. libsndfile reads
# wav/flac/ogg/opus/mp3; m4a (AAC) it cannot, so an m4a-only clip is listed as unreadable.
CLIP_EXTENSIONS = ("wav", "flac", "ogg", "opus", "mp3", "m4a")


def clip_stems(ytid: str, start_s: float, end_s: float) -> list[str]:
    """File stems a downloader may have given this row's clip, e.g. for ``abc`` 30-40 s:
    ``abc``, ``abc_30-40``, ``[abc]-[30-40]``."""
    s, e = int(start_s), int(end_s)
    return [ytid, f"{ytid}_{s}-{e}", f"[{ytid}]-[{s}-{e}]"]


def index_clips(clips_dir: Path) -> dict[str, list[Path]]:
    """Every candidate audio file under ``clips_dir`` by stem, best format first."""
    rank = {ext: i for i, ext in enumerate(CLIP_EXTENSIONS)}
    index: dict[str, list[Path]] = {}
    for p in walk_files(clips_dir, CLIP_EXTENSIONS):
        index.setdefault(p.stem, []).append(p)
    for paths in index.values():
        paths.sort(key=lambda p: rank[p.suffix.lower().lstrip(".")])
    return index


def import_musiccaps(
    csv_path: str | os.PathLike,
    clips_dir: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
) -> ImportResult:
    """Pair MusicCaps CSV rows with the user's clips and write ``out_dir/manifest.jsonl``.

    Args:
        csv_path: ``musiccaps-public.csv`` (needs columns ytid, start_s, end_s, caption;
            aspect_list, author_id, is_audioset_eval, is_balanced_subset are used if present).
        clips_dir: folder searched recursively for ``{ytid}.{ext}``,
            ``{ytid}_{start}-{end}.{ext}`` or ``[{ytid}]-[{start}-{end}].{ext}``.
        out_dir: where the manifest goes (default ``clips_dir``); audio paths in it are
            relative to this folder.
        progress: show a progress bar on stderr.
    Returns:
        the :class:`ImportResult`: rows without a clip are counted in ``missing``;
        malformed rows (by CSV line) and unreadable clips are listed in ``skipped``.
    Raises:
        UserError: a missing CSV or clips folder, a CSV without the required columns,
            or no usable row at all.
    """
    csv_path, clips_dir = Path(csv_path), Path(clips_dir)
    out_dir = Path(out_dir) if out_dir is not None else clips_dir
    if not csv_path.is_file():
        raise UserError(f"no MusicCaps CSV at {csv_path}")
    if not clips_dir.is_dir():
        raise UserError(f"no clips folder at {clips_dir}")
    check_output_dir(out_dir, what="--out folder", create=False)  # before the scan

    rows = _read_rows(csv_path)
    index = index_clips(clips_dir)
    records: list[ClipRecord] = []
    skipped: list[tuple[str, str]] = []
    missing = 0
    seen: set[str] = set()
    for line, row in progress_bar(rows, enabled=progress, desc="musiccaps"):
        where = f"{csv_path.name}:{line}"
        try:
            fields = _parse_row(row)
        except ValueError as e:
            skipped.append((where, str(e)))
            continue
        ytid = fields["ytid"]
        if ytid in seen:
            skipped.append((where, f"duplicate ytid {ytid!r}"))
            continue
        candidates = [
            p
            for stem in clip_stems(ytid, fields["start_s"], fields["end_s"])
            for p in index.get(stem, [])
        ]
        if not candidates:
            missing += 1
            continue
        info = _first_readable(candidates)
        if isinstance(info, str):
            skipped.append((str(candidates[0]), info))
            continue
        path, (rate, seconds) = info
        seen.add(ytid)
        records.append(
            ClipRecord(
                id=ytid,
                audio=relative_to(path, out_dir),
                sample_rate=rate,
                seconds=seconds,
                captions=[fields["caption"]],
                aspects=fields["aspects"],
                source="musiccaps",
                extra={
                    "start_s": fields["start_s"],
                    "end_s": fields["end_s"],
                    "author_id": fields["author_id"],
                    "is_audioset_eval": fields["is_audioset_eval"],
                    "is_balanced_subset": fields["is_balanced_subset"],
                },
            )
        )

    return finish_import(
        records,
        out_dir,
        missing,
        skipped,
        f"no usable MusicCaps rows: {len(rows)} rows in {csv_path}, {missing} without a "
        f"clip in {clips_dir}",
        clips_dir,
    )


def _read_rows(csv_path: Path) -> list[tuple[int, dict[str, str]]]:
    """``(first line number, row)`` for each CSV record (a quoted caption may span lines)."""
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            columns = [c.strip() for c in reader.fieldnames or []]
            absent = [c for c in REQUIRED_COLUMNS if c not in columns]
            if absent:
                raise UserError(
                    f"{csv_path} is not a MusicCaps CSV: missing column(s) {', '.join(absent)} "
                    f"(need {', '.join(REQUIRED_COLUMNS)})"
                )
            reader.fieldnames = columns
            rows, end = [], reader.line_num
            for row in reader:
                rows.append((end + 1, row))
                end = reader.line_num
    except (UnicodeDecodeError, csv.Error) as e:
        raise UserError(f"cannot read {csv_path} as CSV: {e}") from None
    return rows


def _parse_row(row: dict[str, Any]) -> dict[str, Any]:
    """Check and convert one CSV row; ``ValueError`` says what is wrong with it."""

    def text(name: str) -> str:
        value = row.get(name)
        return value.strip() if isinstance(value, str) else ""

    absent = [c for c in REQUIRED_COLUMNS if not text(c)]
    if absent:
        raise ValueError(f"empty {', '.join(absent)}")
    times = {}
    for name in ("start_s", "end_s"):
        try:
            times[name] = float(text(name))
        except ValueError:
            raise ValueError(f"{name} is not a number: {text(name)!r}") from None
        if not math.isfinite(times[name]) or times[name] < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {text(name)!r}")
    if times["end_s"] <= times["start_s"]:
        raise ValueError(f"end_s ({text('end_s')}) is not after start_s ({text('start_s')})")
    return {
        "ytid": text("ytid"),
        "start_s": times["start_s"],
        "end_s": times["end_s"],
        "caption": text("caption"),
        "aspects": _parse_aspects(text("aspect_list")),
        "author_id": text("author_id") or None,
        "is_audioset_eval": _parse_bool(text("is_audioset_eval")),
        "is_balanced_subset": _parse_bool(text("is_balanced_subset")),
    }


def _parse_aspects(value: str) -> list[str]:
    """``"['pop', 'tinny wide hi hats']"`` -> list; anything unparsable -> ``[]`` (the
    aspects are a bonus, the caption is what a row is for)."""
    if not value:
        return []
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return []
    if not isinstance(parsed, (list, tuple)):
        return []
    return [str(a).strip() for a in parsed if str(a).strip()]


def _parse_bool(value: str) -> bool | None:
    v = value.lower()
    if v in ("true", "1", "yes"):
        return True
    if v in ("false", "0", "no"):
        return False
    return None


def _first_readable(candidates: list[Path]) -> tuple[Path, tuple[int, float]] | str:
    """The first candidate soundfile can read, with its ``(rate, seconds)``; else the
    reason the first one failed."""
    reason = ""
    for path in candidates:
        try:
            rate, seconds = audio_info(path)
        except UserError as e:
            reason = reason or _unreadable_reason(path, e)
            continue
        if seconds <= 0:
            reason = reason or "empty audio file"
            continue
        return path, (rate, seconds)
    return reason


def _unreadable_reason(path: Path, error: UserError) -> str:
    reason = str(error).removeprefix(f"cannot read audio {path}: ")
    if path.suffix.lower() == ".m4a":
        reason += " (convert m4a to flac or wav, e.g. with ffmpeg)"
    return f"unreadable audio: {reason}"
