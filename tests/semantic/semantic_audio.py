"""Synthetic chord clips for the semantic tests (a module of its own: test files import it,
and ``conftest`` is not a unique module name across the suite)."""

import numpy as np

RATE = 22050  # not the analysis rate, so every clip is resampled
SECONDS = 4.0
CHORDS = {  # MIDI notes
    "C": (60, 64, 67),
    "F#m": (66, 69, 73),
    "Eb": (63, 67, 70),
    "A7": (57, 61, 64, 67),
}


def chord_clip(names, seconds=SECONDS, rate=RATE, seed=0):
    """Chords of ``names`` in turn, one per second, harmonic tones with a decay on each
    onset; returns (audio, per-second chord names)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(rate)) / rate
    out = []
    for i in range(int(seconds)):
        notes = CHORDS[names[i % len(names)]]
        y = sum(
            0.2 / h * np.sin(2 * np.pi * h * 440 * 2 ** ((n - 69) / 12) * t + rng.uniform(0, 6))
            for n in notes
            for h in (1, 2, 3)
        )
        out.append(y * np.exp(-2 * t))
    return np.concatenate(out).astype(np.float32), [
        names[i % len(names)] for i in range(int(seconds))
    ]
