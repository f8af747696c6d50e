"""How fast the stages sample on this machine: KV cache vs none, flattened vs delayed.

Random-weight stages at a preset's sizes (speed does not depend on the weights), batch 2
(one prompt with classifier-free guidance), ms per sampling step (median of repeats) and
the wall time each stage would need for 10 s of audio at the tiny model's token rates
(25 Hz semantic; 50 Hz x 4 coarse + 4 fine levels), prefix passes not counted. "no
cache" recomputes the whole sequence every step, as a model without a KV cache must.

    python benchmarks/stage_speed.py [--preset tiny] [--steps 64] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from musiclm.stages.config import stage_config
from musiclm.stages.lm import StageLM
from musiclm.stages.sampling import SamplingOptions, sample


def step_ms(stage: StageLM, steps: int, cache: bool, repeats: int = 3) -> float:
    """Median ms per sampled position after a full-length prefix, batch 2."""
    lay = stage.layout
    prefix = torch.randint(4, lay.vocab_size, (2, lay.n_streams, stage.config.prefix_len))
    opts = SamplingOptions()
    times = []
    for _ in range(repeats):
        with torch.no_grad():
            seq = prefix
            kv = stage.net.new_cache(2) if cache else None
            logits = stage.net(seq, kv)[:, :, -1]
            t0 = time.perf_counter()
            for _ in range(steps):
                tokens = sample(logits, opts, None).clamp_max(lay.vocab_size - 1)
                ids = tokens[:, :, None] + 4
                if cache:
                    logits = stage.net(ids, kv)[:, :, -1]
                else:
                    seq = torch.cat([seq, ids], dim=2)
                    logits = stage.net(seq)[:, :, -1]
            times.append((time.perf_counter() - t0) / steps * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--steps", type=int, default=64, help="sampled steps per measurement")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = []
    for kind, pattern in (
        ("semantic", "delay"),
        ("coarse", "delay"),
        ("coarse", "flat"),
        ("fine", "delay"),
        ("fine", "flat"),
    ):
        stage = StageLM(stage_config(kind, args.preset, pattern=pattern)).eval()
        cached = step_ms(stage, args.steps, cache=True)
        uncached = step_ms(stage, min(args.steps, 16), cache=False, repeats=1)
        cfg = stage.config
        steps_10s = cfg.target_steps * 10.0 / cfg.window_seconds
        rows.append(
            (
                kind,
                pattern if kind != "semantic" else "-",
                cfg.prefix_len,
                cfg.target_steps,
                cached,
                uncached,
                steps_10s * cached / 1000,
                steps_10s * uncached / 1000,
            )
        )
    print(f"## stage sampling speed, preset {args.preset}, batch 2 (CFG), {args.threads} threads\n")
    print(
        "| stage | pattern | prefix | steps / window | ms/step cached | ms/step no cache "
        "| s for 10 s cached | s for 10 s no cache |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]:.1f} | {r[5]:.1f} | {r[6]:.1f} "
            f"| {r[7]:.1f} |"
        )
    best = {k: min(r[6] for r in rows if r[0] == k) for k in ("semantic", "coarse", "fine")}
    total = sum(best.values())
    print(
        f"\nfastest cached total for 10 s: {total:.1f} s "
        f"(semantic {best['semantic']:.1f} + coarse {best['coarse']:.1f} + fine {best['fine']:.1f})"
    )


if __name__ == "__main__":
    main()
