"""Import a folder of the user's own captioned audio into a manifest.

Each audio file carries its caption in a sidecar of the same name beside it:

* ``song.txt``: each non-empty line is one paraphrase of the caption;
* ``song.json``: ``{"caption": str}`` or ``{"captions": [str, ...]}``, optionally with
  ``aspects``, ``genre``, ``tempo``, ``key``, ``mode``, ``meter``, ``mood`` and
  ``instruments`` (names, or ``{"name", "program", "drum"}`` objects). Other keys are kept
  in the record's ``extra``. When both sidecars exist the JSON one is used.
"""

from __future__ import annotations

import json
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
from musiclm.data.manifest import ClipRecord, Instrument
from musiclm.errors import UserError
from musiclm.io import audio_info, check_output_dir

AUDIO_EXTENSIONS = ("wav", "flac", "mp3", "ogg", "aiff", "aif", "opus")
_STRING_FIELDS = ("genre", "key", "mode", "meter")
_KNOWN_KEYS = {"caption", "captions", "aspects", "tempo", "mood", "instruments", *_STRING_FIELDS}


def import_folder(
    folder: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    *,
    progress: bool = True,
) -> ImportResult:
    """Find captioned audio under ``folder`` (recursively) and write ``out_dir/manifest.jsonl``.

    Args:
        folder: searched recursively for wav/flac/mp3/ogg/aiff/aif/opus files, skipping
            hidden files and folders (names starting with ``.``).
        out_dir: where the manifest goes (default ``folder``); audio paths in it are
            relative to this folder.
        progress: show a progress bar on stderr.
    Returns:
        the :class:`ImportResult`: audio without any sidecar is counted in ``missing``;
        unreadable audio, bad sidecars and duplicate ids are listed in ``skipped``.
        A clip's id is its path below ``folder`` without the extension, ``/`` -> ``__``.
    Raises:
        UserError: ``folder`` is not a folder, or no captioned audio was found.
    """
    folder = Path(folder)
    out_dir = Path(out_dir) if out_dir is not None else folder
    if not folder.is_dir():
        raise UserError(f"no folder at {folder}")
    check_output_dir(out_dir, what="--out folder", create=False)  # before the scan

    files = walk_files(folder, AUDIO_EXTENSIONS)
    records: list[ClipRecord] = []
    skipped: list[tuple[str, str]] = []
    missing = 0
    seen: dict[str, Path] = {}
    for path in progress_bar(files, enabled=progress, desc="folder"):
        rel = path.relative_to(folder)
        clip_id = rel.with_suffix("").as_posix().replace("/", "__")
        json_sidecar, txt_sidecar = path.with_suffix(".json"), path.with_suffix(".txt")
        try:
            if json_sidecar.is_file():
                fields = _read_json_sidecar(json_sidecar)
            elif txt_sidecar.is_file():
                fields = _read_txt_sidecar(txt_sidecar)
            else:
                missing += 1
                continue
        except ValueError as e:
            skipped.append((str(rel), str(e)))
            continue
        if clip_id in seen:
            skipped.append(
                (str(rel), f"same id {clip_id!r} as {seen[clip_id].relative_to(folder)}")
            )
            continue
        try:
            rate, seconds = audio_info(path)
        except UserError as e:
            skipped.append((str(rel), str(e).removeprefix(f"cannot read audio {path}: ")))
            continue
        if seconds <= 0:
            skipped.append((str(rel), "empty audio file"))
            continue
        seen[clip_id] = path
        records.append(
            ClipRecord(
                id=clip_id,
                audio=relative_to(path, out_dir),
                sample_rate=rate,
                seconds=seconds,
                source="folder",
                **fields,
            )
        )

    return finish_import(
        records,
        out_dir,
        missing,
        skipped,
        f"no captioned audio in {folder}: {len(files)} audio file(s), {missing} without a "
        ".txt/.json caption beside them",
        folder,
    )


def _read_txt_sidecar(path: Path) -> dict[str, Any]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read {path.name}: {e}") from None
    captions = [line.strip() for line in lines if line.strip()]
    if not captions:
        raise ValueError(f"{path.name} holds no caption")
    return {"captions": captions}


def _read_json_sidecar(path: Path) -> dict[str, Any]:
    """Map a JSON sidecar onto :class:`ClipRecord` keyword arguments."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read {path.name}: {e}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path.name}: invalid JSON: {e}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: expected a JSON object, got {type(data).__name__}")

    def bad(key: str, expected: str) -> ValueError:
        return ValueError(f"{path.name}: {key!r} must be {expected}, got {data[key]!r}")

    captions: list[str] = []
    if "caption" in data:
        if not isinstance(data["caption"], str):
            raise bad("caption", "a string")
        captions.append(data["caption"])
    if "captions" in data:
        if not _is_str_list(data["captions"]):
            raise bad("captions", "a list of strings")
        captions.extend(data["captions"])
    captions = list(dict.fromkeys(c.strip() for c in captions if c.strip()))
    if not captions:
        raise ValueError(f"{path.name} holds no caption (give 'caption' or 'captions')")

    fields: dict[str, Any] = {"captions": captions}
    for key in ("aspects", "mood"):
        value = data.get(key)
        if isinstance(value, str):
            value = [value]
        if value is not None and not _is_str_list(value):
            raise bad(key, "a string or a list of strings")
        fields[key] = [v.strip() for v in value or [] if v.strip()]
    for key in _STRING_FIELDS:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise bad(key, "a string")
        fields[key] = value or None
    if data.get("tempo") is not None:
        tempo = data["tempo"]
        if isinstance(tempo, bool) or not isinstance(tempo, (int, float)) or tempo <= 0:
            raise bad("tempo", "a positive number of beats per minute")
        fields["tempo"] = float(tempo)
    fields["instruments"] = _parse_instruments(data, path.name)
    fields["extra"] = {k: v for k, v in data.items() if k not in _KNOWN_KEYS}
    return fields


def _parse_instruments(data: dict[str, Any], name: str) -> list[Instrument]:
    value = data.get("instruments")
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{name}: 'instruments' must be a list, got {value!r}")
    instruments = []
    for item in value:
        if isinstance(item, str):
            instruments.append(Instrument(name=item))
            continue
        ok = (
            isinstance(item, dict)
            and isinstance(item.get("name"), str)
            and isinstance(item.get("program", -1), int)
            and not isinstance(item.get("program", -1), bool)
            and isinstance(item.get("drum", False), bool)
            and isinstance(item.get("role"), (str, type(None)))
            and set(item) <= {"name", "program", "drum", "role"}
        )
        if not ok:
            raise ValueError(
                f"{name}: an instrument must be a name or {{name, program, drum}}, got {item!r}"
            )
        instruments.append(Instrument(**item))
    return instruments


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
