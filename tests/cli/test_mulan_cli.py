"""`musiclm mulan`: train a debug MuLan for a few steps, embed and search with it; bad
input gives one line and exit code 2."""

import numpy as np
import pytest

from musiclm.cli.main import main
from musiclm.mulan.model import BUNDLED


@pytest.fixture(scope="module")
def model(mulan_corpus, tmp_path_factory):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("mulan_run")
    args = ["mulan", "train", "--data", str(mulan_corpus), "--config", "debug", "--out", str(run)]
    code = main(args + ["--steps", "2", "--batch-size", "4"])
    torch.set_num_threads(threads)
    assert code == 0
    assert (run / "final" / "model.safetensors").is_file()
    return run / "final"


def test_embed_text_and_audio(model, mulan_corpus, tmp_path, capsys):
    assert main(["mulan", "embed", "--text", "a tone", "--text", "", "-m", str(model)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("'a tone': ")
    out = tmp_path / "v.npy"
    assert (
        main(["mulan", "embed", str(mulan_corpus / "0.wav"), "-m", str(model), "-o", str(out)]) == 0
    )
    v = np.load(out)
    assert v.shape == (1, 16) and abs(np.linalg.norm(v) - 1) < 1e-5
    out = tmp_path / "t.npy"
    args = ["mulan", "embed", "--text", "x", "--tokens", "-m", str(model), "-o", str(out)]
    assert main(args) == 0
    assert np.load(out).shape == (1, 2) and np.load(out).dtype == np.int64


def test_search(model, mulan_corpus, tmp_path, capsys):
    index = tmp_path / "idx.npz"
    args = ["mulan", "search", "tone number 3", "--data", str(mulan_corpus), "-m", str(model)]
    assert main(args + ["--top", "3", "--index", str(index)]) == 0
    rows = [
        r for r in capsys.readouterr().out.splitlines() if r.startswith("| ") and "rank" not in r
    ]
    assert len(rows) == 3 and index.is_file()
    stamp = index.stat().st_mtime_ns
    assert main(args + ["--top", "3", "--index", str(index)]) == 0
    assert index.stat().st_mtime_ns == stamp  # reused, not rewritten
    assert capsys.readouterr().out.count("\n| ") == 3


@pytest.mark.parametrize("content", [b"my notes", b"", "npz", "npy"])
def test_search_never_overwrites_a_file_that_is_not_its_index(
    content, model, mulan_corpus, tmp_path, capsys
):
    index = tmp_path / "notes.npz"
    if content == "npz":
        np.savez(index, weights=np.zeros(3))  # someone else's arrays
    elif content == "npy":
        np.save(tmp_path / "a.npy", np.zeros(3))
        (tmp_path / "a.npy").rename(index)
    else:
        index.write_bytes(content)
    before = index.read_bytes()
    args = ["mulan", "search", "tone", "--data", str(mulan_corpus), "-m", str(model), "--index"]
    assert main(args + [str(index)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a musiclm search index" in err[0]
    assert index.read_bytes() == before
    assert main(args + [str(tmp_path)]) == 2  # a folder
    assert "is a folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (["mulan", "embed"], "an audio file or --text"),
        (["mulan", "embed", "--text", "x", "-m", "/nonexistent/m"], "missing config.json"),
        (["mulan", "search", "x", "--data", "/nonexistent/c", "--top", "0"], "--top"),
        (["mulan", "train", "--data", "/nonexistent/c", "--config", "debug"], "no manifest"),
        (["mulan", "train", "--data", "/nonexistent/c", "--config", "huge"], "unknown MuLan"),
    ],
)
def test_bad_input_exits_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.skipif((BUNDLED / "config.json").exists(), reason="a bundled MuLan exists")
def test_no_bundled_model(capsys):
    assert main(["mulan", "embed", "--text", "x"]) == 2
    assert "no bundled MuLan yet" in capsys.readouterr().err


def test_bad_audio_file(model, tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio")
    assert main(["mulan", "embed", str(bad), "-m", str(model)]) == 2
    assert "cannot read audio" in capsys.readouterr().err
