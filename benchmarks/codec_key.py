"""Does the codec keep what the key estimate of ``musiclm eval`` reads?

For held-out engine clips with a major or minor key it estimates the key (chroma key
profiles, ``musiclm.eval.music.estimate_key``) of the original, of its codec round trip
(encode, decode, all levels) and of the round trip with narrow notches at every
multiple of the codec's frame rate (where its output carries steady tones), and prints
how often each matches the manifest's key. It also prints those tones' level: power in
+-2 Hz around each multiple against the bins 20 Hz either side, averaged over the clips.

    python benchmarks/codec_key.py --heldout out/heldout [--clips 30] [--codec DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from musiclm.codec.model import Codec
from musiclm.eval.music import estimate_key, normalise_key
from musiclm.io import read_audio


def notch(y: np.ndarray, sr: int, f0: float, width: float) -> np.ndarray:
    """Zero the spectrum within ``width`` Hz of every multiple of ``f0`` (whole clip)."""
    spec = np.fft.rfft(y)
    f = np.fft.rfftfreq(len(y), 1 / sr)
    spec[(np.abs(f - np.round(f / f0) * f0) < width) & (f > 0)] = 0
    return np.fft.irfft(spec, len(y)).astype(np.float32)


def band(power: np.ndarray, f: np.ndarray, at: float, half: float = 2.0) -> float:
    return float(power[(f > at - half) & (f < at + half)].sum()) + 1e-12


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--heldout", type=Path, required=True, help="held-out engine corpus")
    ap.add_argument("--clips", type=int, default=30)
    ap.add_argument("--codec", default=None, help="codec folder (default: bundled)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    codec = Codec.from_pretrained(args.codec)
    sr, frame_rate = codec.sample_rate, codec.frame_rate
    lines = (args.heldout / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    hits = {"original": 0, "codec": 0, "codec, notched +-1.5 Hz": 0}
    n, tones = 0, []
    for r in map(json.loads, lines[: args.clips]):
        if r.get("mode") not in ("major", "minor"):
            continue
        want = normalise_key(f"{r['key']} {r['mode']}")
        y, _ = read_audio(args.heldout / r["audio"], sr)
        z = codec.batch_decode(codec.batch_encode(torch.from_numpy(y)[None]))[0]
        z = z.float().numpy()[: len(y)]
        notched = notch(z, sr, frame_rate, 1.5)
        for name, audio in zip(hits, (y, z, notched)):
            hits[name] += estimate_key(audio, sr) == want
        f = np.fft.rfftfreq(len(z), 1 / sr)
        power = np.abs(np.fft.rfft(z)) ** 2
        tones.append([10 * np.log10(band(power, f, k * frame_rate)
                                     / (0.5 * band(power, f, k * frame_rate - 20)
                                        + 0.5 * band(power, f, k * frame_rate + 20)))
                      for k in range(1, 17)])  # fmt: skip
        n += 1
    print(f"## Key estimate through the codec: {n} held-out clips with a major/minor key\n")
    print("| audio | key right |\n|---|---:|")
    for name, k in hits.items():
        print(f"| {name} | {k} of {n} |")
    level = np.mean(tones, axis=0)
    per = ", ".join(f"{(k + 1) * frame_rate:g} Hz {v:.1f}" for k, v in enumerate(level))
    print(f"\ntones at multiples of {frame_rate:g} Hz in the codec output, dB above the "
          f"bins 20 Hz away (mean over clips): {per}")  # fmt: skip


if __name__ == "__main__":
    main()
