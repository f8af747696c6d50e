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
        [--spectrograms docs/codec_spectrograms]

``--spectrograms DIR`` also draws, for the first clips, the original beside the codec at
its lowest and full bitrate and Opus at the same and twice the full bitrate.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from musiclm.codec.evaluate import OPUS_MIN_KBPS, evaluate, opus_round_trip, table
from musiclm.codec.model import Codec
from musiclm.data.manifest import read_manifest, resolve
from musiclm.data.synth.engine import SynthConfig, synth_corpus
from musiclm.io import read_audio
from musiclm.spectrogram import save_spectrograms


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
    ap.add_argument(
        "--spectrograms", type=Path, default=None, help="folder for side-by-side spectrogram PNGs"
    )
    ap.add_argument("--pictures", type=int, default=3, help="clips drawn with --spectrograms")
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
        if not shutil.which("opusenc"):
            print("(opusenc not found: `apt-get install opus-tools` for the Opus baseline)")
        rows = evaluate(codec, clips)
        times = []
        for y in clips:  # speed at the full bitrate
            t0 = time.perf_counter()
            codec.decode(codec.encode(y, sr))
            times.append((time.perf_counter() - t0, len(y) / sr))
        print(f"## {len(clips)} held-out clips of {args.seconds:g} s at {sr} Hz (medians)\n")
        print(table(rows))
        if args.spectrograms:
            draw(codec, clips[: args.pictures], args.spectrograms)
        full = [t for t, _ in times]
        audio_s = sum(s for _, s in times)
        print(
            f"encode+decode at {codec.levels} levels: {audio_s / sum(full):.0f}x real time "
            f"(median {statistics.median(full) * 1000:.0f} ms per {args.seconds:g} s clip); "
            f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )


def draw(codec: Codec, clips: list, folder: Path) -> None:
    """One PNG per clip: original, codec at 1 and all levels, Opus at 1x and 2x the bitrate."""
    sr, full = codec.sample_rate, codec.bitrate() / 1000
    for i, y in enumerate(clips):
        panels = {"original": y}
        for q in (1, codec.levels):
            panels[f"codec {q} level(s), {codec.bitrate(q) / 1000:g} kbps"] = codec.decode(
                codec.encode(y, sr, n_levels=q)
            )
        if shutil.which("opusenc"):
            for kbps in (full, 2 * full):
                if kbps >= OPUS_MIN_KBPS:
                    panels[f"Opus {kbps:g} kbps"] = opus_round_trip(y, sr, kbps)
        path = save_spectrograms(folder / f"clip{i}.png", panels, sr, title=f"held-out clip {i}")
        print(f"spectrograms -> {path}")


if __name__ == "__main__":
    main()
