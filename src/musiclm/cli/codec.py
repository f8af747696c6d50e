"""``musiclm codec ...``: train, use and evaluate the acoustic tokenizer."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="The SoundStream-style codec: audio <-> acoustic tokens (RVQ codes).", no_args_is_help=True
)

MODEL = typer.Option(
    None, "--model", "-m",
    help="A codec folder, or a bundled codec: v2 (the default, what the bundled MusicLM "
    "uses: magnitudes + Griffin-Lim, keeps the notes) or v1 (the first bundle's).",
)  # fmt: skip


@app.command()
def train(
    data: Path = typer.Option(..., "--data", help="Training corpus (folder with manifest.jsonl)."),
    config: str = typer.Option(
        "tiny",
        "--config",
        "-c",
        help="Preset: spectral (codec v2: magnitudes + Griffin-Lim), tiny (v1), tiny-seanet, "
        "base, debug, debug-spectral.",
    ),
    out: Path = typer.Option(
        Path("runs/codec"), "--out", "-o", help="Run folder (checkpoints, logs)."
    ),
    val: Path = typer.Option(None, "--val", help="Held-out corpus for validation."),
    steps: int = typer.Option(20000, "--steps", help="Optimizer steps."),
    batch_size: int = typer.Option(8, "--batch-size", "-b", help="Crops per step (per process)."),
    seconds: float = typer.Option(1.0, "--seconds", help="Crop length in seconds."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate."),
    seed: int = typer.Option(0, "--seed"),
    adversarial: bool = typer.Option(
        False,
        "--adversarial/--no-adversarial",
        help="Add the STFT discriminator (slower; better phase).",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly."),
    export: Path = typer.Option(None, "--export", help="Also write the final weights here."),
    fp16: bool = typer.Option(False, "--fp16", help="Export fp16 weights (half the size)."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU if any), cpu, cuda or mps."),
    init_from: Path = typer.Option(
        None,
        "--init-from",
        help="Start from this trained codec (a folder, or v2): its config replaces --config.",
    ),
    decoder_only: bool = typer.Option(
        False,
        "--decoder-only",
        help="With --init-from (spectral codec): train the decoder alone on the frozen "
        "encoder and codebooks, so the codes, the codec version and every token made "
        "with it stay valid.",
    ),
) -> None:
    """Train a codec on a corpus with the shared Accelerate trainer.

    Runs on CPU as is; `accelerate launch` / `torchrun` spreads it over GPUs or nodes.
    Kill it and rerun with --resume: it continues from the last checkpoint exactly.
    """
    from musiclm.codec.config import CodecConfig
    from musiclm.codec.model import Codec
    from musiclm.codec.train import CodecLossConfig, CodecTask
    from musiclm.devices import trainer_device
    from musiclm.errors import UserError
    from musiclm.io import check_output_dir
    from musiclm.training import TrainConfig, Trainer

    dev = trainer_device(device)  # a missing GPU is refused before any work
    final = export or out / "final"
    check_output_dir(final, what="--export folder", create=False)  # before hours of training
    if decoder_only and init_from is None:
        raise UserError("--decoder-only needs --init-from (the codec whose decoder to train)")
    codec_config = CodecConfig.preset(config)
    if init_from is not None:
        codec_config = Codec.from_pretrained(init_from).config
    task = CodecTask(
        codec_config,
        data,
        val=val,
        seed=seed,
        losses=CodecLossConfig(adversarial=adversarial, crop_seconds=seconds),
        init_from=init_from,
        decoder_only=decoder_only,
    )
    cfg = TrainConfig.for_run(
        steps, out_dir=out, batch_size=batch_size, lr=lr, seed=seed, grad_clip=10.0
    )
    trainer = Trainer(task, cfg, device=dev)
    result = trainer.fit(resume=resume)
    codec = CodecTask.codec_of(trainer.model)
    codec.save_pretrained(final, fp16=fp16)
    typer.echo(f"trained {result.step} steps; codec -> {final}")


@app.command("train-vocoder")
def train_vocoder(
    data: Path = typer.Option(..., "--data", help="Training corpus (folder with manifest.jsonl)."),
    codec: str = typer.Option(
        "v2", "--codec", help="The frozen spectral codec whose decoded magnitudes it plays."
    ),
    out: Path = typer.Option(
        Path("runs/vocoder"), "--out", "-o", help="Run folder (checkpoints, logs)."
    ),
    val: Path = typer.Option(None, "--val", help="Held-out corpus for validation."),
    steps: int = typer.Option(4000, "--steps", help="Optimizer steps."),
    disc_start: int = typer.Option(
        0,
        "--disc-start",
        help="Steps of reconstruction losses alone before the discriminators join.",
    ),
    batch_size: int = typer.Option(8, "--batch-size", "-b", help="Crops per step (per process)."),
    seconds: float = typer.Option(1.0, "--seconds", help="Crop length in seconds."),
    lr: float = typer.Option(2e-4, "--lr", help="Peak learning rate (HiFi-GAN's 2e-4)."),
    seed: int = typer.Option(0, "--seed"),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly."),
    export: Path = typer.Option(None, "--export", help="Also write the final weights here."),
    fp16: bool = typer.Option(False, "--fp16", help="Export fp16 weights (half the size)."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU if any), cpu, cuda or mps."),
) -> None:
    """Train a learned vocoder for the spectral codec (v2): its decoded magnitudes in,
    audio out, instead of Griffin-Lim (candidate b of docs/codec.md).

    HiFi-GAN's losses (mel L1, multi-period + multi-resolution discriminators, feature
    matching) on a Vocos-shaped network; the codec stays frozen, so its codes and every
    token keep their meaning. A GPU is what this wants; on a CPU a step with the
    discriminators takes seconds. Kill it and rerun with --resume to continue. Score it
    with `python benchmarks/codec_quality.py --model v2 --vocoder NAME=FOLDER`.
    """
    from musiclm.codec.vocoder_train import VocoderLossConfig, VocoderTask
    from musiclm.devices import trainer_device
    from musiclm.io import check_output_dir
    from musiclm.training import TrainConfig, Trainer

    dev = trainer_device(device)
    final = export or out / "final"
    check_output_dir(final, what="--export folder", create=False)
    losses = VocoderLossConfig(disc_start=disc_start, crop_seconds=seconds)
    task = VocoderTask(codec, data, val=val, losses=losses, seed=seed)
    cfg = TrainConfig.for_run(
        steps, out_dir=out, every=500, batch_size=batch_size, lr=lr, seed=seed, grad_clip=10.0
    )
    trainer = Trainer(task, cfg, device=dev)
    result = trainer.fit(resume=resume)
    trainer.model["vocoder"].save_pretrained(final, fp16=fp16)
    typer.echo(f"trained {result.step} steps; vocoder -> {final}")


@app.command()
def encode(
    audio: Path = typer.Argument(..., help="Audio file (any rate, any channels)."),
    output: Path = typer.Option(..., "--output", "-o", help="Code file to write (.npz)."),
    levels: int = typer.Option(
        None, "--levels", "-l", help="RVQ levels (lower bitrate); default all."
    ),
    model: str = MODEL,
) -> None:
    """Audio -> codes: .npz with codes [levels x frames], sample_rate, frame_rate, codebook_size."""
    from musiclm.codec.model import Codec
    from musiclm.codec.tokens import CodeFile, save_codes
    from musiclm.errors import UserError
    from musiclm.io import check_output, read_audio

    check_output(output)
    codec = Codec.from_pretrained(model)
    if levels is not None and not 1 <= levels <= codec.levels:
        raise UserError(f"--levels must be between 1 and {codec.levels}, got {levels}")
    y, rate = read_audio(audio, mono=False)
    if y.size == 0:
        raise UserError(f"{audio} holds no audio (0 frames)")
    codes = codec.encode(y.T, rate, n_levels=levels)
    if rate != codec.sample_rate:
        typer.echo(f"note: resampled {rate} Hz -> {codec.sample_rate} Hz", err=True)
    samples = round(len(y) * codec.sample_rate / rate)
    save_codes(
        output,
        CodeFile(
            codes, codec.sample_rate, codec.frame_rate, codec.codebook_size, samples,
            codec.version,
        ),
    )  # fmt: skip
    typer.echo(
        f"{codes.shape[0]} levels x {codes.shape[1]} frames "
        f"({codec.bitrate(codes.shape[0]) / 1000:.1f} kbps) -> {output}"
    )


@app.command()
def decode(
    codes: Path = typer.Argument(..., help="Code file from `musiclm codec encode`."),
    output: Path = typer.Option(..., "--output", "-o", help="Audio file to write (.wav/.flac)."),
    model: str = MODEL,
) -> None:
    """Codes -> audio at the codec's sample rate, trimmed to the encoded length."""
    from musiclm.codec.model import Codec
    from musiclm.codec.tokens import load_codes
    from musiclm.errors import UserError
    from musiclm.io import check_audio_suffix, check_output, write_audio

    check_audio_suffix(output)
    check_output(output)
    if codes.is_file() and codes.stat().st_size == 0:
        raise UserError(f"{codes} is empty, not a code file")
    codec = Codec.from_pretrained(model)
    f = load_codes(codes)
    if f.codec_version is not None and f.codec_version != codec.version:
        raise UserError(
            f"{codes} was made by codec {f.codec_version}; this codec is {codec.version} "
            "(decode with the codec that encoded it: --model)"
        )
    if (f.codebook_size, f.sample_rate) != (codec.codebook_size, codec.sample_rate) or (
        f.frame_rate != codec.frame_rate or f.levels > codec.levels
    ):
        raise UserError(
            f"{codes} was made by another codec ({f.levels} levels x {f.codebook_size} codes, "
            f"{f.sample_rate} Hz, {f.frame_rate:g} frames/s); this one has {codec.levels} x "
            f"{codec.codebook_size}, {codec.sample_rate} Hz, {codec.frame_rate:g} frames/s"
        )
    audio = codec.decode(f.codes)
    if f.samples is not None:
        audio = audio[: f.samples]
    write_audio(output, audio, codec.sample_rate)
    typer.echo(f"{len(audio) / codec.sample_rate:.2f} s -> {output}")


@app.command("eval")
def evaluate(
    data: Path = typer.Option(..., "--data", help="Held-out corpus the codec never saw."),
    clips: int = typer.Option(16, "--clips", help="Clips to evaluate."),
    seconds: float = typer.Option(5.0, "--seconds", help="Seconds read from each clip."),
    opus: bool = typer.Option(True, "--opus/--no-opus", help="Compare with Opus (opus-tools)."),
    notes: bool = typer.Option(
        True,
        "--notes/--no-notes",
        help="Note F1 against the clips' MIDI (needs basic-pitch: pip install 'musiclm[notes]').",
    ),  # fmt: skip
    model: str = MODEL,
) -> None:
    """A table of metrics per number of RVQ levels (medians), beside Opus 6 and 12 kbps.

    Headline: frame-wise chroma correlation (are the same notes sounding? 0 for noise) and
    note F1 of a transcription against the clip's MIDI beside the original's own F1.
    """
    from musiclm.cli import checks
    from musiclm.codec.model import Codec
    from musiclm.data.manifest import read_manifest, resolve
    from musiclm.eval.codec import evaluate as run
    from musiclm.eval.codec import table
    from musiclm.io import read_audio

    checks.count("--clips", clips)
    checks.number("--seconds", seconds, low=0.5, high=3600)
    codec = Codec.from_pretrained(model)
    recs = read_manifest(data)[:clips]
    ys = [read_audio(resolve(data, r.audio), codec.sample_rate, seconds=seconds)[0] for r in recs]
    refs = None
    if notes:
        from musiclm.eval import notes as nt

        if not nt.available():
            typer.echo("note: note F1 skipped (pip install 'musiclm[notes]' for it)", err=True)
        elif not all(r.midi for r in recs):
            typer.echo("note: note F1 skipped (not every clip has MIDI)", err=True)
        else:
            refs = [nt.midi_notes(resolve(data, r.midi), seconds) for r in recs]
    typer.echo(table(run(codec, ys, opus=opus, notes=refs)))
