"""Does a MusicLM play in the key that held-out captions state? Generated vs. real audio.

Takes the first ``--n`` clips of a held-out engine corpus (never trained on) whose
manifest key is major or minor, and the first caption of each (the engine's captions
state the key: "... in C major"). Every model (and every coarse-stage temperature
asked for) generates those captions as ``musiclm generate`` would (key and tempo read
from the text), and the chroma key estimate of ``musiclm eval`` scores the result: how
often it names the caption's key, and the key strength (best key-profile correlation;
white noise ~0.53, engine audio ~0.77). The same estimate on the real clips is the
ceiling. These captions are not the eval prompts, so settings chosen here are not tuned
on ``musiclm eval``'s prompt set.

    python benchmarks/key_heldout.py --heldout out/heldout [--model DIR ...] [--coarse-t 0.95 0.8]
        [--tune-candidates 1 8] [--drafts 1 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from musiclm import tune as tune_mod
from musiclm.eval.music import key_fit, keyed_captions
from musiclm.io import read_audio
from musiclm.pipeline import GenerationOptions, MusicLM


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--heldout", type=Path, required=True, help="held-out engine corpus")
    ap.add_argument("--model", action="append", default=None, help="MusicLM folder(s)")
    ap.add_argument("--coarse-t", type=float, nargs="+", default=[0.95])
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--no-tune-too", action="store_true",
        help="for models that take a melody, also a row without the planned tune",
    )  # fmt: skip
    ap.add_argument(
        "--tune-candidates", type=int, nargs="+", default=None,
        help="planned tunes drawn per piece, the one stating its key best kept "
        "(musiclm.tune.TUNE_CANDIDATES; a row for each)",
    )  # fmt: skip
    ap.add_argument(
        "--drafts", type=int, nargs="+", default=[None],
        help="coarse drafts per window, the one fitting the key kept "
        "(GenerationOptions.drafts; default: the pipeline's TEXT_DRAFTS); a row for each",
    )  # fmt: skip
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    picked, keys, texts = keyed_captions(args.heldout, args.n)
    rows = []
    fits = [key_fit(*read_audio(args.heldout / r["audio"])) for r in picked]
    rows.append(("real clips (ceiling)", fits))
    base = GenerationOptions()
    for folder in args.model or [None]:
        model = MusicLM.from_pretrained(folder)
        tunes = (True, False) if args.no_tune_too and model.takes_melody else (True,)
        cands = args.tune_candidates or [tune_mod.TUNE_CANDIDATES]
        runs = [(t, tune, c, d) for t in args.coarse_t for tune in tunes for c in cands
                for d in args.drafts]  # fmt: skip
        for t, tune, c, d in runs:
            if not tune and c != cands[0]:
                continue  # no tune: the candidates do not matter
            tune_mod.TUNE_CANDIDATES = c
            temps = (base.resolved().temperature[0], t, base.resolved().temperature[2])
            opts = GenerationOptions(temperature=temps, tune=tune, drafts=d)
            fits = []
            for i in range(0, len(texts), args.batch):
                chunk = texts[i : i + args.batch]
                audio = model.generate(chunk, seconds=args.seconds, seed=args.seed + i,
                                       options=opts)  # fmt: skip
                fits += [key_fit(a, model.sample_rate) for a in audio]
            name = f"{folder or 'bundled'}, coarse temperature {t:g}"
            if model.takes_melody:
                name += f", planned tune (best of {c})" if tune else ", no tune"
            name += f", {opts.resolved().drafts} drafts"
            rows.append((name, fits))
    print(f"## Key of {len(texts)} held-out captions (`{args.heldout}`), {args.seconds:g} s, "
          f"seed {args.seed}\n")  # fmt: skip
    print("| audio | key right | key strength (mean) |\n|---|---:|---:|")
    for name, fits in rows:
        right = sum(est == want for (est, _), want in zip(fits, keys))
        strength = np.mean([s for _, s in fits])
        print(f"| {name} | {right} of {len(keys)} | {strength:.3f} |")


if __name__ == "__main__":
    main()
