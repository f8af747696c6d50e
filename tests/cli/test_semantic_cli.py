"""`musiclm semantic`: fit and encode in-process; bad input is one line and exit 2."""

import numpy as np
import pytest

from musiclm.cli.main import main
from musiclm.semantic import SemanticTokenizer


def test_fit_then_encode_npy_and_npz(semantic_corpus, tmp_path, capsys):
    out = tmp_path / "sem"
    argv = ["semantic", "fit", "--data", str(semantic_corpus), "--out", str(out), "-c", "debug"]
    assert main(argv + ["--clusters", "8", "--clips", "4", "--device", "cpu"]) == 0
    tok = SemanticTokenizer.from_pretrained(out)
    assert tok.codebook_size == 8
    wav = semantic_corpus / "0.wav"
    assert (
        main(["semantic", "encode", str(wav), "-o", str(tmp_path / "t.npy"), "-m", str(out)]) == 0
    )
    tokens = np.load(tmp_path / "t.npy")
    assert tokens.dtype == np.int64 and tokens.shape == (100,)  # 4 s at 25 Hz
    assert (
        main(["semantic", "encode", str(wav), "-o", str(tmp_path / "t.npz"), "-m", str(out)]) == 0
    )
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        assert np.array_equal(z["tokens"], tokens) and str(z["fingerprint"]) == tok.fingerprint
    assert "100 tokens" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["encode", "{missing}", "-o", "{tmp}/t.npy", "-m", "{tok0}"], "no audio file"),
        (["encode", "{wav}", "-o", "{tmp}/t.txt", "-m", "{tok0}"], ".npy or .npz"),
        (["encode", "{wav}", "-o", "{tmp}/t.npy", "-m", "{missing}"], "no semantic tokenizer"),
        (["encode", "{wav}", "-o", "{tmp}/t.npy", "-m", "{corpus}"], "missing config.json"),
        (["fit", "--data", "{missing}", "--out", "{tmp}/o"], "no manifest"),
        (["fit", "--data", "{corpus}", "--out", "{tmp}/o", "--iteration", "-1"], "0 or more"),
        (["fit", "--data", "{corpus}", "--out", "{tmp}/o", "--iteration", "1"], "needs --from"),
        (["fit", "--data", "{corpus}", "--out", "{tmp}/o", "--from", "{tok0}"], "iterations >= 1"),
        (["fit", "--data", "{corpus}", "--out", "{tmp}/o", "-i", "2", "--from", "{tok0}"],
         "is iteration 0"),
        (["fit", "--data", "{corpus}", "--out", "{tmp}/o", "-i", "1", "--from", "{missing}"],
         "no semantic tokenizer"),
        (["fit", "--data", "{corpus}", "--out", "{tmp}/o", "-c", "huge"], "unknown semantic"),
        (["fit", "--data", "{corpus}", "--out", "{tmp}/o", "-k", "1"], "clusters"),
        (["fit", "--data", "{corpus}", "--out", "{tmp}/o", "--device", "tpu"], "--device"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    argv, message, semantic_corpus, semantic_tok0_dir, tmp_path, capsys
):
    paths = dict(
        missing=tmp_path / "nope.wav", tmp=tmp_path, tok0=semantic_tok0_dir, corpus=semantic_corpus,
        wav=semantic_corpus / "0.wav",
    )  # fmt: skip
    assert main(["semantic", *(a.format(**paths) for a in argv)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and message in err and "\n" not in err
