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
- RTF: wall seconds of encoding the prompt and generating, over the seconds added (timed
  before the scoring; the encoding's share is recorded as ``encode_s``).

Two references: **real**, the clip's own next seconds (``--prompt`` to the clip's end)
scored against its prompt: what the engine's music itself gets on these measures (a
ceiling of sorts: real pieces change chords); and with ``--baseline``, generation from
each clip's first caption alone, as many seconds as a continuation adds, scored against
the same prompt: what keeping the prompt's tempo and key by chance (same caption, same
corpus) looks like (its "level" compares two unrelated pieces: no seam).

Beside the engine clips, ``--other N`` (default 4) prompts that are not from the engine
(:func:`other_audio`: a plucked arpeggio over a click track at a known tempo and key,
44.1 kHz stereo, given as ``(array, 44100)`` as a user's recording would be); their
"real" is the same performance's next seconds, their baseline text :data:`OTHER_TEXT`.

Prints one line per prompt, then one markdown table: per group of prompts and per kind
of audio after the prompt, the share of prompts passing each goal and all three, the
share whose best key is the prompt's, the medians of the figures behind the goals, and
the median RTF; then how often librosa reads the prompt's true tempo (the tempo goal
compares two readings of one tracker) and the run's wall time. ``--out`` keeps every
figure as JSON. With the default 5 s prompt in 15 s, a continuation is scored on 10 s
and a 10 s clip's "real" on its 5 s rest.

    musiclm data synth out/cont77 --clips 12 --seconds 10 --seed 77 --workers 1
    python benchmarks/continuation.py --data out/cont77 --clips 12 [--baseline] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from musiclm.analysis import key_scores, mean_chroma
from musiclm.cli import checks
from musiclm.eval.music import estimate_tempo, tempo_error
from musiclm.io import as_mono, read_audio, resample, write_audio
from musiclm.pipeline import GenerationOptions, MusicLM
from musiclm.theory import key_name

TEMPO_TOL, KEY_MIN, LEVEL_DB = 0.08, 0.7, 6.0  # the goals
OTHER_RATE = 44100  # the non-engine prompts' rate (a CD recording's)


def rms_db(audio: np.ndarray) -> float:
    return float(20 * np.log10(max(np.sqrt(np.mean(np.square(audio, dtype=np.float64))), 1e-10)))


def measure(prompt: np.ndarray, after: np.ndarray, sr: int) -> dict:
    """Tempo, key and level of ``after`` (what follows) against ``prompt``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tp, ta = estimate_tempo(prompt, sr), estimate_tempo(after, sr)
        cp, ca = mean_chroma(prompt, sr), mean_chroma(after, sr)
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


def other_audio(
    seconds: float, tempo: float, tonic: int, minor: bool, seed: int = 0, sr: int = OTHER_RATE
) -> np.ndarray:
    """Audio that is not from the engine: a plucked arpeggio in a known key over a click
    track at a known tempo, ``(2, samples)`` float32 at 44.1 kHz, the pluck left of centre
    and the click right of it (the prompt is folded to mono and resampled as a user's
    recording would be).

    One bar of 4/4 per chord (i-VI-III-VII in minor, I-vi-IV-V in major, diatonic); eighth
    notes up and down the triad, each a sum of decaying harmonics (a pluck); a bass root on
    beats 1 and 3; a short filtered-noise click on every beat, louder on the downbeat.
    Peak -6 dBFS, about -33 LUFS (a quiet recording: the engine's clips are at -18 LUFS),
    so it also asks whether a continuation keeps a level the corpus does not have."""
    rng = np.random.default_rng(seed)
    n = round(seconds * sr)
    left, right = np.zeros(n), np.zeros(n)
    beat = 60.0 / tempo
    # scale degrees (semitones above the tonic) of each chord's root, and its triad's quality
    prog = [(0, "m"), (8, "M"), (3, "M"), (10, "M")] if minor else \
           [(0, "M"), (9, "m"), (5, "M"), (7, "M")]  # fmt: skip

    def pluck(f: float, dur: float, amp: float) -> np.ndarray:
        t = np.arange(round(dur * sr)) / sr
        y = sum(np.sin(2 * np.pi * f * k * t) * np.exp(-t * (3 + 2.5 * k)) / k for k in range(1, 7)
                if f * k < sr / 2)  # fmt: skip
        return amp * y * np.minimum(1, t / 0.003)  # a 3 ms attack: no click of its own

    def add(buf: np.ndarray, at: float, y: np.ndarray) -> None:
        i = round(at * sr)
        if i < n:
            buf[i : i + len(y)] += y[: n - i]

    for b in range(int(seconds / beat) + 1):
        t0 = b * beat
        root, quality = prog[(b // 4) % len(prog)]
        third = 3 if quality == "m" else 4
        triad = [tonic + root, tonic + root + third, tonic + root + 7]
        notes = [*triad, triad[0] + 12, triad[2], triad[1]]
        for e in range(2):  # eighth notes
            midi = 48 + notes[(2 * (b % 4) + e) % len(notes)]
            f = 440.0 * 2 ** ((midi - 69) / 12)
            add(left, t0 + e * beat / 2, pluck(f, 1.2, 0.22 + 0.03 * rng.standard_normal()))
        if b % 2 == 0:
            add(left, t0, 0.6 * pluck(440.0 * 2 ** ((36 + (tonic + root) % 12 - 69) / 12), 1.8,
                                      0.35))  # fmt: skip
        click = rng.standard_normal(round(0.012 * sr)) * np.exp(-np.arange(round(0.012 * sr)) / 80)
        click = np.diff(click, prepend=0.0)  # a high, dry tick
        add(right, t0, click * (0.5 if b % 4 == 0 else 0.3))
    mix = np.stack([left + 0.25 * right, right + 0.4 * left])
    return (0.5 * mix / np.abs(mix).max()).astype(np.float32)


OTHER = [  # (bpm, tonic pitch class, minor): the "other audio" prompts
    (92.0, 9, True), (120.0, 0, False), (104.0, 4, True), (138.0, 7, False),
    (76.0, 2, False), (128.0, 11, True),
]  # fmt: skip
OTHER_TEXT = "a plucked acoustic guitar playing arpeggios over a metronome click"


def table(groups: list[tuple[str, list[dict]]]) -> str:
    """Per group of prompts and kind of audio after the prompt: the shares of prompts that
    pass each goal and all three, and the medians of the figures behind them."""
    head = (
        "| prompts | after the prompt | n | tempo kept (8 %, x2) | chroma r >= 0.7 "
        "| level within 6 dB | all three | same best key | median tempo error "
        "| median chroma r | median abs. level change | median RTF |"
    )
    out = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    kinds = [("continuation", ""), ("real (its own next seconds)", "real_"),
             ("text only (baseline)", "base_")]  # fmt: skip
    for group, rows in groups:
        if not rows:
            continue
        for name, p in kinds:
            if p + "tempo_ok" not in rows[0]:
                continue
            got = {k: [r[p + k] for r in rows] for k in KEYS + ["rtf"] if p + k in rows[0]}
            alls = np.mean([t and k and v for t, k, v in
                            zip(got["tempo_ok"], got["key_ok"], got["level_ok"])])  # fmt: skip
            rtf = f"{np.median(got['rtf']):.2f}" if "rtf" in got else "–"
            terr = np.median(got["tempo_err"])
            out.append(
                f"| {group} | {name} | {len(rows)} | {np.mean(got['tempo_ok']):.0%} "
                f"| {np.mean(got['key_ok']):.0%} | {np.mean(got['level_ok']):.0%} | {alls:.0%} "
                f"| {np.mean(got['same_key']):.0%} "
                f"| {'none found' if not np.isfinite(terr) else f'{terr:.1%}'} "
                f"| {np.median(got['chroma_r']):+.2f} "
                f"| {np.median(np.abs(got['level_db'])):.1f} dB | {rtf} |"
            )
    return "\n".join(out)


KEYS = ["tempo_err", "tempo_ok", "chroma_r", "key_ok", "same_key", "level_db", "level_ok"]


def read_right(rows: list[dict]) -> str:
    """How often librosa's tracker reads the prompt's true tempo (8 %, x2): the tempo goal
    compares two readings of the same tracker, so this says how much they can be trusted."""
    known = [r for r in rows if r.get("tempo_true")]
    ok = sum(tempo_error(r["tempo_prompt"], r["tempo_true"], octave=True) <= TEMPO_TOL
             for r in known if r["tempo_prompt"] > 0)  # fmt: skip
    return f"{ok}/{len(known)}"


def run_one(
    model, source, x: np.ndarray, real: np.ndarray, text, caption, seed: int, args
) -> tuple[dict, np.ndarray, np.ndarray | None]:
    """Continue ``source`` (``x``: it as the model reads it, mono at its rate) and score it,
    its own next seconds ``real`` and (``--baseline``) a text-only piece from ``caption``."""
    sr, n = model.sample_rate, len(x)
    added = args.seconds - n / sr
    t0 = time.perf_counter()
    prompt = model.encode_prompt(source)  # what generate(continue_from=source) does first
    t1 = time.perf_counter()
    y = model.generate(text, seconds=args.seconds, seed=seed, continue_from=prompt,
                       options=args.options)[0]  # fmt: skip
    wall = time.perf_counter() - t0  # timed before scoring: librosa's time is not the model's
    row = {**measure(x, y[n:], sr), "rtf": wall / added, "encode_s": t1 - t0, "wall_s": wall}
    row.update({f"real_{k}": v for k, v in measure(x, real, sr).items()})
    b = None
    if args.baseline:
        t0 = time.perf_counter()
        b = model.generate(caption, seconds=added, seed=seed, options=args.options)[0]
        row["base_rtf"] = (time.perf_counter() - t0) / added
        row.update({f"base_{k}": v for k, v in measure(x, b, sr).items()})
    return row, y, b


def show(name: str, row: dict, baseline: bool) -> None:
    print(
        f"{name:<26} true {row.get('tempo_true') or 0:5.0f}  "
        f"prompt {row['tempo_prompt']:6.1f} -> {row['tempo_after']:6.1f} bpm "
        f"{'ok' if row['tempo_ok'] else '--'}  chroma r {row['chroma_r']:+.2f} "
        f"{'ok' if row['key_ok'] else '--'}  level {row['level_db']:+5.1f} dB "
        f"{'ok' if row['level_ok'] else '--'}  RTF {row['rtf']:.2f} "
        f"(encode {row['encode_s']:.1f} s)"
        + (
            f"  | text-only: {row['base_tempo_after']:6.1f} bpm, r {row['base_chroma_r']:+.2f}"
            if baseline
            else ""
        ),  # fmt: skip
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="a held-out engine corpus")
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--other", type=int, default=4,
                    help=f"synthetic non-engine prompts (0-{len(OTHER)})")  # fmt: skip
    ap.add_argument("--prompt", type=float, default=5.0, help="seconds of each clip continued")
    ap.add_argument("--seconds", type=float, default=15.0, help="output length, prompt included")
    ap.add_argument("--model", default=None, help="a MusicLM folder (default: bundled)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--text", action="store_true", help="also condition on the first caption")
    ap.add_argument("--baseline", action="store_true", help="also text-only generations")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    ap.add_argument("--save", type=Path, default=None, help="write the WAVs in this folder")
    ap.add_argument("--temperature", default=None,
                    help="'semantic,coarse,fine' temperatures (default: the model's)")  # fmt: skip
    ap.add_argument("--drafts", type=int, default=None,
                    help="drafts per continuation (GenerationOptions.drafts; default: the "
                    "model's)")  # fmt: skip
    ap.add_argument("--pitch-cfg", type=float, default=None,
                    help="pitch guidance (GenerationOptions.pitch_cfg; default: the "
                    "model's)")  # fmt: skip
    ap.add_argument(
        "--no-tune",
        action="store_true",
        help="do not carry the prompt's tune on (GenerationOptions(tune=False))",
    )
    args = ap.parse_args()
    temps = args.temperature and checks.temperatures("--temperature", args.temperature)
    args.options = GenerationOptions(temperature=temps or None, tune=not args.no_tune,
                                     drafts=args.drafts, pitch_cfg=args.pitch_cfg)  # fmt: skip
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    model = MusicLM.from_pretrained(args.model)
    sr = model.sample_rate
    lines = (args.data / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(x) for x in lines][: args.clips]
    # warm-up: first-call imports and librosa's compilation are not the model's speed
    noise = np.random.default_rng(0).standard_normal(sr).astype(np.float32) * 0.1
    model.generate(None, seconds=2.0, seed=0, continue_from=noise)
    n = round(args.prompt * sr)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)

    def save(name: str, y: np.ndarray, b: np.ndarray | None) -> None:
        if args.save:
            write_audio(args.save / f"{name}_continued.wav", y, sr)
            if b is not None:
                write_audio(args.save / f"{name}_text_only.wav", b, sr)

    rows = []
    for i, rec in enumerate(records):
        clip, _ = read_audio(args.data / rec["audio"], sr)
        text = rec["captions"][0] if args.text else None
        row, y, b = run_one(model, clip[:n], clip[:n], clip[n:], text, rec["captions"][0],
                            args.seed + i, args)  # fmt: skip
        row = {"id": rec["id"], "genre": rec.get("genre"), "tempo_true": rec.get("tempo"), **row}
        rows.append(row)
        save(rec["id"], y, b)
        show(f"{rec['id']} {rec.get('genre')}", row, args.baseline)

    other = []
    for j, (bpm, tonic, minor) in enumerate(OTHER[: args.other]):
        key = f"{key_name(tonic + 12 * minor)}"
        # the prompt and its own next seconds: one performance, cut where the clips are cut
        whole = other_audio(args.seconds, bpm, tonic, minor, seed=j)
        cut = round(args.prompt * OTHER_RATE)
        source = (whole[:, :cut], OTHER_RATE)  # stereo 44.1 kHz, as a user's file would be
        x = resample(as_mono(whole[:, :cut]), OTHER_RATE, sr)
        real = resample(as_mono(whole[:, cut:]), OTHER_RATE, sr)
        text = OTHER_TEXT if args.text else None
        row, y, b = run_one(model, source, x, real, text, OTHER_TEXT, args.seed + 1000 + j, args)
        name = f"other-{j}"
        row = {"id": name, "genre": "synthetic pluck + click", "tempo_true": bpm, "key_true": key,
               **row}  # fmt: skip
        other.append(row)
        save(name, y, b)
        show(f"{name} ({key}, 44.1k st)", row, args.baseline)

    print()
    print(table([("engine clips", rows),
                 ("other audio: synthetic pluck + click, 44.1 kHz stereo", other)]))  # fmt: skip
    print()
    print(
        f"prompt {args.prompt:g} s, output {args.seconds:g} s (the continuation is scored on "
        f"its {args.seconds - args.prompt:g} s after the prompt, real on the clip's rest); "
        f"{'with' if args.text else 'no'} caption; librosa reads the prompt's true tempo on "
        f"{read_right(rows)} engine prompts, {read_right(other)} other; "
        f"median prompt encoding {np.median([r['encode_s'] for r in rows + other]):.1f} s "
        f"of the continuation's wall time; "
        f"wall {time.perf_counter() - start:.0f} s",
    )
    if args.out:
        out = {"args": {k: str(v) for k, v in vars(args).items()}, "engine": rows, "other": other}
        args.out.write_text(json.dumps(out, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
