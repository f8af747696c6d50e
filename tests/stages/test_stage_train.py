import numpy as np
import pytest
import torch

from musiclm.errors import UserError
from musiclm.stages.config import StageConfig
from musiclm.stages.layout import LayoutConfig
from musiclm.stages.train import StageDataset, StageTask
from musiclm.tokens import write_meta, write_shard
from musiclm.training import TrainConfig, Trainer

LAYOUT = dict(
    mulan_levels=3,
    mulan_codebook=8,
    semantic_codebook=16,
    acoustic_codebook=8,
    coarse_levels=2,
    fine_levels=2,
    semantic_rate=5,
    acoustic_rate=10,
    max_seconds=30,
)


@pytest.fixture(scope="module")
def tokens(tmp_path_factory):
    """Three clips of 12, 4 and 25 s whose tokens encode time, so windows can be checked."""
    root = tmp_path_factory.mktemp("tokens")
    lengths = {"a": 12.0, "b": 4.0, "c": 25.0}
    kinds = {"semantic": [], "acoustic": [], "mulan": []}
    for clip, seconds in lengths.items():
        s = int(seconds * 5)
        kinds["semantic"].append((clip, {"tokens": (np.arange(s) % 16).astype(np.int16)}))
        frames = np.arange(int(seconds * 10)) // 2 % 8  # acoustic frame i <-> semantic i // 2
        codes = np.stack([frames] * 4).astype(np.int16)
        kinds["acoustic"].append((clip, {"codes": codes}))
        windows = max(1, int(seconds // 10))
        kinds["mulan"].append((clip, {"tokens": np.full((3, windows), 5, np.int16)}))
    models = {
        "mulan": {"rvq_levels": 3, "rvq_codebook_size": 8},
        "semantic": {"sample_rate": 16000, "hop_length": 3200, "clusters": 16},
        "acoustic": {
            "family": "frame",
            "sample_rate": 24000,
            "hop_length": 2400,
            "levels": 4,
            "codebook_size": 8,
        },
    }
    for kind, items in kinds.items():
        write_meta(
            root / kind, {"kind": kind, "fingerprint": kind, "shards": 1, "model": models[kind]}
        )
        write_shard(root / kind, 0, items)
    return root


def _config(kind, window_seconds=4.0, **kw):
    return StageConfig(
        layout=LayoutConfig(kind=kind, **LAYOUT),
        dim=32,
        n_layers=1,
        n_heads=2,
        window_seconds=window_seconds,
        **kw,
    )


@pytest.mark.parametrize("kind", ["semantic", "coarse", "fine"])
def test_windows_are_aligned_across_token_kinds(tokens, kind):
    cfg = _config(kind)
    ds = StageDataset(tokens, cfg, train=True)
    assert len(ds) == 3 and ds.skipped == 0
    torch.manual_seed(0)
    for i in range(len(ds)):
        item = ds[i]
        assert item["prefix"].shape == (cfg.layout.n_streams, cfg.prefix_len)
        target = item["target"]
        if kind == "semantic":
            assert target.shape == (20,)
            assert torch.all((target[1:] - target[:-1]) % 16 == 1)  # a contiguous window
        else:
            assert target.shape == (2, 40)
            if kind == "coarse":  # the acoustic window starts where the semantic one does
                sem = item["prefix"][0, 3 + 2 : 3 + 2 + 20] - cfg.layout.semantic_offset
                assert torch.equal(target[0, ::2], sem % 8)


def test_short_clips_are_skipped_and_counted(tokens):
    ds = StageDataset(
        tokens,
        StageConfig(
            layout=LayoutConfig(kind="semantic", **LAYOUT),
            dim=32,
            n_layers=1,
            n_heads=2,
            window_seconds=10.0,
        ),
    )
    assert ds.skipped == 1 and len(ds) == 2
    with pytest.raises(UserError, match="no clip"):
        StageDataset(tokens, _config("semantic", window_seconds=60.0))


def test_wrong_vocabulary_is_refused(tokens):
    layout = LayoutConfig(kind="semantic", **{**LAYOUT, "mulan_levels": 12})
    with pytest.raises(UserError, match="MuLan tokens have 3 levels"):
        StageDataset(
            tokens, StageConfig(layout=layout, dim=32, n_layers=1, n_heads=2, window_seconds=4.0)
        )


def test_trainer_runs_a_stage(tokens, tmp_path):
    task = StageTask(_config("coarse"), tokens, val=tokens)
    cfg = TrainConfig(
        steps=30,
        batch_size=3,
        lr=3e-3,
        warmup_steps=2,
        log_every=5,
        eval_every=30,
        save_every=30,
        out_dir=str(tmp_path / "run"),
    )
    result = Trainer(task, cfg).fit()
    assert result.step == 30
    import json

    records = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train = [r["ce"] for r in records if r["split"] == "train"]
    assert train[-1] < train[0]


def test_cli_trains_exports_and_reloads(tokens, tmp_path, capsys):
    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage

    argv = [
        "stage",
        "train",
        "fine",
        "--tokens",
        str(tokens),
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


def test_token_files_without_model_facts_are_refused(tmp_path):
    from musiclm.stages.train import layout_from_tokens

    write_meta(tmp_path / "acoustic", {"kind": "acoustic", "fingerprint": "x", "shards": 0})
    with pytest.raises(UserError, match="lacks"):
        layout_from_tokens(tmp_path, "fine")


def test_save_and_load_round_trip(tmp_path):
    from musiclm.stages.config import stage_config
    from musiclm.stages.lm import StageLM, load_stage, save_stage

    torch.manual_seed(0)
    model = StageLM(stage_config("semantic", "debug", **LAYOUT)).eval()
    save_stage(model, tmp_path / "m")
    back = load_stage(tmp_path / "m")
    prefix = model.layout.prefix(
        mulan=torch.zeros(1, 3, dtype=torch.long), start_s=torch.zeros(1), total_s=torch.ones(1)
    )
    target = torch.randint(0, 16, (1, 10))
    torch.testing.assert_close(model(prefix, target), back(prefix, target))


@pytest.mark.parametrize("kind", ["semantic", "coarse", "fine"])
def test_saved_stages_store_only_the_embedding_rows_they_use(kind, tmp_path):
    from safetensors import safe_open

    from musiclm.stages.config import stage_config
    from musiclm.stages.lm import StageLM, load_stage, save_stage

    torch.manual_seed(0)
    model = StageLM(stage_config(kind, "debug", **LAYOUT)).eval()
    save_stage(model, tmp_path / "m")
    lay = model.layout
    with safe_open(str(tmp_path / "m" / "model.safetensors"), "pt") as f:
        rows = f.get_tensor("net.embed.0.weight").shape[0]
    assert rows == sum(b - a for a, b in lay.used_ranges())
    assert rows < lay.vocab_size or kind == "coarse"  # the coarse stage sees every kind
    back = load_stage(tmp_path / "m")
    context = {"coarse": torch.randint(0, 16, (1, 10)),
               "fine": torch.randint(0, 8, (1, 2, 10))}.get(kind)  # fmt: skip
    prefix = lay.prefix(mulan=torch.zeros(1, 3, dtype=torch.long), start_s=torch.zeros(1),
                        total_s=torch.ones(1), context=context)  # fmt: skip
    g = [torch.Generator().manual_seed(1) for _ in range(2)]
    frames = 10
    a, b = (m.generate(prefix, frames, generator=gi) for m, gi in zip((model, back), g))
    assert torch.equal(a, b)  # the rows left out are never looked up


def test_a_stage_may_condition_on_fewer_mulan_levels(tokens, tmp_path, capsys):
    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage

    layout = LayoutConfig(kind="semantic", **{**LAYOUT, "mulan_levels": 2})
    cfg = StageConfig(layout=layout, dim=32, n_layers=1, n_heads=2, window_seconds=4.0)
    item = StageDataset(tokens, cfg, train=False)[0]
    # two MuLan ids (level 0 and 1 of code 5), then the timing tokens
    assert item["prefix"][0, :2].tolist() == [layout.mulan_offset + 5, layout.mulan_offset + 8 + 5]
    assert item["prefix"].shape[1] == cfg.prefix_len
    with pytest.raises(ValueError, match="1 MuLan levels given"):
        layout.mulan_ids(torch.zeros(1, 1, dtype=torch.long))
    base = ["stage", "train", "semantic", "--tokens", str(tokens), "-c", "debug", "--steps", "1"]
    base += ["-b", "2", "-o", str(tmp_path / "run")]
    assert main(base + ["--mulan-levels", "2"]) == 0
    assert load_stage(tmp_path / "run" / "final").layout.mulan_levels == 2
    assert main(base + ["--mulan-levels", "4"]) == 2
    assert "--mulan-levels must be 1..3" in capsys.readouterr().err
    assert main(base + ["--text-cond", "1.5"]) == 2
    assert "--text-cond must be in [0, 1]" in capsys.readouterr().err


def test_text_conditioning_uses_caption_tokens(tokens, tmp_path):
    import shutil

    root = tmp_path / "tokens"
    shutil.copytree(tokens, root)
    layout = LayoutConfig(kind="semantic", **LAYOUT)
    cfg = StageConfig(layout=layout, dim=32, n_layers=1, n_heads=2, window_seconds=4.0,
                      text_cond=1.0)  # fmt: skip
    with pytest.raises(UserError, match="--kinds captions"):
        StageDataset(root, cfg)
    captions = [(c, {"tokens": np.array([[1, 2], [3, 4], [6, 7]], np.int16)}) for c in "abc"]
    write_meta(root / "captions", {"kind": "captions", "fingerprint": "other", "shards": 1})
    write_shard(root / "captions", 0, captions)
    with pytest.raises(UserError, match="fingerprint|another|expected"):
        StageDataset(root, cfg)  # caption tokens of another MuLan
    write_meta(root / "captions", {"kind": "captions", "fingerprint": "mulan", "shards": 1})
    torch.manual_seed(0)
    off = layout.mulan_offset + np.arange(3) * 8
    seen = {tuple((StageDataset(root, cfg)[0]["prefix"][0, :3] - torch.from_numpy(off)).tolist())
            for _ in range(12)}  # fmt: skip
    assert seen == {(1, 3, 6), (2, 4, 7)}  # a random caption each time, never the audio's 5s
    val = StageDataset(root, cfg, train=False)[0]["prefix"][0, :3]
    assert (val - torch.from_numpy(off)).tolist() == [1, 3, 6]  # validation: first caption
    audio_only = StageDataset(root, StageConfig(layout=layout, dim=32, n_layers=1, n_heads=2,
                                                window_seconds=4.0))  # fmt: skip
    assert (audio_only[0]["prefix"][0, :3] - torch.from_numpy(off)).tolist() == [5, 5, 5]


def test_cli_adds_tempo_and_key_to_a_trained_stage(tokens, tmp_path, capsys):
    import shutil

    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage

    root = tmp_path / "tokens"
    shutil.copytree(tokens, root)
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


def test_acoustic_stages_may_model_a_prefix_of_the_levels(tokens, tmp_path, capsys):
    """A codec whose top levels add nothing need not have them generated: --coarse-levels
    and --fine-levels pick the split (and how many levels in all) from the token files'."""
    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage

    def run(kind, *extra):
        out = tmp_path / f"{kind}{len(extra)}"
        args = ["stage", "train", kind, "--tokens", str(tokens), "-c", "debug", "--steps", "1"]
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
