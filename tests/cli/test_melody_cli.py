"""``musiclm generate TEXT --melody tune.wav``: the piece arranges the tune, its sidecar
says so; bad melodies are one line and nothing is written."""

import json

import numpy as np
import pytest
import soundfile as sf

from fixtures.bad_input import assert_refused, file_of
from musiclm.cli.main import main
from musiclm.pipeline import MusicLM


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    MusicLM.debug(seed=0, attributes=True, melody=True).save_pretrained(root / "melody")
    MusicLM.debug(seed=0, attributes=True).save_pretrained(root / "plain")
    return root


def _tune(path, seconds=3.0, sr=44100, channels=2, bpm=120.0):
    """A plucked A minor arpeggio, a note a beat, stereo at 44.1 kHz."""
    beat, pitches = 60 / bpm, np.array([57, 60, 64, 69, 64, 60])
    t = np.arange(int(seconds * sr)) / sr
    pitch = pitches[(np.floor(t / beat) % len(pitches)).astype(int)]
    y = (
        0.3
        * np.exp(-(t % beat) * 6)
        * np.sin(2 * np.pi * np.cumsum(440 * 2 ** ((pitch - 69) / 12)) / sr)
    )
    sf.write(str(path), np.stack([y] * channels, axis=1), sr, subtype="PCM_16")
    return path


def test_melody_arranges_the_tune_and_the_sidecar_says_so(model_dirs, tmp_path, capsys):
    tune = _tune(tmp_path / "hum.wav")
    out = tmp_path / "out.wav"
    model = str(model_dirs / "melody")
    code = main(["generate", "a string quartet", "--melody", str(tune), "--seconds", "4",
                 "-o", str(out), "-m", model, "--seed", "1", "-q"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    y, sr = sf.read(str(out), dtype="float32")
    assert len(y) == 4 * sr
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["melody"] == str(tune) and meta["key"] == "A minor"
    assert min(abs(meta["tempo"] * f - 120) / 120 for f in (0.5, 1, 2)) < 0.05
    # --tempo wins over the melody's; without --melody a planned tune, unless --no-tune
    both = tmp_path / "both"
    both.mkdir()
    code = main(["generate", "pop", "--melody", str(tune), "--tempo", "90", "-s", "2",
                 "-o", str(both / "a.wav"), "-m", str(model_dirs / "melody"), "-q"])  # fmt: skip
    assert code == 0 and json.loads((both / "a.json").read_text())["tempo"] == 90
    for extra, want in (([], "planned tune"), (["--no-tune"], None)):
        path = both / f"tune{len(extra)}.wav"
        code = main(["generate", "pop", "-s", "2", "-o", str(path),
                     "-m", str(model_dirs / "melody"), "-q", *extra])  # fmt: skip
        assert code == 0 and json.loads(path.with_suffix(".json").read_text())["melody"] == want
    # --continue: the prompt's own tune carried on, unless --no-tune
    for extra, want in (([], "the prompt's tune"), (["--no-tune"], None)):
        path = both / f"cont{len(extra)}.wav"
        code = main(["generate", "--continue", str(tune), "--seconds", "4", "--seed", "2",
                     "-o", str(path), "-m", str(model_dirs / "melody"), "-q", *extra])  # fmt: skip
        assert code == 0 and json.loads(path.with_suffix(".json").read_text())["melody"] == want


def _silent(path):
    sf.write(str(path), np.zeros(44100 * 2, np.float32), 44100)
    return path


def _long(path):  # 20 minutes at 1 kHz: refused from the header alone
    sf.write(str(path), np.full(20 * 60 * 1000, 0.1, np.float32), 1000, subtype="PCM_16")
    return path


def _noise(path):
    rng = np.random.default_rng(0)
    sf.write(str(path), (0.3 * rng.standard_normal(44100 * 2)).astype(np.float32), 44100)
    return path


CASES = [
    (lambda p: p, [], "not found"),
    (file_of(b""), [], "is empty"),
    (file_of(b"RIFF\x00\x00\x00\x00WAVEnot audio at all" * 4), [], "cannot read audio"),
    (_silent, [], "is silent"),
    (lambda p: _tune(p, seconds=0.1), [], "at least 0.5 s"),
    (_long, [], "the most is 5 minutes"),
    (_noise, [], "no melody heard"),
    (_tune, ["--continue", "{melody}"], "--melody cannot be given with"),
    (_tune, ["--no-caption"], "needs a caption"),
    (_tune, ["--model-plain"], "take no melody"),
]  # fmt: skip


@pytest.mark.parametrize("make,extra,needle", CASES)
def test_bad_melody_is_one_line_and_writes_nothing(model_dirs, tmp_path, capsys, make, extra,
                                                   needle):  # fmt: skip
    (tmp_path / "in").mkdir()
    src = make(tmp_path / "in" / "tune.wav")
    out = tmp_path / "out"
    out.mkdir()
    model = model_dirs / ("plain" if "--model-plain" in extra else "melody")
    caption = [] if "--no-caption" in extra else ["pop"]
    more = [x.format(melody=src) for x in extra if not x.startswith(("--model-", "--no-cap"))]
    code = main(["generate", *caption, "--melody", str(src), "--seconds", "3",
                 "-o", str(out / "x.wav"), "-m", str(model), "-q", *more])  # fmt: skip
    assert_refused(code, capsys, out, needle)
