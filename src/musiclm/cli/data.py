"""``musiclm data ...``: make, import and inspect captioned corpora."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="Make, import and inspect captioned music corpora (one shared manifest format).",
    no_args_is_help=True,
)


def _split(values: list[str] | None) -> tuple[str, ...]:
    out: list[str] = []
    for v in values or []:
        out += [x.strip() for x in v.split(",") if x.strip()]
    return tuple(out)


@app.command()
def synth(
    out_dir: Path = typer.Argument(
        ..., help="Folder to write the corpus into (created if needed)."
    ),
    clips: int = typer.Option(100, "--clips", "-n", help="Number of clips in the corpus."),
    seconds: float = typer.Option(
        10.0, "--seconds", "-s", help="Length of every clip, 5 to 300 s (whole songs)."
    ),
    seed: int = typer.Option(0, "--seed", help="Corpus seed: clip i depends only on (seed, i)."),
    workers: int = typer.Option(
        1, "--workers", "-j", help="Parallel render processes (one per core is best)."
    ),
    genre: list[str] = typer.Option(
        None,
        "--genre",
        "-g",
        help="Only these genres (repeat or comma-separate). See `musiclm data genres`.",
    ),
    sample_rate: int = typer.Option(
        24000, "--sample-rate", "-r", help="Output sample rate in Hz (mono FLAC)."
    ),
    lead: str = typer.Option(
        None,
        "--lead",
        help="Force the melody instrument, e.g. violin. See `musiclm data instruments`.",
    ),
    arrangement: str = typer.Option(
        None,
        "--arrangement",
        help="Force an arrangement: band, 'only humming', 'only whistling' or solo.",
    ),
    shard_size: int = typer.Option(100, "--shard-size", help="Clips per shard folder."),
    soundfont: Path = typer.Option(
        None, "--soundfont", help="A General MIDI .sf2 (default: FluidR3_GM)."
    ),
    no_midi: bool = typer.Option(False, "--no-midi", help="Do not keep the MIDI scores."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Compose, render and caption a MusicCaps-like corpus: FLAC + MIDI + manifest.jsonl.

    Deterministic by --seed, parallel with --workers, resumable: if it is killed, run the
    same command again and it finishes the rest. Example:

        musiclm data synth corpus --clips 1000 --seconds 10 --seed 1 --workers 2
    """
    from musiclm.data.synth.engine import SynthConfig, synth_corpus

    cfg = SynthConfig(
        seed=seed,
        seconds=seconds,
        sample_rate=sample_rate,
        genres=_split(genre),
        lead=lead,
        arrangement=arrangement,
        shard_size=shard_size,
        midi=not no_midi,
    )
    res = synth_corpus(
        out_dir,
        clips,
        cfg,
        workers=workers,
        soundfont=str(soundfont) if soundfont else None,
        progress=not quiet,
    )
    typer.echo(
        f"{res.clips} clips ({res.seconds_of_audio / 3600:.2f} h, {res.rendered} rendered now)"
        f" -> {res.manifest}"
    )


@app.command()
def report(
    corpus: Path = typer.Argument(
        ..., help="A corpus folder (with manifest.jsonl) or a manifest file."
    ),
    out: Path = typer.Option(None, "--out", "-o", help="Report folder (default: CORPUS/report)."),
) -> None:
    """Coverage and bias report: genres, instruments, tempi, keys, moods, durations, melody sources.

    Writes report.md (tables), report.json and PNG plots, and prints the Markdown.
    """
    from musiclm.data.report import build_report

    rep = build_report(corpus, out)
    typer.echo(rep.markdown)


@app.command("import-musiccaps")
def import_musiccaps(
    csv: Path = typer.Argument(
        ..., help="musiccaps-public.csv (ytid, start_s, end_s, aspect_list, caption)."
    ),
    clips_dir: Path = typer.Argument(
        ..., help="Folder holding the clips you have (named by ytid)."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Where to write manifest.jsonl (default: CLIPS_DIR)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Index your local MusicCaps clips into a manifest; missing clips are counted, not fatal."""
    from musiclm.data.loaders import import_musiccaps as run

    typer.echo(run(csv, clips_dir, out, progress=_progress(quiet)).summary())


@app.command("import-folder")
def import_folder(
    folder: Path = typer.Argument(
        ..., help="Folder of audio with .txt (one caption a line) or .json sidecars."
    ),
    out: Path = typer.Option(
        None, "--out", "-o", help="Where to write manifest.jsonl (default: FOLDER)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Index a folder of captioned audio; unreadable or uncaptioned files are skipped and listed."""
    from musiclm.data.loaders import import_folder as run

    typer.echo(run(folder, out, progress=_progress(quiet)).summary())


@app.command()
def merge(
    out: Path = typer.Argument(..., help="Folder (or .jsonl) for the merged manifest."),
    sources: list[Path] = typer.Argument(..., help="Corpus folders or manifests to merge."),
) -> None:
    """List the clips of several corpora in one manifest (audio stays where it is).

    OUT/corpus.json lists the source folders under "audio_roots": a corpus reads audio only
    inside its folder and the roots it declares (docs/cli.md).

    Example: `musiclm data merge corpus/all corpus/main corpus/violin808`
    """
    from musiclm.data.manifest import merge_manifests, read_manifest

    path = merge_manifests(out, sources)
    typer.echo(f"{len(read_manifest(path))} clips from {len(sources)} corpora -> {path}")


@app.command()
def genres() -> None:
    """List the genres the engine composes, with tempo ranges and meters."""
    from musiclm.data.synth.genres import GENRES, UNDER_REPRESENTED

    for g in GENRES.values():
        tag = "  (under-represented in MusicCaps-like data)" if g.id in UNDER_REPRESENTED else ""
        typer.echo(
            f"{g.id:16s} {g.name:28s} {g.tempo[0]}-{g.tempo[1]} bpm  {'/'.join(g.meters)}{tag}"
        )


@app.command()
def instruments() -> None:
    """List the instruments (General MIDI programs / drum kits) the engine renders."""
    from musiclm.data.synth.instruments import INSTRUMENTS

    for s in INSTRUMENTS.values():
        kind = f"kit preset {s.program} (bank 128)" if s.drum else f"GM program {s.program}"
        typer.echo(f"{s.name:24s} {kind}")


@app.command()
def melodies(
    out: Path = typer.Option(
        None, "--out", "-o", help="Where to write the cache (default: the bundled file)."
    ),
) -> None:
    """Re-extract the melody cache from music21's corpus (takes minutes; the package ships one)."""
    from musiclm.data.synth.melodies import CACHE_PATH
    from musiclm.data.synth.melody_cache import build_melody_cache
    from musiclm.io import check_output

    path = check_output(out or CACHE_PATH)
    n = build_melody_cache(path)
    typer.echo(f"{n} melodies -> {path}")


def _progress(quiet: bool) -> bool:
    """A progress bar only for a person watching: not with -q, not into a log or a pipe
    (where a failed import would print the bar before its one error line)."""
    import sys

    return not quiet and sys.stderr.isatty()
