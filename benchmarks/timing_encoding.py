"""Which timing encoding tells a stage where a song ends? Issue 15's comparison.

Two encodings of "where in the piece is this frame", each given to the bundled semantic
stage by fine-tuning it on whole songs with the same data, seed, steps and learning rate:

- ``prefix``: the window's start and the piece's total length as two prefix tokens
  (1 s buckets), Stable Audio's ``seconds_start`` / ``seconds_total`` (arXiv 2402.04825);
  the stage must work out the time left itself (``musiclm stage train --no-to-end``);
- ``to_end``: the same prefix tokens and, per target frame, the seconds left in
  buckets that are finer near the end (``LayoutConfig.to_end``, ``TO_END_EDGES``).

Both start from the bundled semantic stage (which was trained with ``to_end``: the
``prefix`` run has to learn to do without it, so the comparison favours ``to_end`` a
little; say so where the numbers are quoted). Measured on held-out engine songs (seeds
36, 37: never trained on): the cross-entropy of the last 10 s window of each song (the
ending: outro and tail) and of its first window (the intro), and the same stage with the
seconds-left channel zeroed (how much of its ending knowledge comes from that channel).

    python benchmarks/timing_encoding.py --tokens out/tok_s --val out/tokval_s \\
        [--val out/tokval_s2] --steps 150 --out out/timing_bench

The fine-tunes are resumable (rerun the same command); their exports are reused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

VARIANTS = {"to_end": [], "prefix": ["--no-to-end"]}
TRAIN = [
    "-c",
    "tiny",
    "--seed",
    "0",
    "--mulan-levels",
    "4",
    "--text-cond",
    "0.8",
    "--attributes",
    "--beats",
    "--melody",
    "--form",
    "--per-window",
    "--lr",
    "3e-4",
    "--batch-size",
    "16",
]  # fmt: skip  the bundle's `make stages-mf` settings


def bundled_semantic() -> Path:
    from musiclm.pipeline import BUNDLED

    return BUNDLED / "semantic"


def fine_tune(name: str, args) -> Path:
    """The variant's fine-tuned stage (trained unless its export exists)."""
    out = args.out / name
    final = out / "final"
    if not (final / "config.json").is_file():
        resume = ["--resume"] if out.is_dir() else []
        cmd = [sys.executable, "-m", "musiclm.cli.main", "stage", "train", "semantic",
               "--tokens", str(args.tokens), "--val", str(args.val[0]), *TRAIN,
               "--steps", str(args.steps), "--init-from", str(args.init), "--out", str(out),
               "--export", str(final), *VARIANTS[name], *resume]  # fmt: skip
        subprocess.run(cmd, check=True)
    return final


@torch.no_grad()
def window_ce(stage, folders: list[Path], at_end: bool, zero_to_end: bool = False) -> list[float]:
    """Cross-entropy of each held-out song's first (or last) window."""
    import dataclasses

    from musiclm.stages.train import StageDataset

    cfg = stage.config
    if zero_to_end:
        cfg = dataclasses.replace(cfg, layout=dataclasses.replace(cfg.layout, to_end=False))
    out = []
    for folder in folders:
        data = StageDataset(folder, cfg, train=False, at_end=at_end)
        for i in range(len(data)):
            item = data[i]
            ids = item.get("frame_ids")
            loss = stage(item["prefix"][None], item["target"][None],
                         None if ids is None else ids[None])  # fmt: skip
            out.append(float(loss))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=Path, required=True, help="song tokens to fine-tune on")
    ap.add_argument("--val", type=Path, action="append", required=True,
                    help="held-out song tokens (repeat for more folders)")  # fmt: skip
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--init", type=Path, default=None, help="default: the bundled semantic stage")
    ap.add_argument("--out", type=Path, default=Path("out/timing_bench"))
    args = ap.parse_args()
    args.init = args.init or bundled_semantic()
    torch.set_num_threads(max(1, torch.get_num_threads()))

    from musiclm.stages.lm import load_stage

    rows = {"bundled (start)": load_stage(args.init)}
    for name in VARIANTS:
        rows[f"{name}, {args.steps} steps"] = load_stage(fine_tune(name, args))
    result = {}
    print("| stage | songs | CE last window | CE first window | CE last window, "
          "seconds-left zeroed |\n|---|---:|---:|---:|---:|")  # fmt: skip
    for name, stage in rows.items():
        last = window_ce(stage, args.val, at_end=True)
        first = window_ce(stage, args.val, at_end=False)
        zeroed = window_ce(stage, args.val, at_end=True, zero_to_end=True)
        mean = lambda v: sum(v) / len(v)  # noqa: E731
        result[name] = {"last": mean(last), "first": mean(first), "last_zeroed": mean(zeroed),
                        "songs": len(last), "per_song_last": last}  # fmt: skip
        print(f"| {name} | {len(last)} | {mean(last):.4f} | {mean(first):.4f} | "
              f"{mean(zeroed):.4f} |")  # fmt: skip
    a, b = (result[f"{n}, {args.steps} steps"]["per_song_last"] for n in VARIANTS)
    better = sum(x < y for x, y in zip(a, b))
    print(f"\nlast window: to_end lower than prefix on {better}/{len(a)} held-out songs")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
