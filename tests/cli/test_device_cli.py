"""``--device``: a missing CUDA GPU is one line and exit 2, for every command that takes it."""

import pytest
import torch

from musiclm.cli.main import main

NO_CUDA = not torch.cuda.is_available()


@pytest.mark.skipif(not NO_CUDA, reason="this machine has a CUDA GPU")
@pytest.mark.parametrize("argv", [
    ["generate", "calm piano", "-o", "{tmp}/a.wav"],
    ["ui"],
    ["eval", "p.jsonl", "--corpus", "c", "--heldout", "h"],
    ["stage", "train", "semantic", "--tokens", "{tmp}", "--out", "{tmp}/r"],
])  # fmt: skip
def test_missing_cuda_is_one_line(argv, tmp_path, capsys):
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--device", "cuda"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --device cuda: no CUDA GPU"), err
