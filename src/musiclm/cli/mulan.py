"""``musiclm mulan ...``: train MuLan, embed text or audio, search a corpus by text."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help=(
        "MuLan: text and audio embedded into one space (and RVQ conditioning tokens). "
        "Train with `musiclm mulan train --data CORPUS`, then embed or search with --model."
    ),
    no_args_is_help=True,
)

MODEL = typer.Option(
    None, "--model", "-m", help="A MuLan folder (default: the bundled MuLan, if any)."
)


@app.command()
def train(
    data: Path = typer.Option(..., "--data", help="Training corpus (folder with manifest.jsonl)."),
    val: Path = typer.Option(None, "--val", help="Held-out corpus for validation."),
    config: str = typer.Option("tiny", "--config", "-c", help="Preset: debug, tiny, base."),
    out: Path = typer.Option(
        Path("runs/mulan"), "--out", "-o", help="Run folder (checkpoints, logs)."
    ),
    steps: int = typer.Option(5000, "--steps", help="Optimizer steps."),
    batch_size: int = typer.Option(
        32, "--batch-size", "-b", help="Pairs per step (per process): the in-batch negatives."
    ),
    lr: float = typer.Option(5e-4, "--lr", help="Peak learning rate."),
    seed: int = typer.Option(0, "--seed"),
    aspect_prob: float = typer.Option(
        0.3, "--aspect-prob", help="Chance a caption is built from the clip's aspect list."
    ),
    unfreeze_layers: int = typer.Option(
        None, "--unfreeze-layers", help="Top MiniLM layers to train (default: the preset's)."
    ),
    rvq_windows: int = typer.Option(
        100_000, "--rvq-windows", help="Most audio windows the RVQ codebooks are fitted on."
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly."),
    export: Path = typer.Option(None, "--export", help="Write the final model here."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU if any), cpu, cuda or mps."),
) -> None:
    """Train MuLan contrastively on (clip, caption) pairs, then fit its RVQ codebooks on the
    training audio and write the model (default: OUT/final).

    Runs on CPU as is; `accelerate launch` / `torchrun` spreads it over GPUs or nodes.
    Kill it and rerun with --resume: it continues from the last checkpoint exactly.
    """
    from musiclm.devices import trainer_device
    from musiclm.io import check_output_dir
    from musiclm.mulan.config import MuLanConfig
    from musiclm.mulan.train import MuLanTask, MuLanTrainOptions, fit_rvq
    from musiclm.training import TrainConfig, Trainer

    dev = trainer_device(device)  # a missing GPU is refused before any work
    final = export or out / "final"
    check_output_dir(final, what="--export folder", create=False)  # before hours of training
    cfg = MuLanConfig.preset(config)
    if unfreeze_layers is not None:
        try:
            cfg = cfg.replace(unfreeze_layers=unfreeze_layers)
        except ValueError as e:
            from musiclm.errors import UserError

            raise UserError(f"--unfreeze-layers: {e}") from None
    task = MuLanTask(cfg, data, val=val, seed=seed, options=MuLanTrainOptions(aspect_prob))
    if task.skipped:
        typer.echo(f"note: skipped {task.skipped} clip(s) without captions", err=True)
    train_cfg = TrainConfig.for_run(steps, out_dir=out, batch_size=batch_size, lr=lr, seed=seed)
    trainer = Trainer(task, train_cfg, device=dev)
    try:
        result = trainer.fit(resume=resume)
    except KeyboardInterrupt:
        from musiclm.errors import Interrupted
        from musiclm.training.checkpoint import kept_message

        raise Interrupted(kept_message(out)) from None
    model = trainer.model
    shown = {k: round(v, 4) for k, v in result.train_metrics.items() if k != "lr"}
    typer.echo(f"trained {result.step} steps; last train metrics {shown}")
    if result.val_metrics:
        typer.echo(f"validation { ({k: round(v, 4) for k, v in result.val_metrics.items()}) }")
    fit = fit_rvq(model, data, max_windows=rvq_windows, seed=seed)
    typer.echo(
        f"RVQ {cfg.rvq_levels} x {cfg.rvq_codebook_size} fitted on {fit.points} windows: "
        f"relative error {fit.relative_error[0]:.3f} after level 1, "
        f"{fit.relative_error[-1]:.3g} after all; level-1 perplexity {fit.perplexity[0]:.0f}"
    )
    model.save_pretrained(final)
    typer.echo(f"MuLan -> {final}")


def _label(text: str, width: int = 40) -> str:
    one = " ".join(text.split())
    return repr(one if len(one) <= width else one[: width - 3] + "...")


@app.command()
def embed(
    audio: Path = typer.Argument(None, help="An audio file (any rate, any channels)."),
    text: list[str] = typer.Option(
        None, "--text", "-t", help="A text to embed (repeat for several)."
    ),
    tokens: bool = typer.Option(
        False, "--tokens", help="Output RVQ conditioning tokens instead of vectors."
    ),
    output: Path = typer.Option(
        None, "--output", "-o", help="Save as .npy: (N, D) vectors or (N, levels) tokens."
    ),
    model: str = MODEL,
) -> None:
    """Embed texts (--text, repeatable) or one audio file: print or save the L2-normalised
    vectors, or with --tokens their RVQ conditioning tokens."""
    import numpy as np

    from musiclm.errors import UserError
    from musiclm.io import atomic_path, check_output, read_audio
    from musiclm.mulan.model import MuLan

    if (audio is None) == (not text):
        raise UserError("give an audio file or --text TEXT (one of the two)")
    if output is not None:
        check_output(output)
    mulan = MuLan.from_pretrained(model)
    if text:
        vectors, labels = mulan.embed_text(list(text)), [_label(t) for t in text]
    else:
        y, rate = read_audio(audio, mono=False)
        if y.size == 0:
            raise UserError(f"{audio} holds no audio")
        vectors, labels = mulan.embed_audio(y.T, rate)[None], [str(audio)]
    result = mulan.tokens(vectors) if tokens else vectors
    if output is not None:
        with atomic_path(output) as tmp, tmp.open("wb") as f:
            np.save(f, result)
        typer.echo(f"{'tokens' if tokens else 'embeddings'} {result.shape} -> {output}")
        return
    for label, row in zip(labels, result):
        values = " ".join(str(int(v)) for v in row) if tokens else " ".join(f"{v:.4f}" for v in row)
        typer.echo(f"{label}: {values}")


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for, e.g. 'a slow jazz piano tune'."),
    data: Path = typer.Option(..., "--data", help="Corpus folder (with manifest.jsonl)."),
    top: int = typer.Option(10, "--top", "-k", help="How many clips to show."),
    index: Path = typer.Option(
        None, "--index", help="Cache the corpus embeddings in this .npz (reused while valid)."
    ),
    model: str = MODEL,
) -> None:
    """Rank the clips of a corpus by similarity to a text query: rank, score, id, caption."""
    from musiclm.errors import UserError
    from musiclm.mulan.model import MuLan
    from musiclm.mulan.retrieval import indexed_corpus, search

    if top < 1:
        raise UserError(f"--top must be >= 1, got {top}")
    if not query.strip():
        raise UserError("the query is empty; say what to look for, e.g. 'slow jazz piano'")
    mulan = MuLan.from_pretrained(model)
    records, emb = indexed_corpus(mulan, data, index)
    typer.echo("| rank | score | id | first caption |\n|---:|---:|---|---|")
    for hit in search(mulan, query, records, emb, top):
        caption = next((c for c in hit.record.captions if c.strip()), "")
        caption = " ".join(caption.split())
        caption = caption if len(caption) <= 100 else caption[:97] + "..."
        typer.echo(f"| {hit.rank} | {hit.score:.3f} | {hit.record.id} | {caption} |")
