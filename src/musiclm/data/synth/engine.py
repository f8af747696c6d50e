"""``musiclm data synth``: compose, render and caption a corpus, sharded, parallel, resumable.

Layout of OUT_DIR::

    corpus.json                 settings the corpus was made with (checked on resume)
    manifest.jsonl              one row per clip, in clip order (written last, atomically)
    audio/0000/s7-000000.flac   clips, 100 a shard folder
    midi/0000/s7-000000.mid     their scores
    shards/0000.jsonl           a shard's rows, written once the shard is complete
    .parts/0000/<id>.json       rows of finished clips of an unfinished shard

Every file is written to a temporary name and renamed, and a clip counts as done only
when its row exists, so a killed run leaves nothing half-written; rerunning the same
command finishes the rest without duplicates.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from musiclm.data.manifest import ClipRecord, Instrument, Section, write_manifest
from musiclm.data.synth.captions import CaptionInput, CaptionPart, write_captions
from musiclm.data.synth.composer import ARRANGEMENTS, ComposeOptions, clip_rng, compose
from musiclm.data.synth.genres import get_genre
from musiclm.data.synth.instruments import get_instrument
from musiclm.data.synth.render import Renderer, check_fluidsynth, find_soundfont, write_midi
from musiclm.data.synth.song import Song
from musiclm.errors import Interrupted, UserError
from musiclm.io import (
    check_output_dir,
    folder_lock,
    remove_temporaries,
    write_audio,
    write_json_atomic,
    write_text_atomic,
)
from musiclm.theory import pitch_name

ENGINE_VERSION = 1
MIN_SECONDS, MAX_SECONDS = 5.0, 300.0
ROLE_ORDER = ("melody", "counter", "harmony", "pad", "bass", "drums", "percussion")


@dataclass(frozen=True)
class SynthConfig:
    """Everything that decides the clips (besides their count); saved as corpus.json."""

    seed: int = 0
    seconds: float = 10.0
    sample_rate: int = 24000
    genres: tuple[str, ...] = ()
    lead: str | None = None
    arrangement: str | None = None
    shard_size: int = 100
    midi: bool = True
    engine_version: int = ENGINE_VERSION

    def validate(self) -> SynthConfig:
        if not MIN_SECONDS <= self.seconds <= MAX_SECONDS:
            raise UserError(
                f"--seconds must be between {MIN_SECONDS:g} and {MAX_SECONDS:g}, "
                f"got {self.seconds:g}"
            )
        if not 8000 <= self.sample_rate <= 96000:
            raise UserError(
                f"--sample-rate must be between 8000 and 96000 Hz, got {self.sample_rate}"
            )
        if self.seed < 0:
            raise UserError(f"--seed must be >= 0, got {self.seed}")
        if not 1 <= self.shard_size <= 100000:
            raise UserError(f"--shard-size must be >= 1, got {self.shard_size}")
        genres = tuple(get_genre(g).id for g in self.genres)  # UserError on unknown names
        if self.lead is not None:
            get_instrument(self.lead)
        if self.arrangement is not None and self.arrangement not in ARRANGEMENTS:
            raise UserError(
                f"unknown arrangement {self.arrangement!r}; choose from: {', '.join(ARRANGEMENTS)}"
            )
        return SynthConfig(**{**asdict(self), "genres": genres})


@dataclass
class SynthResult:
    manifest: Path
    clips: int
    rendered: int  # clips rendered by this run (the rest already existed)
    seconds_of_audio: float = 0.0
    failures: list[str] = field(default_factory=list)


def clip_id(seed: int, index: int) -> str:
    return f"s{seed}-{index:06d}"


def song_record(song: Song, cfg: SynthConfig, index: int, rng) -> ClipRecord:
    """The manifest row of a composed song: captions from its audible parts only."""
    cid, shard = clip_id(cfg.seed, index), f"{index // cfg.shard_size:04d}"
    merged: dict[str, CaptionPart] = {}
    for p in sorted(song.parts, key=lambda p: ROLE_ORDER.index(p.role)):
        if p.name not in merged:  # one instrument in several roles is named once, by its main role
            merged[p.name] = CaptionPart(p.name, p.role, p.spec.drum, p.features)
    only = {"only humming": "humming", "only whistling": "whistling"}.get(song.arrangement)
    inp = CaptionInput(
        genre=song.genre.id,
        genre_name=song.genre.name,
        tempo=song.tempo,
        meter=song.meter,
        key=pitch_name(song.tonic),
        mode=song.mode,
        moods=song.moods,
        parts=tuple(merged.values()),
        only_timbre=only,
        sections=tuple(n for n, _, _ in song.sections),
        seconds=song.seconds,
        ending=song.ending,
        swing=song.swing > 0.3,
        descriptors=song.descriptors,
        era=song.era,
        uses=song.uses,
        solo=song.arrangement == "solo",
    )
    captions, aspects = write_captions(inp, rng)
    bs = song.beat_seconds
    return ClipRecord(
        id=cid,
        audio=f"audio/{shard}/{cid}.flac",
        sample_rate=cfg.sample_rate,
        seconds=cfg.seconds,
        captions=captions,
        aspects=aspects,
        genre=song.genre.id,
        tempo=song.tempo,
        key=pitch_name(song.tonic),
        mode=song.mode,
        meter=song.meter,
        instruments=[Instrument(p.name, p.spec.program, p.spec.drum, p.role) for p in song.parts],
        mood=list(song.moods),
        sections=[
            Section(n, round(s * bs, 3), round(min(e * bs, song.seconds), 3))
            for n, s, e in song.sections
        ],
        melody_source=song.melody_source,
        midi=f"midi/{shard}/{cid}.mid" if cfg.midi else None,
        source="synth",
        extra={
            "genre_name": song.genre.name,
            "arrangement": song.arrangement,
            "ending": song.ending,
            "swing": round(song.swing, 3),
            "era": song.era,
            "engine_version": ENGINE_VERSION,
            "features": {p.name: list(p.features) for p in song.parts if p.features},
        },
    )


# ---- worker side -------------------------------------------------------------------

_renderer: Renderer | None = None


def _init_worker(sample_rate: int, soundfont: str | None) -> None:
    global _renderer
    _renderer = Renderer(sample_rate, soundfont)


def make_clip(out_dir: str, cfg: SynthConfig, index: int) -> tuple[int, str | None]:
    """Compose, render and write clip ``index``; its row file is written last."""
    assert _renderer is not None
    out = Path(out_dir)
    try:
        opts = ComposeOptions(cfg.seconds, cfg.genres, cfg.lead, cfg.arrangement)
        song = compose(cfg.seed, index, opts)
        rng = clip_rng(
            cfg.seed, index + (1 << 40)
        )  # render/caption randomness, apart from composition
        record = song_record(song, cfg, index, rng)
        audio = _renderer.render(song, rng)
        write_audio(out / record.audio, audio, cfg.sample_rate)
        if record.midi:
            write_midi(song, out / record.midi)
        write_text_atomic(_part_path(out, cfg, index), record.to_json() + "\n")
        return index, None
    except UserError:
        raise
    except Exception as e:  # a bug in one clip must not kill a long run; it is reported
        return index, f"clip {index}: {type(e).__name__}: {e}"


def _worker_clip(args: tuple[str, SynthConfig, int]) -> tuple[int, str | None]:
    return make_clip(*args)


# ---- driver side -------------------------------------------------------------------


def _part_path(out: Path, cfg: SynthConfig, index: int) -> Path:
    return out / ".parts" / f"{index // cfg.shard_size:04d}" / f"{clip_id(cfg.seed, index)}.json"


def _shard_path(out: Path, shard: int) -> Path:
    return out / "shards" / f"{shard:04d}.jsonl"


def _read_rows(path: Path) -> dict[str, str]:
    rows = {}
    if path.is_file():
        for line in _read_text(path).splitlines():
            if line.strip():
                rows[_row_id(line, path)] = line
    return rows


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; delete it and rerun to redo it") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None


def _row_id(line: str, path: Path) -> str:
    try:
        row = json.loads(line)
        if isinstance(row, dict) and isinstance(row.get("id"), str):
            return row["id"]
    except ValueError:
        pass
    raise UserError(f"{path} holds a line that is not a clip row; delete it and rerun to redo it")


def _write_dirs(out: Path) -> list[Path]:
    """The folders a synth run writes files into (where its temporaries can be)."""
    dirs = [out, out / "shards"]
    for sub in ("audio", "midi", ".parts"):
        if (out / sub).is_dir():
            dirs += [p for p in (out / sub).iterdir() if p.is_dir() and p.name.isdigit()]
    return dirs


def _check_out_dir(out: Path, cfg: SynthConfig) -> None:
    saved = out / "corpus.json"
    if saved.is_file():
        try:
            old = json.loads(_read_text(saved))
        except ValueError:
            old = None
        if not isinstance(old, dict):
            raise UserError(
                f"{saved} is not a corpus.json of musiclm; use another folder (or delete it)"
            )
        mine = json.loads(json.dumps(asdict(cfg)))
        if not set(mine) & set(old):  # e.g. only the "audio_roots" of `data merge`
            raise UserError(
                f"{out} holds a corpus that `data synth` did not make (merged or imported); "
                "use another folder"
            )
        diff = [k for k in mine if old.get(k) != mine[k]]
        if diff:
            raise UserError(
                f"{out} holds a corpus made with other settings "
                f"({', '.join(f'{k}={old.get(k)!r}' for k in diff)}); "
                "use another folder or the same settings"
            )
    else:
        write_json_atomic(saved, asdict(cfg))
    for folder in _write_dirs(out):  # only our own temporaries, only where we write
        remove_temporaries(folder)


def _finish_shard(out: Path, shard: int) -> None:
    """Merge a complete shard's rows (old shard file + finished parts) into its shard file."""
    rows = _read_rows(_shard_path(out, shard))
    parts_dir = out / ".parts" / f"{shard:04d}"
    for f in sorted(parts_dir.glob("*.json")) if parts_dir.is_dir() else []:
        line = _read_text(f).strip()
        rows[_row_id(line, f)] = line
    ordered = [rows[k] for k in sorted(rows)]
    write_text_atomic(_shard_path(out, shard), "\n".join(ordered) + "\n")
    shutil.rmtree(parts_dir, ignore_errors=True)


def synth_corpus(
    out_dir: str | os.PathLike,
    clips: int,
    cfg: SynthConfig,
    *,
    workers: int = 1,
    soundfont: str | None = None,
    progress: bool = True,
) -> SynthResult:
    """Make (or finish) a corpus of ``clips`` clips in ``out_dir``.

    With ``workers > 1`` clips render in spawned processes, so a script calling this
    must sit under ``if __name__ == "__main__":``. A clip that raises is reported (the
    run ends with a UserError listing it) and retried by the next run; the other clips
    are kept.
    """
    if clips < 1 or clips > 10_000_000:
        raise UserError(f"--clips must be between 1 and 10,000,000, got {clips}")
    if workers < 1:
        raise UserError(f"--workers must be >= 1, got {workers}")
    cfg = cfg.validate()
    check_fluidsynth()
    soundfont = str(find_soundfont(soundfont))
    out = check_output_dir(out_dir, what="corpus folder")
    with folder_lock(out):
        _check_out_dir(out, cfg)
        return _synth(out, clips, cfg, workers, soundfont, progress)


def _synth(
    out: Path, clips: int, cfg: SynthConfig, workers: int, soundfont: str, progress: bool
) -> SynthResult:

    n_shards = (clips + cfg.shard_size - 1) // cfg.shard_size
    shard_ids = {
        s: [
            clip_id(cfg.seed, i)
            for i in range(s * cfg.shard_size, min(clips, (s + 1) * cfg.shard_size))
        ]
        for s in range(n_shards)
    }
    todo: list[int] = []
    pending: dict[int, set[int]] = {}
    for s, ids in shard_ids.items():
        have = set(_read_rows(_shard_path(out, s)))
        missing = [
            i
            for i, cid in zip(range(s * cfg.shard_size, s * cfg.shard_size + len(ids)), ids)
            if cid not in have and not _part_path(out, cfg, i).is_file()
        ]
        if any(cid not in have for cid in ids):
            pending[s] = set(missing)
            todo += missing
    failures: list[str] = []
    bar = tqdm(
        total=clips,
        initial=clips - len(todo),
        unit="clip",
        desc="synth",
        disable=not progress,
        dynamic_ncols=True,
    )

    failed_shards: set[int] = set()
    finished: list[int] = []

    def done(index: int, error: str | None) -> None:
        s = index // cfg.shard_size
        if error:
            failures.append(error)
            failed_shards.add(s)
        else:
            finished.append(index)
        pending[s].discard(index)
        if not pending[s] and s not in failed_shards:
            _finish_shard(out, s)
        bar.update(1)

    for s in [s for s, left in pending.items() if not left]:  # complete but unmerged shards
        _finish_shard(out, s)
    try:
        if todo and workers == 1:
            _init_worker(cfg.sample_rate, soundfont)
            for i in todo:
                done(*make_clip(str(out), cfg, i))
        elif todo:
            # spawn, not fork: a process that has used libfluidsynth (an earlier in-process
            # run, the tests) deadlocks its forked children in sfload. Scripts calling this
            # with workers > 1 need the usual `if __name__ == "__main__":` guard.
            ctx = mp.get_context("spawn")
            with ctx.Pool(
                workers, initializer=_init_worker, initargs=(cfg.sample_rate, soundfont)
            ) as pool:
                for i, err in pool.imap_unordered(_worker_clip, [(str(out), cfg, i) for i in todo]):
                    done(i, err)
    except KeyboardInterrupt:
        bar.close()
        kept = clips - len(todo) + len(finished)
        raise Interrupted(
            f"{kept} of {clips} clips done in {out}; run the same command again to finish"
        ) from None
    bar.close()
    if failures:
        raise UserError(
            f"{len(failures)} clip(s) failed (first: {failures[0]}); rerun to retry them"
        )

    rows: list[str] = []
    for s, ids in shard_ids.items():
        have = _read_rows(_shard_path(out, s))
        rows += [have[cid] for cid in ids]
    records = [ClipRecord.from_dict(json.loads(r)) for r in rows]
    path = write_manifest(out, records)
    return SynthResult(path, len(records), len(todo), len(records) * cfg.seconds)
