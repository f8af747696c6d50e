"""Which pitch tracker turns a hum into melody ids? Accuracy against the score, and speed.

The clips, made once into ``--set`` (WAV + the true ids at 25 Hz, ``truth.npz``):

- *whistle alone*, *hum alone*: the melody part of the engine's ``only whistling`` /
  ``only humming`` clips (seed 88, ``--whistle`` / ``--hum`` corpora) rendered by itself
  with FluidSynth in the clip's own instrument (General MIDI whistle / voice oohs);
- *solo instrument*: the hummed tunes played alone on violin, flute, alto sax, trumpet
  or clarinet (in turn);
- *sine + vibrato*: random tunes of sine tones (``musiclm.eval.melody.sine_melody``),
  vibrato 40 cents, each tune 0-45 cents off A440 (a singer out of tune);
- *whistle clip*, *hum clip*: the engine's clips as they are, with the whistled or
  hummed harmony, bass and drums under the tune: harder than a user's hum.

Truth comes from the MIDI (``musiclm.melody.melody_from_midi``: the melody part, its
highest note at each frame's centre). Every tracker's frames go through the same
``musiclm.melody.ids_from_f0`` (tuning removed, majority per 40 ms, a 3-wide mode
filter) and the same loudness gate (``musiclm.melody.loud``), so the trackers differ
only in their f0 and voicing. Scores per kind: pitch-class accuracy on the truth's
voiced frames (a frame the tracker calls a rest counts wrong), voicing precision and
recall; speed is audio seconds per CPU second on one thread (CPU time, so a loaded
machine does not skew it; 10 s clips, the model loaded before timing).

The trackers live in two environments (basic-pitch pins an older numpy), so each run
scores the trackers that import and merges its rows into ``--results``; the table
printed is every row in that file::

    musiclm data synth out/bench_mel/whistle -n 24 --seed 88 --arrangement "only whistling"
    musiclm data synth out/bench_mel/hum -n 24 --seed 88 --arrangement "only humming"
    python benchmarks/melody_trackers.py --whistle out/bench_mel/whistle --hum out/bench_mel/hum \\
        --set out/bench_mel/set --results out/bench_mel/trackers.json \\
        --trackers pesto crepe-tiny pyin
    /path/to/other/venv/bin/python benchmarks/melody_trackers.py --set out/bench_mel/set \\
        --results out/bench_mel/trackers.json --trackers basic-pitch
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from musiclm.conditions import MELODY_PC0
from musiclm.io import read_audio, write_audio, write_json_atomic
from musiclm.melody import ids_from_f0, loud, melody_from_midi

KINDS = (
    "whistle alone",
    "hum alone",
    "solo instrument",
    "sine + vibrato",
    "whistle clip",
    "hum clip",
)
SOLO_PROGRAMS = {"violin": 40, "flute": 73, "alto sax": 65, "trumpet": 56, "clarinet": 71}
Track = Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


# ---------------------------------------------------------------- the clip set


def make_set(out: Path, whistle: Path, hum: Path, clips: int, seconds: float) -> None:
    """Write the clip set: ``out/<kind>/<n>.wav`` and ``out/truth.npz`` (ids per clip)."""
    from musiclm.eval.melody import render_melody_part, sine_melody

    truth: dict[str, np.ndarray] = {}
    sr = 24000
    solo = list(SOLO_PROGRAMS.items())
    for i in range(clips):
        mids = {c: sorted((c / "midi").rglob("*.mid"))[i] for c in (whistle, hum)}
        audio_of = {c: c / "audio" / mids[c].parent.name / (mids[c].stem + ".flac") for c in mids}
        name, program = solo[i % len(solo)]
        made = {
            "whistle alone": (render_melody_part(mids[whistle], sr), mids[whistle]),
            "hum alone": (render_melody_part(mids[hum], sr), mids[hum]),
            "solo instrument": (render_melody_part(mids[hum], sr, program), mids[hum]),
            "whistle clip": (read_audio(audio_of[whistle], sr)[0], mids[whistle]),
            "hum clip": (read_audio(audio_of[hum], sr)[0], mids[hum]),
        }
        for kind, (audio, mid) in made.items():
            audio = np.pad(audio, (0, max(0, int(seconds * sr) - len(audio))))[: int(seconds * sr)]
            write_audio(out / kind / f"{i:03d}.wav", audio, sr)
            truth[f"{kind}/{i:03d}"] = melody_from_midi(mid, seconds)
        rng = np.random.default_rng(i)
        audio, ids = sine_melody(1000 + i, seconds, 22050, detune_cents=float(rng.uniform(0, 45)))
        write_audio(out / "sine + vibrato" / f"{i:03d}.wav", audio, 22050)
        truth[f"sine + vibrato/{i:03d}"] = ids
    np.savez(out / "truth.npz", **truth)


# ---------------------------------------------------------------- the trackers


def _pesto(hop_ms: float) -> Track:
    from musiclm.melody import track

    return lambda audio, sr: track(audio, sr, hop_ms)


def _crepe(model: str) -> Track:
    import sys

    from musiclm.melody import _TorchaudioStandIn

    # torchcrepe imports torchaudio only for its file loader; the stand-in as for PESTO
    stand_in = None
    try:
        import torchaudio  # noqa: F401
    except (ImportError, OSError):
        stand_in = sys.modules["torchaudio"] = _TorchaudioStandIn("torchaudio")
    try:
        import torchcrepe
    finally:
        if stand_in is not None and sys.modules.get("torchaudio") is stand_in:
            del sys.modules["torchaudio"]

    from musiclm.io import resample

    def track(audio: np.ndarray, sr: int):
        import torch

        y = torch.from_numpy(resample(audio, sr, 16000))[None]
        f0, periodicity = torchcrepe.predict(
            y, 16000, hop_length=160, fmin=50.0, fmax=2000.0, model=model,
            return_periodicity=True, batch_size=512, device="cpu",
        )  # fmt: skip
        periodicity = torchcrepe.filter.median(periodicity, 3)
        f0 = f0[0].numpy()
        # torchcrepe's README voices frames of periodicity above 0.21
        return np.arange(len(f0)) * 0.01, f0, periodicity[0].numpy() > 0.21

    return track


def _pyin() -> Track:
    import librosa

    from musiclm.io import resample

    def track(audio: np.ndarray, sr: int):
        y = resample(audio, sr, 16000)
        f0, voiced, _ = librosa.pyin(
            y, fmin=65.0, fmax=2100.0, sr=16000, frame_length=1024, hop_length=320
        )
        return np.arange(len(f0)) * 0.02, np.nan_to_num(f0), voiced

    return track


def _basic_pitch() -> Track:
    """basic-pitch's note posteriorgram (88 keys at ~86 Hz) read monophonically: the
    likeliest key where any passes its default frame threshold 0.3."""
    import onnxruntime as ort
    from basic_pitch import ICASSP_2022_MODEL_PATH
    from basic_pitch.inference import Model, predict

    onnx = Path(ICASSP_2022_MODEL_PATH).with_suffix(".onnx")
    model = Model(onnx)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    model.model = ort.InferenceSession(str(onnx), opts, providers=["CPUExecutionProvider"])

    def track(audio: np.ndarray, sr: int):
        import contextlib
        import io
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / "clip.wav"
            write_audio(path, audio, sr)
            with contextlib.redirect_stdout(io.StringIO()):
                out, _, _ = predict(path, model)
        note = out["note"]  # (frames, 88) from MIDI 21
        f0 = 440.0 * 2 ** ((note.argmax(1) + 21 - 69) / 12)
        return np.arange(len(note)) * 256 / 22050, f0, note.max(1) > 0.3

    return track


TRACKERS: dict[str, Callable[[], Track]] = {
    "pesto": lambda: _pesto(10.0),
    "pesto-20ms": lambda: _pesto(20.0),
    "crepe-tiny": lambda: _crepe("tiny"),
    "crepe-full": lambda: _crepe("full"),
    "pyin": _pyin,
    "basic-pitch": _basic_pitch,
}


# ---------------------------------------------------------------- scoring


def run_tracker(
    name: str, make: Callable[[], Track], set_dir: Path, clips: int
) -> dict[str, np.ndarray]:
    """Every clip's raw track (kept in ``set/tracks/<name>.npz``, so the scoring can change
    without running a tracker again) and the CPU seconds it took."""
    path = set_dir / "tracks" / f"{name}.npz"
    if path.exists():
        cached = dict(np.load(path))
        if int(cached["clips"]) >= clips:
            return cached
    track = make()
    out: dict[str, np.ndarray] = {}
    cpu = audio_s = 0.0
    track(np.zeros(16000, np.float32), 16000)  # warm up (lazy loads, JIT) before timing
    for kind in KINDS:
        for i in range(clips):
            audio, sr = read_audio(set_dir / kind / f"{i:03d}.wav")
            t0 = time.process_time()
            times, f0, voiced = track(audio, sr)
            cpu += time.process_time() - t0
            audio_s += len(audio) / sr
            key = f"{kind}/{i:03d}"
            out[key + "/times"], out[key + "/f0"], out[key + "/voiced"] = times, f0, voiced
    out["clips"], out["speed"] = np.array(clips), np.array(audio_s / max(cpu, 1e-9))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def score(tracks: dict[str, np.ndarray], set_dir: Path, clips: int) -> dict:
    """Accuracy and voicing per kind, all through ``ids_from_f0`` and the loudness gate."""
    truth = np.load(set_dir / "truth.npz")
    row: dict = {}
    for kind in KINDS:
        hits = voiced_true = voiced_est = both = 0
        for i in range(clips):
            key = f"{kind}/{i:03d}"
            audio, sr = read_audio(set_dir / kind / f"{i:03d}.wav")
            ref = truth[key]
            times, f0, voiced = (tracks[f"{key}/{x}"] for x in ("times", "f0", "voiced"))
            est = ids_from_f0(times, f0, voiced & loud(audio, sr, times), len(ref))
            rv, ev = ref >= MELODY_PC0, est >= MELODY_PC0
            hits += int((est[rv] == ref[rv]).sum())
            voiced_true, voiced_est = voiced_true + rv.sum(), voiced_est + ev.sum()
            both += (rv & ev).sum()
        row[kind] = {
            "accuracy": float(hits / max(1, voiced_true)),
            "precision": float(both / max(1, voiced_est)),
            "recall": float(both / max(1, voiced_true)),
        }
    row["speed"], row["clips"] = float(tracks["speed"]), clips
    return row


def print_table(results: dict) -> None:
    print(
        "pitch-class accuracy on voiced frames (voicing precision / recall); "
        "speed: x real time, 1 thread\n"
    )
    print("| tracker | clips per kind | " + " | ".join(KINDS) + " | speed |")
    print("|---|" + "---:|" * (len(KINDS) + 2))
    for name, row in results.items():
        cells = [
            f"{row[k]['accuracy']:.2f} ({row[k]['precision']:.2f} / {row[k]['recall']:.2f})"
            for k in KINDS
        ]
        print(f"| {name} | {row['clips']} | " + " | ".join(cells) + f" | {row['speed']:.1f}x |")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--set", type=Path, required=True, help="clip set folder (made if missing)")
    ap.add_argument("--whistle", type=Path, help="'only whistling' engine corpus (to make the set)")
    ap.add_argument("--hum", type=Path, help="'only humming' engine corpus (to make the set)")
    ap.add_argument("--clips", type=int, default=8, help="clips per kind")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--trackers", nargs="+", default=list(TRACKERS), choices=list(TRACKERS))
    ap.add_argument("--results", type=Path, required=True, help="JSON the rows merge into")
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import torch

    torch.set_num_threads(1)
    if not (args.set / "truth.npz").exists():
        if not (args.whistle and args.hum):
            ap.error("--set has no clips yet: give --whistle and --hum corpora to make them")
        make_set(args.set, args.whistle, args.hum, args.clips, args.seconds)
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    for name in args.trackers:
        try:
            tracks = run_tracker(name, TRACKERS[name], args.set, args.clips)
        except Exception as e:  # not installed here: another environment scores it
            print(f"{name}: skipped here ({type(e).__name__}: {e})")
            continue
        results[name] = score(tracks, args.set, args.clips)
        write_json_atomic(args.results, results)
    print_table(results)


if __name__ == "__main__":
    main()
