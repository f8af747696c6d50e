import numpy as np

from musiclm.conditions import MELODY_PC0, MELODY_REST
from musiclm.eval.melody import chroma_frames, melody_cosine, sine_melody

SR = 22050


def test_a_sine_melody_follows_its_own_ids_and_not_another():
    audio, ids = sine_melody(0, 8.0, SR)
    own = melody_cosine(ids, audio, SR)
    others = [melody_cosine(sine_melody(s, 8.0, SR)[1], audio, SR) for s in (1, 2, 3)]
    assert own > 0.8
    assert max(others) < 0.45 and own > max(others) + 0.4


def test_cosine_is_octave_free_and_any_sample_rate():
    audio, ids = sine_melody(4, 6.0, 16000, low=43, high=55)  # an octave or two lower
    assert melody_cosine(ids, audio, 16000) > 0.75
    audio, ids = sine_melody(4, 6.0, 44100, harmonics=5)  # a hummed timbre
    assert melody_cosine(ids, audio, 44100) > 0.75


def test_silence_follows_nothing_and_a_tuneless_melody_is_nan():
    audio, ids = sine_melody(5, 4.0, SR)
    assert melody_cosine(ids, np.zeros_like(audio), SR) == 0.0
    # output shorter than the melody: the missing frames score 0
    half = melody_cosine(ids, audio[: len(audio) // 2], SR)
    assert 0.0 < half < melody_cosine(ids, audio, SR)
    assert np.isnan(melody_cosine(np.full(100, MELODY_REST), audio, SR))


def test_chroma_frames_sit_on_the_melody_frames():
    # A4 for the first second, then C5: frame 24 (0.96-1.0 s) is A, frame 26 is C
    t = np.arange(2 * SR) / SR
    f = np.where(t < 1.0, 440.0, 523.25)
    audio = np.sin(2 * np.pi * np.cumsum(f) / SR).astype(np.float32)
    chroma = chroma_frames(audio, SR)
    assert chroma.shape == (50, 12)
    assert chroma[20].argmax() == 9 and chroma[30].argmax() == 0


def test_sine_melody_ids_match_its_notes():
    _, ids = sine_melody(6, 10.0, SR, low=60, high=60)  # every note is C4
    assert len(ids) == 250
    assert set(np.unique(ids)) <= {MELODY_REST, MELODY_PC0}
    assert (ids == MELODY_PC0).mean() > 0.5 and (ids == MELODY_REST).any()
