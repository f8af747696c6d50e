"""Coverage report of a corpus: what it holds, in tables and PNG plots, and where it is biased.

The MusicLM paper (§6, broader impact) warns that a model inherits the biases of its
training data; this module measures ours. ``build_report`` reads one manifest and writes
``report.md`` (one table per distribution, plots linked), ``report.json`` (the same
numbers) and one PNG per main distribution. Real-world corpora lack most structured
fields (a MusicCaps manifest has only captions and aspects): a missing value is counted
as ``"unknown"`` and never stops the report.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

from musiclm.data.manifest import ClipRecord, manifest_path, read_manifest
from musiclm.errors import UserError
from musiclm.io import atomic_path, write_json_atomic, write_text_atomic

matplotlib.use("Agg")  # no display on servers; must precede the pyplot import
import matplotlib.pyplot as plt  # noqa: E402

UNKNOWN = "unknown"
# Genres of musical cultures that Western-centred corpora (MusicCaps included) under-represent.
UNDER_REPRESENTED = frozenset(
    {"celtic", "afrobeat", "latin", "indian", "japanese", "middle_eastern", "calypso"}
)
RARE_SHARE = 0.01  # a category under 1% of clips gets a warning ...
RARE_MIN_CLIPS = 200  # ... once the corpus is large enough for shares to mean something
TOP_ASPECTS = 30
TOP_INSTRUMENTS_PLOT = 40
DURATION_EDGES = (0, 10, 20, 30, 60, 120, 180, 300)  # seconds: clips 10 s .. songs 5 min

# (name, heading) in report order; `unit` is what a share is a share of.
SECTIONS = (
    ("source", "Data source"),
    ("genre", "Genre"),
    ("instrument", "Instruments (clips containing each)"),
    ("instrument_role", "Instrument roles (clips containing each)"),
    ("instrument_kind", "Drum vs pitched parts (clips containing each)"),
    ("tempo", "Tempo (bpm, 10-bpm bins)"),
    ("tempo_band", "Tempo bands"),
    ("key", "Key (tonic)"),
    ("mode", "Mode"),
    ("key_mode", "Key and mode"),
    ("meter", "Meter"),
    ("mood", "Mood words (clips containing each)"),
    ("duration", "Duration"),
    ("melody_source", "Melody source"),
    ("section", "Section names (clips containing each)"),
    ("captions_per_clip", "Captions per clip"),
    ("caption_words", "Caption length (words)"),
    ("aspect", f"Aspects (top {TOP_ASPECTS}, clips containing each)"),
)
# Categorical distributions checked for rare (< 1%) categories.
WARN_ON = "genre instrument instrument_role tempo_band key mode meter mood melody_source source"


@dataclass
class Report:
    """What :func:`build_report` made: the Markdown text, the numbers, the files written."""

    markdown: str
    stats: dict[str, Any]
    files: list[Path] = field(default_factory=list)


# ---------------------------------------------------------------------------- counting


def _label(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return text or UNKNOWN


def _known(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if k != UNKNOWN}


def _number(value: Any) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def count_values(values: Iterable[Any]) -> dict[str, int]:
    """Count labels (``None``/empty -> ``"unknown"``), sorted by count desc, then name."""
    counts = Counter(_label(v) for v in values)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def count_clips(per_clip: Iterable[Iterable[Any]]) -> dict[str, int]:
    """Count clips containing each label (a label counts once per clip); a clip with no
    labels counts as ``"unknown"``. Sorted like :func:`count_values`."""
    counts: Counter[str] = Counter()
    for labels in per_clip:
        counts.update({_label(v) for v in labels} or {UNKNOWN})
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def histogram(labels: Iterable[str], order: list[str]) -> dict[str, int]:
    """Count bin labels in ``order``, trimming empty bins at both ends; unknown last."""
    counts = Counter(labels)
    used = [i for i, b in enumerate(order) if counts[b]]
    out = {b: counts[b] for b in order[used[0] : used[-1] + 1]} if used else {}
    if counts[UNKNOWN]:
        out[UNKNOWN] = counts[UNKNOWN]
    return out


def collapse_melody_source(source: str | None) -> str:
    """``"music21:essenFolksong/han1.abc#12"`` -> ``"music21:essenFolksong"``: one label
    per corpus collection, not per tune."""
    return _label(_label(source).split("#", 1)[0].split("/", 1)[0])


def tempo_band(bpm: float | None) -> str:
    if bpm is None:
        return UNKNOWN
    if bpm < 80:
        return "slow (<80)"
    if bpm < 120:
        return "medium (80-120)"
    return "fast (120-150)" if bpm <= 150 else "very fast (>150)"


def _bin(x: float | None, width: int) -> str:
    if x is None:
        return UNKNOWN
    lo = int(x // width) * width
    return f"{lo}-{lo + width}"


def _duration_bin(seconds: float | None) -> str:
    if seconds is None:
        return UNKNOWN
    for lo, hi in zip(DURATION_EDGES[:-1], DURATION_EDGES[1:], strict=True):
        if seconds < hi:
            return f"{lo}-{hi} s"
    return f">={DURATION_EDGES[-1]} s"


def _summary(xs: list[float | None] | list[int]) -> dict[str, float] | None:
    known = [x for x in xs if x is not None]
    return (
        {"min": min(known), "max": max(known), "mean": sum(known) / len(known)} if known else None
    )


def _dist(counts: dict[str, int], total: int, unit: str = "clips") -> dict[str, Any]:
    return {"counts": counts, "total": total, "unit": unit}


def compute_distributions(records: list[ClipRecord]) -> dict[str, dict[str, Any]]:
    """Every distribution of the report: ``{name: {"counts", "total", "unit"}}``."""
    n = len(records)

    def one(get) -> dict[str, Any]:  # one label per clip
        return _dist(count_values(map(get, records)), n)

    def many(get) -> dict[str, Any]:  # clips containing each label
        return _dist(count_clips(map(get, records)), n)

    def tens(xs: list[float | None]) -> dict[str, int]:  # 10-wide bins from 0 to the max
        top = int(max((x for x in xs if x is not None), default=0))
        return histogram([_bin(x, 10) for x in xs], [_bin(b, 10) for b in range(0, top + 1, 10)])

    tempi = [_number(r.tempo) for r in records]
    words: list[float | None] = [len(str(c).split()) for r in records for c in r.captions]
    durations = [_duration_bin(_number(r.seconds)) for r in records]
    aspects = count_clips(
        [a.lower() for a in map(_label, r.aspects) if a != UNKNOWN] for r in records
    )
    return {
        "source": one(lambda r: r.source),
        "genre": one(lambda r: r.genre),
        "instrument": many(lambda r: r.instrument_names),
        "instrument_role": many(lambda r: [i.role for i in r.instruments]),
        "instrument_kind": many(lambda r: ["drum" if i.drum else "pitched" for i in r.instruments]),
        "tempo": _dist(tens(tempi), n),
        "tempo_band": _dist(count_values(map(tempo_band, tempi)), n),
        "key": one(lambda r: r.key),
        "mode": one(lambda r: r.mode),
        "key_mode": one(lambda r: f"{r.key} {r.mode}" if r.key and r.mode else None),
        "meter": one(lambda r: r.meter),
        "mood": many(lambda r: [m.lower() for m in r.mood]),
        "duration": _dist(histogram(durations, [_duration_bin(s) for s in DURATION_EDGES]), n),
        "melody_source": one(lambda r: collapse_melody_source(r.melody_source)),
        "section": many(lambda r: [s.name.lower() for s in r.sections]),
        "captions_per_clip": one(lambda r: len(r.captions)),
        "caption_words": _dist(tens(words), len(words), "captions"),
        # MusicCaps-like corpora carry only aspects; they stand in for the missing metadata.
        "aspect": _dist(dict(list(_known(aspects).items())[:TOP_ASPECTS]), n),
    }


def _norm_genre(genre: str) -> str:
    return genre.strip().lower().replace(" ", "_").replace("-", "_")


def bias_summary(
    dists: dict[str, dict[str, Any]], n: int, expected_instruments: list[str] | None = None
) -> dict[str, Any]:
    """Who is over- and under-represented: genre extremes, their ratio, the share of
    under-represented cultures, expected instruments that never occur, rare categories."""
    genres = {g: c for g, c in dists["genre"]["counts"].items() if g != UNKNOWN}
    ranked = sorted(genres.items(), key=lambda kv: (-kv[1], kv[0]))
    share = lambda c: round(100 * c / n, 2)  # noqa: E731
    rows = lambda items: [{"genre": g, "clips": c, "share": share(c)} for g, c in items]  # noqa: E731
    under = {g: c for g, c in ranked if _norm_genre(g) in UNDER_REPRESENTED}
    present = {name.lower() for name in dists["instrument"]["counts"] if name != UNKNOWN}
    missing = None
    if expected_instruments is not None:
        missing = [e for e in expected_instruments if e.strip().lower() not in present]
    warnings = []
    if n >= RARE_MIN_CLIPS:
        for name in WARN_ON.split():
            for value, c in dists[name]["counts"].items():
                if value != UNKNOWN and c / n < RARE_SHARE:
                    warnings.append(
                        f"{name} '{value}' is in only {c} of {n} clips ({100 * c / n:.1f}%): "
                        "too few for a model to learn it well."
                    )
    return {
        "most_represented": rows(ranked[:3]),
        "least_represented": rows(ranked[::-1][:3]),
        "genre_ratio": round(ranked[0][1] / ranked[-1][1], 3) if ranked else None,
        "under_represented_cultures": {
            "clips": sum(under.values()),
            "share": share(sum(under.values())),
            "genres": under,
        },
        "missing_instruments": missing,
        "warnings": warnings,
    }


# ---------------------------------------------------------------------------- plots


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:  # keeps ".png" so savefig picks the format
        fig.savefig(tmp, dpi=100)
    plt.close(fig)


def plot_bars(counts: dict[str, int], path: Path, title: str, *, top: int = 60) -> None:
    """Horizontal bars (long labels stay legible), largest on top; at most ``top`` bars."""
    items = list(_known(counts).items())[:top]
    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.28 * len(items)))
    ax.barh([k for k, _ in items][::-1], [v for _, v in items][::-1], color="tab:blue")
    ax.set(xlabel="clips", title=title)
    _save(fig, path)


def plot_histogram(counts: dict[str, int], path: Path, title: str, xlabel: str) -> None:
    items = list(_known(counts).items())
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(items) + 2), 4))
    ax.bar(range(len(items)), [v for _, v in items], color="tab:green")
    ax.set_xticks(range(len(items)), [k for k, _ in items], rotation=45, ha="right")
    ax.set(xlabel=xlabel, ylabel="clips", title=title)
    _save(fig, path)


def _pitch_class(key: str) -> int:
    base = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}.get(key[:1].upper())
    return 99 if base is None else (base + key.count("#") - key[1:].count("b")) % 12


def plot_key_mode(records: list[ClipRecord], path: Path) -> None:
    """Heat map of clips per (tonic, mode); tonics in chromatic order."""
    pairs = Counter((r.key.strip(), r.mode.strip()) for r in records if r.key and r.mode)
    keys = sorted({k for k, _ in pairs}, key=lambda k: (_pitch_class(k), k))
    modes = sorted({m for _, m in pairs}, key=lambda m: (-sum(pairs[k, m] for k in keys), m))
    grid = [[pairs[k, m] for m in modes] for k in keys]
    fig, ax = plt.subplots(figsize=(2.5 + 1.0 * len(modes), 1.5 + 0.35 * len(keys)))
    image = ax.imshow(grid, cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(range(len(modes)), modes, rotation=30, ha="right")
    ax.set_yticks(range(len(keys)), keys)
    top = max(max(row) for row in grid)
    for i, row in enumerate(grid):
        for j, c in enumerate(row):
            colour = "white" if c > top / 2 else "black"  # readable on dark and light cells
            ax.text(j, i, str(c), ha="center", va="center", fontsize=8, color=colour)
    ax.set_title("Clips per key and mode")
    fig.colorbar(image, ax=ax, label="clips")
    _save(fig, path)


def _write_plots(
    records: list[ClipRecord], dists: dict[str, dict[str, Any]], out: Path
) -> dict[str, Path]:
    """Write one PNG per main distribution that has known values; ``{name: path}``."""
    made: dict[str, Path] = {}

    def want(name: str, filename: str) -> Path | None:
        if not _known(dists[name]["counts"]):
            return None
        made[name] = out / filename
        return made[name]

    if p := want("genre", "genre.png"):
        plot_bars(dists["genre"]["counts"], p, "Clips per genre")
    if p := want("instrument", "instruments.png"):
        title = f"Clips containing each instrument (top {TOP_INSTRUMENTS_PLOT})"
        plot_bars(dists["instrument"]["counts"], p, title, top=TOP_INSTRUMENTS_PLOT)
    if p := want("tempo", "tempo.png"):
        plot_histogram(dists["tempo"]["counts"], p, "Tempo", "bpm")
    if p := want("key_mode", "key_mode.png"):
        plot_key_mode(records, p)
    if p := want("duration", "duration.png"):
        plot_histogram(dists["duration"]["counts"], p, "Clip duration", "seconds")
    if p := want("melody_source", "melody_sources.png"):
        plot_bars(dists["melody_source"]["counts"], p, "Clips per melody source")
    if not made.get("genre") and (p := want("aspect", "aspects.png")):
        plot_bars(dists["aspect"]["counts"], p, f"Top {TOP_ASPECTS} aspects")
    return made


# ---------------------------------------------------------------------------- markdown


def format_counts(counts: dict[str, int], total: int, *, label: str, unit: str = "clips") -> str:
    """A Markdown table ``label | unit | share %`` in the order of ``counts``."""
    rows = [f"| {label} | {unit} | share % |", "|---|---:|---:|"]
    for value, c in counts.items():
        text = value.replace("|", "\\|")
        rows.append(f"| {text} | {c} | {100 * c / total if total else 0:.1f} |")
    return "\n".join(rows)


def _bias_markdown(bias: dict[str, Any], n: int) -> list[str]:
    def genres(items: list[dict[str, Any]]) -> str:
        return ", ".join(f"{g['genre']} {g['share']:.1f}% ({g['clips']})" for g in items)

    if not bias["most_represented"]:
        lines = ["- Genre is not recorded in this corpus: see the aspects below."]
    else:
        under = bias["under_represented_cultures"]
        detail = ", ".join(f"{g} {c}" for g, c in under["genres"].items()) or "none"
        lines = [
            f"- Most represented genres: {genres(bias['most_represented'])}.",
            f"- Least represented genres: {genres(bias['least_represented'])}.",
            f"- Ratio of the largest to the smallest genre: {bias['genre_ratio']:.1f}.",
            f"- Under-represented cultures ({', '.join(sorted(UNDER_REPRESENTED))}): "
            f"{under['share']:.1f}% of clips ({under['clips']} of {n}; {detail}).",
        ]
    missing = bias["missing_instruments"]
    if missing is not None:
        lines.append(f"- Expected instruments never present: {', '.join(missing) or 'none'}.")
    lines += [f"- Warning: {w}" for w in bias["warnings"]]
    return lines


def _markdown(stats: dict[str, Any], dists: dict[str, Any], plots: dict[str, Path]) -> str:
    n, secs = stats["clips"], stats["seconds"] or {"min": 0, "max": 0, "mean": 0}
    lines = [
        f"# {stats['title']}",
        "",
        f"Manifest: `{stats['manifest']}`: **{n} clips**, **{stats['hours']:.2f} hours** "
        f"(clip length {secs['min']:.1f}-{secs['max']:.1f} s, mean {secs['mean']:.1f} s).",
        "",
        "## Bias summary",
        "",
        *_bias_markdown(stats["bias"], n),
    ]
    absent = []
    for name, heading in SECTIONS:
        d = dists[name]
        if not _known(d["counts"]):
            absent.append(name)
            continue
        lines += ["", f"## {heading}", ""]
        if name in plots:
            lines += [f"![{heading}]({plots[name].name})", ""]
        lines.append(format_counts(d["counts"], d["total"], label=name, unit=d["unit"]))
    if absent:
        lines += ["", f"Not recorded in this corpus (unknown for every clip): {', '.join(absent)}."]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------- entry point


def build_report(
    corpus: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    *,
    title: str | None = None,
    expected_instruments: list[str] | None = None,
) -> Report:
    """Measure a corpus and write ``report.md``, ``report.json`` and PNG plots.

    Args:
        corpus: a corpus folder holding ``manifest.jsonl``, or a manifest path.
        out_dir: where to write; default ``<corpus folder>/report/``.
        title: the report's heading; default names the corpus folder.
        expected_instruments: a reference list; names never found in the corpus are
            listed in the bias summary (case-insensitive).
    Raises:
        UserError: no manifest, an empty manifest, or an output folder we cannot write.
    """
    manifest = manifest_path(corpus)
    records = read_manifest(manifest)
    if not records:
        raise UserError(f"{manifest} holds no clips: nothing to report")
    out = Path(out_dir) if out_dir is not None else manifest.parent / "report"
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create report folder {out}: {e}") from None

    n = len(records)
    dists = compute_distributions(records)
    secs = [_number(r.seconds) for r in records]
    words = [len(str(c).split()) for r in records for c in r.captions]
    stats: dict[str, Any] = {
        "title": title or f"Coverage report: {manifest.parent.resolve().name}",
        "manifest": str(manifest),
        "clips": n,
        "hours": round(sum(s for s in secs if s is not None) / 3600, 4),
        "seconds": _summary(secs),
        "tempo": _summary([_number(r.tempo) for r in records]),
        "caption_words": _summary(words),
        "distributions": dists,
        "bias": bias_summary(dists, n, expected_instruments),
    }
    try:
        plots = _write_plots(records, dists, out)
        stats["plots"] = [p.name for p in plots.values()]
        markdown = _markdown(stats, dists, plots)
        write_text_atomic(out / "report.md", markdown)
        write_json_atomic(out / "report.json", stats)
    except OSError as e:
        raise UserError(f"cannot write the report to {out}: {e}") from None
    finally:
        plt.close("all")
    return Report(markdown, stats, [out / "report.md", out / "report.json", *plots.values()])
