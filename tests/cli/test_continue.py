"""``musiclm generate [TEXT] --continue prompt.wav``: the WAV begins with the prompt and is
--seconds long, the sidecar records the continuation; bad prompts are one line and
nothing is written."""

import json

import numpy as np
import pytest
import soundfile as sf

from fixtures.bad_input import assert_refused, file_of
from musiclm.cli.main import main
from musiclm.continuation import MAX_PROMPT_S, MIN_PROMPT_S, OVERLAP_S
from musiclm.io import resample
from musiclm.pipeline import MusicLM


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("model") / "m"
    MusicLM.debug(seed=0, attributes=True).save_pretrained(root)
    return root


def _clip(path, seconds=2.0, sr=44100, channels=2):
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 330 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))
    sf.write(str(path), np.stack([y] * channels, axis=1), sr, subtype="PCM_16")
    return path


def test_continue_writes_the_prompt_then_more(model_dir, tmp_path, capsys):
    prompt = _clip(tmp_path / "take.wav")
    out = tmp_path / "out.wav"
    code = main(["generate", "--continue", str(prompt), "--seconds", "3", "-o", str(out),
                 "-m", str(model_dir), "--seed", "1", "-q"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    y, sr = sf.read(str(out), dtype="float32")
    assert len(y) == 3 * sr
    read, rate = sf.read(str(prompt), dtype="float32", always_2d=True)
    given = resample(read.mean(axis=1), rate, sr)
    head = len(given) - round(OVERLAP_S * sr)
    np.testing.assert_allclose(y[:head], given[:head], atol=1.5 / 32768)  # 16-bit rounding
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["continue"] == {"file": str(prompt), "seconds": 2.0, "sample_rate": 44100}
    assert meta["prompt"] == "" and meta["seconds"] == 3
    assert meta["tempo"] is not None or meta["key"] is not None  # the prompt's, as used
    # with a caption, and --key given: the caption conditions, the key is the one given
    out2 = tmp_path / "two.wav"
    assert main(["generate", "calm piano", "--continue", str(prompt), "--seconds", "3",
                 "-o", str(out2), "-m", str(model_dir), "--key", "D minor", "-q"]) == 0  # fmt: skip
    meta2 = json.loads(out2.with_suffix(".json").read_text())
    assert meta2["prompt"] == "calm piano" and meta2["key"] == "D minor"


def _long(path):  # 20 minutes at 1 kHz: a small file, refused by its header alone
    sf.write(str(path), np.zeros(20 * 60 * 1000, np.float32), 1000, subtype="PCM_16")
    return path


def _silent(path):
    sf.write(str(path), np.zeros(16000, np.float32), 8000, subtype="PCM_16")
    return path


CASES = [  # (make the --continue file, --seconds, a word the one line holds)
    (lambda p: p, "3", "no such file"),
    (file_of(b""), "3", "empty"),
    (file_of(b"RIFF\x00\x00\x00\x00WAVEnot audio at all" * 4), "3", "cannot read audio"),
    (_silent, "3", "silent"),
    (lambda p: _clip(p, seconds=0.1), "3", f"at least {MIN_PROMPT_S:g} s"),
    (_long, "30", f"at most {MAX_PROMPT_S:g} s"),
    (lambda p: _clip(p, seconds=2.0), "2", "must be longer"),
    (lambda p: _clip(p, seconds=2.0), "1.5", "must be longer"),
    (lambda p: _clip(p, seconds=2.0), "2.2", "at least 0.5 s longer"),
]  # fmt: skip


@pytest.mark.parametrize("make,seconds,needle", CASES)
def test_bad_continue_is_one_line_and_writes_nothing(model_dir, tmp_path, capsys, make, seconds,
                                                     needle):  # fmt: skip
    (tmp_path / "in").mkdir()
    src = make(tmp_path / "in" / "prompt.wav")
    out = tmp_path / "out"
    out.mkdir()
    code = main(["generate", "--continue", str(src), "--seconds", seconds,
                 "-o", str(out / "x.wav"), "-m", str(model_dir), "-q"])  # fmt: skip
    assert_refused(code, capsys, out, needle)


def test_drafts_are_checked_and_taken_with_or_without_continue(model_dir, tmp_path, capsys):
    prompt = _clip(tmp_path / "take.wav")
    out = tmp_path / "out"
    out.mkdir()
    one = ["generate", "--continue", str(prompt), "--seconds", "3", "-m", str(model_dir), "-q"]
    assert main([*one, "--drafts", "1", "-o", str(out / "d1.wav")]) == 0, capsys.readouterr().err
    assert (out / "d1.wav").is_file()
    for bad, needle in ((["--drafts", "0"], "drafts"), (["--drafts", "9"], "drafts")):
        (out / "bad").mkdir(exist_ok=True)
        code = main([*one, *bad, "-o", str(out / "bad" / "x.wav")])
        assert_refused(code, capsys, out / "bad", needle)
    code = main(["generate", "calm piano in A minor", "--drafts", "2", "-o",
                 str(out / "text.wav"), "-m", str(model_dir), "-q", "--seconds", "2"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert json.loads((out / "text.json").read_text())["drafts"] == 2
