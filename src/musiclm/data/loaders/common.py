"""What every corpus loader shares: the :class:`ImportResult` report and file walking."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from musiclm.data.manifest import ClipRecord, covering_roots, declare_roots, write_manifest
from musiclm.errors import UserError
from musiclm.io import check_output_dir, folder_lock

T = TypeVar("T")


@dataclass
class ImportResult:
    """What an import wrote and what it left out.

    ``missing`` counts items that had nothing to pair with (a CSV row without its clip, an
    audio file without a caption); ``skipped`` lists items that were there but unusable,
    as ``(item, reason)``.
    """

    manifest: Path
    n_clips: int
    missing: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    def summary(self, max_listed: int = 5) -> str:
        """A short human report: one line of counts, then the first few skipped items."""
        lines = [
            f"wrote {self.n_clips} clips to {self.manifest}; {self.missing} missing; "
            f"{len(self.skipped)} skipped"
        ]
        for item, reason in self.skipped[:max_listed]:
            lines.append(f"  {item}: {reason}")
        if len(self.skipped) > max_listed:
            lines.append(f"  ... and {len(self.skipped) - max_listed} more")
        return "\n".join(lines)


def walk_files(root: Path, extensions: Iterable[str]) -> list[Path]:
    """Files under ``root`` (recursively, sorted) whose lower-cased suffix is in
    ``extensions`` (without dots); hidden files and folders (``.name``) are skipped."""
    exts = {e.lower().lstrip(".") for e in extensions}
    found = []
    for folder, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            if Path(name).suffix.lower().lstrip(".") in exts:
                found.append(Path(folder) / name)
    return found


def relative_to(path: Path, out_dir: Path) -> str:
    """``path`` relative to ``out_dir`` as a POSIX string (the manifest's convention);
    may climb with ``..`` when the audio lives outside the manifest's folder."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(out_dir))).as_posix()


def progress_bar(
    items: Iterable[T], *, enabled: bool, desc: str, total: int | None = None
) -> Iterator[T]:
    """``items`` wrapped in a tqdm bar on stderr when ``enabled``."""
    return iter(tqdm(items, desc=desc, total=total, disable=not enabled, unit="clip"))


def finish_import(
    records: list[ClipRecord],
    out_dir: Path,
    missing: int,
    skipped: list[tuple[str, str]],
    nothing: str,
    source: Path,
) -> ImportResult:
    """Write ``out_dir/manifest.jsonl``; with no usable clip, fail with ``nothing`` (what was
    found) plus the skip count and the first skip's reason. Audio outside ``out_dir``
    (under ``source``, the folder imported from) is declared in ``out_dir/corpus.json``'s
    ``"audio_roots"``, so the corpus may read it (see :mod:`musiclm.data.manifest`)."""
    if not records:
        first = f"; first skipped: {skipped[0][0]}: {skipped[0][1]}" if skipped else ""
        raise UserError(f"{nothing}, {len(skipped)} skipped{first}")
    paths = [Path(out_dir) / r.audio for r in records]
    check_output_dir(out_dir, what="--out folder")
    with folder_lock(out_dir):  # another import, merge or synth into this folder: refused
        declare_roots(out_dir, covering_roots(paths, out_dir, [source]))
        manifest = write_manifest(out_dir, records)
    return ImportResult(manifest=manifest, n_clips=len(records), missing=missing, skipped=skipped)
