"""The FluidSynth renderer: exact length, loudness, determinism across clip order, MIDI."""

import sys

import numpy as np
import pretty_midi
import pyloudnorm
import pytest

from musiclm.data.synth import render
from musiclm.data.synth.composer import ComposeOptions, clip_rng, compose
from musiclm.errors import UserError

SR = 16000


@pytest.fixture(scope="module")
def renderer():
    r = render.Renderer(SR)
    yield r
    r.close()


def _song(i, **kw):
    return compose(21, i, ComposeOptions(seconds=6.0, **kw))


def test_length_and_loudness(renderer):
    audio = renderer.render(_song(0, genres=("house",)), clip_rng(21, 0))
    assert audio.dtype == np.float32 and audio.shape == (6 * SR,)
    assert np.max(np.abs(audio)) <= render.PEAK + 1e-6
    lufs = pyloudnorm.Meter(SR).integrated_loudness(audio.astype(np.float64))
    peak_capped = np.max(np.abs(audio)) == pytest.approx(render.PEAK, abs=1e-4)
    if peak_capped:  # then quieter than the target, never louder
        assert lufs < render.TARGET_LUFS
    else:
        assert lufs == pytest.approx(render.TARGET_LUFS, abs=0.5)


def test_a_clip_renders_the_same_whatever_came_before(renderer):
    song = _song(1)
    first = renderer.render(song, clip_rng(21, 1))
    renderer.render(_song(2), clip_rng(21, 2))  # something else in between
    again = renderer.render(song, clip_rng(21, 1))
    assert np.array_equal(first, again)


def test_midi_holds_every_part_with_its_program(tmp_path):
    song = _song(3, genres=("trap",), lead="violin")
    path = tmp_path / "x.mid"
    render.write_midi(song, path)
    pm = pretty_midi.PrettyMIDI(str(path))
    assert {i.name for i in pm.instruments} == {f"{p.name} ({p.role})" for p in song.parts}
    violin = [i for i in pm.instruments if i.name.startswith("violin")][0]
    assert violin.program == 40 and not violin.is_drum and violin.notes
    assert pm.estimate_tempo() > 0 and pm.get_end_time() <= 6.0 + 1e-6


def test_swing_moves_offbeats_only():
    assert render._swing(1.0, 1.0) == 1.0
    assert render._swing(2.5, 1.0) == pytest.approx(2 + 2 / 3)
    assert render._swing(2.5, 0.0) == 2.5


def test_missing_soundfont_and_library_are_clear_errors(monkeypatch, tmp_path):
    with pytest.raises(UserError, match="soundfont not found"):
        render.find_soundfont(tmp_path / "none.sf2")
    monkeypatch.setattr(render, "SOUNDFONT_CANDIDATES", ())
    monkeypatch.delenv("MUSICLM_SOUNDFONT", raising=False)
    with pytest.raises(UserError, match="apt-get install fluidsynth fluid-soundfont-gm"):
        render.find_soundfont()
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # import fails as if not installed
    with pytest.raises(UserError, match="FluidSynth library unavailable"):
        render.check_fluidsynth()
