"""How fast a corpus becomes tokens on this machine, per token kind, as a real-time factor.

Tokenizes the same clips once per kind (acoustic = codec codes, semantic = 25 Hz ids,
mulan = per-10 s-window embeddings and tokens) in one process, then all kinds together,
and prints seconds of audio per wall second and the time one hour of audio would take.
Audio decoding is included (it is part of the real job).

    python benchmarks/tokenize_speed.py --data CORPUS [--codec DIR] [--semantic DIR]
        [--mulan DIR] [--kinds acoustic,semantic,mulan] [--clips 100] [--workers 1]

Model folders default to the bundled models.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from musiclm.data.manifest import read_manifest, write_manifest
from musiclm.tokenize import tokenize_corpus


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, required=True, help="corpus folder")
    ap.add_argument("--codec", default=None)
    ap.add_argument("--semantic", default=None)
    ap.add_argument("--mulan", default=None)
    ap.add_argument("--kinds", default="acoustic,semantic,mulan")
    ap.add_argument("--clips", type=int, default=100, help="first N clips of the corpus")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()

    records = read_manifest(args.data)[: args.clips]
    audio_s = sum(r.seconds for r in records)
    paths = {"acoustic": args.codec, "semantic": args.semantic, "mulan": args.mulan}
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        manifest = Path(tmp) / "manifest.jsonl"
        # the same clips, read from the original folder through absolute paths
        for r in records:
            r.audio = str((args.data / r.audio).resolve())
        write_manifest(manifest, records)
        minutes = audio_s / 60
        print(f"## {len(records)} clips, {minutes:.1f} min of audio, {args.workers} worker(s)\n")
        print("| kinds | wall s | x real time | one hour of audio |")
        print("|---|---:|---:|---:|")
        runs = [[k] for k in kinds] + ([kinds] if len(kinds) > 1 else [])
        for run in runs:
            t0 = time.perf_counter()
            tokenize_corpus(
                manifest, Path(tmp) / "+".join(run), {k: paths[k] for k in run},
                workers=args.workers, progress=False,
            )  # fmt: skip
            wall = time.perf_counter() - t0
            print(
                f"| {' + '.join(run)} | {wall:.1f} | {audio_s / wall:.0f}x "
                f"| {3600 * wall / audio_s / 60:.1f} min |"
            )


if __name__ == "__main__":
    main()
