"""Genre and instrument classifiers on MuLan audio embeddings, trained on a corpus.

They judge whether generated audio has the genre and instruments its prompt asked for,
with their own accuracy on a held-out corpus reported beside, so a reader knows how far
to trust them. Logistic regression (scikit-learn) on the 128-d embeddings: simple, fast
on a CPU, and hard to overfit with a few thousand clips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from musiclm.data.manifest import ClipRecord

MIN_CLIPS = 10  # a label needs this many positive (and negative) training clips


def words(text: str) -> str:
    """Lowercase, non-alphanumerics to single spaces: 'Lo-fi' -> 'lo fi'."""
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def genre_of(name: str, known: list[str]) -> str | None:
    """Map a prompt's genre name onto a corpus genre id ('drum and bass' -> 'drum_and_bass',
    'lo-fi' -> 'lofi', 'cinematic' -> 'orchestral'), or None."""
    from musiclm.data.synth.genres import GENRES

    w = words(name)
    for g in known:
        display = words(GENRES[g].name) if g in GENRES else words(g)
        if w in (words(g), words(g).replace(" ", ""), display) or w.replace(" ", "") == g:
            return g
    for g in known:
        display = words(GENRES[g].name) if g in GENRES else words(g)
        if re.search(rf"\b{re.escape(w)}\b", display):
            return g
    return None


def instrument_text(record: ClipRecord) -> str:
    """What a clip is known to contain, as searchable words: instrument names and aspects."""
    names = [i.name for i in record.instruments] + list(record.aspects)
    return " | ".join(words(n) for n in names)


def has_instrument(record: ClipRecord, term: str) -> bool:
    return re.search(rf"\b{re.escape(words(term))}\b", instrument_text(record)) is not None


@dataclass
class AttributeClassifiers:
    """A genre classifier and one present/absent classifier per instrument term."""

    genres: list[str] = field(default_factory=list)
    genre_model: object | None = None
    instruments: dict[str, object] = field(default_factory=dict)
    accuracy: dict[str, float] = field(default_factory=dict)  # held-out, per classifier

    @classmethod
    def fit(
        cls,
        train: tuple[np.ndarray, list[ClipRecord]],
        heldout: tuple[np.ndarray, list[ClipRecord]],
        terms: list[str],
    ) -> AttributeClassifiers:
        """Fit on ``(embeddings (N, D), records)``; score on the held-out pair."""
        from sklearn.linear_model import LogisticRegression

        (x, recs), (hx, hrecs) = train, heldout
        out = cls()
        labels = [r.genre for r in recs]
        counts = {g: labels.count(g) for g in set(labels) if g}
        out.genres = sorted(g for g, n in counts.items() if n >= MIN_CLIPS)
        keep = [i for i, g in enumerate(labels) if g in out.genres]
        if len(out.genres) >= 2:
            out.genre_model = LogisticRegression(max_iter=2000, C=10.0).fit(
                x[keep], [labels[i] for i in keep]
            )
            hk = [i for i, r in enumerate(hrecs) if r.genre in out.genres]
            if hk:
                pred = out.genre_model.predict(hx[hk])
                out.accuracy["genre"] = float(np.mean(pred == [hrecs[i].genre for i in hk]))
        for term in sorted(set(terms)):
            y = np.array([has_instrument(r, term) for r in recs])
            if y.sum() < MIN_CLIPS or (~y).sum() < MIN_CLIPS:
                continue
            model = LogisticRegression(max_iter=2000, C=10.0, class_weight="balanced").fit(x, y)
            out.instruments[term] = model
            hy = np.array([has_instrument(r, term) for r in hrecs])
            if hy.any() and (~hy).any():  # balanced accuracy: the mean of the two recalls
                pred = model.predict(hx).astype(bool)
                acc = 0.5 * (pred[hy].mean() + (~pred[~hy]).mean())
                out.accuracy[f"instrument: {term}"] = float(acc)
        return out

    def genre(self, embedding: np.ndarray) -> str | None:
        if self.genre_model is None:
            return None
        return str(self.genre_model.predict(embedding[None])[0])

    def present(self, embedding: np.ndarray, term: str) -> bool | None:
        """Whether the classifier hears ``term``; None when the corpus cannot tell."""
        model = self.instruments.get(term)
        return None if model is None else bool(model.predict(embedding[None])[0])
