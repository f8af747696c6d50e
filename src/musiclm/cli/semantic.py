"""``musiclm semantic ...``: fit the semantic tokenizer and turn audio into semantic tokens."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help=(
        "Semantic tokens (MusicLM's 25 Hz, 1024-way k-means tokens), grown HuBERT-style: "
        "iteration 0 clusters hand-made frame features (log-mel, chroma, onsets); iteration 1 "
        "trains a masked-prediction Transformer to predict them and clusters its middle layer."
    ),
    no_args_is_help=True,
)


@app.command()
def fit(
    data: Path = typer.Option(..., "--data", help="Corpus folder (with manifest.jsonl)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write the tokenizer to."),
    iteration: int = typer.Option(
        0, "--iteration", "-i", help="0: k-means on frame features; 1: on the encoder's layer."
    ),
    previous: Path = typer.Option(
        None, "--from", help="The previous iteration's tokenizer folder (iteration >= 1)."
    ),
    config: str = typer.Option(
        None,
        "--config",
        "-c",
        help="Preset: debug, small, tiny, base (default: tiny; at iteration >= 1, the --from "
        "tokenizer's encoder settings).",
    ),
    clusters: int = typer.Option(None, "--clusters", "-k", help="Token vocabulary (k-means k)."),
    layer: int = typer.Option(None, "--layer", help="Encoder layer to cluster (iteration >= 1)."),
    clips: int = typer.Option(None, "--clips", help="Use this many clips (default: all)."),
    seconds: float = typer.Option(None, "--seconds", help="Read at most this much of a clip."),
    max_frames: int = typer.Option(
        250_000, "--max-frames", help="k-means runs on a random sample of this many frames."
    ),
    steps: int = typer.Option(2000, "--steps", help="Encoder training steps (iteration >= 1)."),
    batch_size: int = typer.Option(16, "--batch-size", "-b", help="Crops per training step."),
    lr: float = typer.Option(5e-4, "--lr", help="Peak learning rate of the encoder."),
    bf16: bool = typer.Option(False, "--bf16", help="Train in bf16 autocast (recent GPUs)."),
    resume: bool = typer.Option(
        False, "--resume", help="Continue an interrupted encoder training in OUT/train."
    ),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="auto (a GPU if any), cpu, cuda or mps."),
) -> None:
    """Fit a semantic tokenizer on a corpus; save config.json + model.safetensors.

    Iteration 0: `musiclm semantic fit --data corpus --out sem0 --clips 400`.

    Iteration 1: `musiclm semantic fit --data corpus --out sem1 --iteration 1 --from sem0`.

    The encoder trains with the shared Accelerate trainer (checkpoints in OUT/train;
    `accelerate launch` spreads it over GPUs).
    """
    from musiclm.cli import checks
    from musiclm.errors import UserError
    from musiclm.semantic.fit import TrainSettings, fit_semantic

    if iteration < 0:
        raise UserError(f"--iteration must be 0 or more, got {iteration}")
    checks.count("--clips", clips)
    checks.number("--seconds", seconds, low=0.5)
    checks.count("--clusters", clusters, low=2)
    checks.count("--max-frames", max_frames)
    checks.count("--steps", steps)
    checks.count("--batch-size", batch_size)
    checks.number("--lr", lr, low=0, low_open=True)
    checks.seed("--seed", seed)
    if iteration > 0 and previous is None:
        raise UserError(
            f"--iteration {iteration} needs --from DIR (the iteration {iteration - 1} tokenizer)"
        )
    if iteration == 0 and previous is not None:
        raise UserError("--from is for iterations >= 1; iteration 0 fits on frame features")
    from musiclm.devices import resolve_device

    device = str(resolve_device(device))
    from musiclm.io import check_output_dir

    check_output_dir(out, what="--out", create=False)  # before the features, not after
    tok = fit_semantic(
        data,
        out,
        iteration=iteration,
        previous=previous,
        config=config,
        clusters=clusters,
        layer=layer,
        max_clips=clips,
        max_seconds=seconds,
        max_frames=max_frames,
        train=TrainSettings(
            steps=steps, batch_size=batch_size, lr=lr, mixed_precision="bf16" if bf16 else "no"
        ),
        resume=resume,
        seed=seed,
        device=device,
    )
    c = tok.config
    typer.echo(
        f"semantic tokenizer, iteration {c.iteration}: {c.clusters} clusters at "
        f"{c.frame_rate} Hz -> {out}"
    )


@app.command()
def encode(
    audio: Path = typer.Argument(..., help="Audio file (any rate, any channels)."),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Token file: .npy (bare array) or .npz (with metadata)."
    ),
    model: Path = typer.Option(
        None, "--model", "-m", help="Tokenizer folder (default: the bundled one)."
    ),
) -> None:
    """Audio -> semantic tokens, one per 40 ms.

    A .npy file holds the int64 array; a .npz file also records frame_rate,
    codebook_size, config_hash and fingerprint (which tokenizer made the tokens).
    """
    from musiclm.errors import UserError
    from musiclm.io import check_output, read_audio
    from musiclm.semantic.tokenizer import SemanticTokenizer, save_tokens

    if output.suffix not in (".npy", ".npz"):
        raise UserError(f"--output must end in .npy or .npz, got {output.name!r}")
    if not audio.is_file():
        raise UserError(f"no audio file at {audio}")
    check_output(output)
    tok = SemanticTokenizer.from_pretrained(model)
    y, rate = read_audio(audio, mono=False)
    if y.size == 0:
        raise UserError(f"{audio} holds no audio (0 frames)")
    tokens = tok.encode(y.T, rate)
    save_tokens(output, tokens, tok)
    typer.echo(
        f"{len(tokens)} tokens ({len(tokens) / tok.frame_rate:.2f} s at {tok.frame_rate} Hz, "
        f"{tok.codebook_size} clusters) -> {output}"
    )
