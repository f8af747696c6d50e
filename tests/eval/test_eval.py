import json

import numpy as np
import pytest
import soundfile as sf

from musiclm.data.manifest import ClipRecord, Instrument
from musiclm.errors import UserError
from musiclm.eval.attributes import genre_of, has_instrument
from musiclm.eval.families import FAMILIES, family_of, family_rows, is_tradition
from musiclm.eval.music import (
    estimate_key,
    estimate_tempo,
    frechet_distance,
    key_strength,
    normalise_key,
    tempo_error,
)
from musiclm.eval.run import read_prompts

SR = 22050


def _clicks(bpm: float, seconds: float = 8.0) -> np.ndarray:
    y = np.zeros(int(SR * seconds), np.float32)
    for t in np.arange(0, seconds, 60.0 / bpm):
        i = int(t * SR)
        y[i : i + 400] += np.hanning(800)[400:] * np.sin(np.arange(400) * 0.3)
    return y


def _triad(root_midi: int, minor: bool, seconds: float = 4.0) -> np.ndarray:
    t = np.arange(int(SR * seconds)) / SR
    notes = (root_midi, root_midi + (3 if minor else 4), root_midi + 7, root_midi + 12)
    return (
        sum(np.sin(2 * np.pi * 440 * 2 ** ((n - 69) / 12) * t) for n in notes).astype(np.float32)
        * 0.1
    )


def test_tempo_of_a_click_track():
    est = estimate_tempo(_clicks(120), SR)
    assert tempo_error(est, 120, octave=True) < 0.05
    assert tempo_error(60.0, 120) == 0.5 and tempo_error(60.0, 120, octave=True) == 0.0


def test_key_of_a_held_chord():
    assert estimate_key(_triad(62, minor=False), SR) == "D major"
    assert estimate_key(_triad(64, minor=True), SR) == "E minor"
    assert estimate_key(np.zeros(SR, np.float32), SR) == "none"
    assert normalise_key("a# Minor") == "Bb minor" and normalise_key("C") == "C major"
    with pytest.raises(ValueError):
        normalise_key("H major")


def test_key_strength_of_a_chord_beats_noise():
    noise = np.random.default_rng(0).standard_normal(SR * 4).astype(np.float32) * 0.1
    chord = key_strength(_triad(60, minor=False), SR)
    assert chord > 0.7 and chord > key_strength(noise, SR) + 0.1
    assert key_strength(np.zeros(SR, np.float32), SR) == 0.0


def test_every_engine_genre_has_one_family_and_traditions_stand_alone():
    from musiclm.data.synth.genres import GENRES, UNDER_REPRESENTED

    for g in GENRES:
        assert sum(g in gs for gs in FAMILIES.values()) == 1, g
    for g in UNDER_REPRESENTED:
        assert FAMILIES[family_of(g)] == (g,) and is_tradition(family_of(g))
    assert family_of(None) == "other" and not is_tradition("electronic")
    rows = [
        {"family": "Celtic folk", "mcc": 0.2, "tempo_err": 0.01, "key_strength": 0.8},
        {"family": "Celtic folk", "mcc": 0.4, "tempo_err": 0.5},
        {"family": "electronic", "mcc": 0.1, "genre_match": True},
    ]
    fams = {f["family"]: f for f in family_rows(rows, tolerance=0.08)}
    assert fams["Celtic folk"]["pieces"] == 2 and fams["Celtic folk"]["mcc"] == pytest.approx(0.3)
    assert fams["Celtic folk"]["tempo_ok"] == 0.5 and fams["Celtic folk"]["key_strength"] == 0.8
    assert fams["Celtic folk"]["tradition"] and fams["electronic"]["genre_match"] == 1.0
    assert fams["electronic"]["tempo_ok"] is None


def test_frechet_distance_is_zero_for_one_set_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 4))
    assert abs(frechet_distance(a, a)) < 1e-6
    assert frechet_distance(a, a + 1.0) == pytest.approx(4.0, rel=0.05)


def test_genre_and_instrument_matching():
    known = ["drum_and_bass", "lofi", "orchestral", "house", "metal"]
    assert genre_of("drum and bass", known) == "drum_and_bass"
    assert genre_of("lo-fi", known) == "lofi"
    assert genre_of("cinematic", known) == "orchestral"
    assert genre_of("polka", known) is None
    rec = ClipRecord(
        id="a",
        audio="a.wav",
        sample_rate=SR,
        seconds=1,
        captions=["x"],
        instruments=[Instrument("Violin"), Instrument("TR-808 kit", drum=True)],
        aspects=["strong kick"],
    )
    assert has_instrument(rec, "violin") and has_instrument(rec, "808")
    assert has_instrument(rec, "kick") and not has_instrument(rec, "cello")


def test_prompt_file_errors(tmp_path):
    p = tmp_path / "p.jsonl"
    p.write_text('{"text": "a", "key": "d minor"}\n\n{"text": "b", "tempo": 90}\n')
    prompts = read_prompts(p)
    assert [x["id"] for x in prompts] == ["p01", "p03"] and prompts[0]["key"] == "D minor"
    for bad, msg in (
        ('{"tempo": 1}', "needs a non-empty"),
        ("nope", "not JSON"),
        ('{"text": "a", "key": "Q major"}', "unknown tonic"),
        ("", "no prompts"),
    ):
        p.write_text(bad + "\n")
        with pytest.raises(UserError, match=msg):
            read_prompts(p)


def test_evaluate_several_samples_per_prompt(eval_corpus, tmp_path):
    from musiclm.eval.run import evaluate
    from musiclm.pipeline import MusicLM

    prompts = [
        {"id": "a", "text": "techno at 128 bpm", "tempo": 128},
        {"id": "b", "text": "an ambient drone"},
    ]
    model = MusicLM.debug()
    report = evaluate(model, prompts, corpus=eval_corpus, heldout=eval_corpus, seconds=1.0,
                      samples=2, audio_dir=tmp_path)  # fmt: skip
    assert [(r["id"], r["sample"]) for r in report.rows] == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    # another seed, another piece; the first sample is what samples=1 generates
    a0, a1 = (sf.read(str(tmp_path / f))[0] for f in ("a.wav", "a-1.wav"))
    assert not np.allclose(a0, a1)
    one = evaluate(model, prompts, corpus=eval_corpus, heldout=eval_corpus, seconds=1.0)
    assert one.rows[0]["tempo_est"] == report.rows[0]["tempo_est"]
    shares = [float(x) for x in report.summary["tempo_within_8pct_per_sample"].split()]
    assert len(shares) == 2 and report.summary["tempo_within_8pct"] == np.mean(shares)
    with pytest.raises(UserError):
        evaluate(model, prompts, corpus=eval_corpus, heldout=eval_corpus, samples=0)


def test_keyed_captions_take_major_or_minor_clips_with_a_caption_stating_the_key(tmp_path):
    from musiclm.eval.music import keyed_captions

    rows = [{"key": "A", "mode": "minor", "captions": ["a, in A minor"]},
            {"key": "D", "mode": "dorian", "captions": ["d"]},
            {"key": "G", "mode": "major", "captions": ["g, no key", "g, in E minor"]},
            {"key": "F#", "mode": "major", "captions": ["f, no key", "f, in F# major"]},
            {"key": "C", "mode": "major", "captions": ["c, in C major"]}]  # fmt: skip
    (tmp_path / "manifest.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    picked, keys, texts = keyed_captions(tmp_path, 2)
    assert [r["key"] for r in picked] == ["A", "F#"]  # G: no caption states G major
    assert keys == ["A minor", "F# major"] and texts == ["a, in A minor", "f, in F# major"]
