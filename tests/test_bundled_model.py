"""The MusicLM that ships in the package: it loads offline, fits the size budget, and makes
audible, seeded, prompt-dependent audio through the Python API (and the CLI: tests/cli/
test_generate_cli.py)."""

import json

import numpy as np
import pytest

from musiclm.pipeline import BUNDLED, MusicLM

pytestmark = pytest.mark.skipif(
    not (BUNDLED / "pipeline.json").exists(), reason="no bundled MusicLM in this checkout"
)

ASSETS = BUNDLED.parent


@pytest.fixture(scope="module")
def model():
    return MusicLM.from_pretrained()


def test_the_whole_bundle_fits_in_60_mb():
    parts = [ASSETS / p for p in ("codec_v2", "mulan", "semantic", "musiclm")]
    size = sum(f.stat().st_size for p in parts for f in p.rglob("*") if f.is_file())
    assert size <= 60 * 10**6
    meta = json.loads((BUNDLED / "pipeline.json").read_text())
    assert meta["parts"] == {"codec": "../codec_v2", "mulan": "../mulan"}  # stored once


def test_the_bundled_stages_generate_codec_v2s_first_eight_levels(model):
    """Levels 9-12 of codec v2 add nothing measurable (docs/codec.md): not generated."""
    assert model.codec.config.family == "spectral" and model.codec.levels == 12
    assert (model.coarse.layout.coarse_levels, model.fine.layout.fine_levels) == (4, 4)


def test_bundled_model_makes_seeded_audible_audio(model):
    texts = ["A violin melody backed with 808s", "A rock song that only uses humming"]
    a = model.generate(texts, seconds=2.0, seed=0)
    assert a.shape == (2, 2 * model.sample_rate) and np.isfinite(a).all()
    rms = np.sqrt((a**2).mean(axis=1))
    assert (rms > 1e-3).all() and (np.abs(a) <= 1.0 + 1e-6).all()
    np.testing.assert_array_equal(a, model.generate(texts, seconds=2.0, seed=0))
    assert not np.allclose(a[0], a[1])  # the prompts differ, so do the pieces


def test_bundled_stages_play_the_stated_tempo(model):
    """The semantic and coarse stages take tempo, key and the beat grid (docs/model.md):
    the tempo a prompt states reaches them and changes the music."""
    assert model.semantic.layout.has_beats and model.coarse.layout.has_beats
    assert model.takes_attributes
    assert model.attributes(["lofi at 85 bpm in A minor"]) == [{"tempo": 85.0, "key": "A minor"}]
    slow = model.generate(["techno with a strong kick"], seconds=2.0, seed=0, tempo=80)
    fast = model.generate(["techno with a strong kick"], seconds=2.0, seed=0, tempo=160)
    assert not np.allclose(slow, fast)


def test_bundled_stages_arrange_a_given_melody(model):
    """The semantic and coarse stages take the melody (docs/melody.md): an arrangement of a
    sine tune follows its pitch classes far more than the same prompt without it does."""
    from musiclm.eval.melody import melody_cosine, sine_melody
    from musiclm.melody import load_melody

    assert model.takes_melody and model.takes_form
    audio, _ = sine_melody(7, 4.0, model.sample_rate)
    ids = load_melody(audio, model.sample_rate, seconds=4.0)
    text = ["a string quartet"]
    plain = model.generate(text, seconds=4.0, seed=0)[0]
    arranged = model.generate(text, seconds=4.0, seed=0, melody=audio)[0]
    assert (
        melody_cosine(ids, arranged, model.sample_rate)
        > melody_cosine(ids, plain, model.sample_rate) + 0.15
    )
