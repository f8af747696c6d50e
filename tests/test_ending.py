"""The planned ending (musiclm.ending): ring-outs and fade-outs, from the plan alone."""

from __future__ import annotations

import numpy as np
import pytest

from musiclm import ending
from musiclm.conditions import Section
from musiclm.eval import songs as ev
from musiclm.pipeline import GenerationOptions, MusicLM

SR = 8000


def _noise(seconds: float, pieces: int = 1) -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal((pieces, round(seconds * SR)))).astype(np.float32)


def test_a_tail_rings_out_60_db_in_the_halls_time():
    form = (Section("verse", 0, 56), Section("tail", 56, 60))
    assert ending.kind(form) == "ring-out"
    g = ending.envelope(form, 60, SR)
    assert g.shape == (60 * SR,)
    dim = round((56 - ending.DIM_S) * SR)
    assert np.all(g[:dim] == 1.0)  # the body is untouched
    assert 20 * np.log10(g[56 * SR - 1]) == pytest.approx(-ending.DIM_DB, abs=0.01)
    at = 56 * SR + round(ending.RING_RT60_S * SR)
    assert 20 * np.log10(g[at]) == pytest.approx(-60 - ending.DIM_DB, abs=0.1)
    assert np.all(np.diff(g[dim:]) <= 0)  # falls, never swells
    assert g[-1] == 0.0  # the last ramp


def test_a_short_piece_holds_its_level_longer_before_ringing_out():
    """A 10 s piece with a 4 s tail: the ring-out takes MIN_RING_OUT_S, not the whole
    tail, and the diminuendo a tenth of the piece, so the level holds to 6.5 s (the
    engine's 10 s clips hold theirs to ~9 s; before, it fell from 2 s)."""
    form = (Section("intro", 0, 2), Section("verse", 2, 6), Section("tail", 6, 10))
    g = ending.envelope(form, 10, SR)
    ring_at = 10 - ending.MIN_RING_OUT_S
    held = round((ring_at - ending.DIM_SHARE * 10) * SR)
    assert np.all(g[:held] == 1.0) and g[held + 1] < 1.0
    assert 20 * np.log10(g[round(ring_at * SR) - 1]) == pytest.approx(-ending.DIM_DB, abs=0.01)
    assert 20 * np.log10(g[round((ring_at + 1.0) * SR)]) < -ending.DIM_DB - 25  # ringing out
    # a tail of at most an eighth of the piece rings out whole, after the whole
    # diminuendo, as before
    long = (Section("verse", 0, 35), Section("tail", 35, 40))
    g = ending.envelope(long, 40, SR)
    assert np.all(g[: round((35 - ending.DIM_S) * SR)] == 1.0) and g[35 * SR] < 0.51


def test_a_plan_without_a_real_tail_fades_over_the_engines_fade():
    from musiclm.data.synth.form import fade_seconds

    form = (Section("verse", 0, 59.5), Section("tail", 59.5, 60))  # bar rounding, 0.5 s
    assert ending.kind(form) == "fade-out"
    g = ending.envelope(form, 60, SR)
    k = round(fade_seconds(60) * SR)
    assert np.all(g[: 60 * SR - k] == 1.0) and g[60 * SR - k + 1] < 1.0
    assert g[-k // 2] == pytest.approx(0.25, abs=0.01)  # the square of a linear ramp
    assert ending.kind((Section("verse", 0, 8), Section("outro", 8, 10))) == "fade-out"


def test_no_plan_gets_only_the_last_ramp():
    assert ending.kind(None) is None
    g = ending.envelope(None, 10, SR)
    assert np.all(g[: 10 * SR - round(ending.CLICK_S * SR)] == 1.0) and g[-1] == 0.0


@pytest.mark.parametrize("seconds", [30, 60, 300])
@pytest.mark.parametrize("text", ["a pop song", "a techno track", "a jazz tune", "ambient",
                                  "a folk song", "a baroque piece"])  # fmt: skip
def test_every_planned_song_ending_meets_the_goal_on_steady_audio(text, seconds):
    """The goal's figures (eval.songs.ending) on steady noise under the plans the
    planner makes: without the ending it does not end; with it, every plan does."""
    from musiclm.form import plan_form

    y = _noise(seconds)
    assert not ev.ending(y[0], SR).ends
    for seed in range(3):
        plan = plan_form(text, seconds, seed=seed)
        got = ev.ending(ending.finish(y, [plan.sections], SR)[0], SR)
        assert got.ends, (plan.ending, plan.sections[-1], got)


def test_finish_leaves_a_prompt_as_given_and_ends_after_it():
    y = _noise(10, pieces=2)
    form = (Section("verse", 0, 7.5), Section("tail", 7.5, 10))
    keep = 8 * SR  # the prompt ends after the tail would start
    out = ending.finish(y, [form, None], SR, keep=keep)
    assert np.array_equal(out[:, :keep], y[:, :keep])
    assert abs(out[0, -SR // 2 :]).max() < 0.03 * abs(y[0]).max()  # it still rings out
    assert np.array_equal(
        out[1, : -round(ending.CLICK_S * SR)], y[1, : -round(ending.CLICK_S * SR)]
    )
    assert y.dtype == out.dtype and not np.shares_memory(y, out)


def test_generate_ends_as_planned_and_no_ending_is_the_models_own():
    model = MusicLM.debug(seed=0)
    form = "verse 2.5, tail 1.5"
    raw = model.generate("a piano", seconds=4, seed=3, form=form,
                         options=GenerationOptions(ending=False))  # fmt: skip
    done = model.generate("a piano", seconds=4, seed=3, form=form)
    sections = (Section("verse", 0, 2.5), Section("tail", 2.5, 4))
    np.testing.assert_allclose(done, ending.finish(raw, [sections], model.sample_rate), atol=1e-6)
    assert not np.allclose(done, raw)


@pytest.mark.parametrize("tail", [1.0, 1.5, 2.0, 2.5, 4.0])
def test_a_short_tail_still_rings_out_long_enough_to_end(tail):
    """A plan's tail of 1-2.5 s rings out over MIN_RING_OUT_S all the same: steady audio
    then meets the ending goal (over a 1.5 s tail it measured 4.6 dB before)."""
    y = _noise(60)
    form = (Section("verse", 0, 60 - tail), Section("tail", 60 - tail, 60))
    got = ev.ending(ending.finish(y, [form], SR)[0], SR)
    assert got.ends, got
    g = ending.envelope(form, 60, SR)
    ring = max(tail, ending.MIN_RING_OUT_S)
    assert np.all(g[: round((60 - ring - ending.DIM_S) * SR)] == 1.0)  # the body untouched
