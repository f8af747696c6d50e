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


def test_temporaries_are_named_so_that_only_ours_are_cleaned(tmp_path):
    from musiclm.io import is_temporary, remove_temporaries

    seen = []
    with atomic_path(tmp_path / "a.flac") as tmp:
        seen.append(tmp.name)
        assert is_temporary(tmp.name) and tmp.name.endswith(".flac")
        tmp.write_bytes(b"x")
    others = [".env.local", ".pre-commit-config.yaml", ".a.flac.x", "a.musiclm-tmp.flac"]
    for name in [*others, ".a.flac.abcd1234.musiclm-tmp.flac"]:
        (tmp_path / name).write_text("x")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / ".b.wav.abcd1234.musiclm-tmp.wav").write_text("x")  # not here
    assert remove_temporaries(tmp_path) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*others, ".hidden", "a.flac"])
    assert (tmp_path / ".hidden" / ".b.wav.abcd1234.musiclm-tmp.wav").exists()


def test_a_folder_lock_refuses_a_second_holder_and_goes_away(tmp_path):
    from musiclm.io import LOCK_NAME, folder_lock

    with folder_lock(tmp_path / "c") as lock:
        assert lock.exists()
        with pytest.raises(UserError, match="another run is writing here"):
            with folder_lock(tmp_path / "c"):
                pass
    assert not (tmp_path / "c" / LOCK_NAME).exists()
    with folder_lock(tmp_path / "c"):  # free again
        pass


def test_outputs_are_checked_before_the_work(tmp_path):
    from musiclm.io import check_output

    (tmp_path / "d.wav").mkdir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="is a folder"):
        check_output(tmp_path / "d.wav")
    with pytest.raises(UserError, match="is a file, not a folder"):
        check_output(tmp_path / "f" / "sub" / "a.wav")
    assert check_output(tmp_path / "new" / "a.wav") == tmp_path / "new" / "a.wav"
    assert not (tmp_path / "new").exists()  # checked, not created
    with pytest.raises(UserError, match="must end in"):
        write_audio(tmp_path / "a.mp3", np.zeros(10), 8000)
    with pytest.raises(UserError, match="cannot write"):  # at write time: one line, no OSError
        write_audio(tmp_path / "d.wav", np.zeros(10), 8000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.wav", "f"]
