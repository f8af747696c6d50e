"""``musiclm tokenize``: turn a corpus into the cached token files every stage trains on."""

from __future__ import annotations

from pathlib import Path

import typer

BUNDLED = "bundled"


def tokenize(
    data: Path = typer.Argument(..., help="Corpus folder (with manifest.jsonl) or manifest."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (one sub-folder per kind)."),
    kinds: str = typer.Option(
        "acoustic,semantic,mulan",
        "--kinds",
        "-k",
        help="Comma-separated: acoustic, semantic, mulan (of the audio), captions (MuLan "
        "tokens of each caption, for `stage train --text-cond`), attributes (tempo and "
        "key from the manifest, for `stage train --attributes`), melody (the tune of "
        "each clip's MIDI score, for `--melody`), form (its sections, for `--form`).",
    ),
    codec: str = typer.Option(BUNDLED, "--codec", help="Codec folder for acoustic tokens."),
    semantic: str = typer.Option(BUNDLED, "--semantic", help="Semantic tokenizer folder."),
    mulan: str = typer.Option(BUNDLED, "--mulan", help="MuLan folder."),
    workers: int = typer.Option(1, "--workers", "-j", help="Processes (each loads the models)."),
    shard_size: int = typer.Option(100, "--shard-size", help="Clips per shard file."),
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace tokens made by another model or corpus."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Tokenize a corpus: acoustic (codec codes), semantic (25 Hz ids) and MuLan tokens.

    Resumable: rerun the same command after an interruption and finished shards are kept.
    Clips with missing or unreadable audio are skipped and counted.

    Example: `musiclm tokenize corpus -o corpus/tokens --kinds acoustic --codec runs/codec/final`;
    `musiclm tokenize corpus -o corpus/tokens --kinds captions` adds caption tokens.
    """
    from musiclm.cli import checks
    from musiclm.errors import Interrupted, UserError
    from musiclm.tokenize import tokenize_corpus

    checks.count("--workers", workers, high=256)
    checks.count("--shard-size", shard_size)

    paths = {
        "acoustic": codec, "semantic": semantic, "mulan": mulan, "captions": mulan,
        "attributes": BUNDLED, "melody": BUNDLED, "form": BUNDLED,  # need no model
    }  # fmt: skip
    wanted = [k.strip() for k in kinds.split(",") if k.strip()]
    unknown = sorted(set(wanted) - set(paths))
    if unknown or not wanted:
        raise UserError(f"--kinds must name some of {sorted(paths)}, got {kinds!r}")
    models = {k: None if paths[k] == BUNDLED else paths[k] for k in wanted}
    try:
        result = tokenize_corpus(
            data, out, models, shard_size=shard_size, workers=workers, overwrite=overwrite,
            progress=not quiet,
        )  # fmt: skip
    except KeyboardInterrupt:
        raise Interrupted(
            f"the finished shards are kept in {out}; rerun the same command to finish"
        ) from None
    done = result.clips - len(result.skipped)
    typer.echo(
        f"{done} of {result.clips} clips tokenized ({', '.join(wanted)}) -> {result.out}"
        + (f"; {len(result.skipped)} skipped (unreadable audio)" if result.skipped else "")
    )
