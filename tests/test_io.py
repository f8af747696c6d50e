"""Atomic writes and audio reading shared by every stage."""

import os

import numpy as np
import pytest

from musiclm.errors import UserError
from musiclm.io import atomic_path, audio_info, read_audio, write_audio, write_text_atomic


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_atomic_write_gives_the_usual_file_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_audio_round_trip_window_and_resample(tmp_path):
    sr = 16000
    t = np.arange(2 * sr) / sr
    write_audio(tmp_path / "a.flac", 0.5 * np.sin(2 * np.pi * 440 * t), sr)
    assert audio_info(tmp_path / "a.flac") == (sr, 2.0)
    y, rate = read_audio(tmp_path / "a.flac", 24000, start=0.5, seconds=1.0)
    assert rate == 24000 and len(y) == 24000
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * 24000 / len(y) - 440) < 2


def test_unreadable_audio_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(UserError, match="cannot read audio"):
        read_audio(bad)
