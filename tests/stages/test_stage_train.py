import numpy as np
import pytest
import torch

from fixtures.stages import LAYOUT
from musiclm.errors import UserError
from musiclm.stages.config import StageConfig
from musiclm.stages.layout import LayoutConfig
from musiclm.stages.train import StageDataset, StageTask
from musiclm.tokens import write_meta, write_shard
from musiclm.training import TrainConfig, Trainer


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
def test_windows_are_aligned_across_token_kinds(stage_train_tokens, kind):
    cfg = _config(kind)
    ds = StageDataset(stage_train_tokens, cfg, train=True)
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


def test_short_clips_are_skipped_and_counted(stage_train_tokens):
    ds = StageDataset(
        stage_train_tokens,
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
        StageDataset(stage_train_tokens, _config("semantic", window_seconds=60.0))


def test_wrong_vocabulary_is_refused(stage_train_tokens):
    layout = LayoutConfig(kind="semantic", **{**LAYOUT, "mulan_levels": 12})
    with pytest.raises(UserError, match="MuLan tokens have 3 levels"):
        StageDataset(
            stage_train_tokens,
            StageConfig(layout=layout, dim=32, n_layers=1, n_heads=2, window_seconds=4.0),
        )


def test_trainer_runs_a_stage(stage_train_tokens, tmp_path):
    task = StageTask(_config("coarse"), stage_train_tokens, val=stage_train_tokens)
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


def test_text_conditioning_uses_caption_tokens(stage_train_tokens, tmp_path):
    import shutil

    root = tmp_path / "tokens"
    shutil.copytree(stage_train_tokens, root)
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
