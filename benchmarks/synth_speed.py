"""How fast the data engine makes a corpus on this machine.

1. Per-clip stage timings (compose, caption, render, FLAC+MIDI write) on a sample of
   clips in one process, as medians, beside a baseline measured in the same run: the
   `fluidsynth` command line rendering the same MIDI files (a fresh process and
   soundfont load per clip, which is what a naive pipeline would do).
2. A whole corpus (default 1,000 x 10 s clips, 2 workers) built end to end: wall time
   and seconds of audio per wall second (goal >= 50x real time), then its report.

    python benchmarks/synth_speed.py [--clips 1000] [--seconds 10] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from musiclm.data.report import build_report
from musiclm.data.synth.composer import ComposeOptions, clip_rng, compose
from musiclm.data.synth.engine import SynthConfig, song_record, synth_corpus
from musiclm.data.synth.render import Renderer, find_soundfont, write_midi
from musiclm.io import write_audio


def stage_timings(n: int, seconds: float, sample_rate: int, tmp: Path) -> dict[str, list[float]]:
    cfg = SynthConfig(seed=99, seconds=seconds, sample_rate=sample_rate)
    renderer = Renderer(sample_rate)
    times: dict[str, list[float]] = {
        k: [] for k in ("compose", "caption", "render", "write", "total", "cli")
    }
    sf2 = str(find_soundfont())
    for i in range(n):
        t0 = time.perf_counter()
        song = compose(cfg.seed, i, ComposeOptions(seconds=seconds))
        t1 = time.perf_counter()
        rng = clip_rng(cfg.seed, i + (1 << 40))
        song_record(song, cfg, i, rng)
        t2 = time.perf_counter()
        audio = renderer.render(song, rng)
        t3 = time.perf_counter()
        write_audio(tmp / f"{i}.flac", audio, sample_rate)
        write_midi(song, tmp / f"{i}.mid")
        t4 = time.perf_counter()
        for k, v in zip(
            ("compose", "caption", "render", "write", "total"),
            (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0),
        ):
            times[k].append(v)
        if shutil.which("fluidsynth"):
            t5 = time.perf_counter()
            subprocess.run(
                [
                    "fluidsynth",
                    "-ni",
                    "-q",
                    "-r",
                    str(sample_rate),
                    "-F",
                    str(tmp / f"{i}.wav"),
                    sf2,
                    str(tmp / f"{i}.mid"),
                ],
                check=True,
                capture_output=True,
            )
            times["cli"].append(time.perf_counter() - t5)
    renderer.close()
    return times


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--clips", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample-rate", type=int, default=24000)
    ap.add_argument("--sample", type=int, default=40, help="clips for the per-stage timings")
    ap.add_argument(
        "--out", type=Path, default=None, help="keep the corpus here (default: a temp dir)"
    )
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        t = stage_timings(args.sample, args.seconds, args.sample_rate, tmp)
        print(f"## per clip ({args.sample} clips of {args.seconds:g} s, one process; medians)")
        for k in ("compose", "caption", "render", "write", "total"):
            print(f"  {k:8s} {statistics.median(t[k]) * 1000:8.1f} ms")
        ours = statistics.median(t["total"])
        print(f"  pipeline: {args.seconds / ours:.0f}x real time per process")
        if t["cli"]:
            cli = statistics.median(t["cli"])
            print(
                f"  baseline `fluidsynth -F` CLI, render only: {cli * 1000:.1f} ms"
                f" = {args.seconds / cli:.0f}x real time"
            )
            print(
                f"  ratio: our whole pipeline runs {cli / ours:.2f}x the speed of the CLI's render"
            )

        out = args.out or tmp / "corpus"
        if args.out and out.exists():
            shutil.rmtree(out)
        t0 = time.perf_counter()
        res = synth_corpus(
            out,
            args.clips,
            SynthConfig(seed=2024, seconds=args.seconds, sample_rate=args.sample_rate),
            workers=args.workers,
        )
        wall = time.perf_counter() - t0
        print(f"\n## corpus: {res.clips} clips x {args.seconds:g} s with {args.workers} workers")
        print(
            f"  wall {wall:.1f} s ({wall / 60:.1f} min); "
            f"{res.seconds_of_audio / wall:.0f}x real time "
            f"(goal >= 50x); {res.seconds_of_audio / 3600:.2f} h of audio"
        )
        report = build_report(out)
        print("\n" + report.markdown)


if __name__ == "__main__":
    main()
