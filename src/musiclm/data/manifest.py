"""The one manifest format every corpus shares: JSON Lines, one :class:`ClipRecord` a row.

The data engine, the MusicCaps loader and the folder loader all write this format, and
every later stage (tokenizers, MuLan, the token stages, eval) reads only this format.
Paths in ``audio``/``midi`` are relative to the manifest's folder so a corpus can move.

Containment: a manifest reads files only inside its own folder and the folders its
``corpus.json`` lists under ``"audio_roots"`` (paths relative to the corpus folder).
``data merge`` and the importers write that list when the audio they list lies elsewhere;
any other row that climbs out (``../``, an absolute path, a symlink leading out) is
refused when the manifest is read, so a downloaded corpus cannot make us read elsewhere.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from musiclm.errors import UserError
from musiclm.io import atomic_path, folder_lock, write_json_atomic

MANIFEST_NAME = "manifest.jsonl"
CORPUS_NAME = "corpus.json"  # the corpus' settings; "audio_roots" lists where it may read
ROOTS_KEY = "audio_roots"


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
        UserError: the file is missing, a row is malformed, or a row's ``audio``/``midi``
            lies outside the corpus folder and its declared roots (the line number is given).
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
    inside = _Containment(p)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a row must be a JSON object")
            record = ClipRecord.from_dict(row)
        except (ValueError, TypeError) as e:
            raise UserError(f"{p}:{n}: bad manifest row: {e}") from None
        for name in ("audio", "midi"):
            inside.check(getattr(record, name), name, n)
        records.append(record)
    return records


class _Containment:
    """Checks that manifest paths stay in the corpus folder or its declared roots; the
    roots (``corpus.json``) are read only when a path leaves the folder."""

    def __init__(self, manifest: Path) -> None:
        self.manifest = manifest
        self.folder = manifest.parent.resolve()
        self.roots: list[Path] | None = None
        self._dirs: dict[str, Path] = {}  # resolved parent folders (clips share a few)

    def _real(self, relative: str) -> Path:
        """Where ``relative`` really leads: ``..`` and symlinks followed, as the OS does."""
        full = os.path.join(self.manifest.parent, relative)
        if os.path.islink(full):
            return Path(full).resolve()
        parent, name = os.path.split(full)
        if parent not in self._dirs:
            self._dirs[parent] = Path(parent).resolve()
        return self._dirs[parent] / name

    def check(self, relative: str | None, what: str, line: int) -> None:
        if relative is None:
            return
        real = self._real(relative)
        if real.is_relative_to(self.folder):
            return
        if self.roots is None:
            self.roots = [(self.folder / r).resolve() for r in declared_roots(self.folder)]
        if not any(real.is_relative_to(r) for r in self.roots):
            raise UserError(
                f"{self.manifest}:{line}: {what} {relative!r} lies outside "
                f"{self.manifest.parent}; a corpus reads only its own folder and the folders "
                f'its {CORPUS_NAME} lists under "{ROOTS_KEY}" (add "{real.parent}" there if '
                "you trust this corpus)"
            )


def _read_corpus_json(folder: Path) -> dict[str, Any]:
    path = folder / CORPUS_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
        raise UserError(f"cannot read {path}: {e}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path} is not a musiclm {CORPUS_NAME} (expected a JSON object)")
    return data


def declared_roots(folder: str | os.PathLike) -> list[str]:
    """The folders (relative to ``folder``, or absolute) a corpus may read audio from
    besides its own: ``corpus.json``'s ``"audio_roots"``, ``[]`` when there is none."""
    path = Path(folder) / CORPUS_NAME
    roots = _read_corpus_json(Path(folder)).get(ROOTS_KEY, [])
    if not (isinstance(roots, list) and all(isinstance(r, str) and r for r in roots)):
        raise UserError(f'{path}: "{ROOTS_KEY}" must be a list of folder paths, got {roots!r}')
    return roots


def declare_roots(folder: str | os.PathLike, roots: list[str | os.PathLike]) -> None:
    """Add ``roots`` (folders outside ``folder``) to ``folder/corpus.json``'s
    ``"audio_roots"``, stored relative to ``folder`` so corpus and sources can move
    together; the file's other keys (a synthetic corpus' settings) are kept."""
    folder = Path(folder)
    base = folder.resolve()
    new = [Path(os.path.relpath(Path(r).resolve(), base)).as_posix() for r in roots]
    if not new:
        return
    data = _read_corpus_json(folder)
    old = declared_roots(folder)
    data[ROOTS_KEY] = sorted(set(old) | set(new))
    if data[ROOTS_KEY] != old:
        write_json_atomic(folder / CORPUS_NAME, data)


def covering_roots(
    paths: list[str | os.PathLike], folder: str | os.PathLike, candidates: list[Path] = ()
) -> list[Path]:
    """The folders to declare so that ``folder``'s manifest may read ``paths``: for each
    path outside ``folder``, the first of ``candidates`` (the folders the paths came
    from) that holds it, else its own folder. Resolved, without duplicates."""
    base = Path(folder).resolve()
    candidates = [Path(c).resolve() for c in candidates]
    roots: list[Path] = []
    for path in paths:
        real = Path(path).resolve()
        if real.is_relative_to(base) or any(real.is_relative_to(r) for r in roots):
            continue
        roots.append(next((c for c in candidates if real.is_relative_to(c)), real.parent))
    return roots


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
    tokenized, trained on) like any other; the source folders (and the roots they
    declare) are added to its ``corpus.json`` ``"audio_roots"``, so that reading it may
    leave its folder for them (see the module docstring). Clip ids must be unique across
    the sources.
    """
    target = manifest_path(out)
    base = target.parent.resolve()
    records, seen, files, candidates = [], set(), [], []
    for src in sources:
        folder = manifest_path(src).parent.resolve()
        candidates.append(folder)
        first = len(files)
        for r in read_manifest(src):
            if r.id in seen:
                raise UserError(f"clip id {r.id!r} of {src} is already in another source")
            seen.add(r.id)
            paths = [resolve(src, r.audio).resolve()]
            r.audio = os.path.relpath(paths[0], base)
            if r.midi:
                paths.append(resolve(src, r.midi).resolve())
                r.midi = os.path.relpath(paths[1], base)
            files += paths
            records.append(r)
        if any(not f.is_relative_to(folder) for f in files[first:]):  # through its roots
            candidates += [(folder / r).resolve() for r in declared_roots(folder)]
    with folder_lock(base):  # another merge, import or synth into this folder: refused
        declare_roots(base, covering_roots(files, base, candidates))
        return write_manifest(target, records)
