"""`musiclm codec`: train a debug codec for a few steps, then encode/decode/eval with it."""

import numpy as np
import pytest
import soundfile as sf
import torch

from musiclm.cli.main import main
from musiclm.codec.tokens import load_codes
from musiclm.data.manifest import ClipRecord, write_manifest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Eight 1 s clips of harmonic tones at 8 kHz (the debug codec's rate)."""
    out = tmp_path_factory.mktemp("tones")
    recs = []
    t = np.arange(8000) / 8000
    for i in range(8):
        f0 = 110 * 2 ** (i / 5)
        y = sum(0.3 / k * np.sin(2 * np.pi * k * f0 * t) for k in (1, 2, 3))
        sf.write(out / f"{i}.wav", y.astype(np.float32), 8000)
        recs.append(ClipRecord(f"t{i}", f"{i}.wav", 8000, 1.0, [f"tone {i}"]))
    write_manifest(out, recs)
    return out


@pytest.fixture(scope="module")
def model(corpus, tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: threads only add overhead on a shared 2-core box
    run = tmp_path_factory.mktemp("run")
    code = main(
        [
            "codec",
            "train",
            "--data",
            str(corpus),
            "--config",
            "debug",
            "--out",
            str(run),
            "--steps",
            "6",
            "--batch-size",
            "4",
            "--seconds",
            "0.5",
        ]
    )
    torch.set_num_threads(threads)
    assert code == 0
    assert (run / "final" / "model.safetensors").is_file()
    return run / "final"


def test_encode_decode_round_trip(model, corpus, tmp_path, capsys):
    assert (
        main(
            [
                "codec",
                "encode",
                str(corpus / "0.wav"),
                "-o",
                str(tmp_path / "x.npz"),
                "--model",
                str(model),
                "--levels",
                "1",
            ]
        )
        == 0
    )
    f = load_codes(tmp_path / "x.npz")
    assert f.levels == 1 and f.samples == 8000
    assert (
        main(
            [
                "codec",
                "decode",
                str(tmp_path / "x.npz"),
                "-o",
                str(tmp_path / "y.wav"),
                "--model",
                str(model),
            ]
        )
        == 0
    )
    y, sr = sf.read(tmp_path / "y.wav")
    assert sr == 8000 and len(y) == 8000


def test_decode_rejects_codes_of_another_codec(model, tmp_path, capsys):
    from musiclm.codec.tokens import CodeFile, save_codes

    save_codes(tmp_path / "o.npz", CodeFile(np.zeros((2, 10), int), 24000, 50.0, 1024))
    assert (
        main(
            [
                "codec",
                "decode",
                str(tmp_path / "o.npz"),
                "-o",
                str(tmp_path / "z.wav"),
                "--model",
                str(model),
            ]
        )
        == 2
    )
    assert "another codec" in capsys.readouterr().err


def test_eval_table(model, corpus, capsys):
    assert (
        main(
            [
                "codec",
                "eval",
                "--data",
                str(corpus),
                "--clips",
                "3",
                "--seconds",
                "1",
                "--model",
                str(model),
                "--no-opus",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| codec 1 level" in out and "unrelated clip" in out


def test_no_bundled_codec_yet_is_a_clear_error(tmp_path, capsys, monkeypatch):
    import musiclm.codec.model as model_module

    monkeypatch.setattr(model_module, "BUNDLED", tmp_path / "none")
    sf.write(tmp_path / "a.wav", np.zeros(800, np.float32), 8000)
    assert main(["codec", "encode", str(tmp_path / "a.wav"), "-o", str(tmp_path / "a.npz")]) == 2
    assert "no bundled codec" in capsys.readouterr().err


def test_decode_refuses_codes_of_another_codec_version_naming_both(model, tmp_path, capsys):
    from musiclm.codec.model import Codec
    from musiclm.codec.tokens import CodeFile, save_codes

    codec = Codec.from_pretrained(model)
    codes = np.zeros((2, 10), int)
    rate, frames, size = codec.sample_rate, codec.frame_rate, codec.codebook_size
    save_codes(tmp_path / "v.npz", CodeFile(codes, rate, frames, size, None, "spectral-00000000"))
    argv = ["codec", "decode", str(tmp_path / "v.npz"), "-o", str(tmp_path / "v.wav")]
    assert main(argv + ["--model", str(model)]) == 2
    err = capsys.readouterr().err
    assert "spectral-00000000" in err and codec.version in err
    assert not (tmp_path / "v.wav").exists()
    # codes this codec wrote carry its version and decode
    sf.write(tmp_path / "in.wav", np.zeros(4000, np.float32), 8000)
    assert main(["codec", "encode", str(tmp_path / "in.wav"), "-o", str(tmp_path / "c.npz"),
                 "--model", str(model)]) == 0  # fmt: skip
    assert load_codes(tmp_path / "c.npz").codec_version == codec.version
    assert main(["codec", "decode", str(tmp_path / "c.npz"), "-o", str(tmp_path / "c.wav"),
                 "--model", str(model)]) == 0  # fmt: skip


def test_eval_table_has_frame_chroma_and_rejects_zero_clips(model, corpus, capsys):
    argv = ["codec", "eval", "--data", str(corpus), "--seconds", "1", "--model", str(model),
            "--no-opus", "--no-notes"]  # fmt: skip
    assert main(argv + ["--clips", "2"]) == 0
    assert "| system | chroma r |" in capsys.readouterr().out
    assert main(argv + ["--clips", "0"]) == 2
    assert "--clips" in capsys.readouterr().err


def _train(corpus, run, *extra) -> int:
    args = ["codec", "train", "--data", str(corpus), "--out", str(run), "--steps", "4",
            "--batch-size", "4", "--seconds", "0.5", *extra]  # fmt: skip
    return main(args)


def test_decoder_only_keeps_the_codes_and_the_version(corpus, tmp_path):
    """`--init-from X --decoder-only` trains the decoder alone: the encoder, codebooks and
    codec version stay those of X (its code files and tokens stay valid), the decoder moves."""
    from musiclm.codec.model import Codec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert _train(corpus, tmp_path / "base", "--config", "debug-spectral") == 0
        base = tmp_path / "base" / "final"
        assert _train(corpus, tmp_path / "ft", "--init-from", str(base), "--decoder-only",
                      "--lr", "1e-2") == 0  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    a, b = Codec.from_pretrained(base), Codec.from_pretrained(tmp_path / "ft" / "final")
    assert a.version == b.version
    sa, sb = a.state_dict(), b.state_dict()
    for k in sa:
        if not k.startswith("decoder."):
            assert torch.equal(sa[k], sb[k]), k
    assert any(not torch.equal(sa[k], sb[k]) for k in sa if k.startswith("decoder."))
    y = np.sin(2 * np.pi * 220 * np.arange(8000) / 8000).astype(np.float32)
    assert np.array_equal(a.encode(y, 8000), b.encode(y, 8000))


def test_decoder_only_needs_a_codec_to_start_from(corpus, tmp_path, capsys):
    assert _train(corpus, tmp_path / "x", "--config", "debug-spectral", "--decoder-only") != 0
    err = capsys.readouterr().err
    assert "--init-from" in err and "Traceback" not in err
    assert _train(corpus, tmp_path / "y", "--init-from", str(tmp_path / "nope")) != 0
    assert "Traceback" not in capsys.readouterr().err


def test_train_vocoder_plays_the_frozen_codec(corpus, tmp_path, capsys):
    """`codec train-vocoder` trains a vocoder for a spectral codec and exports it; the
    exported vocoder decodes that codec's codes; a frame codec is refused in one line."""
    from musiclm.codec.model import Codec
    from musiclm.codec.vocoder import VocodedCodec, Vocoder

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert _train(corpus, tmp_path / "base", "--config", "debug-spectral") == 0
        base = tmp_path / "base" / "final"
        args = ["codec", "train-vocoder", "--codec", str(base), "--data", str(corpus),
                "--out", str(tmp_path / "voc"), "--steps", "3", "--disc-start", "1",
                "--batch-size", "2", "--seconds", "0.5", "--device", "cpu"]  # fmt: skip
        assert main(args) == 0
    finally:
        torch.set_num_threads(threads)
    voc = VocodedCodec(
        Codec.from_pretrained(base), Vocoder.from_pretrained(tmp_path / "voc" / "final")
    )
    y = np.sin(2 * np.pi * 220 * np.arange(8000) / 8000).astype(np.float32)
    out = voc.decode(voc.encode(y, 8000))
    assert out.shape == (8000,) and np.isfinite(out).all()
    assert _train(corpus, tmp_path / "frame", "--config", "debug") == 0
    capsys.readouterr()
    code = main(["codec", "train-vocoder", "--codec", str(tmp_path / "frame" / "final"),
                 "--data", str(corpus), "--out", str(tmp_path / "v2"), "--steps", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert code != 0 and "spectral" in err and "Traceback" not in err
