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
    seed: int = typer.Option(
        None, "--seed", help="Piece i is drawn with seed + i (default: a random seed)."
    ),
    cfg: float = typer.Option(3.0, "--cfg", help="Classifier-free guidance (1 = none)."),
    temperature: str = typer.Option(
        None,
        "--temperature",
        help="Semantic, coarse, fine, e.g. 1,0.95,0.4 (the paper's). Default: 1,0.5,0.4 from "
        "text, 1,0.95,0.4 with --melody or --continue (measured: docs/model.md).",
    ),
    top_k: int = typer.Option(0, "--top-k", help="Sample among the k likeliest (0 = all)."),
    tempo: float = typer.Option(
        None, "--tempo", help="Tempo in bpm for every caption (default: what a caption states)."
    ),
    key: str = typer.Option(
        None, "--key", help="Key, e.g. 'F# minor', for every caption (default: as stated)."
    ),
    continue_: Path = typer.Option(
        None,
        "--continue",
        help="Continue this audio file: the output begins with it and is "
        "--seconds long in all (a caption is then optional).",
    ),
    drafts: int = typer.Option(
        None,
        "--drafts",
        help="Drafts the coarse stage draws side by side, one kept: of each window of a "
        "piece from text, the one that fits the piece's key best; with --continue, the "
        "continuation nearest the prompt's key (default 4; 2 for text pieces past 60 s; "
        "1 with --melody; 1 is fastest; at most 8; docs/model.md, docs/continuation.md).",
    ),
    melody: Path = typer.Option(
        None,
        "--melody",
        help="Arrange this hummed, whistled or played tune (any audio file, "
        "0.5 s to 5 min): looped or cut to --seconds, its key and its tempo (or half or "
        "double it, whichever suits the text's style) the piece's unless --tempo/--key say "
        "otherwise.",
    ),
    tune: bool = typer.Option(
        True,
        "--tune/--no-tune",
        help="With a model that takes a melody: give pieces "
        "without --melody a planned tune that states their key (more tonal, plays the key "
        "asked for more often: docs/model.md); with --story, each part a tune for its own "
        "text (parts nearer their text: docs/songs.md); "
        "with --continue, the prompt's own tune, its last bars repeated (keeps its key "
        "far more often: docs/continuation.md).",
    ),
    ending: bool = typer.Option(
        True,
        "--ending/--no-ending",
        help="End as the form plan says: ring out over its "
        "tail, or fade out (as the corpus engine ends its songs; docs/songs.md). "
        "--no-ending keeps the model's own last seconds.",
    ),
    spectrogram: bool = typer.Option(
        False, "--spectrogram", help="Also write a PNG spectrogram beside each WAV."
    ),
    batch: int = typer.Option(
        8, "--batch", "-b", help="Captions generated together (more: faster, more memory)."
    ),
    model: str = typer.Option(None, "--model", "-m", help="A MusicLM folder (default: bundled)."),
    device: str = typer.Option("auto", "--device", help="auto (a GPU if any), cpu, cuda or mps."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
    form: str = typer.Option(
        None,
        "--form",
        help="Sections and their seconds, e.g. 'intro 8, verse 16, chorus 16, "
        "tail 4' (must add up to --seconds; default: a plan for the caption's genre).",
    ),
    story: list[str] = typer.Option(
        None,
        "--story",
        help="START=TEXT, repeated: one piece whose text changes at each "
        "start (seconds, the first at 0), e.g. --story '0=techno' --story '30=calm piano'.",
    ),
) -> None:
    """Generate music from text with the bundled model (or --model).

    Each WAV gets a JSON sidecar with the caption, seed, settings and timings; piece i
    gets seed + i and is the same whatever --batch (its sidecar's settings alone give
    the same bytes). The
    bundled model takes the tempo and key a caption states ("at 90 bpm", "in A minor");
    --tempo and --key set them for every caption.

    With --melody, each piece arranges the tune in the style its caption asks for (a
    model whose stages take a melody: docs/melody.md).

    With --continue, each piece continues the given audio (any rate, stereo folded to
    mono, 1 s to 2 min): it begins with it as given and is --seconds long in all; with
    no caption the audio itself is the condition, and tempo and key default to the
    audio's.

    Every piece has a form (intro, verse, chorus, ..., tail; --form sets it), written
    to its sidecar. Up to 300 s in one call; --story makes one piece of several texts.

    Examples: `musiclm generate "humming-only rock" -o rock.wav --seed 1 --spectrogram`;
    `musiclm generate --prompts prompts.txt -o out/ --seconds 10`;
    `musiclm generate "string quartet" --melody hum.wav --seconds 20 -o quartet.wav`;
    `musiclm generate --continue clip.wav --seconds 20 -o longer.wav`;
    `musiclm generate "a pop song" --seconds 60 --form "intro 8, verse 20, chorus 28, tail 4"`;
    `musiclm generate --story "0=whistling over techno" --story "30=a calm piano outro"
    --seconds 60 -o story.wav`.
    """
    import re

    from musiclm.cli import checks
    from musiclm.devices import resolve_device
    from musiclm.errors import UserError
    from musiclm.io import (
        check_audio_suffix,
        check_output,
        check_output_dir,
        folder_lock,
        remove_temporaries,
    )
    from musiclm.pipeline import MAX_SECONDS, MIN_SECONDS, GenerationOptions, MusicLM

    dev = resolve_device(device)  # a missing GPU is refused before anything else
    captions = list(texts or [])
    for i, c in enumerate(captions):
        if not c.strip():
            raise UserError(f"caption {i + 1} is empty; give some text (e.g. 'calm solo piano')")
    captions = [c.strip() for c in captions]
    if prompts is not None:
        try:
            lines = prompts.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise UserError(f"{prompts} is not UTF-8 text") from None
        except OSError as e:
            raise UserError(f"cannot read {prompts}: {e.strerror or e}") from None
        captions += [x.strip() for x in lines if x.strip() and not x.startswith("#")]
        if not captions:
            raise UserError(f"{prompts} holds no captions (one a line; # starts a comment)")
    if story and captions:
        raise UserError("--story makes one piece from its own texts; give no caption or --prompts")
    if story and continue_ is not None:
        raise UserError("--story cannot continue given audio; give --story or --continue")
    if melody is not None and (story or continue_ is not None):
        raise UserError("--melody cannot be given with --story or --continue")
    if melody is not None and not captions:
        raise UserError("--melody needs a caption: the text says how to arrange the tune")
    if not captions and not story and continue_ is None:
        raise UserError("give a caption (or --prompts FILE, or --story START=TEXT)")
    checks.count("--batch", batch)
    checks.number("--seconds", seconds, low=MIN_SECONDS, high=MAX_SECONDS)
    if continue_ is not None:
        from musiclm.cli.continuation import check_prompt_file

        check_prompt_file(continue_, seconds)  # before loading anything
    tune_in = None
    if melody is not None:
        from musiclm.melody import read_melody

        # read and tracked once, before the model loads: missing, empty, corrupt, silent,
        # too short or long, or no tune heard
        tune_in = read_melody(melody, seconds)
    plan, parts = _song_options(form, story, seconds)  # checked before loading the model
    if parts:
        captions = [parts[0][1]]  # names the file
    names = captions or ["continuation"]  # with --continue and no caption: one piece
    checks.seed("--seed", seed, span=len(names))
    temps = None if temperature is None else checks.temperatures("--temperature", temperature)
    options = GenerationOptions(cfg=cfg, temperature=temps, top_k=(top_k,) * 3,
                                tune=tune, ending=ending, drafts=drafts)  # checks them  # fmt: skip
    if len(names) == 1 and output.suffix:
        check_audio_suffix(output)
        paths = [check_output(output)]
    else:
        if output.suffix:
            raise UserError(f"{len(captions)} captions need a folder for -o, got {output}")
        check_output_dir(output, create=False)
        slug = [re.sub(r"[^a-z0-9]+", "_", c.lower()).strip("_")[:48] or "piece" for c in names]
        paths = [check_output(output / f"{i:02d}_{s}.wav") for i, s in enumerate(slug)]

    net = MusicLM.from_pretrained(model, device=dev)
    # refuses bad values before generating; each batch's run makes (and times) its MuLan
    texts = None if parts else captions  # a story's first text only names its file
    conditions, parts, prompt = net.prepare(texts, seconds, tempo=tempo, key=key, form=plan,
                                            story=parts or None, melody=tune_in,
                                            continue_from=continue_)  # fmt: skip
    with folder_lock(paths[0].parent):
        remove_temporaries(paths[0].parent)  # half-written files of a killed run
        _generate(net, conditions, paths, seed, seconds, batch, options, model, spectrogram,
                  quiet, prompt, story=parts or None, melody=melody)  # fmt: skip


def _song_options(form: str | None, story: list[str] | None, seconds: float):
    """``--form`` as sections and ``--story`` as checked ``(start, text)`` parts (or
    None / []), each refused in one line before the model loads."""
    from musiclm.form import parse_form
    from musiclm.story import check_parts, parse_parts

    plan = parse_form(form, seconds) if form is not None else None
    parts = check_parts(parse_parts(story), seconds) if story else []
    return plan, parts


def _generate(net, conditions, paths, seed, seconds, batch, options, model, spectrogram, quiet,
              prompt=None, story=None, melody=None) -> None:  # fmt: skip
    """Generate ``conditions`` in batches of ``batch``; each piece's sidecar is written
    from the conditions it was made with (its form included) and its batch's timings
    (MuLan included). ``prompt``: the audio every piece continues; ``story``: the parts
    of the one piece of a story (:meth:`MusicLM.story`); ``melody``: the tune's file."""
    import time

    from tqdm.auto import tqdm

    from musiclm.errors import Interrupted
    from musiclm.piece import settings, write_piece

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        if stage not in bars:
            bars[stage] = tqdm(desc=stage, unit="step", total=total if total > 0 else None,
                               leave=False)  # fmt: skip
        bars[stage].update(done - bars[stage].n)

    seed = seed if seed is not None else int(time.time_ns() % 2**31)
    seeds = [seed + i for i in range(len(conditions))]  # piece i alone with seed + i: same bytes
    t_all, written = time.perf_counter(), 0
    try:
        for first in range(0, len(conditions), batch):
            chunk = conditions[first : first + batch]
            t0 = time.perf_counter()
            made = net.run(chunk, seconds=seconds, seed=seeds[first : first + batch],
                           options=options, progress=progress, continue_from=prompt,
                           story=story)  # fmt: skip
            wall = time.perf_counter() - t0
            for bar in bars.values():
                bar.close()
            bars.clear()
            for i, (cond, y) in enumerate(zip(made.conditions, made.audio)):
                k = first + i
                meta = settings(made, i, seed=seeds[k], seconds=seconds, wall=wall,
                                model=model or "bundled", melody=melody, prompt=prompt)  # fmt: skip
                write_piece(paths[k], cond.text, y, net, spectrogram, meta)
                written += 1
                typer.echo(f"{paths[k]}  ({seconds:g} s, seed {seeds[k]})")
    except KeyboardInterrupt:
        for bar in bars.values():
            bar.close()
        left = [str(p) for p in paths[written:]]
        more = " ..." if len(left) > 3 else ""
        raise Interrupted(
            f"{written} of {len(conditions)} piece(s) written"
            + (f"; not made: {', '.join(left[:3])}{more}" if left else "")
        ) from None
    wall = time.perf_counter() - t_all
    if not quiet:
        typer.echo(
            f"{len(conditions)} piece(s) in {wall:.1f} s "
            f"({seconds * len(conditions) / wall:.2f}x real time)",
            err=True,
        )
