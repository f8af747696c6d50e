"""Do the pieces follow the key they are given? The same held-out captions and seeds,
generated in the caption's key K and in the key a tritone away (K+6, same mode, given with
``key=``); each piece's mean CQT chroma correlated with both keys' Krumhansl-Kessler
profiles. A model that follows the key fits the key it was asked for; one that ignores
it fits both alike. Unlike "key right" (the best of 24 keys must be the asked one, so a
piece read as its dominant or relative key fails), this shows how far the key moves.

    python benchmarks/key_response.py --heldout out/heldout [--model DIR] [--no-tune]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from musiclm.analysis import key_scores, mean_chroma
from musiclm.eval.music import keyed_captions
from musiclm.pipeline import GenerationOptions, MusicLM
from musiclm.theory import key_index, pitch_class, pitch_name


def fit(chroma: np.ndarray, key: str) -> float:
    """Correlation of a mean chroma with the profile of ``key`` ('F# minor')."""
    return float(key_scores(chroma)[key_index(*key.split())])


def tritone(key: str) -> str:
    tonic, mode = key.split()
    return f"{pitch_name((pitch_class(tonic) + 6) % 12)} {mode}"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--heldout", type=Path, required=True, help="held-out engine corpus")
    ap.add_argument("--model", default=None, help="MusicLM folder (default: the bundled one)")
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--no-tune", action="store_true", help="without the planned tune")
    ap.add_argument("--pitch-cfg", type=float, default=0.0, help="guidance toward key + tune")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    _, keys, texts = keyed_captions(args.heldout, args.n)
    model = MusicLM.from_pretrained(args.model)
    opts = GenerationOptions(tune=not args.no_tune, pitch_cfg=args.pitch_cfg)
    other = [tritone(k) for k in keys]
    chroma = {}
    for name, asked in (("K", keys), ("K+6", other)):
        chroma[name] = []
        for i, (text, key) in enumerate(zip(texts, asked)):
            y = model.generate([text], seconds=args.seconds, seed=i, key=key, options=opts)[0]
            chroma[name].append(mean_chroma(y, model.sample_rate))
    print(f"## Key response: {len(keys)} held-out captions (`{args.heldout}`), "
          f"{args.seconds:g} s, {'no tune' if args.no_tune else 'planned tune'}, "
          f"pitch cfg {args.pitch_cfg:g}\n")  # fmt: skip
    print("| asked | fit to K | fit to K+6 |\n|---|---:|---:|")
    for name in ("K", "K+6"):
        a = np.mean([fit(c, k) for c, k in zip(chroma[name], keys)])
        b = np.mean([fit(c, k) for c, k in zip(chroma[name], other)])
        print(f"| {name} | {a:+.3f} | {b:+.3f} |")


if __name__ == "__main__":
    main()
