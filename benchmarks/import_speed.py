"""Start-up cost of inference: import time, load time and time to the first piece.

Each measurement runs in a fresh Python process (imports are cached within one), ``--repeats``
times; the table gives medians. Two ways of starting are compared:

- ``inference``: ``from musiclm import MusicLM`` then ``MusicLM.from_pretrained()``, as a
  user or ``musiclm generate`` / ``musiclm ui`` does;
- ``+ training stack``: the same after ``import musiclm.training.trainer`` (the trainer and
  Accelerate), which is what every ``from_pretrained`` imported before issue 17.

It also reports whether the inference path imported the trainer (Accelerate itself is
imported by ``transformers``, MuLan's text tower, whenever it is installed).

    python benchmarks/import_speed.py [--model DIR] [--seconds 1] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
if {preload}:
    import musiclm.training.trainer  # noqa: F401
from musiclm import MusicLM
import musiclm.pipeline  # noqa: F401
t_import = time.perf_counter()
model = MusicLM.from_pretrained({model!r})
t_load = time.perf_counter()
model.generate(["a violin melody backed with 808s"], seconds={seconds}, seed=0)
t_piece = time.perf_counter()
print(json.dumps({{
    "import_s": t_import - t0,
    "load_s": t_load - t_import,
    "first_piece_s": t_piece - t0,
    "trainer": "musiclm.training.trainer" in sys.modules,
}}))
"""


def measure(preload: bool, model: str | None, seconds: float, repeats: int) -> dict:
    rows = []
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    code = CHILD.format(preload=preload, model=model, seconds=seconds)
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env)  # fmt: skip
        if out.returncode:
            sys.exit(f"the measuring process failed:\n{out.stderr[-2000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    keys = ("import_s", "load_s", "first_piece_s")
    med = {k: statistics.median(r[k] for r in rows) for k in keys}
    return {**med, "trainer": rows[0]["trainer"]}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default=None, help="MusicLM folder (default: bundled)")
    ap.add_argument("--seconds", type=float, default=1.0, help="length of the first piece")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    light = measure(False, args.model, args.seconds, args.repeats)
    heavy = measure(True, args.model, args.seconds, args.repeats)
    print(f"## Start-up: median of {args.repeats} fresh processes, "
          f"first piece {args.seconds:g} s\n")  # fmt: skip
    print("| start | import s | load s | to first piece s | imports the trainer |")
    print("|---|---:|---:|---:|---|")
    for name, r in (("inference", light), ("+ training stack", heavy)):
        print(f"| {name} | {r['import_s']:.2f} | {r['load_s']:.2f} | "
              f"{r['first_piece_s']:.2f} | {'yes' if r['trainer'] else 'no'} |")  # fmt: skip
    print(
        f"\nimport: {heavy['import_s'] / light['import_s']:.2f}x faster without the "
        f"training stack; import + load: "
        f"{(heavy['import_s'] + heavy['load_s']) / (light['import_s'] + light['load_s']):.2f}x; "
        f"to first piece: {heavy['first_piece_s'] / light['first_piece_s']:.2f}x"
    )


if __name__ == "__main__":
    main()
