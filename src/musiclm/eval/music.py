"""Measurements of generated audio by tools independent of the model: tempo, key, FAD.

- tempo: librosa's beat tracker; an error is the relative distance to the stated tempo,
  also reported allowing a factor of 2 (trackers often lock to half or double time);
- key: Krumhansl–Kessler key profiles correlated with the clip's mean CQT chroma
  (Krumhansl 1990), the best of 24 keys;
- FAD: the Fréchet distance between Gaussians fitted to two sets of embeddings (Kilgour
  et al. 2019), here on MuLan audio embeddings since VGGish cannot be downloaded.
"""

from __future__ import annotations

import warnings

import numpy as np

# the analysis shared with the pipeline, re-exported: eval scores with the same functions
from musiclm.analysis import KEY_RATE, MAJOR, MINOR, estimate_tempo, key_fit  # noqa: F401
from musiclm.theory import key_name, pitch_class


def tempo_error(estimated: float, stated: float, octave: bool = False) -> float:
    """Relative error ``|est - stated| / stated``; with ``octave``, the smallest error over
    the estimate x 0.5, x 1 and x 2."""
    factors = (0.5, 1.0, 2.0) if octave else (1.0,)
    return min(abs(estimated * f - stated) / stated for f in factors)


def estimate_key(audio: np.ndarray, sample_rate: int) -> str:
    """ "<tonic> major|minor" by key-profile correlation with the mean chroma."""
    return key_fit(audio, sample_rate)[0]


def key_strength(audio: np.ndarray, sample_rate: int) -> float:
    """How clearly the audio is in some key: the best key-profile correlation."""
    return key_fit(audio, sample_rate)[1]


def normalise_key(key: str) -> str:
    """'d major', 'A# Minor', 'C' -> 'D major', 'Bb minor', 'C major' (the spelling of
    :mod:`musiclm.theory`)."""
    parts = key.strip().split()
    if not parts:
        raise ValueError("empty key")
    try:
        tonic = pitch_class(parts[0])
    except ValueError:
        raise ValueError(f"unknown tonic in key {key!r}") from None
    mode = parts[1].lower() if len(parts) > 1 else "major"
    if mode not in ("major", "minor"):
        raise ValueError(f"unknown mode in key {key!r}")
    return key_name(tonic + 12 * (mode == "minor"))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to embeddings ``a (N, D)`` and ``b (M, D)``."""
    from scipy import linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 2 or len(b) < 2:
        raise ValueError("need at least 2 embeddings on each side")
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():  # few samples give a singular covariance: still defined
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def keyed_captions(corpus, n: int) -> tuple[list[dict], list[str], list[str]]:
    """The first ``n`` clips of an engine corpus whose key is major or minor and one of
    whose captions states that key: their manifest rows, their keys as :func:`key_fit`
    names them, and that caption of each (the first that states the key) — the
    benchmarks' held-out prompts with a known key. (Before 2026-12-07 the first caption
    was taken, which left the key unstated for about half the clips.)"""
    import json
    from pathlib import Path

    from musiclm.theory import key_index, parse_key

    picked, texts = [], []
    for line in (Path(corpus) / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r.get("mode") not in ("major", "minor") or len(picked) >= n:
            continue
        want = key_index(r["key"], r["mode"])
        stated = [c for c in r.get("captions", []) if parse_key(c) == want]
        if stated:
            picked.append(r)
            texts.append(stated[0])
    keys = [normalise_key(f"{r['key']} {r['mode']}") for r in picked]
    return picked, keys, texts
