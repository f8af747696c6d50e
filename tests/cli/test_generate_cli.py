"""`musiclm generate`: WAV, JSON sidecar and PNG for one caption or a prompt file, each
piece's seed in its sidecar (its settings alone give the same bytes), tempo and key from
the prompt or the options, the bundled model by default; bad input is one line."""

import json

import numpy as np
import pytest

from musiclm.errors import UserError
from musiclm.pipeline import BUNDLED, MusicLM


@pytest.fixture(scope="module")
def model():
    return MusicLM.debug(seed=0)


def test_cli_batch_sidecars_carry_each_piece_s_seed(model, tmp_path, capsys):
    import json

    import soundfile as sf

    from musiclm.cli.main import main

    model.save_pretrained(tmp_path / "m")
    common = ["--seconds", "1", "-m", str(tmp_path / "m"), "-q"]
    assert main(["generate", "a", "b", "c", "-o", str(tmp_path / "all"), "--seed", "5",
                 "--batch", "3", *common]) == 0  # fmt: skip
    wavs = sorted((tmp_path / "all").glob("*.wav"))
    metas = [json.loads(w.with_suffix(".json").read_text()) for w in wavs]
    assert [m["seed"] for m in metas] == [5, 6, 7]
    for wav, meta in zip(wavs, metas):  # a sidecar's settings alone give the same bytes
        alone = tmp_path / f"alone_{meta['seed']}.wav"
        assert main(["generate", meta["prompt"], "-o", str(alone), "--seed",
                     str(meta["seed"]), *common]) == 0  # fmt: skip
        assert alone.read_bytes() == wav.read_bytes()
        assert sf.info(str(alone)).frames == model.sample_rate


def test_cli_writes_wav_json_png_and_rejects_bad_input(model, tmp_path, capsys):
    import json

    import soundfile as sf

    from musiclm.cli.main import main

    model.save_pretrained(tmp_path / "m")
    wav = tmp_path / "a.wav"
    argv = [
        "generate",
        "violin with 808s",
        "-o",
        str(wav),
        "--seconds",
        "1",
        "--seed",
        "4",
        "--spectrogram",
        "-m",
        str(tmp_path / "m"),
        "-q",
    ]
    assert main(argv) == 0
    y, sr = sf.read(str(wav))
    assert sr == model.sample_rate and len(y) == sr
    meta = json.loads(wav.with_suffix(".json").read_text())
    assert meta["prompt"] == "violin with 808s" and meta["seed"] == 4
    # the run's own timings, MuLan included (the CLI times nothing itself)
    assert list(meta["timings"]) == ["mulan", "semantic", "coarse", "fine", "decode"]
    assert wav.with_suffix(".png").exists()
    (tmp_path / "p.txt").write_text("one\n# a comment\n\ntwo\n")
    argv = [
        "generate",
        "--prompts",
        str(tmp_path / "p.txt"),
        "-o",
        str(tmp_path / "many"),
        "--seconds",
        "0.5",
        "-m",
        str(tmp_path / "m"),
        "-q",
        "--batch",
        "1",
        "--seed",
        "7",
    ]
    assert main(argv) == 0
    assert sorted(p.name for p in (tmp_path / "many").glob("*.wav")) == ["00_one.wav", "01_two.wav"]
    seeds = [json.loads((tmp_path / "many" / f).read_text())["seed"]
             for f in ("00_one.json", "01_two.json")]  # fmt: skip
    assert seeds == [7, 8]  # piece i: seed + i
    blocker = tmp_path / "file"
    blocker.write_text("x")
    bad = ["generate", "x", "-o", str(blocker / "a.wav"), "-m", str(tmp_path / "m"), "-q"]
    assert main(bad) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    capsys.readouterr()
    for bad, msg in (
        (["generate", "-m", str(tmp_path / "m")], "give a caption"),
        (["generate", "x", "--temperature", "1,2", "-m", str(tmp_path / "m")], "three numbers"),
        (["generate", "x", "-m", str(tmp_path / "nope")], "no MusicLM folder"),
    ):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert msg in err and len(err.strip().splitlines()) == 1


def test_tempo_and_key_from_the_prompt_or_given(tmp_path, capsys):
    import json

    from musiclm.cli.main import main

    net = MusicLM.debug(seed=0, attributes=True, beats=True)
    assert net.takes_attributes and not MusicLM.debug(seed=0).takes_attributes
    texts = ["piano in C major at 70 bpm", "drum and bass, 174 BPM", "a violin"]
    assert net.attributes(texts) == [
        {"tempo": 70.0, "key": "C major"}, {"tempo": 174.0, "key": None},
        {"tempo": None, "key": None}]  # fmt: skip
    assert net.attributes(["noise at 1000 bpm"]) == [{"tempo": None, "key": None}]
    assert net.attributes(texts[:1], tempo=90, key="Eb minor") == [
        {"tempo": 90, "key": "Eb minor"}]  # fmt: skip
    for stage in (net.semantic, net.coarse):  # trained beat tables are not zero
        stage.net.position_embed.weight.data[1:].normal_()
    a = net.generate(texts, seconds=3.0, seed=0)  # sliding semantic windows, 3 coarse ones
    b = net.generate(texts, seconds=3.0, seed=0, tempo=200.0)
    assert a.shape == b.shape and not np.array_equal(a, b)  # the tokens reach the stages
    np.testing.assert_array_equal(a, net.generate(texts, seconds=3.0, seed=0))
    bad = [
        ({"tempo": 0}, "tempo must be"),
        ({"tempo": 1e4}, "tempo must be"),
        ({"key": "H major"}, "unknown key"),
        ({"key": "C lydianish"}, "unknown key"),
    ]
    for kw, msg in bad:
        with pytest.raises(UserError, match=msg):
            net.generate(["x"], seconds=1.0, **kw)
    with pytest.raises(UserError, match="no tempo or key"):
        MusicLM.debug(seed=0).generate(["x"], seconds=1.0, tempo=120)
    net.save_pretrained(tmp_path / "m")
    wav = tmp_path / "a.wav"
    argv = [
        "generate",
        "lofi at 85 bpm",
        "-o",
        str(wav),
        "-s",
        "1",
        "-m",
        str(tmp_path / "m"),
        "-q",
    ]
    assert main(argv + ["--key", "A minor"]) == 0
    meta = json.loads(wav.with_suffix(".json").read_text())
    assert (meta["tempo"], meta["key"]) == (85.0, "A minor")
    capsys.readouterr()
    assert main(argv + ["--tempo", "-5"]) == 2
    err = capsys.readouterr().err
    assert "tempo must be" in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif(
    not (BUNDLED / "pipeline.json").exists(), reason="no bundled MusicLM in this checkout"
)
def test_generate_cli_uses_the_bundled_model(tmp_path):
    import soundfile as sf

    from musiclm.cli.main import main

    wav = tmp_path / "violin.wav"
    assert main(["generate", "violin with 808s", "-o", str(wav), "-s", "1", "--seed", "1",
                 "-q"]) == 0  # fmt: skip
    y, sr = sf.read(str(wav))
    assert sr == 24000 and len(y) == sr
    assert json.loads(wav.with_suffix(".json").read_text())["model"] == "bundled"


def test_cli_temperature_defaults_are_the_api_defaults():
    """`generate` and `eval` sample as the Python API does unless told otherwise: their
    default leaves the temperatures to MusicLM.run (text or melody, docs/model.md)."""
    import inspect

    from musiclm.cli.evaluate import evaluate
    from musiclm.cli.generate import generate
    from musiclm.pipeline import GenerationOptions

    for command in (generate, evaluate):
        assert inspect.signature(command).parameters["temperature"].default.default is None
    assert GenerationOptions().temperature is None
