"""Codec quality and speed on held-out engine clips: several codecs side by side, beside
Opus 6 and 12 kbps and the unquantised magnitude + Griffin-Lim ceiling, one metric code.

On the same clips (a corpus no codec saw: engine seed 777), for every codec given with
``--model`` (repeatable; default: the bundled codec) at every number of RVQ levels, it
prints medians of: frame-wise chroma correlation ("chroma r", headline), note F1 of a
basic-pitch transcription against the clip's MIDI beside the original's own F1 (when
basic-pitch is installed: ``pip install 'musiclm[notes]'``), spectral convergence (SC),
multi-resolution STFT distance, log-mel L1, chroma cosine, onset correlation, SI-SNR.
Rows "magnitude + Griffin-Lim" invert the unquantised STFT magnitude of the original at
the codec's STFT: what phase recovery alone costs. Then encode and decode speed (real-time
factors, phase recovery included) and peak RSS.

    python benchmarks/codec_quality.py [--model DIR ...] [--clips 24] [--seconds 5]
        [--vocoder NAME=DIR ...] [--no-notes] [--spectrograms docs/codec_spectrograms]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from musiclm.codec.model import Codec
from musiclm.codec.vocoder import VocodedCodec, Vocoder
from musiclm.data.manifest import read_manifest, resolve
from musiclm.data.synth.engine import SynthConfig, synth_corpus
from musiclm.eval.codec import OPUS_KBPS, evaluate, metrics, opus_round_trip, table
from musiclm.io import read_audio
from musiclm.spectrogram import save_spectrograms


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--model", action="append", default=None,
        help="codec folder, repeatable; NAME=DIR names its rows (default: the bundled codec)",
    )  # fmt: skip
    ap.add_argument(
        "--vocoder", action="append", default=[],
        help="NAME=DIR: a learned vocoder (`musiclm codec train-vocoder`) decoding the first "
        "--model's codes instead of Griffin-Lim, scored as a codec of its own (repeatable)",
    )  # fmt: skip
    ap.add_argument("--clips", type=int, default=24)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument(
        "--data", type=Path, default=None, help="held-out corpus (default: engine seed 777)"
    )
    ap.add_argument("--no-notes", action="store_true", help="skip note F1 (basic-pitch)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (2 = this CPU)")
    ap.add_argument(
        "--spectrograms", type=Path, default=None, help="folder for side-by-side spectrogram PNGs"
    )
    ap.add_argument("--pictures", type=int, default=3, help="clips drawn with --spectrograms")
    args = ap.parse_args()
    if args.clips < 1 or not args.seconds > 0:
        ap.error("--clips must be >= 1 and --seconds > 0")
    torch.set_num_threads(args.threads)

    codecs = {}
    for spec in args.model or [None]:
        name, _, path = spec.rpartition("=") if spec else ("bundled", "", None)
        codecs[name or Path(path).name] = Codec.from_pretrained(path)
    first = next(iter(codecs.values()))
    for spec in args.vocoder:
        name, _, path = spec.rpartition("=")
        codecs[name or Path(path).name] = VocodedCodec(first, Vocoder.from_pretrained(path))
    sr = first.sample_rate
    with tempfile.TemporaryDirectory() as tmpdir:
        data = args.data or Path(tmpdir) / "heldout"
        if args.data is None:
            cfg = SynthConfig(seed=777, seconds=max(5.0, args.seconds), sample_rate=sr)
            synth_corpus(data, args.clips, cfg, workers=2, progress=False)
        recs = read_manifest(data)[: args.clips]
        clips = [read_audio(resolve(data, r.audio), sr, seconds=args.seconds)[0] for r in recs]
        notes = None
        if not args.no_notes:
            from musiclm.eval import notes as nt

            if nt.available() and all(r.midi for r in recs):
                notes = [nt.midi_notes(resolve(data, r.midi), args.seconds) for r in recs]
            else:
                print("(note F1 skipped: needs basic-pitch and MIDI for every clip)")
    if not shutil.which("opusenc"):
        print("(opusenc not found: `apt-get install opus-tools` for the Opus baseline)")

    print(f"## {len(clips)} held-out clips of {args.seconds:g} s at {sr} Hz (medians)\n")
    for i, (name, codec) in enumerate(codecs.items()):
        rows = evaluate(
            codec, clips, opus=i == 0, opus_kbps=OPUS_KBPS, notes=notes, original=i == 0
        )
        if isinstance(codec, Codec) and codec.config.family == "spectral":
            rows |= _ceiling(codec, clips)
        print(f"### {name}: {codec.version}, {codec.config.family}, "
              f"{sum(p.numel() for p in codec.parameters()) / 1e6:.1f}M parameters\n")  # fmt: skip
        print(table(rows))
        enc, dec = _speed(codec, clips)
        print(f"speed at {codec.levels} levels: encode {enc:.0f}x, decode {dec:.0f}x, "
              f"encode+decode {1 / (1 / enc + 1 / dec):.0f}x real time\n")  # fmt: skip
        if args.spectrograms:
            draw(codec, name, clips[: args.pictures], args.spectrograms, with_opus=i == 0)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _ceiling(codec: Codec, clips: list[np.ndarray]) -> dict[str, list[dict]]:
    """The original's unquantised magnitude at the codec's STFT, inverted as it decodes."""
    dec = codec.decoder
    sr = codec.sample_rate
    rows = []
    for y in clips:
        x = codec._pad(torch.from_numpy(np.ascontiguousarray(y))[None])
        with torch.no_grad():
            est = dec.synthesize(codec.encoder.log_magnitude(x))[0].numpy()
        rows.append(metrics(y, est, sr))
    return {f"magnitude + Griffin-Lim {dec.gla_iters} (no codec)": rows}


def _speed(codec: Codec, clips: list[np.ndarray]) -> tuple[float, float]:
    """Median real-time factors of encode and of decode at all levels."""
    sr, enc, dec = codec.sample_rate, [], []
    codec.decode(codec.encode(clips[0], sr))  # warm-up
    for y in clips:
        t0 = time.perf_counter()
        codes = codec.encode(y, sr)
        t1 = time.perf_counter()
        codec.decode(codes)
        t2 = time.perf_counter()
        enc.append(len(y) / sr / (t1 - t0))
        dec.append(len(y) / sr / (t2 - t1))
    return statistics.median(enc), statistics.median(dec)


def draw(codec: Codec, name: str, clips: list, folder: Path, with_opus: bool) -> None:
    """One PNG per clip: original, codec at 1 and all levels, Opus 6 and 12 kbps."""
    sr = codec.sample_rate
    for i, y in enumerate(clips):
        panels = {"original": y}
        for q in (1, codec.levels):
            panels[f"{name} {q} level(s), {codec.bitrate(q) / 1000:g} kbps"] = codec.decode(
                codec.encode(y, sr, n_levels=q)
            )
        if with_opus and shutil.which("opusenc"):
            for kbps in OPUS_KBPS:
                panels[f"Opus {kbps:g} kbps"] = opus_round_trip(y, sr, kbps)
        path = save_spectrograms(
            folder / f"{name}_clip{i}.png", panels, sr, title=f"held-out clip {i}"
        )
        print(f"spectrograms -> {path}")


if __name__ == "__main__":
    main()
