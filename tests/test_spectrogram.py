import numpy as np
import pytest

from musiclm.spectrogram import N_MELS, TOP_DB, log_mel, save_spectrograms


def _sine(freq: float, sr: int = 16000, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_log_mel_puts_a_higher_tone_in_a_higher_bin():
    low, high = log_mel(_sine(300), 16000), log_mel(_sine(3000), 16000)
    assert low.shape[0] == N_MELS
    assert low.mean(1).argmax() < high.mean(1).argmax()


def test_silence_sits_at_the_floor():
    spec = log_mel(np.zeros(16000, np.float32), 16000)
    assert np.all(spec == -TOP_DB)
    assert -6.0 < log_mel(_sine(1000) * 2, 16000).max() < 3.0  # full scale ~ 0 dB


def test_save_spectrograms_writes_a_png(tmp_path):
    path = save_spectrograms(
        tmp_path / "a.png", {"tone": _sine(440), "empty": np.zeros(0)}, 16000, title="t"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_no_panels_is_an_error(tmp_path):
    with pytest.raises(ValueError):
        save_spectrograms(tmp_path / "a.png", {}, 16000)
