"""``resolve_device`` and ``from_pretrained(device=...)``; inference does not import the trainer
(the ``--device`` option: tests/cli/test_device_cli.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from musiclm.devices import resolve_device
from musiclm.errors import UserError
from musiclm.pipeline import MusicLM


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(UserError, match="--device must be one of"):
        resolve_device("tpu")


def test_cpu_device_gives_the_same_bytes(tmp_path):
    MusicLM.debug(attributes=True).save_pretrained(tmp_path)
    plain = MusicLM.from_pretrained(tmp_path).generate(["calm piano"], seconds=1.0, seed=3)
    cpu = MusicLM.from_pretrained(tmp_path, device="cpu")
    assert cpu.device == torch.device("cpu")
    assert np.array_equal(plain, cpu.generate(["calm piano"], seconds=1.0, seed=3))


def test_loading_for_inference_does_not_import_the_trainer(tmp_path):
    MusicLM.debug().save_pretrained(tmp_path)
    code = (
        "import sys; from musiclm import MusicLM; "
        f"MusicLM.from_pretrained({str(tmp_path)!r}, device='cpu'); "
        "print(sorted(m for m in sys.modules if m.startswith('musiclm.training')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['musiclm.training', 'musiclm.training.checkpoint']"
