"""``musiclm stage ...``: train the semantic, coarse and fine token stages."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(
    help="The token stages: semantic p(S|M), coarse p(A_coarse|M,S), fine p(A_fine|A_coarse).",
    no_args_is_help=True,
)


@app.command()
def train(
    kind: str = typer.Argument(..., help="Stage: semantic, coarse or fine."),
    tokens: Path = typer.Option(..., "--tokens", help="Output folder of `musiclm tokenize`."),
    val: Path = typer.Option(None, "--val", help="Tokens of a held-out corpus."),
    config: str = typer.Option("tiny", "--config", "-c", help="Preset: debug, tiny, base."),
    pattern: str = typer.Option(
        "delay", "--pattern", help="Acoustic targets: delay (MusicGen) or flat (paper)."
    ),
    out: Path = typer.Option(Path("runs/stage"), "--out", "-o", help="Run folder."),
    steps: int = typer.Option(5000, "--steps", help="Optimizer steps."),
    batch_size: int = typer.Option(16, "--batch-size", "-b", help="Windows per step."),
    lr: float = typer.Option(1e-3, "--lr", help="Peak learning rate."),
    seed: int = typer.Option(0, "--seed"),
    mulan_levels: int = typer.Option(
        None, "--mulan-levels", help="Condition on the first N MuLan levels (default: all)."
    ),
    coarse_levels: int = typer.Option(
        None,
        "--coarse-levels",
        help="Acoustic levels the coarse stage models (default: half the token files').",
    ),
    fine_levels: int = typer.Option(
        None,
        "--fine-levels",
        help="Acoustic levels after those that the fine stage models (default: the rest). "
        "Levels past coarse + fine are not generated; the codec decodes the prefix.",
    ),
    text_cond: float = typer.Option(
        0.0,
        "--text-cond",
        help="Share of examples conditioned on a caption's MuLan tokens instead of the "
        "audio's (needs `musiclm tokenize --kinds captions`).",
    ),
    attributes: bool = typer.Option(
        False,
        "--attributes",
        help="Tempo and key tokens in the prefix, from the prompt text at generation "
        "(needs `musiclm tokenize --kinds attributes`; semantic and coarse stages).",
    ),
    beats: bool = typer.Option(
        False,
        "--beats",
        help="With --attributes: also the beat phase of every frame, from the tempo.",
    ),
    melody: bool = typer.Option(
        False,
        "--melody",
        help="The tune's pitch class of every frame, from `generate --melody` at generation "
        "(needs `musiclm tokenize --kinds melody`; semantic and coarse stages).",
    ),
    form: bool = typer.Option(
        False,
        "--form",
        help="The section (intro, verse, chorus, ...) and the seconds left of every frame, "
        "from the form plan at generation (needs `musiclm tokenize --kinds form`).",
    ),
    to_end: bool = typer.Option(
        True,
        "--to-end/--no-to-end",
        help="With --form: read the seconds left of every frame (--no-to-end: only the "
        "prefix's start and total seconds, as Stable Audio; docs/songs.md compares them).",
    ),
    per_window: bool = typer.Option(
        False,
        "--per-window",
        help="A clip counts once per window of its length: whole songs beside 10 s clips "
        "are seen in proportion to their audio.",
    ),
    melody_dropout: float = typer.Option(
        0.5, "--melody-dropout", help="With --melody: share of examples trained without it."
    ),
    init_from: Path = typer.Option(
        None,
        "--init-from",
        help="Warm-start from a trained stage folder of the same kind and size (e.g. to "
        "add --attributes to a trained stage).",
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out exactly."),
    save_every: int = typer.Option(
        None, "--save-every", help="Steps between checkpoints (default: 500, at most --steps)."
    ),
    export: Path = typer.Option(None, "--export", help="Write the final model here."),
    fp16: bool = typer.Option(False, "--fp16", help="Export fp16 weights."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU if any), cpu, cuda or mps."),
) -> None:
    """Train one stage on cached tokens with the shared trainer.

    Vocabulary sizes and rates are read from the token files. Kill it and rerun with
    --resume to continue exactly.

    Example: `musiclm stage train semantic --tokens corpus/tokens --out runs/semantic`
    """
    from musiclm.cli import checks
    from musiclm.devices import trainer_device
    from musiclm.errors import Interrupted, UserError
    from musiclm.io import check_output_dir
    from musiclm.stages.config import stage_config
    from musiclm.stages.lm import save_stage
    from musiclm.stages.train import StageTask, layout_from_tokens
    from musiclm.training import TrainConfig, Trainer
    from musiclm.training.checkpoint import kept_message

    dev = trainer_device(device)  # a missing GPU is refused before any work
    checks.count("--steps", steps)
    checks.count("--batch-size", batch_size)
    checks.number("--lr", lr, low=0, low_open=True)
    checks.seed("--seed", seed)
    checks.count("--save-every", save_every)
    if mulan_levels is not None:
        checks.count("--mulan-levels", mulan_levels)
    final = export or out / "final"
    check_output_dir(final, what="--export folder", create=False)  # before hours of training
    layout = layout_from_tokens(tokens, kind)
    if mulan_levels is not None and "mulan_levels" in layout:
        if not 1 <= mulan_levels <= layout["mulan_levels"]:
            raise UserError(f"--mulan-levels must be 1..{layout['mulan_levels']} for these tokens")
        layout["mulan_levels"] = mulan_levels
    _acoustic_levels(layout, coarse_levels, fine_levels)
    if not 0.0 <= text_cond <= 1.0:
        raise UserError(f"--text-cond must be in [0, 1], got {text_cond}")
    if init_from is not None and not (init_from / "config.json").is_file():
        raise UserError(f"--init-from {init_from}: no stage there (config.json missing)")
    if beats and not attributes:
        raise UserError("--beats needs --attributes (the beat grid comes from the tempo)")
    checks.number("--melody-dropout", melody_dropout, low=0, high=1)
    cfg = stage_config(kind, config, pattern=pattern, attributes=attributes, beats=beats,
                       text_cond=text_cond, melody=melody, form=form,
                       melody_dropout=melody_dropout, per_window=per_window,
                       **layout, **({} if to_end else {"to_end": False}))  # fmt: skip
    task = StageTask(cfg, tokens, val=val, init_from=init_from)
    train_cfg = TrainConfig.for_run(
        steps, out_dir=out, batch_size=batch_size, lr=lr, seed=seed,
        save_every=save_every or max(1, min(500, steps)),
    )  # fmt: skip
    trainer = Trainer(task, train_cfg, device=dev)
    try:
        result = trainer.fit(resume=resume)
    except KeyboardInterrupt:
        raise Interrupted(kept_message(out)) from None
    save_stage(trainer.model, final, fp16=fp16)
    typer.echo(f"trained {kind} stage {result.step} steps -> {final}")


def _acoustic_levels(layout: dict, coarse: int | None, fine: int | None) -> None:
    """Split the token files' acoustic levels into coarse and fine as asked, in place."""
    from musiclm.cli import checks
    from musiclm.errors import UserError

    for flag, value in (("--coarse-levels", coarse), ("--fine-levels", fine)):
        if value is not None:
            checks.count(flag, value)
            if "coarse_levels" not in layout:
                raise UserError(f"{flag} is for the coarse and fine stages")
    if coarse is None and fine is None:
        return
    total = layout["coarse_levels"] + layout["fine_levels"]
    coarse = layout["coarse_levels"] if coarse is None else coarse
    fine = total - coarse if fine is None else fine
    if coarse + fine > total:
        raise UserError(
            f"--coarse-levels {coarse} + --fine-levels {fine} exceed the {total} levels "
            "of these acoustic tokens"
        )
    layout["coarse_levels"], layout["fine_levels"] = coarse, fine


@app.command()
def merge(
    base: Path = typer.Argument(..., help="Stage folder the fine-tune started from."),
    tuned: Path = typer.Argument(..., help="Stage folder fine-tuned from BASE (--init-from)."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for the merged stage."),
    alpha: float = typer.Option(0.5, "--alpha", help="0: BASE, 1: TUNED, between: a mix."),
    fp16: bool = typer.Option(False, "--fp16", help="Export fp16 weights."),
) -> None:
    """Interpolate a fine-tuned stage with the stage it started from (WiSE-FT).

    A short fine-tune that adds conditioning (e.g. `stage train --attributes --beats
    --init-from BASE`) can lose some of what BASE did well; half-way weights often keep
    both. The merged stage has TUNED's config (its new ids and tables).

    Example: `musiclm stage merge runs/semantic/final runs/semantic_beats/final -o merged`
    """
    from musiclm.cli import checks
    from musiclm.errors import UserError
    from musiclm.io import check_output_dir
    from musiclm.stages.lm import load_stage, save_stage
    from musiclm.stages.train import interpolate

    for path in (base, tuned):
        if not (path / "config.json").is_file():
            raise UserError(f"{path}: no stage there (config.json missing)")
    checks.number("--alpha", alpha, low=0, high=1)
    check_output_dir(out, create=False)
    merged = interpolate(load_stage(base), load_stage(tuned), alpha)
    save_stage(merged, out, fp16=fp16)
    typer.echo(f"merged {alpha:g} x {tuned} + {1 - alpha:g} x {base} -> {out}")
