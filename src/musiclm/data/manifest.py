"""The one manifest format every corpus shares: JSON Lines, one :class:`ClipRecord` a row.

The data engine, the MusicCaps loader and the folder loader all write this format, and
every later stage (tokenizers, MuLan, the token stages, eval) reads only this format.
Paths in ``audio``/``midi`` are relative to the manifest's folder so a corpus can move.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from musiclm.errors import UserError
from musiclm.io import atomic_path

MANIFEST_NAME = "manifest.jsonl"


@dataclass
class Instrument:
    """A part that sounds in the clip; ``program`` is the General MIDI program (0-127),
    or the drum-kit preset (bank 128) when ``drum`` is true."""

    name: str
    program: int = -1
    drum: bool = False
    role: str | None = None  # melody / harmony / bass / pad / drums / percussion / counter


@dataclass
class Section:
    name: str  # intro / verse / chorus / bridge / outro / ...
    start: float  # seconds
    end: float


@dataclass
class ClipRecord:
    """One captioned clip. Fields beyond ``id``/``audio``/``captions`` may be unknown
    (``None`` or empty) for real-world corpora."""

    id: str
    audio: str  # path relative to the manifest's folder
    sample_rate: int
    seconds: float
    captions: list[str]
    aspects: list[str] = field(default_factory=list)
    genre: str | None = None
    tempo: float | None = None  # beats per minute
    key: str | None = None  # tonic, e.g. "F#"
    mode: str | None = None  # major / minor / dorian / ...
    meter: str | None = None  # e.g. "4/4"
    instruments: list[Instrument] = field(default_factory=list)
    mood: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    melody_source: str | None = None
    midi: str | None = None  # path relative to the manifest's folder
    source: str = "synth"  # synth / musiccaps / folder
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClipRecord:
        known = {f.name for f in fields(cls)}
        missing = [k for k in ("id", "audio", "sample_rate", "seconds", "captions") if k not in d]
        if missing:
            raise ValueError(f"missing field(s) {', '.join(missing)}")
        kw = {k: v for k, v in d.items() if k in known}
        kw["instruments"] = [Instrument(**i) for i in d.get("instruments") or []]
        kw["sections"] = [Section(**s) for s in d.get("sections") or []]
        if not isinstance(kw["captions"], list):
            raise ValueError("captions must be a list of strings")
        if not isinstance(kw["id"], str) or not isinstance(kw["audio"], str):
            raise ValueError("id and audio must be strings")
        return cls(**kw)

    @property
    def instrument_names(self) -> list[str]:
        return [i.name for i in self.instruments]


def manifest_path(path: str | os.PathLike) -> Path:
    """Accept a corpus folder (existing or not) or a ``.jsonl`` file; return the manifest's path."""
    p = Path(path)
    return p if p.suffix == ".jsonl" and not p.is_dir() else p / MANIFEST_NAME


def read_manifest(path: str | os.PathLike) -> list[ClipRecord]:
    """Read a manifest (or the manifest inside a corpus folder).

    Raises:
        UserError: the file is missing or a row is malformed (the line number is given).
    """
    p = manifest_path(path)
    if not p.is_file():
        raise UserError(f"no manifest at {p} (expected a corpus folder holding {MANIFEST_NAME})")
    records = []
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise UserError(f"{p} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise UserError(f"cannot read {p}: {e.strerror or e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a row must be a JSON object")
            records.append(ClipRecord.from_dict(row))
        except (ValueError, TypeError) as e:
            raise UserError(f"{p}:{n}: bad manifest row: {e}") from None
    return records


def write_manifest(path: str | os.PathLike, records: list[ClipRecord]) -> Path:
    """Write a manifest atomically (a reader never sees half a file)."""
    p = manifest_path(path)
    with atomic_path(p) as tmp:
        with tmp.open("w", encoding="utf-8") as f:
            for r in records:
                f.write(r.to_json() + "\n")
    return p


def resolve(manifest: str | os.PathLike, relative: str) -> Path:
    """Absolute path of a manifest-relative file (``record.audio`` or ``record.midi``)."""
    return manifest_path(manifest).parent / relative


def merge_manifests(out: str | os.PathLike, sources: list[str | os.PathLike]) -> Path:
    """Write one manifest that lists the clips of several corpora, without copying audio.

    Paths are rewritten relative to ``out``'s folder, so the merged corpus is read (and
    tokenized, trained on) like any other. Clip ids must be unique across the sources.
    """
    target = manifest_path(out)
    base = target.parent.resolve()
    records, seen = [], set()
    for src in sources:
        for r in read_manifest(src):
            if r.id in seen:
                raise UserError(f"clip id {r.id!r} of {src} is already in another source")
            seen.add(r.id)
            r.audio = os.path.relpath(resolve(src, r.audio).resolve(), base)
            if r.midi:
                r.midi = os.path.relpath(resolve(src, r.midi).resolve(), base)
            records.append(r)
    base.mkdir(parents=True, exist_ok=True)
    return write_manifest(target, records)
