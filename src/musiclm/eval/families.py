"""Genre families for the eval's per-family table; every under-represented tradition the
engine renders is a family of its own.

MusicLM's authors warn that their training data under-serves music outside the Western
mainstream (arXiv 2301.11325 §6); the per-family rows show where our model stands on
the traditions our corpus engine renders (Celtic, Afrobeat, Latin, Indian, Japanese,
Middle-Eastern, calypso) beside the broad Western families.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from musiclm.data.synth.genres import GENRES, UNDER_REPRESENTED

# Western families (engine genre ids); each tradition in UNDER_REPRESENTED is its own row.
FAMILIES: dict[str, tuple[str, ...]] = {
    "electronic": ("techno", "house", "drum_and_bass", "edm", "synthwave", "chiptune"),
    "hip hop and lo-fi": ("trap", "hip_hop", "lofi"),
    "rock and metal": ("rock", "metal", "punk"),
    "pop and disco": ("pop", "disco"),
    "jazz, blues, funk, reggae": ("jazz", "blues", "funk", "reggae", "bossa_nova"),
    "classical": ("baroque", "classical", "orchestral"),
    "ambient": ("ambient",),
    "folk and country": ("folk", "country"),
} | {GENRES[g].name: (g,) for g in UNDER_REPRESENTED}

_OF = {g: fam for fam, gs in FAMILIES.items() for g in gs}


def family_of(genre_id: str | None) -> str:
    """The family of an engine genre id; "other" for None or an unknown id."""
    return _OF.get(genre_id or "", "other")


def is_tradition(family: str) -> bool:
    """True for a family that is one of the engine's under-represented traditions."""
    return family in {GENRES[g].name for g in UNDER_REPRESENTED}


# the figures of the per-family table: (row key, how to aggregate)
FIGURES = ("mcc", "genre_match", "instruments_heard", "tempo_ok", "key_match", "key_strength")


def family_rows(rows: Iterable[dict[str, Any]], tolerance: float) -> list[dict[str, Any]]:
    """One summary row per family present in ``rows`` (eval rows with a ``family``):
    pieces, then the mean of each figure over the pieces that have it (None if none)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r.get("family") or "other", []).append(r)
    order = list(FAMILIES) + ["other"]
    out = []
    for fam in sorted(groups, key=order.index):
        rs = groups[fam]
        row: dict[str, Any] = {"family": fam, "tradition": is_tradition(fam), "pieces": len(rs)}
        for k in FIGURES:
            if k == "tempo_ok":
                xs = [r["tempo_err"] <= tolerance for r in rs if "tempo_err" in r]
            else:
                xs = [r[k] for r in rs if r.get(k) is not None]
            row[k] = float(np.mean(xs)) if xs else None
        out.append(row)
    return out
