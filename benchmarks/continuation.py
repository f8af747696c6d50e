"""Does a continuation keep its prompt's tempo, key and level? Held-out engine clips.

Each clip's first ``--prompt`` seconds are continued to ``--seconds`` in all
(``MusicLM.generate(..., continue_from=...)``, no text: the prompt's own MuLan tokens,
tempo and key condition it; ``--text`` adds the clip's first caption). Measured, per
prompt, by tools independent of the model:

- tempo: librosa's beat tracker (``musiclm eval``'s) on the continuation (the audio after
  the prompt) vs on the prompt; a pass is within 8 %, a factor of 2 allowed;
- key: Pearson correlation of the mean CQT chroma of the continuation and of the
  prompt; a pass is >= 0.7 (the issue's measure); beside it, whether the two have the
  same best key (:func:`musiclm.eval.music.key_fit`) and the correlation of their 24
  key-profile scores (a chord change within a key moves the mean chroma, not these);
- level: RMS dB of the second before the join (the prompt) and the second after; a
  pass is within 6 dB;
- RTF: wall seconds of encoding the prompt and generating, over the seconds added.

Two references: **real**, the clip's own next seconds (``--prompt`` to the clip's end)
scored against its prompt: what the engine's music itself gets on these measures (a
ceiling of sorts: real pieces change chords); and with ``--baseline``, generation from
each clip's first caption alone, as many seconds as a continuation adds, scored against
the same prompt: what keeping the prompt's tempo and key by chance (same caption, same
corpus) looks like.

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

from musiclm.eval.music import KEY_RATE, MAJOR, MINOR, estimate_tempo, tempo_error
from musiclm.io import read_audio, resample, write_audio
from musiclm.pipeline import MusicLM

TEMPO_TOL, KEY_MIN, LEVEL_DB = 0.08, 0.7, 6.0  # the goals


def chroma(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mean CQT chroma (12,), as :func:`musiclm.eval.music.key_fit` reads it."""
    import librosa

    return librosa.feature.chroma_cqt(y=resample(audio, sr, KEY_RATE), sr=KEY_RATE).mean(axis=1)


def key_scores(mean_chroma: np.ndarray) -> np.ndarray:
    """(24,) correlations of a mean chroma with the 12 major and 12 minor key profiles."""
    profiles = [np.roll(p, t) for p in (MAJOR, MINOR) for t in range(12)]
    return np.array([np.corrcoef(mean_chroma, p)[0, 1] for p in profiles])


def rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(max(np.sqrt(np.mean(np.square(audio, dtype=np.float64))), 1e-10)))


def measure(prompt: np.ndarray, after: np.ndarray, sr: int) -> dict:
    """Tempo, key and level of ``after`` (what follows) against ``prompt``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tp, ta = estimate_tempo(prompt, sr), estimate_tempo(after, sr)
        cp, ca = chroma(prompt, sr), chroma(after, sr)
    r = float(np.corrcoef(cp, ca)[0, 1])
    kp, ka = key_scores(cp), key_scores(ca)
    before_db, after_db = rms_db(prompt[-sr:]), rms_db(after[:sr])
    err = tempo_error(ta, tp, octave=True) if tp > 0 and ta > 0 else float("inf")
    return {
        "tempo_prompt": tp, "tempo_after": ta, "tempo_err": err, "tempo_ok": err <= TEMPO_TOL,
        "chroma_r": r, "key_ok": r >= KEY_MIN, "same_key": bool(kp.argmax() == ka.argmax()),
        "key_r": float(np.corrcoef(kp, ka)[0, 1]), "level_db": after_db - before_db,
        "level_ok": abs(after_db - before_db) <= LEVEL_DB,
    }  # fmt: skip


def table(rows: list[dict], baseline: bool) -> str:
    """The shares of prompts that pass, and medians, per kind of audio after the prompt."""
    head = (
        "| after the prompt | prompts | tempo kept (8 %, x2) | chroma r >= 0.7 | same key "
        "| level within 6 dB | tempo + chroma + level | median chroma r | median key-profile r "
        "| median level change | median RTF |"
    )
    out = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    kinds = [("continuation", ""), ("real (the clip's next seconds)", "real_")]
    kinds += [("text only (baseline)", "base_")] if baseline else []
    for name, p in kinds:
        got = {k[len(p) :]: [r[k] for r in rows] for k in rows[0] if k.startswith(p)}
        alls = np.mean([t and k and v for t, k, v in
                        zip(got["tempo_ok"], got["key_ok"], got["level_ok"])])  # fmt: skip
        rtf = f"{np.median(got['rtf']):.2f}" if "rtf" in got else "–"
        out.append(
            f"| {name} | {len(rows)} | {np.mean(got['tempo_ok']):.0%} "
            f"| {np.mean(got['key_ok']):.0%} | {np.mean(got['same_key']):.0%} "
            f"| {np.mean(got['level_ok']):.0%} | {alls:.0%} | {np.median(got['chroma_r']):+.2f} "
            f"| {np.median(got['key_r']):+.2f} | {np.median(got['level_db']):+.1f} dB | {rtf} |"
        )
    return "\n".join(out)


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
    ap.add_argument("--save", type=Path, default=None, help="write the WAVs in this folder")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model = MusicLM.from_pretrained(args.model)
    sr = model.sample_rate
    lines = (args.data / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(x) for x in lines][: args.clips]
    # warm-up: first-call imports and librosa's compilation are not the model's speed
    noise = np.random.default_rng(0).standard_normal(sr).astype(np.float32) * 0.1
    model.generate(None, seconds=2.0, seed=0, continue_from=noise)
    rows = []
    n = round(args.prompt * sr)
    added = args.seconds - args.prompt
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
    for i, rec in enumerate(records):
        clip, _ = read_audio(args.data / rec["audio"], sr)
        x = clip[:n]
        text = rec["captions"][0] if args.text else None
        t0 = time.perf_counter()
        y = model.generate(text, seconds=args.seconds, seed=args.seed + i, continue_from=x)[0]
        wall = time.perf_counter() - t0
        row = {"id": rec["id"], "genre": rec.get("genre"), "tempo_true": rec.get("tempo"),
               **measure(x, y[n:], sr), "rtf": wall / added}  # fmt: skip
        row.update({f"real_{k}": v for k, v in measure(x, clip[n:], sr).items()})
        if args.save:
            write_audio(args.save / f"{rec['id']}_continued.wav", y, sr)
        if args.baseline:
            t0 = time.perf_counter()
            b = model.generate(rec["captions"][0], seconds=added, seed=args.seed + i)[0]
            base = measure(x, b, sr)
            if args.save:
                write_audio(args.save / f"{rec['id']}_text_only.wav", b, sr)
            row.update({f"base_{k}": v for k, v in base.items()})
            row["base_rtf"] = (time.perf_counter() - t0) / added
        rows.append(row)
        print(
            f"{rec['id']:<12} {str(rec.get('genre')):<14} true {rec.get('tempo') or 0:5.0f}  "
            f"prompt {row['tempo_prompt']:6.1f} -> {row['tempo_after']:6.1f} bpm "
            f"{'ok' if row['tempo_ok'] else '--'}  chroma r {row['chroma_r']:+.2f} "
            f"{'ok' if row['key_ok'] else '--'}  level {row['level_db']:+5.1f} dB "
            f"{'ok' if row['level_ok'] else '--'}  RTF {row['rtf']:.2f}"
            + (
                f"  | text-only: {row['base_tempo_after']:6.1f} bpm, r {row['base_chroma_r']:+.2f}"
                if args.baseline
                else ""
            ),  # fmt: skip
            flush=True,
        )
    print()
    print(table(rows, args.baseline))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
