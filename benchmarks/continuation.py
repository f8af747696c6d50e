"""Does a continuation keep its prompt's tempo, key and level? Held-out engine clips.

Each clip's first ``--prompt`` seconds are continued to ``--seconds`` in all
(``MusicLM.generate(..., continue_from=...)``, no text: the prompt's own MuLan tokens,
tempo and key condition it; ``--text`` adds the clip's first caption). Measured, per
prompt, by tools independent of the model:

- tempo: librosa's beat tracker (``musiclm eval``'s) on the continuation (the audio after
  the prompt) vs on the prompt; a pass is within 8 %, a factor of 2 allowed;
- key: Pearson correlation of the mean CQT chroma of the continuation and of the
  prompt; a pass is >= 0.7;
- level: RMS dB of the second before the join (the prompt) and the second after; a
  pass is within 6 dB;
- RTF: wall seconds of encoding the prompt and generating, over the seconds added.

``--baseline`` also generates, from each clip's first caption alone, as many seconds as
a continuation adds, and scores it against the same prompt: what keeping the prompt's
tempo and key by chance (same caption, same corpus) looks like.

    musiclm data synth out/cont77 --clips 12 --seconds 10 --seed 77 --workers 1
    python benchmarks/continuation.py --data out/cont77 --clips 12 [--baseline]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from musiclm.eval.music import KEY_RATE, estimate_tempo, tempo_error
from musiclm.io import read_audio, resample
from musiclm.pipeline import MusicLM

TEMPO_TOL, KEY_MIN, LEVEL_DB = 0.08, 0.7, 6.0  # the goals


def chroma(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mean CQT chroma (12,), as :func:`musiclm.eval.music.key_fit` reads it."""
    import librosa

    return librosa.feature.chroma_cqt(y=resample(audio, sr, KEY_RATE), sr=KEY_RATE).mean(axis=1)


def rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(max(np.sqrt(np.mean(np.square(audio, dtype=np.float64))), 1e-10)))


def measure(prompt: np.ndarray, after: np.ndarray, sr: int) -> dict:
    """Tempo, key and level of ``after`` (what follows) against ``prompt``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tp, ta = estimate_tempo(prompt, sr), estimate_tempo(after, sr)
        r = float(np.corrcoef(chroma(prompt, sr), chroma(after, sr))[0, 1])
    before_db, after_db = rms_db(prompt[-sr:]), rms_db(after[:sr])
    err = tempo_error(ta, tp, octave=True) if tp > 0 and ta > 0 else float("inf")
    return {
        "tempo_prompt": tp, "tempo_after": ta, "tempo_err": err, "tempo_ok": err <= TEMPO_TOL,
        "chroma_r": r, "key_ok": r >= KEY_MIN, "level_db": after_db - before_db,
        "level_ok": abs(after_db - before_db) <= LEVEL_DB,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a held-out engine corpus")
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--prompt", type=float, default=5.0, help="seconds of each clip continued")
    ap.add_argument("--seconds", type=float, default=15.0, help="output length, prompt included")
    ap.add_argument("--model", default=None, help="a MusicLM folder (default: bundled)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--text", action="store_true", help="also condition on the first caption")
    ap.add_argument("--baseline", action="store_true", help="also text-only generations")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = MusicLM.from_pretrained(args.model)
    sr = model.sample_rate
    lines = (args.data / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(x) for x in lines][: args.clips]
    model.generate(None, seconds=2.0, seed=0, continue_from=np.random.default_rng(0).standard_normal(sr).astype(np.float32) * 0.1)  # fmt: skip
    # ^ warm-up: first-call imports and librosa's compilation are not the model's speed
    rows = []
    n = round(args.prompt * sr)
    added = args.seconds - args.prompt
    for i, rec in enumerate(records):
        x, _ = read_audio(args.data / rec["audio"], sr, seconds=args.prompt)
        text = rec["captions"][0] if args.text else None
        t0 = time.perf_counter()
        y = model.generate(text, seconds=args.seconds, seed=args.seed + i, continue_from=x)[0]
        wall = time.perf_counter() - t0
        row = {"id": rec["id"], "genre": rec.get("genre"), "tempo_true": rec.get("tempo"),
               **measure(x[:n], y[n:], sr), "rtf": wall / added}  # fmt: skip
        if args.baseline:
            t0 = time.perf_counter()
            b = model.generate(rec["captions"][0], seconds=added, seed=args.seed + i)[0]
            base = measure(x[:n], b, sr)
            row.update({f"base_{k}": v for k, v in base.items()})
            row["base_rtf"] = (time.perf_counter() - t0) / added
        rows.append(row)
        print(
            f"{rec['id']:<12} {str(rec.get('genre')):<14} true {rec.get('tempo') or 0:5.0f}  "
            f"prompt {row['tempo_prompt']:6.1f} -> {row['tempo_after']:6.1f} bpm "
            f"{'ok' if row['tempo_ok'] else '--'}  chroma r {row['chroma_r']:+.2f} "
            f"{'ok' if row['key_ok'] else '--'}  level {row['level_db']:+5.1f} dB "
            f"{'ok' if row['level_ok'] else '--'}  RTF {row['rtf']:.2f}"
            + (f"  | text-only: {row['base_tempo_after']:6.1f} bpm, r {row['base_chroma_r']:+.2f}"
               if args.baseline else ""),  # fmt: skip
            flush=True,
        )
    print()
    print("| | prompts | tempo kept (8 %, x2) | key kept (chroma r >= 0.7) | all three |"
          " level across the join (6 dB) | median chroma r | median level change | median RTF |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, p in [("continuation", "")] + ([("text only (baseline)", "base_")] if args.baseline else []):
        t = np.mean([r[p + "tempo_ok"] for r in rows])
        k = np.mean([r[p + "key_ok"] for r in rows])
        both = np.mean([r[p + "tempo_ok"] and r[p + "key_ok"] and r[p + "level_ok"] for r in rows])
        lv = np.mean([r[p + "level_ok"] for r in rows])
        cr = np.median([r[p + "chroma_r"] for r in rows])
        ld = np.median([r[p + "level_db"] for r in rows])
        rtf = np.median([r[p + "rtf"] for r in rows])
        print(f"| {name} | {len(rows)} | {t:.0%} | {k:.0%} | {both:.0%} | {lv:.0%} | {cr:+.2f} "
              f"| {ld:+.1f} dB | {rtf:.2f} |")  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
