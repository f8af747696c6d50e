"""Does generation follow a hummed melody while the text keeps the style? Issue 16's table.

Held-out melodies: the engine's ``only whistling`` and ``only humming`` clips of seed 88
(``--whistle`` / ``--hum``; the same tunes in both, procedural or from music21's corpus,
those also in ``--train`` dropped; with ``--alone``, their melody parts rendered alone,
as a user would hum: the clips carry a whistled or hummed harmony and drums), and
``--sine`` random tunes of sine tones with vibrato (``musiclm.eval.melody.sine_melody``).
Each melody is paired with a style prompt of its own (``STYLES``, in turn), and generated
twice with the same seed: text only (for a model that takes a melody, that is the planned
tune of ``musiclm.tune``: what a user gets without ``--melody``), and with the melody
(``model.generate(..., melody=path)``, when the model takes one).

Per row: the MusicGen chroma cosine of the output to the melody's ids
(``musiclm.eval.melody.melody_cosine``; the ids are what ``musiclm.melody.load_melody``
makes of the file: its leading rests dropped, looped or cut to ``--seconds``, i.e. the
condition the model gets),
the MuLan cycle consistency (MCC: the cosine of the prompt's MuLan text embedding and the
output's audio embedding, as ``musiclm eval``), and the melody file's own cosine (what
a piece that plays exactly the input would score). Issue 16's goals: cosine >= 0.55 with
the melody and >= 0.2 above text only; MCC within 0.05 of text only; RTF <= 1.

    python benchmarks/melody.py --whistle out/bench_mel/whistle --hum out/bench_mel/hum \\
        [--alone] [--model DIR] [--n 8] [--sine 4] [--train out/corpus] [--figure PNG]

For a model whose stages take no melody the "with melody" columns are blank.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from musiclm.cli import checks
from musiclm.eval.melody import melody_cosine, render_melody_part, sine_melody
from musiclm.io import read_audio, write_audio
from musiclm.melody import frame_count, load_melody, melody_ids
from musiclm.pipeline import GenerationOptions, MusicLM

STYLES = (
    "a jazz trio with piano, double bass and brushed drums",
    "an orchestral piece with strings and french horn",
    "lofi hip hop with a mellow electric piano and vinyl crackle",
    "an acoustic folk song with guitar and fiddle",
    "an upbeat synthpop track with bright synth leads",
    "a reggae tune with organ skank and a deep bass",
)


def held_out(corpus: Path, n: int, exclude: set[str]) -> list[tuple[Path, Path]]:
    """``(audio, midi)`` of the first ``n`` clips of an engine corpus whose tune is not in
    ``exclude``."""
    out = []
    for line in (corpus / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        source = r.get("melody_source", "")
        if source.startswith("music21:") and source in exclude:
            continue
        out.append((corpus / r["audio"], corpus / r["midi"]))
        if len(out) == n:
            break
    return out


FIGURE_STYLES = (
    "a string quartet, classical",
    "an upbeat pop song with piano, bass and drums",
    "a driving techno track with a sawtooth lead",
)


def figure(model: MusicLM, midi: Path, png: Path, seconds: float, seed: int, tmp: Path) -> None:
    """docs/melody.md's figure: a tune hummed alone (the clip's melody part, General MIDI
    voice oohs) and three arrangements of it, log-mel panels on one colour scale."""
    from musiclm.spectrogram import save_spectrograms

    sr = model.sample_rate
    hum = render_melody_part(midi, sr)[: round(seconds * sr)]
    write_audio(tmp / "figure-hum.wav", hum, sr)
    ids = load_melody(tmp / "figure-hum.wav", seconds=seconds)
    panels = {f"hummed input ({midi.stem})": hum}
    for style in FIGURE_STYLES:
        y = model.generate([style], seconds, seed, melody=tmp / "figure-hum.wav")[0]
        cos = melody_cosine(ids, y, sr)
        print(f"figure: {style}: chroma cosine to the hum {cos:.3f}")
        panels[f"{style} (cosine {cos:.2f})"] = y
    png.parent.mkdir(parents=True, exist_ok=True)
    save_spectrograms(png, panels, sr, title="one hummed tune, three arrangements")
    print(f"figure: wrote {png}")


def train_sources(corpora: list[Path]) -> set[str]:
    """The corpus tunes (music21 sources) in training corpora; procedural tunes are new
    for every (seed, clip) and never repeat."""
    seen = set()
    for c in corpora:
        for line in (c / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
            seen.add(json.loads(line).get("melody_source", ""))
    return seen


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--whistle", type=Path, required=True, help="'only whistling' corpus, seed 88")
    ap.add_argument("--hum", type=Path, required=True, help="'only humming' corpus, seed 88")
    ap.add_argument("--train", type=Path, nargs="*", default=[], help="corpora trained on")
    ap.add_argument("--model", default=None, help="MusicLM folder (default: the bundled one)")
    ap.add_argument("--n", type=int, default=8, help="engine melodies of each kind")
    ap.add_argument("--sine", type=int, default=4, help="sine + vibrato melodies")
    ap.add_argument("--sine-seed", type=int, default=500,
                    help="seed of the first sine tune (the others follow; another seed: "
                    "new tunes)")  # fmt: skip
    ap.add_argument(
        "--alone",
        action="store_true",
        help="melody inputs: the clips' melody parts alone, not the clips (with harmony, drums)",
    )
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--temperature", default=None,
                    help="'semantic,coarse,fine' temperatures (default: the model's)")  # fmt: skip
    ap.add_argument("--melody-temperature", action="append", default=[],
                    help="'semantic,coarse,fine' for the pieces with the melody only; repeat "
                    "for a column each (text only keeps --temperature)")  # fmt: skip
    ap.add_argument("--semantic-melody", action="store_true",
                    help="also a column with the melody read by the semantic stage too "
                    "(GenerationOptions(semantic_melody=True); default: the coarse stage "
                    "alone)")  # fmt: skip
    ap.add_argument("--guide-keeps-melody", action="store_true",
                    help="also a column with guidance's unconditional pass keeping the melody "
                    "(GenerationOptions(guide_keeps_melody=True))")  # fmt: skip
    ap.add_argument(
        "--figure",
        type=Path,
        default=None,
        help="also draw the first hummed melody alone and three arrangements of it to this PNG",
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = MusicLM.from_pretrained(args.model)
    takes_melody = model.takes_melody
    temps = args.temperature and checks.temperatures("--temperature", args.temperature)
    options = GenerationOptions(temperature=temps or None)
    # the melody passes: one per --melody-temperature (default: --temperature's options)
    melody_opts = {
        f"melody@{t}": GenerationOptions(temperature=checks.temperatures("--melody-temperature", t))
        for t in args.melody_temperature
    } or {"melody": options}
    if args.semantic_melody:
        melody_opts |= {f"{k}, semantic too": dataclasses.replace(o, semantic_melody=True)
                        for k, o in melody_opts.items()}  # fmt: skip
    if args.guide_keeps_melody:
        melody_opts |= {f"{k}, guidance keeps it": dataclasses.replace(o, guide_keeps_melody=True)
                        for k, o in melody_opts.items() if "semantic" not in k}  # fmt: skip
    exclude = train_sources(args.train)
    tmp = Path(tempfile.mkdtemp(prefix="melody-bench-"))
    items: list[tuple[str, Path]] = []
    for kind, corpus in (("whistled", args.whistle), ("hummed", args.hum)):
        for audio_path, midi in held_out(corpus, args.n, exclude):
            if args.alone:  # the tune alone, as a user hums it
                audio_path = tmp / f"{kind}-{midi.stem}.wav"
                write_audio(audio_path, render_melody_part(midi, 24000), 24000)
            items.append((kind, audio_path))
    for i in range(args.sine):
        audio, _ = sine_melody(args.sine_seed + i, args.seconds, 22050)
        write_audio(tmp / f"sine{i}.wav", audio, 22050)
        items.append(("sine + vibrato", tmp / f"sine{i}.wav"))

    sr = model.sample_rate
    rows: dict[str, list[dict]] = {}
    walls: list[float] = []
    for j, (kind, path) in enumerate(items):
        text = STYLES[j % len(STYLES)]
        ids = load_melody(path, seconds=args.seconds)  # the condition: trimmed, looped or cut
        audio, audio_sr = read_audio(path)
        # the file against its own ids, untrimmed (so in time with it)
        own = melody_ids(audio, audio_sr, frame_count(len(audio) / audio_sr))
        row = {"own": melody_cosine(own, audio, audio_sr)}
        modes = {"text": ({}, options)}
        if takes_melody:
            modes |= {m: ({"melody": str(path)}, o) for m, o in melody_opts.items()}
        for mode, (extra, opts) in modes.items():
            t0 = time.perf_counter()
            y = model.generate([text], args.seconds, args.seed + j, options=opts, **extra)[0]
            walls.append(time.perf_counter() - t0)
            emb_t, emb_a = model.mulan.embed_text([text])[0], model.mulan.embed_audio(y, sr)
            row[f"cos_{mode}"] = melody_cosine(ids, y, sr)
            row[f"mcc_{mode}"] = float(np.dot(emb_t, emb_a))
        rows.setdefault(kind, []).append(row)
        print(f"{kind:15s} {path.name:22s} {json.dumps({k: round(v, 3) for k, v in row.items()})}")

    rows["all"] = [r for k in list(rows) for r in rows[k]]
    if args.figure is not None and takes_melody:
        _, midi = held_out(args.hum, 1, exclude)[0]
        figure(model, midi, args.figure, args.seconds, args.seed, tmp)

    def mean(rs: list[dict], key: str) -> str:
        vals = [r[key] for r in rs if key in r and np.isfinite(r[key])]
        return f"{np.mean(vals):.3f}" if vals else "–"

    inputs = "melody parts alone" if args.alone else "engine clips"
    keyword = "yes" if takes_melody else "no (text only)"
    rtf = np.median(walls) / args.seconds
    print(f"\nmodel: {args.model or 'bundled'}; inputs: {inputs}; melody keyword: {keyword}")
    print(f"{args.seconds:g} s, seed {args.seed}; RTF (median) {rtf:.2f}\n")
    mel = list(melody_opts) if takes_melody else ["melody"]
    keys = ["cos_text", *(f"cos_{m}" for m in mel), "mcc_text", *(f"mcc_{m}" for m in mel), "own"]
    heads = [
        "chroma cosine, text only", *(f"chroma cosine, with {m}" for m in mel),
        "MCC, text only", *(f"MCC, with {m}" for m in mel), "the melody file's own cosine",
    ]  # fmt: skip
    print("| melodies | n | " + " | ".join(heads) + " |")
    print("|---|---:|" + "---:|" * len(heads))
    for kind, rs in rows.items():
        print(f"| {kind} | {len(rs)} | " + " | ".join(mean(rs, k) for k in keys) + " |")


if __name__ == "__main__":
    main()
