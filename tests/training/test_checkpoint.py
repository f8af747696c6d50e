"""Checkpoints and final weights: exact round trips, atomic writes, pruning, refusals."""

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from musiclm.errors import UserError
from musiclm.training import checkpoint as ck
from musiclm.training.checkpoint import (
    Checkpoint,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_pretrained,
    rng_state,
    save_checkpoint,
    save_pretrained,
    set_rng_state,
)

CONFIG = {"width": 8, "layers": [1, 2], "name": "toy"}


def trained():
    """A small model and its AdamW after three steps (non-trivial optimizer state)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.LayerNorm(8), nn.Linear(8, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.95))
    for _ in range(3):
        model(torch.randn(4, 3)).pow(2).mean().backward()
        opt.step()
        opt.zero_grad()
    return model, opt


def draws():
    return random.random(), np.random.rand(), torch.rand(3)


def make_ckpt(step=3, model=None, opt=None):
    if model is None:
        model, opt = trained()
    state = {"position": {"epoch": 1, "batch": 2}, "metrics": {"loss": 0.5}}
    return Checkpoint(
        step, model.state_dict(), CONFIG, {"main": opt.state_dict()}, state, [rng_state()]
    )


def test_round_trip_is_exact(tmp_path):
    model, opt = trained()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    path = save_checkpoint(tmp_path, make_ckpt(3, model, opt))
    assert path.name == "ckpt-000003"
    assert sorted(p.name for p in path.iterdir()) == [
        "config.json", "model.safetensors", "optimizer.safetensors", "rng.safetensors",
        "trainer_state.json",
    ]  # fmt: skip
    expected = draws()

    loaded = load_checkpoint(tmp_path, model_config=dict(reversed(list(CONFIG.items()))))
    assert loaded.step == 3 and loaded.path == path and loaded.model_config == CONFIG
    assert loaded.state == {"position": {"epoch": 1, "batch": 2}, "metrics": {"loss": 0.5}}
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.weights[k], v)
    set_rng_state(loaded.rng[0])
    got = draws()
    assert got[:2] == expected[:2] and torch.equal(got[2], expected[2])

    # A fresh model + optimizer loaded from it continue exactly like the original.
    torch.manual_seed(5)
    model2 = nn.Sequential(nn.Linear(3, 8), nn.LayerNorm(8), nn.Linear(8, 1))
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1.0)
    model2.load_state_dict(loaded.weights)
    opt2.load_state_dict(loaded.optimizers["main"])
    x = torch.randn(4, 3)
    for m, o in ((model, opt), (model2, opt2)):
        m(x).pow(2).mean().backward()
        o.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)


def test_config_mismatch_is_a_user_error(tmp_path):
    save_checkpoint(tmp_path, make_ckpt())
    with pytest.raises(UserError, match="different model config.*width"):
        load_checkpoint(tmp_path, model_config={**CONFIG, "width": 16})
    with pytest.raises(UserError, match="no checkpoint"):
        load_checkpoint(tmp_path / "empty")


def test_keep_last_and_latest(tmp_path):
    model, opt = trained()
    for step in (1, 2, 10, 3):
        save_checkpoint(tmp_path, make_ckpt(step, model, opt), keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["ckpt-000003", "ckpt-000010"]
    assert latest_checkpoint(tmp_path).name == "ckpt-000010"
    (tmp_path / "ckpt-000099").mkdir()  # no trainer_state.json: not a checkpoint
    assert latest_checkpoint(tmp_path).name == "ckpt-000010"
    save_checkpoint(tmp_path, make_ckpt(10, model, opt))  # the same step again replaces it
    assert load_checkpoint(tmp_path / "ckpt-000010").step == 10
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_killed_write_leaves_nothing(tmp_path, monkeypatch):
    model, opt = trained()
    save_checkpoint(tmp_path, make_ckpt(1, model, opt))
    real, calls = ck.save_file, []

    def dying(*args, **kw):
        calls.append(1)
        if len(calls) == 2:  # weights written, optimizer file half way
            raise KeyboardInterrupt
        return real(*args, **kw)

    monkeypatch.setattr(ck, "save_file", dying)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, make_ckpt(2, model, opt), keep_last=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-000001"]
    assert load_checkpoint(tmp_path).step == 1


def test_an_export_killed_mid_write_leaves_only_our_temporaries_and_the_next_removes_them(
    tmp_path, monkeypatch
):
    model, _ = trained()
    real = ck.save_file

    def killed(tensors, path, **kw):  # safetensors' own temporary, then the kill
        (Path(path).parent / ".tmpAbC123").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(ck, "save_file", killed)
    (tmp_path / ".keep").write_text("mine")
    with pytest.raises(KeyboardInterrupt):
        ck.save_pretrained(model, {"hidden": 8}, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keep"]
    # a real kill -9 skips the clean-up: the next export removes what it left, only that
    left = tmp_path / ".model.safetensors.abcd1234.musiclm-tmp"
    left.mkdir()
    (left / ".tmpAbC123").write_bytes(b"half")
    (tmp_path / ".config.json.abcd1234.musiclm-tmp.json").write_text("{")
    monkeypatch.setattr(ck, "save_file", real)
    ck.save_pretrained(model, {"hidden": 8}, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".keep", "config.json", "model.safetensors"]


def test_pretrained_round_trip(tmp_path):
    model, _ = trained()
    model[2].weight = nn.Parameter(model[0].weight[:1, :].clone())  # a separate tensor
    tied = nn.ModuleDict({"a": nn.Linear(4, 4), "b": nn.Linear(4, 4)})
    tied["b"].weight = tied["a"].weight  # shared storage: safetensors needs a copy

    save_pretrained(model, CONFIG, tmp_path / "m")
    state, config = load_pretrained(tmp_path / "m")
    assert config == CONFIG
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())

    save_pretrained(tied, {"tied": True}, tmp_path / "t", dtype=torch.float16)
    state, _ = load_pretrained(tmp_path / "t")
    assert state["a.weight"].dtype == torch.float16
    assert torch.equal(state["a.weight"], state["b.weight"])
    header = json.loads((tmp_path / "t" / "config.json").read_text())
    assert header["format_version"] == ck.FORMAT_VERSION and len(header["weights_sha256"]) == 64


def test_pretrained_refuses_bad_files(tmp_path):
    save_pretrained(nn.Linear(2, 2), CONFIG, tmp_path)
    weights = Path(tmp_path / "model.safetensors")
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(UserError, match="checksum"):
        load_pretrained(tmp_path)
    (tmp_path / "config.json").write_text('{"format_version": 99, "model": {}}')
    with pytest.raises(UserError, match="format"):
        load_pretrained(tmp_path)
    with pytest.raises(UserError, match="missing config.json"):
        load_pretrained(tmp_path / "none")


def test_codec_keeps_types():
    tensors = {}
    obj = {"state": {0: {"step": torch.tensor(3.0)}}, "groups": [{"betas": (0.9, 0.99)}]}
    enc = ck._encode(obj, "o", tensors)
    json.dumps(enc)
    dec = ck._decode(json.loads(json.dumps(enc)), tensors)
    assert list(dec["state"]) == [0] and dec["groups"][0]["betas"] == (0.9, 0.99)
    with pytest.raises(TypeError, match="cannot store"):
        ck._encode({"f": object()}, "o", {})
