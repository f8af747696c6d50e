"""Whole songs (issue 15): how generated pieces end, keep going, follow their form plan
and a story, how fast and in how much memory, beside the corpus engine's songs of the
same genres (the ceiling).

For ``--prompts`` prompts x ``--lengths`` seconds (default 10 x 60 s and 300 s) it
generates one piece each (seed ``--seed`` + prompt index) in its own process, so the
real-time factor includes loading the model and the peak RSS is that piece's alone;
``--stories`` two-part stories of ``--story-seconds`` (the second text from half-way);
and renders ``--engine-clips`` engine songs of 60 s (``musiclm data synth --seed 55``)
of the prompts' genres. Figures (musiclm.eval.songs): the ending (last second below
the median level or below -50 dBFS; last 5 s against the 20 s before), the longest
silence before the outro, form similarity (mean chroma + MFCC cosine of sections the
plan repeats against sections that differ), the intro against the body, the seam flux
at the coarse windows' joins, and story parts (each part's MuLan audio embedding
nearer its own text than the other part's).

    python benchmarks/songs.py                                   # the full run (hours on 2 cores)
    python benchmarks/songs.py --prompts 2 --lengths 30 --stories 2 --engine-clips 2   # quick

Pieces are kept under ``--out`` (default out/songs_bench) and reused by a rerun with the
same settings, so a long run can be resumed or its figures recomputed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

PROMPTS = [  # (text, engine genre id)
    ("an upbeat pop song with piano, bass and drums", "pop"),
    ("a driving techno track with a sawtooth lead", "techno"),
    ("a rock song with distorted electric guitars and drums", "rock"),
    ("a relaxed lo-fi hip hop beat with a mellow electric piano", "lofi"),
    ("a jazz tune with saxophone, upright bass and brushed drums", "jazz"),
    ("a lively Celtic folk tune on fiddle and tin whistle", "celtic"),
    ("a funky house track with a groovy bassline", "house"),
    ("a gentle folk song with acoustic guitar", "folk"),
    ("a calm ambient piece with warm synth pads", "ambient"),
    ("a funk groove with slap bass and clavinet", "funk"),
]
STORIES = [
    ("whistling over a techno beat", "a calm piano outro"),
    ("an upbeat pop song with drums", "a slow jazz ballad on saxophone"),
    ("heavy metal with distorted guitars", "a gentle acoustic folk song"),
    ("a calm ambient pad", "a fast drum and bass track"),
    ("a Celtic fiddle tune", "a lo-fi hip hop beat"),
    ("a solo piano piece", "an EDM drop with synth leads"),
    ("a reggae groove with offbeat guitar", "an orchestral cinematic swell"),
    ("a country song with banjo", "a synthwave track with retro synths"),
    ("a funk groove with slap bass", "a baroque harpsichord piece"),
    ("a bossa nova with nylon guitar", "a punk rock song"),
    ("a traditional Japanese koto melody", "a disco track with strings"),
    ("a blues shuffle on electric guitar", "a chiptune melody"),
]
# other stories, for choosing story settings (--story-set dev), so the figures above are
# not measured on the stories a setting was picked on
DEV_STORIES = [
    ("a slow blues on harmonica", "an energetic salsa with horns"),
    ("a hip hop beat with deep bass", "a string quartet"),
    ("a soft lullaby on music box", "a hard rock song with drums"),
    ("a dubstep track with wobble bass", "a gentle harp solo"),
    ("a marching band with brass", "a dreamy synth pad"),
    ("an acoustic guitar ballad", "a fast techno beat"),
    ("a gospel choir", "a minimal house groove"),
    ("a flamenco guitar", "a calm flute melody"),
    ("a trap beat with 808s", "a classical piano sonata"),
    ("an Indian sitar raga", "a surf rock song"),
]


# -- one piece, in its own process ------------------------------------------------------


def _one(job: dict) -> None:
    """Generate one piece (or story) and write its WAV and facts: the child process."""
    import resource

    import soundfile as sf

    t0 = time.perf_counter()
    import torch

    torch.set_num_threads(job["threads"])
    from musiclm.pipeline import GenerationOptions, MusicLM

    model = MusicLM.from_pretrained(job.get("model"))
    # the model's own ending: the planned one (musiclm.ending) is applied to it in
    # main, so each piece gives both figures (generate's default output is exactly that)
    temps = job.get("temperature")
    opts = GenerationOptions(overlap=job.get("overlap"), ending=False,
                             story_keep=job.get("story_keep"), tune=job.get("tune", True),
                             drafts=job.get("drafts"),
                             **({"story_contrast": job["story_contrast"]}
                                if job.get("story_contrast") is not None else {}),
                             **({"temperature": tuple(temps)} if temps else {}))  # fmt: skip
    t_load = time.perf_counter() - t0
    seconds = job["seconds"]
    if job.get("story"):
        parts = model.story([tuple(p) for p in job["story"]], seconds)
        made = model.run(None, seconds=seconds, seed=job["seed"], options=opts, story=parts)
    else:
        made = model.run(model.conditions([job["text"]]), seconds=seconds, seed=job["seed"],
                         options=opts)  # fmt: skip
    wall = time.perf_counter() - t0
    out = Path(job["out"])
    sf.write(out.with_suffix(".wav"), made.audio[0], model.sample_rate)
    from musiclm import songs

    overlap = songs.overlap_for(model.coarse.config.window_seconds, job.get("overlap"))
    rate = model.coarse.layout.acoustic_rate
    total = round(seconds * rate)
    if overlap:
        joins = [w.fade_in / rate for w in model._stitched_windows(total, overlap)[1:]]
    else:
        joins = [w.start_s for w in model._coarse_windows(total)][1:]
    facts = {
        "seconds": seconds,
        "sample_rate": model.sample_rate,
        "form": [s.to_dict() for s in made.conditions[0].form],
        "wall": wall,
        "load": t_load,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "joins": joins,
        "overlap": overlap,
    }
    out.with_suffix(".json").write_text(json.dumps(facts, indent=1))


def _make_all(jobs: list[dict], parallel: int) -> None:
    """Make the pieces not yet under --out, ``parallel`` child processes at a time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max(1, parallel)) as pool:
        list(pool.map(_piece, jobs))


def _piece(job: dict) -> dict:
    """The facts of a piece: made by a child process unless already under --out."""
    out = Path(job["out"])
    if not out.with_suffix(".json").exists():
        subprocess.run([sys.executable, __file__, "--one", json.dumps(job)], check=True)
    return json.loads(out.with_suffix(".json").read_text())


# -- figures -----------------------------------------------------------------------------


class _S:  # a section as eval.songs reads it
    def __init__(self, d: dict):
        self.name, self.start, self.end = d["name"], float(d["start"]), float(d["end"])


def _finished(audio: np.ndarray, sr: int, form: list[dict]) -> np.ndarray:
    """The piece as ``generate`` returns it by default: the planned ending applied."""
    from musiclm import ending
    from musiclm.conditions import Section

    plan = tuple(Section(d["name"], float(d["start"]), float(d["end"])) for d in form)
    return ending.finish(audio[None], [plan], sr)[0]


def figures(audio: np.ndarray, sr: int, form: list[dict]) -> dict:
    from musiclm.eval import songs as ev

    secs = [_S(d) for d in form]
    end = ev.ending(audio, sr)
    fs = ev.form_similarity(audio, sr, secs)
    intro = ev.intro_vs_body(audio, sr, secs)
    return {
        "ends": end.ends,
        "last_below_median_db": end.below_median_db,
        "last_db": end.last_db,
        "last5_drop_db": end.last5_drop_db,
        "silence_s": ev.longest_silence(audio, sr, ev.outro_start(secs)),
        "form_same": fs.same,
        "form_diff": fs.different,
        "form_audible": fs.audible,
        "intro_db": intro.level_db if intro else None,
        "intro_onsets": intro.onset_ratio if intro else None,
        "intro_ok": intro.quieter_or_sparser if intro else None,
    }


def _med(rows: list[dict], key: str) -> str:
    v = [r[key] for r in rows if r.get(key) is not None]
    return f"{statistics.median(v):.2f}" if v else "–"


def _count(rows: list[dict], key: str) -> str:
    v = [r[key] for r in rows if r.get(key) is not None]
    return f"{sum(v)}/{len(v)}" if v else "–"


def _max(rows: list[dict], key: str) -> str:
    v = [r[key] for r in rows if r.get(key) is not None]
    return f"{max(v):.1f}" if v else "–"


def table(groups: dict[str, list[dict]]) -> str:
    lines = [
        ("pieces", lambda r: str(len(r))),
        ("ends (goal: both below)", lambda r: _count(r, "ends")),
        ("last 1 s below median, dB (goal >= 25)", lambda r: _med(r, "last_below_median_db")),
        ("last 1 s level, dBFS (or < -50)", lambda r: _med(r, "last_db")),
        ("last 5 s below the 20 s before, dB (>= 6)", lambda r: _med(r, "last5_drop_db")),
        ("longest silence before the outro, s (max; goal < 3)", lambda r: _max(r, "silence_s")),
        ("form: cosine of repeated sections", lambda r: _med(r, "form_same")),
        ("form: cosine of different sections", lambda r: _med(r, "form_diff")),
        ("form audible (repeats more alike)", lambda r: _count(r, "form_audible")),
        ("intro minus body level, dB", lambda r: _med(r, "intro_db")),
        ("intro / body onset rate", lambda r: _med(r, "intro_onsets")),
        ("intro quieter or sparser", lambda r: _count(r, "intro_ok")),
        ("seam flux / median flux at window joins", lambda r: _med(r, "seam")),
        ("RTF incl. load (median)", lambda r: _med(r, "rtf")),
        ("peak RSS, MB (max)", lambda r: _max(r, "rss_mb")),
    ]
    names = list(groups)
    width = max(len(n) for n, _ in lines)
    out = [f"| {'figure':<{width}} | " + " | ".join(names) + " |"]
    out.append("|" + "-" * (width + 2) + "|" + "|".join("---:" for _ in names) + "|")
    for label, fn in lines:
        out.append(f"| {label:<{width}} | " + " | ".join(fn(groups[n]) for n in names) + " |")
    return "\n".join(out)


def _engine(out: Path, clips: int, genres: list[str], seconds: float = 60.0) -> list[dict]:
    """Engine songs of ``seconds`` (60: under ``engine``, else ``engine_{seconds}s``) of
    the prompts' genres: rendered once, then read back."""
    folder = out / ("engine" if seconds == 60.0 else f"engine_{seconds:g}s")
    if (
        not (folder / "manifest.jsonl").exists()
        or len((folder / "manifest.jsonl").read_text().splitlines()) < clips
    ):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "musiclm.cli.main", "data", "synth", str(folder),
                        "--clips", str(clips), "--seconds", f"{seconds:g}", "--seed", "55",
                        "--genre",
                        ",".join(sorted(set(genres))), "--workers", "1", "-q"],
                       check=True)  # fmt: skip
        (folder / "wall.txt").write_text(str(time.perf_counter() - t0))
    rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines()]
    wall = float((folder / "wall.txt").read_text()) if (folder / "wall.txt").exists() else None
    for r in rows:
        r["_rtf"] = wall / (seconds * len(rows)) if wall else None
    return rows[:clips]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--prompts", type=int, default=10)
    ap.add_argument("--lengths", default="60,300", help="seconds, comma-separated")
    ap.add_argument("--stories", type=int, default=10)
    ap.add_argument("--story-seconds", type=float, default=20.0)
    ap.add_argument(
        "--story-set",
        choices=("eval", "dev"),
        default="eval",
        help="eval: the stories reported; dev: others, for choosing settings",
    )
    ap.add_argument("--story-keep", type=float, default=None,
                    help="seconds of the previous part a part's first semantic window "
                    "keeps (GenerationOptions.story_keep; default: the model's)")  # fmt: skip
    ap.add_argument("--story-contrast", type=float, default=None,
                    help="guidance away from the other part's text "
                    "(GenerationOptions.story_contrast; default: the model's)")  # fmt: skip
    ap.add_argument(
        "--no-tune", action="store_true", help="no planned tune (GenerationOptions(tune=False))"
    )
    ap.add_argument("--temperature", default=None,
                    help="'semantic,coarse,fine' sampling temperatures (default: the "
                    "model's); pieces are kept apart per setting")  # fmt: skip
    ap.add_argument("--engine-clips", type=int, default=None, help="default: --prompts")
    ap.add_argument("--drafts", type=int, default=None,
                    help="coarse drafts per window (GenerationOptions.drafts; default: the "
                    "pipeline's, by length); pieces are kept apart per setting")  # fmt: skip
    ap.add_argument("--model", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2, help="torch threads per piece")
    ap.add_argument("--jobs", type=int, default=1,
                    help="pieces made at once, each in its own process (e.g. --jobs 2 "
                    "--threads 1 on 2 cores)")  # fmt: skip
    ap.add_argument("--out", type=Path, default=Path("out/songs_bench"))
    ap.add_argument(
        "--overlap",
        type=float,
        default=None,
        help="seconds the coarse windows overlap (default: the model's; 0: none)",
    )
    args = ap.parse_args()
    if args.one:
        return _one(json.loads(args.one))

    import soundfile as sf

    from musiclm.eval import songs as ev

    prompts = PROMPTS[: args.prompts]
    lengths = [float(x) for x in args.lengths.split(",") if x.strip()]  # "": stories only
    groups: dict[str, list[dict]] = {}
    base = {"model": args.model, "threads": args.threads, "overlap": args.overlap,
            "drafts": args.drafts}  # fmt: skip
    if args.temperature:
        from musiclm.cli import checks

        base["temperature"] = list(checks.temperatures("--temperature", args.temperature))
        args.out = args.out / f"t{args.temperature.replace(',', '_')}"
    if args.drafts is not None:  # pieces are kept apart per setting, as for temperatures
        args.out = args.out / f"drafts{args.drafts}"
    args.out.mkdir(parents=True, exist_ok=True)
    jobs = [base | {"text": text, "seconds": seconds, "seed": args.seed + i,
                    "out": str(args.out / f"p{i:02d}_{seconds:g}s")}
            for seconds in lengths for i, (text, _g) in enumerate(prompts)]  # fmt: skip
    if args.stories:
        jobs += story_jobs(args, base)
    _make_all(jobs, args.jobs)
    for seconds in lengths:
        rows, raws = [], []
        for i, (text, _g) in enumerate(prompts):
            job = base | {"text": text, "seconds": seconds, "seed": args.seed + i,
                          "out": str(args.out / f"p{i:02d}_{seconds:g}s")}  # fmt: skip
            facts = _piece(job)
            raw, sr = sf.read(Path(job["out"]).with_suffix(".wav"), dtype="float32")
            for y, into in ((_finished(raw, sr, facts["form"]), rows), (raw, raws)):
                into.append(figures(y, sr, facts["form"]) | {
                    "rtf": facts["wall"] / seconds, "rss_mb": facts["rss_mb"],
                    "seam": ev.seam_ratio(y, sr, facts["joins"]),
                })  # fmt: skip
            print(f"{seconds:g} s  {text[:40]:40s}  " + json.dumps(
                {k: (round(v, 2) if isinstance(v, float) else v) for k, v in rows[-1].items()}),
                file=sys.stderr)  # fmt: skip
        groups[f"model {seconds:g} s"] = rows
        groups[f"{seconds:g} s, model's own ending"] = raws

    # the prompts' genres (all of PROMPTS' when only stories are asked for)
    engine = _engine(args.out, args.engine_clips or args.prompts,
                     [g for _, g in prompts or PROMPTS])  # fmt: skip
    erows = []
    for r in engine:
        y, sr = sf.read(args.out / "engine" / r["audio"], dtype="float32")
        form = [{"name": "tail" if s["name"] == "ending" else s["name"], "start": s["start"],
                 "end": s["end"]} for s in r["sections"]]  # fmt: skip
        erows.append(figures(y, sr, form) | {"rtf": r["_rtf"]})
    groups["engine 60 s (ceiling)"] = erows
    print(table(groups))
    if {30.0, 300.0} <= set(lengths):
        a = max(r["rss_mb"] for r in groups["model 30 s"])
        b = max(r["rss_mb"] for r in groups["model 300 s"])
        print(f"\npeak RSS 300 s / 30 s: {b / a:.2f} (goal <= 1.5)")
    elif len(lengths) > 1:  # no 30 s pieces: the longest against the shortest
        lo, hi = min(lengths), max(lengths)
        a = max(r["rss_mb"] for r in groups[f"model {lo:g} s"])
        b = max(r["rss_mb"] for r in groups[f"model {hi:g} s"])
        print(f"\npeak RSS {hi:g} s / {lo:g} s: {b / a:.2f} (the goal is 300 s / 30 s <= 1.5)")

    if args.stories:
        print("\n" + stories(args, base, engine))


def story_jobs(args, base: dict) -> list[dict]:
    """The two-part stories' jobs: the second text from half-way."""
    T = args.story_seconds
    chosen = DEV_STORIES if args.story_set == "dev" else STORIES
    name = "dev" if args.story_set == "dev" else "story"
    keep = "" if args.story_keep is None else f"_keep{args.story_keep:g}"
    if args.story_contrast is not None:
        keep += f"_contrast{args.story_contrast:g}"
    if args.no_tune:
        keep += "_notune"
    return [base | {"story": [[0, ta], [T / 2, tb]], "seconds": T, "seed": args.seed + i,
                    "story_keep": args.story_keep, "story_contrast": args.story_contrast,
                    "tune": not args.no_tune,
                    "out": str(args.out / f"{name}{i:02d}_{T:g}s{keep}")}
            for i, (ta, tb) in enumerate(chosen[: args.stories])]  # fmt: skip


def stories(args, base: dict, engine: list[dict]) -> str:
    """Each story part's MuLan audio embedding against its own and the other part's
    text: generated stories, and engine clips spliced half and half (the ceiling)."""
    import soundfile as sf

    from musiclm.mulan.model import MuLan

    mulan = MuLan.from_pretrained()  # the bundled MuLan (the model's own)
    T = args.story_seconds

    def nearer(a: np.ndarray, b: np.ndarray, sr: int, ta: str, tb: str) -> tuple[float, float]:
        """Each half's cosine to its own text minus to the other's (> 0: nearer its own)."""
        ea, eb = mulan.embed_audio_batch([a, b], sr)
        t = np.asarray(mulan.embed_text([ta, tb]))
        return float(ea @ t[0] - ea @ t[1]), float(eb @ t[1] - eb @ t[0])

    ok = []
    for job in story_jobs(args, base):
        ta, tb = (p[1] for p in job["story"])
        facts = _piece(job)
        y, sr = sf.read(Path(job["out"]).with_suffix(".wav"), dtype="float32")
        y = _finished(y, sr, facts["form"])
        h = len(y) // 2
        ok.append(nearer(y[:h], y[h:], sr, ta, tb))

    def spliced(rows: list[dict], folder: Path, end: float | None) -> list:
        """Pairs of engine songs as two-part stories: a's first ``end / 2`` seconds, then
        b's up to ``end`` (None: to b's end)."""
        out = []
        for a, b in zip(rows[0::2], rows[1::2]):
            ya, sr = sf.read(folder / a["audio"], dtype="float32")
            yb, _ = sf.read(folder / b["audio"], dtype="float32")
            j = round(end * sr) if end else len(yb)
            out.append(nearer(ya[: j // 2], yb[j // 2 : j], sr, a["captions"][0], b["captions"][0]))
        return out

    ceiling = spliced(engine, args.out / "engine", T)
    # the same splice of engine songs as long as the story: b's second half holds its
    # ending, as a story's last part holds the piece's (the 60 s songs' 10-20 s do not)
    short = _engine(args.out, len(engine), [g for _, g in PROMPTS], T) if T < 60 else []
    ended = spliced(short, args.out / f"engine_{T:g}s", None)

    def fmt(rows):
        parts = sum((x > 0) + (y > 0) for x, y in rows)
        both = sum(x > 0 and y > 0 for x, y in rows)
        margin = float(np.mean([m for r in rows for m in r]))
        return (
            f"{parts}/{2 * len(rows)} parts nearer their own text, {both}/{len(rows)} stories "
            f"both (mean margin {margin:+.3f})"
        )

    line = (f"story ({T:g} s, two parts): model {fmt(ok)}; engine clips spliced (ceiling) "
            f"{fmt(ceiling) if ceiling else '–'}")  # fmt: skip
    if ended:
        line += f"; engine songs of {T:g} s spliced, the ending in the last part: {fmt(ended)}"
    return line


if __name__ == "__main__":
    main()
