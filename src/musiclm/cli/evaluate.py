"""``musiclm eval``: generate for a prompt file and report adherence, quality and speed."""

from __future__ import annotations

from pathlib import Path

import typer


def evaluate(
    prompts: Path = typer.Argument(
        ..., help="JSONL: text + optional tempo, key, instruments, genre."
    ),
    corpus: Path = typer.Option(..., "--corpus", help="Corpus the attribute classifiers train on."),
    heldout: Path = typer.Option(
        ..., "--heldout", help="Held-out corpus: classifier accuracy, FAD."
    ),
    model: str = typer.Option(None, "--model", "-m", help="A MusicLM folder (default: bundled)."),
    seconds: float = typer.Option(10.0, "--seconds", "-s"),
    seed: int = typer.Option(0, "--seed"),
    samples: int = typer.Option(
        1, "--samples", "-n", min=1, help="Pieces per prompt (seeds seed, seed+1000, ...)."
    ),
    cfg: float = typer.Option(3.0, "--cfg", help="Classifier-free guidance."),
    temperature: str = typer.Option(
        None, "--temperature", help="Semantic, coarse, fine (default: as `generate`)."
    ),
    tune: bool = typer.Option(
        True,
        "--tune/--no-tune",
        help="Planned tunes for models that take a melody (as `generate --tune`).",
    ),
    guide_keeps_melody: bool = typer.Option(
        False,
        "--guide-keeps-melody",
        help="Guidance's unconditional pass keeps the melody "
        "(the tune): guidance then pushes toward the text alone.",
    ),
    drafts: int = typer.Option(
        None, "--drafts", help="Coarse drafts per window, one kept (as `generate --drafts`)."
    ),
    batch: int = typer.Option(4, "--batch", "-b", help="Prompts generated together."),
    max_clips: int = typer.Option(1000, "--max-clips", help="Corpus clips embedded per corpus."),
    out: Path = typer.Option(Path("eval"), "--out", "-o", help="Folder: eval.md, eval.json, WAVs."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU if any), cpu, cuda or mps."),
) -> None:
    """Generate every prompt and measure it: MCC vs shuffled prompts, tempo error, key
    match, genre/instrument agreement (classifiers trained on --corpus, their held-out
    accuracy beside), FAD on MuLan embeddings, real-time factor and peak memory.

    Example: `musiclm eval ../shared/prompts/public_eval.jsonl --corpus corpus --heldout heldout`
    """
    from dataclasses import asdict

    from musiclm.cli import checks
    from musiclm.devices import resolve_device
    from musiclm.eval.run import evaluate as run
    from musiclm.eval.run import read_prompts, to_markdown
    from musiclm.io import check_output_dir, write_json_atomic, write_text_atomic
    from musiclm.pipeline import MAX_SECONDS, MIN_SECONDS, GenerationOptions, MusicLM

    dev = resolve_device(device)
    checks.number("--seconds", seconds, low=MIN_SECONDS, high=MAX_SECONDS)
    checks.seed("--seed", seed, span=1000 * samples)
    checks.count("--batch", batch)
    checks.count("--max-clips", max_clips)
    temps = None if temperature is None else checks.temperatures("--temperature", temperature)
    options = GenerationOptions(cfg=cfg, temperature=temps, tune=tune, drafts=drafts,
                                guide_keeps_melody=guide_keeps_melody)  # checks them  # fmt: skip
    check_output_dir(out, what="--out folder", create=False)  # before generating anything
    items = read_prompts(prompts)
    net = MusicLM.from_pretrained(model, device=dev)
    report = run(
        net,
        items,
        corpus=corpus,
        heldout=heldout,
        seconds=seconds,
        seed=seed,
        samples=samples,
        options=options,
        batch=batch,
        max_clips=max_clips,
        audio_dir=out / "audio",
    )
    text = to_markdown(report)
    write_text_atomic(out / "eval.md", text)
    write_json_atomic(out / "eval.json", asdict(report))
    typer.echo(text)
    typer.echo(f"-> {out / 'eval.md'}, {out / 'eval.json'}", err=True)
