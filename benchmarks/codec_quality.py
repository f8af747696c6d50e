"""Codec quality and speed on held-out engine clips, beside Opus with the same metric code.

For every bitrate the codec serves (1..levels RVQ levels), and for Opus (Debian
`opus-tools`: `opusenc --bitrate`) at the same and at twice the codec's bitrates, on the
same clips (a corpus the codec never saw: engine seed 777), it prints medians of:
spectral convergence (SC, headline), multi-resolution STFT distance (headline),
chroma similarity, onset-envelope correlation, SI-SNR and log-mel L1 (reported, but it
misleads: band-limited Opus scores worse than an unrelated clip). A row "unrelated clip"
(each clip against another clip) anchors the scale. Then encode+decode speed as a
real-time factor and peak RSS.

    python benchmarks/codec_quality.py [--model DIR] [--clips 24] [--seconds 5]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from musiclm.codec.losses import (
    chroma_similarity,
    mel_distance,
    mr_stft_distance,
    onset_correlation,
    si_snr,
    spectral_convergence,
)
from musiclm.codec.model import Codec
from musiclm.data.manifest import read_manifest, resolve
from musiclm.data.synth.engine import SynthConfig, synth_corpus
from musiclm.io import read_audio, resample, write_audio

METRICS = ("SC", "MR-STFT", "chroma", "onset r", "SI-SNR", "mel L1")


def metrics(ref: np.ndarray, est: np.ndarray, sr: int) -> dict[str, float]:
    n = min(len(ref), len(est))
    ref, est = ref[:n], est[:n]
    return {
        "SC": spectral_convergence(ref, est),
        "MR-STFT": mr_stft_distance(ref, est),
        "chroma": chroma_similarity(ref, est, sr),
        "onset r": onset_correlation(ref, est, sr),
        "SI-SNR": si_snr(ref, est),
        "mel L1": mel_distance(ref, est, sr),
    }


def opus_round_trip(audio: np.ndarray, sr: int, kbps: float, tmp: Path) -> np.ndarray:
    wav, opus, out = tmp / "in.wav", tmp / "x.opus", tmp / "out.wav"
    write_audio(wav, audio, sr)
    subprocess.run(
        ["opusenc", "--quiet", "--bitrate", f"{kbps:g}", "--hard-cbr", str(wav), str(opus)],
        check=True,
    )
    subprocess.run(["opusdec", "--quiet", "--rate", "48000", str(opus), str(out)], check=True)
    y, rate = read_audio(out)
    return resample(y, rate, sr)


def table(rows: dict[str, list[dict[str, float]]]) -> str:
    head = "| system | " + " | ".join(METRICS) + " |\n|---|" + "---:|" * len(METRICS) + "\n"
    body = ""
    for name, ms in rows.items():
        med = [statistics.median(m[k] for m in ms) for k in METRICS]
        body += f"| {name} | " + " | ".join(f"{v:.3f}" for v in med) + " |\n"
    return head + body


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--model", default=None, help="codec folder (default: the bundled codec)")
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument(
        "--data", type=Path, default=None, help="held-out corpus (default: engine seed 777)"
    )
    args = ap.parse_args()

    codec = Codec.from_pretrained(args.model)
    sr = codec.sample_rate
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        data = args.data or tmp / "heldout"
        if args.data is None:
            synth_corpus(
                data,
                args.clips,
                SynthConfig(seed=777, seconds=max(5.0, args.seconds), sample_rate=sr),
                workers=2,
                progress=False,
            )
        clips = [
            read_audio(resolve(data, r.audio), sr, seconds=args.seconds)[0]
            for r in read_manifest(data)[: args.clips]
        ]
        rows: dict[str, list[dict[str, float]]] = {}
        times = []
        for q in range(1, codec.levels + 1):
            kbps = codec.bitrate(q) / 1000
            name = f"codec {q} levels ({kbps:.1f} kbps)"
            rows[name] = []
            for y in clips:
                t0 = time.perf_counter()
                est = codec.decode(codec.encode(y, sr, n_levels=q))
                times.append((time.perf_counter() - t0, len(y) / sr))
                rows[name].append(metrics(y, est, sr))
        if shutil.which("opusenc"):
            for q in sorted({1, codec.levels // 2, codec.levels}):
                kbps = codec.bitrate(q) / 1000
                for k in (kbps, 2 * kbps):
                    rows[f"Opus {k:.1f} kbps"] = [
                        metrics(y, opus_round_trip(y, sr, k, tmp), sr) for y in clips
                    ]
        else:
            print("(opusenc not found: `apt-get install opus-tools` for the Opus baseline)")
        rows["unrelated clip"] = [
            metrics(y, clips[(i + 1) % len(clips)], sr) for i, y in enumerate(clips)
        ]
        print(f"## {len(clips)} held-out clips of {args.seconds:g} s at {sr} Hz (medians)\n")
        print(table(rows))
        full = [t for t, _ in times[-len(clips) :]]
        audio_s = sum(s for _, s in times[-len(clips) :])
        print(
            f"encode+decode at {codec.levels} levels: {audio_s / sum(full):.0f}x real time "
            f"(median {statistics.median(full) * 1000:.0f} ms per {args.seconds:g} s clip); "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
