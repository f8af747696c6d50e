"""`musiclm stage`: train a debug stage of each kind from token files (levels, MuLan
levels, tempo and key), and merge a fine-tuned stage with its base."""

import numpy as np
import pytest
import torch

from fixtures.stages import ATTRIBUTE_LAYOUT, LAYOUT
from musiclm.errors import UserError
from musiclm.stages.config import StageConfig
from musiclm.stages.layout import LayoutConfig
from musiclm.stages.lm import StageLM
from musiclm.stages.train import StageDataset
from musiclm.tokens import write_meta, write_shard


def test_cli_trains_exports_and_reloads(stage_train_tokens, tmp_path, capsys):
    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage

    argv = [
        "stage",
        "train",
        "fine",
        "--tokens",
        str(stage_train_tokens),
        "-c",
        "debug",
        "--steps",
        "2",
        "-b",
        "2",
        "-o",
        str(tmp_path / "run"),
    ]
    assert main(argv) == 0
    model = load_stage(tmp_path / "run" / "final")
    assert model.layout.coarse_levels == 2 and model.layout.acoustic_rate == 10
    assert main(argv[:2] + ["lyrics"] + argv[3:]) == 2
    assert "unknown stage" in capsys.readouterr().err


def test_a_stage_may_condition_on_fewer_mulan_levels(stage_train_tokens, tmp_path, capsys):
    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage

    layout = LayoutConfig(kind="semantic", **{**LAYOUT, "mulan_levels": 2})
    cfg = StageConfig(layout=layout, dim=32, n_layers=1, n_heads=2, window_seconds=4.0)
    item = StageDataset(stage_train_tokens, cfg, train=False)[0]
    # two MuLan ids (level 0 and 1 of code 5), then the timing tokens
    assert item["prefix"][0, :2].tolist() == [layout.mulan_offset + 5, layout.mulan_offset + 8 + 5]
    assert item["prefix"].shape[1] == cfg.prefix_len
    with pytest.raises(ValueError, match="1 MuLan levels given"):
        layout.mulan_ids(torch.zeros(1, 1, dtype=torch.long))
    base = [
        "stage",
        "train",
        "semantic",
        "--tokens",
        str(stage_train_tokens),
        "-c",
        "debug",
        "--steps",
        "1",
    ]
    base += ["-b", "2", "-o", str(tmp_path / "run")]
    assert main(base + ["--mulan-levels", "2"]) == 0
    assert load_stage(tmp_path / "run" / "final").layout.mulan_levels == 2
    assert main(base + ["--mulan-levels", "4"]) == 2
    assert "--mulan-levels must be 1..3" in capsys.readouterr().err
    assert main(base + ["--text-cond", "1.5"]) == 2
    assert "--text-cond must be in [0, 1]" in capsys.readouterr().err


def test_cli_adds_tempo_and_key_to_a_trained_stage(stage_train_tokens, tmp_path, capsys):
    import shutil

    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage

    root = tmp_path / "tokens"
    shutil.copytree(stage_train_tokens, root)
    base = ["stage", "train", "semantic", "--tokens", str(root), "-c", "debug", "--steps", "1",
            "-b", "2"]  # fmt: skip
    assert main(base + ["-o", str(tmp_path / "plain")]) == 0
    attr = base + ["--attributes", "--init-from", str(tmp_path / "plain" / "final")]
    assert main(attr + ["-o", str(tmp_path / "a")]) == 2
    assert "--kinds attributes" in capsys.readouterr().err
    items = [(c, {"tempo": np.array([7], np.int16), "key": np.array([3], np.int16)}) for c in "abc"]
    write_meta(root / "attributes", {"kind": "attributes", "fingerprint": "a", "shards": 1})
    write_shard(root / "attributes", 0, items)
    assert main(attr + ["-o", str(tmp_path / "b")]) == 0
    assert load_stage(tmp_path / "b" / "final").layout.has_attributes
    assert main(base + ["--init-from", str(tmp_path / "nothing"), "-o", str(tmp_path / "c")]) == 2
    assert "no stage there" in capsys.readouterr().err


def test_acoustic_stages_may_model_a_prefix_of_the_levels(stage_train_tokens, tmp_path, capsys):
    """A codec whose top levels add nothing need not have them generated: --coarse-levels
    and --fine-levels pick the split (and how many levels in all) from the token files'."""
    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage

    def run(kind, *extra):
        out = tmp_path / f"{kind}{len(extra)}"
        args = [
            "stage",
            "train",
            kind,
            "--tokens",
            str(stage_train_tokens),
            "-c",
            "debug",
            "--steps",
            "1",
        ]
        return main(args + ["-b", "2", "-o", str(out), *extra]), out / "final"

    code, final = run("fine", "--coarse-levels", "1", "--fine-levels", "2")
    assert code == 0
    lay = load_stage(final).layout
    assert (lay.coarse_levels, lay.fine_levels) == (1, 2)  # level 4 of 4 is left out
    code, final = run("coarse", "--coarse-levels", "3")
    assert code == 0
    assert (load_stage(final).layout.coarse_levels, load_stage(final).layout.fine_levels) == (3, 1)
    assert run("fine", "--coarse-levels", "3", "--fine-levels", "2")[0] == 2
    assert "exceed the 4 levels" in capsys.readouterr().err
    assert run("semantic", "--coarse-levels", "2")[0] == 2
    assert "for the coarse and fine stages" in capsys.readouterr().err


def test_interpolating_a_fine_tuned_stage_with_its_base(tmp_path, capsys):
    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage, save_stage
    from musiclm.stages.train import interpolate, warm_start

    def stage(beats, dim=32):
        lay = LayoutConfig(kind="semantic", attributes=beats, beats=beats, **ATTRIBUTE_LAYOUT)
        return StageLM(StageConfig(layout=lay, dim=dim, n_layers=1, n_heads=2, window_seconds=2.0))

    torch.manual_seed(0)
    base, tuned = stage(False), stage(True)
    warm_start(tuned, base)
    with torch.no_grad():  # a "fine-tune": every weight moves, the beat table too
        for p in tuned.parameters():
            p.add_(torch.randn_like(p))
    n = base.layout.vocab_size
    half = interpolate(base, tuned, 0.5)
    b, t, h = base.state_dict(), tuned.state_dict(), half.state_dict()
    for name in b:
        k = min(n, b[name].shape[0])
        assert torch.allclose(h[name][:k], (b[name][:k] + t[name][:k]) / 2), name
    emb = "net.embed.0.weight"
    assert torch.equal(h[emb][n:], t[emb][n:])  # ids the base lacks: the tuned rows
    assert torch.allclose(h["net.position_embed.weight"], t["net.position_embed.weight"] / 2)
    for alpha, want in ((0.0, b), (1.0, t)):
        got = interpolate(base, tuned, alpha).state_dict()
        assert all(torch.allclose(got[k][: want[k].shape[0]], want[k]) for k in want)
    with pytest.raises(UserError, match="alpha"):
        interpolate(base, tuned, 1.5)
    with pytest.raises(UserError, match="sizes must match"):
        interpolate(stage(False, dim=64), tuned, 0.5)
    # the CLI: the same merge of the saved stages
    save_stage(base, tmp_path / "base")
    save_stage(tuned, tmp_path / "tuned")
    argv = ["stage", "merge", str(tmp_path / "base"), str(tmp_path / "tuned"), "-o"]
    assert main(argv + [str(tmp_path / "m")]) == 0
    merged = load_stage(tmp_path / "m")
    assert merged.layout.has_beats
    want = interpolate(load_stage(tmp_path / "base"), load_stage(tmp_path / "tuned"), 0.5)
    assert all(torch.equal(v, want.state_dict()[k]) for k, v in merged.state_dict().items())
    assert main(["stage", "merge", str(tmp_path / "nope"), str(tmp_path / "tuned"),
                 "-o", str(tmp_path / "x")]) == 2  # fmt: skip
    assert "no stage there" in capsys.readouterr().err
