"""MuLan text->audio retrieval on a held-out corpus, beside chance and a bag-of-words baseline.

For every clip of the held-out corpus, its first caption is the query and the clip is the
target; all clips of the corpus are the candidates. Printed (Markdown) and optionally
written as JSON:

- R@1, R@10, mean and median rank of the target, for MuLan, for a bag-of-words baseline
  and for chance (R@k = k / N, mean rank (N + 1) / 2);
- attribute retrieval: a short query per genre ("<genre> music"), per instrument
  ("music with <instrument>") and per tempo band ("<band> tempo"), scored over all clips
  by average precision (AP) and R-precision, beside the base rate (AP of a random order);
  zero-shot genre accuracy (each clip gets the genre whose query scores highest);
- MuLan Cycle Consistency (MCC, MusicLM §5): mean cosine between a caption's text
  embedding and its clip's audio embedding, on the real pairs and on shuffled pairs.

The baseline (needs --train): TF-IDF bag of words of captions -> ridge regression onto
MuLan's *audio* embeddings, fitted on the training corpus only (every paraphrase and an
aspect-list caption of every training clip); a query is mapped into the audio space and
ranked like MuLan's text embedding. It shares MuLan's audio tower and never sees held-out
captions, so it asks: does MuLan's text tower beat word counts?

    python benchmarks/mulan_retrieval.py --data HELDOUT --model RUN/final [--train CORPUS]
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

from musiclm.data.manifest import ClipRecord
from musiclm.io import write_json_atomic
from musiclm.mulan.model import MuLan
from musiclm.mulan.retrieval import average_precision, embed_corpus, retrieval_metrics

TEMPO_BANDS = ((80.0, "slow"), (105.0, "medium"), (128.0, "upbeat"), (math.inf, "fast"))
WORD = re.compile(r"[a-z0-9#']+")


# ---- the bag-of-words baseline ----------------------------------------------------------


class BowRidge:
    """TF-IDF (unigrams + bigrams, vocabulary and IDF of the training captions) -> ridge
    regression onto audio embeddings, then L2-normalised."""

    def __init__(self, alpha: float = 1.0, min_count: int = 2) -> None:
        self.alpha, self.min_count = alpha, min_count

    @staticmethod
    def _terms(text: str) -> list[str]:
        words = WORD.findall(text.lower())
        return words + [f"{a} {b}" for a, b in zip(words, words[1:])]

    def _features(self, texts: list[str]) -> np.ndarray:
        x = np.zeros((len(texts), len(self.vocab)), np.float64)
        for i, t in enumerate(texts):
            for term, n in Counter(self._terms(t)).items():
                j = self.vocab.get(term)
                if j is not None:
                    x[i, j] = 1.0 + math.log(n)
        x *= self.idf
        return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)

    def fit(self, texts: list[str], targets: np.ndarray) -> BowRidge:
        df = Counter(term for t in texts for term in set(self._terms(t)))
        kept = sorted(term for term, n in df.items() if n >= self.min_count)
        self.vocab = {term: j for j, term in enumerate(kept)}
        self.idf = np.array([math.log((1 + len(texts)) / (1 + df[t])) + 1 for t in kept])
        x = self._features(texts)
        gram = x.T @ x + self.alpha * np.eye(len(kept))
        self.w = np.linalg.solve(gram, x.T @ targets)  # (V, D)
        return self

    def embed(self, texts: list[str]) -> np.ndarray:
        y = self._features(texts) @ self.w
        return y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)


def training_pairs(records: list[ClipRecord], audio: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Every paraphrase and one aspect-list caption of every clip, with its clip's audio
    embedding (what MuLan's text tower saw in training, without the random subsets)."""
    texts, rows = [], []
    for i, r in enumerate(records):
        for c in [*r.captions, ", ".join(r.aspects)]:
            if c.strip():
                texts.append(c)
                rows.append(i)
    return texts, audio[rows]


# ---- attributes -------------------------------------------------------------------------


def genre_name(genre: str) -> str:
    try:
        from musiclm.data.synth.genres import get_genre

        return get_genre(genre).name
    except Exception:  # not an engine genre (a real corpus): use the label itself
        return genre.replace("_", " ")


def tempo_band(bpm: float) -> str:
    return next(word for upper, word in TEMPO_BANDS if bpm < upper)


def attribute_sets(records: list[ClipRecord], min_clips: int) -> dict[str, dict[str, list]]:
    """{table: {query text: [bool per clip]}} for genres, instruments and tempo bands."""
    tables: dict[str, dict[str, list]] = {"genre": {}, "instrument": {}, "tempo": {}}
    for g in sorted({r.genre for r in records if r.genre}):
        tables["genre"][f"{genre_name(g)} music"] = [r.genre == g for r in records]
    names = Counter(n for r in records for n in set(r.instrument_names))
    for name in sorted(n for n, c in names.items() if c >= min_clips):
        tables["instrument"][f"music with {name}"] = [name in r.instrument_names for r in records]
    for _, band in TEMPO_BANDS:
        hits = [r.tempo is not None and tempo_band(r.tempo) == band for r in records]
        if any(hits):
            tables["tempo"][f"{band} tempo"] = hits
    return tables


def attribute_scores(query_emb: np.ndarray, audio: np.ndarray, relevant: np.ndarray) -> dict:
    scores = audio @ query_emb
    r = int(relevant.sum())
    top = np.argsort(-scores, kind="stable")[:r]
    return {
        "clips": r,
        "AP": average_precision(scores, relevant),
        "R-precision": float(relevant[top].mean()),
        "base rate": float(relevant.mean()),
    }


# ---- output -----------------------------------------------------------------------------


def table(headers: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def retrieval_section(results: dict, text, audio, queries, model, args) -> BowRidge | None:
    """Caption -> clip retrieval for MuLan, the baseline (with --train) and chance."""
    results["retrieval"]["MuLan"] = m = retrieval_metrics(text @ audio.T)
    bow = None
    if args.train is not None:
        train_records, train_audio = embed_corpus(model, args.train)
        texts, targets = training_pairs(train_records, train_audio)
        bow = BowRidge(args.alpha).fit(texts, targets)
        results["retrieval"]["BoW ridge"] = retrieval_metrics(bow.embed(queries) @ audio.T)
        results["baseline"] = (
            f"TF-IDF uni+bigrams ({len(bow.vocab)} terms) -> ridge (alpha {args.alpha}) onto "
            f"MuLan audio embeddings, fitted on {len(texts)} captions of {len(train_records)} "
            f"clips of {args.train}"
        )
    chance = m["chance mean rank"]  # also the median rank of a random order
    results["retrieval"]["chance"] = {
        "R@1": m["chance R@1"], "R@10": m["chance R@10"], "mean rank": chance,
        "median rank": chance,
    }  # fmt: skip
    print(f"## Text -> audio retrieval: {len(queries)} held-out clips, first caption as query\n")
    cols = ["R@1", "R@10", "mean rank", "median rank"]
    rows = [[k, *(v[c] for c in cols)] for k, v in results["retrieval"].items()]
    print(table(["method", *cols], rows))
    if bow is not None:
        print(f"\nBaseline: {results['baseline']}.")
    return bow


def attribute_section(results: dict, records, audio, model, bow, min_clips: int) -> None:
    """One table per attribute kind; zero-shot genre accuracy."""
    results["attributes"] = {}
    n = len(records)
    for kind, sets in attribute_sets(records, min_clips).items():
        if not sets:
            continue
        qs = list(sets)
        q_mulan = model.embed_text(qs)
        q_bow = bow.embed(qs) if bow is not None else None
        rows, out = [], {}
        for i, q in enumerate(qs):
            rel = np.array(sets[q])
            s = attribute_scores(q_mulan[i], audio, rel)
            if q_bow is not None:
                s["BoW AP"] = attribute_scores(q_bow[i], audio, rel)["AP"]
            out[q] = s
            rows.append([q, s["clips"], s["AP"], s["R-precision"], s.get("BoW AP", "-"),
                         s["base rate"]])  # fmt: skip
        mean = {k: float(np.mean([s[k] for s in out.values()])) for k in out[qs[0]]}
        rows.append(["**mean**", "", mean["AP"], mean["R-precision"], mean.get("BoW AP", "-"),
                     mean["base rate"]])  # fmt: skip
        results["attributes"][kind] = {**out, "mean": mean}
        print(f"\n## Attribute retrieval: {kind} (query over all {n} clips)\n")
        heads = ["query", "clips", "MuLan AP", "MuLan R-prec", "BoW AP", "base rate"]
        print(table(heads, rows))
        if kind == "genre":
            truth = np.array([[sets[q][j] for q in qs] for j in range(n)])  # (clips, genres)
            pick = (audio @ q_mulan.T).argmax(1)
            acc = float(truth[np.arange(n), pick].mean())
            majority = float(truth.sum(0).max() / n)
            results["zero-shot genre accuracy"] = {"MuLan": acc, "majority class": majority}
            print(f"\nZero-shot genre accuracy: MuLan {acc:.3f}, majority class {majority:.3f}")


def mcc_section(results: dict, text: np.ndarray, audio: np.ndarray, seed: int) -> None:
    """MuLan Cycle Consistency on real pairs and on shuffled pairs."""
    perm = np.random.default_rng(seed).permutation(len(text))
    shuffled = (text[perm] * audio[np.roll(perm, 1)]).sum(1)  # every text with another clip
    results["MCC"] = {
        "real pairs": float((text * audio).sum(1).mean()),
        "shuffled pairs": float(shuffled.mean()),
    }
    print("\n## MuLan Cycle Consistency (mean text-audio cosine)\n")
    print(table(["pairs", "MCC"], [[k, v] for k, v in results["MCC"].items()]))


def token_section(results: dict, model, records, text, audio, seed: int) -> None:
    """How far the conditioning tokens of a caption agree with those of its audio, and
    with those of another caption of the same clip, level by level (the stages train on
    audio or caption tokens and are prompted with text tokens), beside shuffled pairs:
    levels that agree no better than chance only add noise."""
    t, a = model.tokens(text), model.tokens(audio)  # (N, levels)
    perm = np.random.default_rng(seed).permutation(len(t))
    real = (t == a).mean(0)
    shuffled = (t[perm] == a[np.roll(perm, 1)]).mean(0)
    prefix = [(t[:, : k + 1] == a[:, : k + 1]).all(1).mean() for k in range(t.shape[1])]
    pairs = [(i, r.captions[1]) for i, r in enumerate(records) if len(r.captions) > 1]
    para = np.full(t.shape[1], np.nan)
    if pairs:
        other = model.tokens(model.embed_text([c for _, c in pairs]))
        para = (t[[i for i, _ in pairs]] == other).mean(0)
    results["tokens"] = {
        "real": real.tolist(), "shuffled": shuffled.tolist(), "prefix_real": prefix,
        "paraphrase": para.tolist(),
    }  # fmt: skip
    print("\n## Conditioning tokens per RVQ level: a caption vs. its audio, vs. a paraphrase\n")
    rows = [[k + 1, real[k], shuffled[k], prefix[k], para[k]] for k in range(t.shape[1])]
    heads = ["level", "text = audio", "shuffled", "levels 1..k all equal", "text = paraphrase"]
    print(table(heads, rows))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data", type=Path, required=True, help="held-out corpus folder")
    ap.add_argument("--model", default=None, help="MuLan folder (default: the bundled MuLan)")
    ap.add_argument(
        "--train", type=Path, default=None, help="training corpus, for the bag-of-words baseline"
    )
    ap.add_argument("--max-clips", type=int, default=None, help="use the first N clips only")
    ap.add_argument("--min-clips", type=int, default=2, help="instruments in fewer clips: skip")
    ap.add_argument("--alpha", type=float, default=1.0, help="ridge penalty of the baseline")
    ap.add_argument("--seed", type=int, default=0, help="seed of the shuffled pairs (MCC)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()

    model = MuLan.from_pretrained(args.model)
    records, audio = embed_corpus(model, args.data, max_clips=args.max_clips)
    keep = [i for i, r in enumerate(records) if any(c.strip() for c in r.captions)]
    records, audio = [records[i] for i in keep], audio[keep]
    queries = [next(c for c in r.captions if c.strip()) for r in records]
    text = model.embed_text(queries)
    results: dict = {"clips": len(records), "model": str(args.model or "bundled"), "retrieval": {}}
    bow = retrieval_section(results, text, audio, queries, model, args)
    attribute_section(results, records, audio, model, bow, args.min_clips)
    mcc_section(results, text, audio, args.seed)
    token_section(results, model, records, text, audio, args.seed)
    if args.json is not None:
        write_json_atomic(args.json, results)
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
