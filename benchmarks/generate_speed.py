"""End-to-end generation speed of a MusicLM (the bundled one by default) on this machine.

For one prompt of ``--seconds`` (default 10 s), with classifier-free guidance (the
default, cfg 3: a batch of 2 in the semantic and coarse stages) and without (cfg 1), it
prints the median over ``--repeats`` runs of the wall time per part (MuLan, semantic,
coarse, fine, decode), the real-time factor (wall / audio seconds; below 1 is faster
than real time) and the process's peak resident memory.

    python benchmarks/generate_speed.py [--model DIR] [--seconds 10] [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time

import torch

from musiclm.pipeline import GenerationOptions, MusicLM

PARTS = ("mulan", "semantic", "coarse", "fine", "decode")


def run(model: MusicLM, seconds: float, cfg: float, repeats: int) -> dict[str, float]:
    """Median wall seconds per part and in all over ``repeats`` seeded runs."""
    rows = []
    for seed in range(repeats):
        t0 = time.perf_counter()
        conds = model.conditions(["a violin melody backed with 808s"], mulan=False)
        made = model.run(conds, seconds=seconds, seed=seed, options=GenerationOptions(cfg=cfg))
        row = {p: made.timings.seconds.get(p, 0.0) for p in PARTS}  # run() times MuLan
        row["total"] = time.perf_counter() - t0
        rows.append(row)
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default=None, help="MusicLM folder (default: bundled)")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model = MusicLM.from_pretrained(args.model)
    run(model, 1.0, 3.0, 1)  # warm-up
    results = {cfg: run(model, args.seconds, cfg, args.repeats) for cfg in (3.0, 1.0)}
    print(f"## Generation speed: {args.seconds:g} s, 1 prompt, {args.threads} threads, "
          f"median of {args.repeats}\n")  # fmt: skip
    print("| cfg | " + " | ".join(PARTS) + " | total s | real-time factor |")
    print("|---|" + "---:|" * (len(PARTS) + 2))
    for cfg, r in results.items():
        cells = " | ".join(f"{r[p]:.2f}" for p in PARTS)
        print(f"| {cfg:g} | {cells} | {r['total']:.2f} | {r['total'] / args.seconds:.2f} |")
    base = results[1.0]["total"]
    print(f"\nguidance costs {results[3.0]['total'] / base:.2f}x the unguided time")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
