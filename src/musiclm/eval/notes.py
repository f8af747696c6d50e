"""Note F1: transcribe audio with basic-pitch and score the notes against a MIDI file.

Used by the codec benchmark: a codec keeps the notes if the transcription of its round
trip scores about as well against the clip's MIDI as the transcription of the original.
basic-pitch (Bittner et al., ICASSP 2022; its weights ship in the wheel) is an optional
extra (``pip install 'musiclm[notes]'``): it pulls TensorFlow. Scores are mir_eval's
onset-only note F1 (50 ms onset tolerance, 50 cents pitch tolerance, offsets ignored).
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import tempfile
from pathlib import Path

import numpy as np

from musiclm.errors import UserError
from musiclm.io import write_audio

Notes = tuple[np.ndarray, np.ndarray]  # intervals (N, 2) in s, pitches (N,) in Hz


def available() -> bool:
    """True when basic-pitch and mir_eval import."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up log lines
    try:
        import basic_pitch  # noqa: F401
        import mir_eval  # noqa: F401
    except Exception:  # TensorFlow can fail to import in many ways, not only ImportError
        return False
    return True


@functools.lru_cache(maxsize=1)
def _model():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        from basic_pitch import ICASSP_2022_MODEL_PATH
        from basic_pitch.inference import Model
    except Exception as e:
        raise UserError(
            f"note F1 needs basic-pitch ({e}); install it with pip install 'musiclm[notes]'"
        ) from None
    return Model(ICASSP_2022_MODEL_PATH)


def transcribe(audio: np.ndarray, sample_rate: int) -> Notes:
    """The notes basic-pitch hears in mono ``audio``."""
    from basic_pitch.inference import predict

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "clip.wav"
        write_audio(path, np.asarray(audio, dtype=np.float32), sample_rate)
        with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per file
            _, _, events = predict(path, _model())
    if not events:
        return np.zeros((0, 2)), np.zeros(0)
    intervals = np.array([[e[0], e[1]] for e in events], dtype=float)
    pitches = 440.0 * 2.0 ** ((np.array([e[2] for e in events], dtype=float) - 69) / 12)
    return intervals, pitches


def midi_notes(path: str | os.PathLike, seconds: float | None = None) -> Notes:
    """The pitched (non-drum) notes of a MIDI file that start before ``seconds``."""
    import pretty_midi

    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as e:
        raise UserError(f"{path}: not a readable MIDI file ({e})") from None
    rows = [
        (n.start, min(n.end, seconds) if seconds else n.end, n.pitch)
        for inst in pm.instruments
        if not inst.is_drum
        for n in inst.notes
        if seconds is None or n.start < seconds
    ]
    if not rows:
        return np.zeros((0, 2)), np.zeros(0)
    arr = np.array(rows, dtype=float)
    intervals = arr[:, :2]
    intervals[:, 1] = np.maximum(intervals[:, 1], intervals[:, 0] + 1e-3)
    return intervals, 440.0 * 2.0 ** ((arr[:, 2] - 69) / 12)


def note_f1(reference: Notes, estimate: Notes) -> float:
    """mir_eval onset-only note F1 of ``estimate`` against ``reference`` (0 when either
    side has no notes, unless both are empty: 1)."""
    import mir_eval

    (ri, rp), (ei, ep) = reference, estimate
    if len(rp) == 0 or len(ep) == 0:
        return 1.0 if len(rp) == len(ep) else 0.0
    _, _, f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
        ri, rp, ei, ep, offset_ratio=None
    )
    return float(f1)
