"""Does the fine stage add to the coarse levels it is given? Held-out clips, one codec.

For each held-out clip it takes the codec's true codes and decodes: the coarse levels
alone; the coarse levels with the fine levels the fine stage samples for them (at its
generation temperature and, beside it, at 1.0); and the true coarse + fine levels (what a
perfect fine stage would give). Each is scored against the original with the codec
metrics (frame-wise chroma r, SC, mel L1; ``musiclm.eval.codec.metrics``). A fine
stage that helps sits between "coarse alone" and "true fine"; one that hurts is worse
than "coarse alone", and the pipeline should then not decode its levels.

    python benchmarks/fine_stage.py --heldout out/heldout --model out/cand/model [--clips 16]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from musiclm.eval.codec import metrics
from musiclm.io import read_audio
from musiclm.pipeline import GenerationOptions, MusicLM

SHOWN = ("chroma r", "SC", "mel L1", "MR-STFT")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--heldout", type=Path, required=True, help="held-out engine corpus")
    ap.add_argument("--model", default=None, help="MusicLM folder (default: bundled)")
    ap.add_argument("--clips", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = MusicLM.from_pretrained(args.model)
    codec, lay = model.codec, model.fine.layout
    qc, qf = lay.coarse_levels, lay.fine_levels
    sr = codec.sample_rate
    default_t = GenerationOptions().resolved().temperature
    variants = {
        f"coarse levels 1-{qc} alone": None,
        f"+ fine stage levels {qc + 1}-{qc + qf}, temperature {default_t[2]:g}": default_t,
        f"+ fine stage levels {qc + 1}-{qc + qf}, temperature 1": (*default_t[:2], 1.0),
        f"+ true levels {qc + 1}-{qc + qf} (a perfect fine stage)": "true",
    }
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    lines = (args.heldout / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    for i, r in enumerate(map(json.loads, lines[: args.clips])):
        y, _ = read_audio(args.heldout / r["audio"], sr)
        codes = codec.batch_encode(torch.from_numpy(y)[None])  # (1, levels, frames)
        coarse = codes[:, :qc]
        for name, how in variants.items():
            if how is None:
                use = coarse
            elif how == "true":
                use = codes[:, : qc + qf]
            else:
                g = torch.Generator().manual_seed(args.seed + i)
                with torch.inference_mode():
                    fine = model._fine(coarse, GenerationOptions(temperature=how), [g])
                use = torch.cat([coarse, fine], dim=1)
            z = codec.batch_decode(use)[0].float().numpy()[: len(y)]
            rows[name].append(metrics(y, z, sr))
    n = len(rows[next(iter(rows))])
    print(f"## The fine stage on {n} held-out clips (`{args.heldout}`), codec "
          f"{codec.config.family} {codec.levels} levels\n")  # fmt: skip
    print("| decoded | " + " | ".join(SHOWN) + " |")
    print("|---|" + "---:|" * len(SHOWN))
    for name, values in rows.items():
        means = [np.mean([v[k] for v in values]) for k in SHOWN]
        print(f"| {name} | " + " | ".join(f"{m:.3f}" for m in means) + " |")


if __name__ == "__main__":
    main()
