"""``musiclm generate``: captions in, WAV files (+ spectrogram, + JSON sidecar) out."""

from __future__ import annotations

from pathlib import Path

import typer


def generate(
    texts: list[str] = typer.Argument(None, help="Caption(s), e.g. 'a violin melody with 808s'."),
    output: Path = typer.Option(
        Path("out.wav"), "--output", "-o", help="WAV file; with several captions, a folder."
    ),
    prompts: Path = typer.Option(None, "--prompts", help="A text file: one caption a line."),
    seconds: float = typer.Option(10.0, "--seconds", "-s", help="Length of each piece."),
    seed: int = typer.Option(None, "--seed", help="Fix every random draw (default: random)."),
    cfg: float = typer.Option(3.0, "--cfg", help="Classifier-free guidance (1 = none)."),
    temperature: str = typer.Option(
        "1.0,0.95,0.4", "--temperature", help="Semantic, coarse, fine (the paper's values)."
    ),
    top_k: int = typer.Option(0, "--top-k", help="Sample among the k likeliest (0 = all)."),
    tempo: float = typer.Option(
        None, "--tempo", help="Tempo in bpm for every caption (default: what a caption states)."
    ),
    key: str = typer.Option(
        None, "--key", help="Key, e.g. 'F# minor', for every caption (default: as stated)."
    ),
    spectrogram: bool = typer.Option(
        False, "--spectrogram", help="Also write a PNG spectrogram beside each WAV."
    ),
    batch: int = typer.Option(
        8, "--batch", "-b", help="Captions generated together (more: faster, more memory)."
    ),
    model: str = typer.Option(None, "--model", "-m", help="A MusicLM folder (default: bundled)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Generate music from text with the bundled model (or --model).

    Each WAV gets a JSON sidecar with the caption, seed, settings and timings. The
    bundled model takes the tempo and key a caption states ("at 90 bpm", "in A minor");
    --tempo and --key set them for every caption.

    Examples: `musiclm generate "humming-only rock" -o rock.wav --seed 1 --spectrogram`;
    `musiclm generate --prompts prompts.txt -o out/ --seconds 10`.
    """
    import os
    import re
    import time

    from tqdm.auto import tqdm

    from musiclm.errors import UserError
    from musiclm.io import write_audio, write_json_atomic
    from musiclm.pipeline import GenerationOptions, MusicLM, describe

    captions = list(texts or [])
    if prompts is not None:
        try:
            lines = prompts.read_text(encoding="utf-8").splitlines()
        except OSError as e:
            raise UserError(f"cannot read {prompts}: {e.strerror or e}") from None
        captions += [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    if not captions:
        raise UserError("give a caption (or --prompts FILE)")
    if batch < 1:
        raise UserError(f"--batch must be >= 1, got {batch}")
    try:
        temps = tuple(float(x) for x in temperature.split(","))
    except ValueError:
        temps = ()
    if len(temps) != 3 or min(temps) < 0:
        raise UserError(f"--temperature needs three numbers >= 0, got {temperature!r}")
    if len(captions) == 1 and output.suffix.lower() == ".wav":
        paths = [output]
    else:
        if output.suffix:
            raise UserError(f"{len(captions)} captions need a folder for -o, got {output}")
        slug = [re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_")[:48] or "piece" for c in captions]
        paths = [output / f"{i:02d}_{s}.wav" for i, s in enumerate(slug)]
    options = GenerationOptions(cfg=cfg, temperature=temps, top_k=(top_k,) * 3)
    folder = paths[0].parent  # checked before minutes of generation, not after
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create {folder}: {e.strerror or e}") from None
    if not os.access(folder, os.W_OK):
        raise UserError(f"cannot write to {folder}")

    net = MusicLM.from_pretrained(model)
    attributes = net.attributes(captions, tempo, key)  # refuses bad values before generating
    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        if stage not in bars:
            bars[stage] = tqdm(desc=stage, unit="step", total=total if total > 0 else None,
                               leave=False)  # fmt: skip
        bars[stage].update(done - bars[stage].n)

    seed = seed if seed is not None else int(time.time_ns() % 2**31)
    t0 = time.perf_counter()
    done = []
    for first in range(0, len(captions), batch):  # batch k uses seed + k: reruns repeat
        chunk = captions[first : first + batch]
        audio = net.generate(
            chunk, seconds=seconds, seed=seed + first // batch, options=options,
            progress=progress, tempo=tempo, key=key,
        )  # fmt: skip
        done += [(c, paths[first + i], y, seed + first // batch, attributes[first + i])
                 for i, (c, y) in enumerate(zip(chunk, audio))]  # fmt: skip
        for bar in bars.values():
            bar.close()
        bars.clear()
    wall = time.perf_counter() - t0
    for caption, path, y, piece_seed, attrs in done:
        write_audio(path, y, net.sample_rate)
        meta = {
            "prompt": caption, "seed": piece_seed, "seconds": seconds, "cfg": cfg,
            "temperature": list(temps), "top_k": top_k, "model": model or "bundled",
            "tempo": attrs["tempo"], "key": attrs["key"],
            "wall_seconds": round(wall, 2), "timings": net.timings.seconds,
            "batch": min(batch, len(captions)), **describe(net),
        }  # fmt: skip
        write_json_atomic(path.with_suffix(".json"), meta)
        if spectrogram:
            from musiclm.spectrogram import save_spectrograms

            save_spectrograms(path.with_suffix(".png"), {caption: y}, net.sample_rate)
        typer.echo(f"{path}  ({seconds:g} s, seed {piece_seed})")
    if not quiet:
        typer.echo(
            f"{len(captions)} piece(s) in {wall:.1f} s "
            f"({seconds * len(captions) / wall:.2f}x real time)",
            err=True,
        )
