"""Does a MusicLM play the tempo that held-out captions state? Generated vs. real audio.

Takes ``--n`` clips of a held-out engine corpus (never trained on), spread evenly over
their tempos, and for each the first caption that states a tempo ("... of 93 bpm").
Every model generates that caption (the tempo is read from the text, as
``musiclm generate`` does) and librosa's beat tracker (the estimator of ``musiclm
eval``) measures the result. The same estimator on the real clip of each caption is
the ceiling: what a model that renders the caption's tempo as the engine does would get.
Unlike ``tempo_control.py`` these prompts are in the corpus's own distribution (hip hop
at 90, drum and bass at 174), so a miss is the model's, not an unusual request's.

    python benchmarks/tempo_heldout.py --heldout out/heldout [--model DIR ...] [--n 24]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from musiclm.cli import checks
from musiclm.conditions import parse_tempo
from musiclm.eval.music import estimate_tempo, tempo_error
from musiclm.eval.run import TEMPO_TOLERANCE as TOLERANCE
from musiclm.io import read_audio
from musiclm.pipeline import GenerationOptions, MusicLM

BUCKETS = ((0, 90), (90, 130), (130, 165), (165, 1000))


def pick(heldout: Path, n: int) -> list[dict]:
    """``n`` clips evenly spaced in tempo order, each with its first tempo-stating caption."""
    rows = []
    for line in (heldout / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        text = next((c for c in r.get("captions", []) if parse_tempo(c)), None)
        if text and r.get("tempo"):
            rows.append({"id": r["id"], "audio": heldout / r["audio"], "text": text,
                         "tempo": float(r["tempo"]), "genre": r.get("genre")})  # fmt: skip
    if len(rows) < n:
        raise SystemExit(f"{heldout} has {len(rows)} clips with a tempo-stating caption")
    rows.sort(key=lambda r: (r["tempo"], r["id"]))
    return [rows[i] for i in np.linspace(0, len(rows) - 1, n).round().astype(int)]


def score(rows: list[dict], estimates: list[float]) -> dict:
    err = np.array([tempo_error(e, r["tempo"]) for r, e in zip(rows, estimates)])
    x2 = np.array([tempo_error(e, r["tempo"], octave=True) for r, e in zip(rows, estimates)])
    tempo = np.array([r["tempo"] for r in rows])
    out = {"within": float(np.mean(err <= TOLERANCE)), "x2": float(np.mean(x2 <= TOLERANCE))}
    for lo, hi in BUCKETS:
        m = (tempo >= lo) & (tempo < hi)
        out[f"{lo}-{hi}"] = float(np.mean(err[m] <= TOLERANCE)) if m.any() else float("nan")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--heldout", type=Path, required=True, help="held-out engine corpus")
    ap.add_argument("--model", action="append", default=None,
                    help="MusicLM folder; repeat to compare (default: bundled)")  # fmt: skip
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None, help="also write every estimate here")
    ap.add_argument("--temperature", nargs="+", default=None,
                    help="sampling temperatures to compare, each 'semantic,coarse,fine' "
                         "(default: the model's defaults)")  # fmt: skip
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = pick(args.heldout, args.n)
    results = {}
    real = []
    for r in rows:
        y, sr = read_audio(r["audio"], seconds=args.seconds)
        real.append(estimate_tempo(y, sr))
    results["real audio (ceiling)"] = real
    temps = args.temperature or [None]
    for path in args.model or [None]:
        model = MusicLM.from_pretrained(path)
        for t in temps:
            temps = t and checks.temperatures("--temperature", t)
            opts = GenerationOptions(temperature=temps or None)
            est = []
            for i in range(0, len(rows), args.batch):
                texts = [r["text"] for r in rows[i : i + args.batch]]
                audio = model.generate(texts, seconds=args.seconds, seed=args.seed + i,
                                       options=opts)  # fmt: skip
                est += [estimate_tempo(y, model.sample_rate) for y in audio]
            name = path or "bundled"
            results[name if t is None else f"{name}, temperatures {t}"] = est
    print(f"## Tempo of held-out captions: {len(rows)} clips, {args.seconds:g} s, "
          f"seed {args.seed}\n")  # fmt: skip
    head = "| audio | within 8 % | allowing half/double | " + " | ".join(
        f"{lo}-{hi if hi < 1000 else ''} bpm" for lo, hi in BUCKETS
    )
    print(head + " |\n|---" + "|---:" * (2 + len(BUCKETS)) + "|")
    for name, est in results.items():
        s = score(rows, est)
        cells = [s["within"], s["x2"]] + [s[f"{lo}-{hi}"] for lo, hi in BUCKETS]
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    if args.json:
        args.json.write_text(json.dumps(
            [dict(r, audio=str(r["audio"]), **{k: v[j] for k, v in results.items()})
             for j, r in enumerate(rows)], indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
