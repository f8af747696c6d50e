"""``evaluate``: generate for a prompt file and measure adherence, quality and speed.

Per prompt and overall: MuLan Cycle Consistency (MCC, MusicLM §5: cosine of the text's and
the generated audio's MuLan embeddings) beside the same for shuffled prompts; tempo error
(librosa) where a tempo is stated; key match (chroma key profiles) where a key is stated;
genre and instrument agreement by classifiers trained on a corpus (their own held-out
accuracy reported beside); FAD between generated and held-out corpus audio on MuLan
embeddings; real-time factor and peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from musiclm.data.manifest import read_manifest, resolve
from musiclm.data.synth.genres import GENRES
from musiclm.errors import UserError
from musiclm.eval.attributes import AttributeClassifiers, genre_of
from musiclm.eval.families import FIGURES, family_of, family_rows
from musiclm.eval.music import (
    estimate_tempo,
    frechet_distance,
    key_fit,
    normalise_key,
    tempo_error,
)
from musiclm.io import read_audio

TEMPO_TOLERANCE = 0.08  # the goal: within 8 %


def read_prompts(path: str | os.PathLike) -> list[dict[str, Any]]:
    """A JSONL prompt file: one object a line with ``text`` and optional ``tempo``, ``key``,
    ``instruments``, ``genre``, ``id``."""
    prompts = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            p = json.loads(line)
        except ValueError as e:
            raise UserError(f"{path}:{n}: not JSON ({e})") from None
        if not isinstance(p, dict) or not str(p.get("text", "")).strip():
            raise UserError(f'{path}:{n}: each line needs a non-empty "text"')
        if "key" in p:
            try:
                p["key"] = normalise_key(str(p["key"]))
            except ValueError as e:
                raise UserError(f"{path}:{n}: {e}") from None
        p.setdefault("id", f"p{n:02d}")
        prompts.append(p)
    if not prompts:
        raise UserError(f"{path} holds no prompts")
    return prompts


def embed_corpus(mulan, corpus, max_clips: int, seconds: float = 10.0):
    """MuLan audio embeddings of the first ``max_clips`` clips: ``(array (N, D), records)``."""
    from tqdm.auto import tqdm

    records = read_manifest(corpus)[:max_clips]
    emb = [
        mulan.embed_audio(*read_audio(resolve(corpus, r.audio), seconds=seconds))
        for r in tqdm(records, desc=f"embed {Path(corpus).name}", unit="clip", leave=False)
    ]
    return np.stack(emb), records


@dataclass
class EvalReport:
    rows: list[dict[str, Any]] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)
    families: list[dict[str, Any]] = field(default_factory=list)  # eval.families.family_rows
    classifier_accuracy: dict[str, float] = field(default_factory=dict)


SAMPLE_SEED_STRIDE = 1000  # sample k of every prompt uses seeds from seed + 1000 k


def evaluate(
    model,
    prompts: list[dict[str, Any]],
    *,
    corpus: str | os.PathLike,
    heldout: str | os.PathLike,
    seconds: float = 10.0,
    seed: int = 0,
    samples: int = 1,
    options=None,
    batch: int = 4,
    max_clips: int = 1000,
    audio_dir: str | os.PathLike | None = None,
) -> EvalReport:
    """Generate ``seconds`` for every prompt (``batch`` at a time), ``samples`` times with
    different seeds, and measure every piece. One sample per prompt is a coin toss for
    pass/fail measures such as the tempo; the summary's shares are over all pieces, and
    with several samples the tempo share of each sample is listed too."""
    from musiclm.io import write_audio
    from musiclm.pipeline import GenerationOptions

    if samples < 1:
        raise UserError(f"samples must be at least 1, got {samples}")
    options = options or GenerationOptions()
    texts = [p["text"] for p in prompts]
    audio, wall = [], 0.0
    for k in range(samples):
        base = seed + SAMPLE_SEED_STRIDE * k
        for i in range(0, len(texts), batch):
            t0 = time.perf_counter()
            audio += list(model.generate(texts[i : i + batch], seconds, base + i, options))
            wall += time.perf_counter() - t0
    pieces = [(k, p) for k in range(samples) for p in prompts]
    sr = model.sample_rate
    if audio_dir is not None:
        for (k, p), y in zip(pieces, audio):
            write_audio(
                Path(audio_dir) / (f"{p['id']}.wav" if k == 0 else f"{p['id']}-{k}.wav"), y, sr
            )

    mulan = model.mulan
    text_emb = np.tile(mulan.embed_text(texts), (samples, 1))
    audio_emb = np.stack([mulan.embed_audio(y, sr) for y in audio])
    mcc = (text_emb * audio_emb).sum(1)
    # shuffled: each piece against the next prompt's text (within the same sample)
    rolled = np.concatenate([np.roll(t, 1, axis=0) for t in np.split(text_emb, samples)])
    shuffled = (rolled * audio_emb).sum(1) if len(texts) > 1 else mcc * 0

    train = embed_corpus(mulan, corpus, max_clips)
    held = embed_corpus(mulan, heldout, max_clips)
    terms = [t for p in prompts for t in p.get("instruments", [])]
    clf = AttributeClassifiers.fit(train, held, terms)

    report = EvalReport(classifier_accuracy=clf.accuracy)
    for (k, p), y, emb, m, s in zip(pieces, audio, audio_emb, mcc, shuffled):
        row: dict[str, Any] = {"id": p["id"]} | ({"sample": k} if samples > 1 else {})
        row |= {"text": p["text"], "mcc": float(m), "mcc_shuffled": float(s)}
        row |= _measure(p, y, sr, emb, clf)
        report.rows.append(row)

    def mean(key: str, rows=report.rows) -> float | None:
        xs = [r[key] for r in rows if r.get(key) is not None]
        return float(np.mean(xs)) if xs else None

    def within(key: str, rows=report.rows) -> float | None:
        xs = [r[key] <= TEMPO_TOLERANCE for r in rows if key in r]
        return float(np.mean(xs)) if xs else None

    report.summary = {
        "prompts": len(prompts),
        "samples": samples,
        "seconds": seconds,
        "seed": seed,
        "cfg": options.cfg,
        "temperature": " ".join(f"{t:g}" for t in options.resolved().temperature),
        "tune": options.tune,
        "mcc": mean("mcc"),
        "mcc_shuffled": mean("mcc_shuffled"),
        "tempo_within_8pct": within("tempo_err"),
        "tempo_within_8pct_x2": within("tempo_err_x2"),
    }
    if samples > 1 and report.summary["tempo_within_8pct"] is not None:
        report.summary["tempo_within_8pct_per_sample"] = " ".join(
            f"{within('tempo_err', [r for r in report.rows if r['sample'] == k]):.2f}"
            for k in range(samples)
        )
    report.summary |= {
        "key_match": mean("key_match"),
        "key_strength": mean("key_strength"),
        "genre_match": mean("genre_match"),
        "genre_chance": 1.0 / len(clf.genres) if clf.genres else None,
        "instruments_heard": mean("instruments_heard"),
        "fad_mulan": frechet_distance(audio_emb, held[0]) if len(audio) > 1 else None,
        "fad_train_vs_heldout": frechet_distance(train[0], held[0]),
        "real_time_factor": wall / (seconds * len(audio)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    report.families = family_rows(report.rows, TEMPO_TOLERANCE)
    return report


def _measure(p: dict[str, Any], y: np.ndarray, sr: int, emb, clf) -> dict[str, Any]:
    """Tempo, key, genre and instruments of one generated piece against its prompt."""
    row: dict[str, Any] = {}
    if p.get("tempo"):
        est = estimate_tempo(y, sr)
        row |= {
            "tempo": p["tempo"],
            "tempo_est": round(est, 1),
            "tempo_err": tempo_error(est, float(p["tempo"])),
            "tempo_err_x2": tempo_error(est, float(p["tempo"]), octave=True),
        }
    est_key, strength = key_fit(y, sr)
    row["key_strength"] = strength
    if p.get("key"):
        row |= {"key": p["key"], "key_est": est_key, "key_match": est_key == p["key"]}
    if p.get("genre"):
        row["family"] = family_of(genre_of(p["genre"], list(GENRES)))
        want = genre_of(p["genre"], clf.genres)
        got = clf.genre(emb)
        row |= {
            "genre": p["genre"],
            "genre_id": want,
            "genre_est": got,
            "genre_match": None if want is None else got == want,
        }
    heard = {t: clf.present(emb, t) for t in p.get("instruments", [])}
    judged = [v for v in heard.values() if v is not None]
    if judged:
        row["instruments_heard"] = float(np.mean(judged))
    return row


def to_markdown(report: EvalReport) -> str:
    """Per-prompt table, summary and classifier accuracy as Markdown."""

    def fmt(v: Any) -> str:
        if v is None:
            return "–"
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    cols = (
        ["id"]
        + (["sample"] if report.summary.get("samples", 1) > 1 else [])
        + [
            "mcc",
            "mcc_shuffled",
            "tempo",
            "tempo_est",
            "tempo_err",
            "key",
            "key_est",
            "key_strength",
            "genre_id",
            "genre_est",
            "instruments_heard",
        ]
    )
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(fmt(r.get(c)) for c in cols) + " |" for r in report.rows]
    out += ["", "| overall | value |", "|---|---:|"]
    out += [f"| {k} | {fmt(v)} |" for k, v in report.summary.items()]
    if report.families:
        fam_cols = ["family", "pieces", *FIGURES]
        out += ["", "| " + " | ".join(fam_cols) + " |", "|---|" + "---:|" * (len(fam_cols) - 1)]
        for f in report.families:
            name = f"{f['family']} (tradition)" if f["tradition"] else f["family"]
            out.append("| " + " | ".join([name] + [fmt(f[c]) for c in fam_cols[1:]]) + " |")
    out += ["", "| classifier (held-out corpus) | accuracy |", "|---|---:|"]
    out += [f"| {k} | {v:.3f} |" for k, v in sorted(report.classifier_accuracy.items())]
    return "\n".join(out) + "\n"
