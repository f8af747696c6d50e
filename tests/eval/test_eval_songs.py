"""The figures of whole songs, on signals whose answer is known."""

import numpy as np
import pytest

from musiclm.conditions import Section
from musiclm.eval import songs as ev

SR = 8000


def tone(freq: float, seconds: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(round(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_a_ring_out_ends_and_a_cut_does_not():
    body = tone(220, 40)
    decay = tone(220, 6) * np.exp(-np.arange(6 * SR) / SR * 2.0).astype(np.float32)
    rings = ev.ending(np.concatenate([body, decay]), SR)
    assert rings.ends and rings.last5_drop_db > 6 and rings.below_median_db > 25
    cut = ev.ending(tone(220, 46), SR)
    assert not cut.ends and abs(cut.last5_drop_db) < 0.5 and abs(cut.below_median_db) < 0.5
    silent_end = ev.ending(np.concatenate([body, np.zeros(6 * SR, np.float32)]), SR)
    assert silent_end.ends and silent_end.last_db < ev.SILENT_DB


def test_longest_silence_before_the_outro():
    y = np.concatenate([tone(220, 5), np.zeros(4 * SR, np.float32), tone(220, 5),
                        np.zeros(2 * SR, np.float32), tone(220, 2), np.zeros(5 * SR)])  # fmt: skip
    assert ev.longest_silence(y, SR) == pytest.approx(5.0, abs=0.06)
    assert ev.longest_silence(y, SR, until_s=18.0) == pytest.approx(4.0, abs=0.06)
    form = [Section("verse", 0, 18), Section("outro", 18, 20), Section("tail", 20, 23)]
    assert ev.outro_start(form) == 18.0
    assert ev.outro_start([Section("verse", 0, 5), Section("tail", 5, 8)]) == 5.0


def test_repeated_sections_are_measured_more_alike():
    a, b = tone(262, 4) + tone(330, 4), tone(392, 4) + tone(494, 4, 0.2)
    y = np.concatenate([a, b, a, b])
    form = [Section("verse", 0, 4), Section("chorus", 4, 8), Section("verse", 8, 12),
            Section("chorus", 12, 16)]  # fmt: skip
    fig = ev.form_similarity(y, SR, form)
    assert fig.audible and fig.same > 0.9 and fig.different < fig.same
    wrong = [
        Section(n, s.start, s.end) for n, s in zip(["verse", "verse", "chorus", "chorus"], form)
    ]
    assert not ev.form_similarity(y, SR, wrong).audible
    assert ev.form_similarity(y, SR, [Section("verse", 0, 16)]).audible is None


def test_a_quiet_sparse_intro_is_quieter_or_sparser():
    rng = np.random.default_rng(0)

    def clicks(seconds, per_second, amp):
        y = np.zeros(round(seconds * SR), np.float32)
        for t in np.arange(0, seconds, 1 / per_second):
            i = int(t * SR)
            y[i : i + 200] += amp * rng.standard_normal(200).astype(np.float32)
        return y

    y = np.concatenate([clicks(4, 1, 0.05), clicks(8, 4, 0.3)])
    form = [Section("intro", 0, 4), Section("verse", 4, 12)]
    fig = ev.intro_vs_body(y, SR, form)
    assert fig.quieter_or_sparser and fig.level_db < -6 and fig.onset_ratio < 1
    assert ev.intro_vs_body(y, SR, [Section("verse", 0, 12)]) is None


def test_a_seam_is_a_jump_no_other_moment_has():
    smooth = tone(220, 10)
    jump = np.concatenate([tone(220, 5), tone(880, 5, 0.05)])
    assert ev.seam_ratio(smooth, SR, [5.0]) == pytest.approx(1.0, abs=0.5)
    assert ev.seam_ratio(jump, SR, [5.0]) > 10
    assert ev.seam_ratio(np.zeros(10 * SR, np.float32), SR, [5.0]) is None  # silent joins
