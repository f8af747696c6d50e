"""``LayoutConfig``: the vocabulary ranges, sequence shapes and config round trip."""

import pytest
import torch

from musiclm.errors import UserError
from musiclm.stages.config import StageConfig, stage_config
from musiclm.stages.layout import BOS, N_SPECIAL, PAD, LayoutConfig

SMALL = dict(mulan_levels=2, mulan_codebook=8, semantic_codebook=16, acoustic_codebook=8,
             semantic_rate=5, acoustic_rate=10, max_seconds=30)  # fmt: skip
KINDS = ("semantic", "coarse", "fine")


def _ranges(lay: LayoutConfig) -> list[tuple[str, int, int]]:
    return [
        ("special", 0, N_SPECIAL),
        ("mulan", lay.mulan_offset, lay.timing_offset),
        ("timing", lay.timing_offset, lay.semantic_offset),
        ("semantic", lay.semantic_offset, lay.acoustic_offset),
        ("acoustic", lay.acoustic_offset, lay.attribute_offset),
        ("attributes", lay.attribute_offset, lay.vocab_size),
    ]


@pytest.mark.parametrize("pattern", ["flat", "delay"])
@pytest.mark.parametrize("attributes", [False, True])
def test_ranges_tile_the_vocabulary_in_order(pattern, attributes):
    lay = LayoutConfig(kind="coarse", pattern=pattern, attributes=attributes, **SMALL,
                       coarse_levels=2, fine_levels=3)  # fmt: skip
    ranges = _ranges(lay)
    assert [b for _, _, b in ranges[:-1]] == [a for _, a, _ in ranges[1:]]  # no gap, no overlap
    sizes = {name: b - a for name, a, b in ranges}
    assert sizes["mulan"] == 2 * 8 and sizes["timing"] == 2 * 30 and sizes["semantic"] == 16
    assert sizes["acoustic"] == 8 * (5 if pattern == "flat" else 1)  # per level when flat
    assert (sizes["attributes"] > 0) == attributes


@pytest.mark.parametrize("kind", KINDS)
def test_used_ranges_hold_every_id_a_prefix_and_target_use(kind):
    lay = LayoutConfig(kind=kind, attributes=True, **SMALL, coarse_levels=2, fine_levels=2)
    b = 3
    kw = {}
    if lay.conditioned:
        kw = dict(mulan=torch.randint(8, (b, 2)), start_s=torch.tensor([0.0, 5, 99]),
                  total_s=torch.tensor([1.0, 9, 99]), tempo=torch.tensor([0, 5, -1]),
                  key=torch.tensor([23, -1, 0]))  # fmt: skip
    if kind == "coarse":
        kw["context"] = torch.randint(16, (b, 10))
    if kind == "fine":
        kw["context"] = torch.randint(8, (b, 2, 10))
    prefix = lay.prefix(**kw)
    target = torch.randint(16, (b, 10)) if kind == "semantic" else torch.randint(8, (b, 2, 10))
    ids = torch.cat([prefix, lay.target_ids(target)], dim=2)
    used = torch.zeros(lay.vocab_size, dtype=torch.bool)
    for a, e in lay.used_ranges():
        used[a:e] = True
    assert used[ids].all()
    assert prefix.shape[:2] == (b, lay.n_streams) and prefix[:, 0, -1].eq(BOS).all()


def test_levels_need_not_split_the_codec_in_half():
    """The stages may use fewer levels than the codec has (codec v2: 12 levels, stages
    4 coarse + 4 fine), and any split of them."""
    for coarse, fine in ((4, 4), (2, 6), (3, 1)):
        c = LayoutConfig(kind="coarse", **SMALL, coarse_levels=coarse, fine_levels=fine)
        f = LayoutConfig(kind="fine", **SMALL, coarse_levels=coarse, fine_levels=fine)
        assert c.target_levels == coarse and f.target_levels == fine
        assert c.n_streams == f.n_streams == max(coarse, fine)
        codes = torch.randint(8, (1, fine, 6))
        assert f.target_ids(codes).shape == (1, max(coarse, fine), 6 + fine - 1)


def test_flat_targets_give_each_level_its_own_ids():
    lay = LayoutConfig(kind="fine", pattern="flat", **SMALL, coarse_levels=2, fine_levels=2)
    codes = torch.zeros(1, 2, 3, dtype=torch.long)
    ids = lay.target_ids(codes)[0, 0]  # fine levels are levels 2 and 3 of the acoustic range
    assert ids.tolist() == [lay.acoustic_offset + 8 * q for _ in range(3) for q in (2, 3)]


def test_delay_pads_the_late_streams():
    lay = LayoutConfig(kind="coarse", **SMALL, coarse_levels=2, fine_levels=2)
    ids = lay.target_ids(torch.zeros(1, 2, 4, dtype=torch.long))
    assert ids.shape == (1, 2, 5) and ids[0, 0, -1] == PAD and ids[0, 1, 0] == PAD


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip_through_dicts(kind):
    lay = LayoutConfig(kind=kind, pattern="flat", attributes=True, beats=True, **SMALL)
    assert LayoutConfig.from_dict(lay.to_dict()) == lay
    cfg = StageConfig(layout=lay, dim=32, n_layers=1, n_heads=2)
    assert StageConfig.from_dict(cfg.to_dict()) == cfg
    assert StageConfig.from_dict(cfg.to_dict()).hash() == cfg.hash()
    with pytest.raises(UserError, match="unknown layout config keys"):
        LayoutConfig.from_dict({**lay.to_dict(), "harmony": True})
    with pytest.raises(ValueError):
        LayoutConfig(kind="drums")


def test_stage_rules_live_in_the_stage_config():
    fine = stage_config("fine", "debug", attributes=True, beats=True, text_cond=0.5)
    assert not fine.layout.attributes and fine.text_cond == 0.0  # no MuLan: nothing to add
    sem = stage_config("semantic", "debug", attributes=True, beats=True, text_cond=0.5)
    assert sem.layout.has_beats and sem.text_cond == 0.5
    with pytest.raises(UserError, match="beats need attributes"):
        stage_config("semantic", "debug", beats=True)
    with pytest.raises(UserError, match="unknown stage preset"):
        stage_config("semantic", "huge")
    mel = stage_config("coarse", "debug", melody=True, form=True, melody_dropout=0.2,
                       per_window=True)  # fmt: skip
    assert mel.layout.melody and mel.layout.form and mel.melody_dropout == 0.2 and mel.per_window
    assert stage_config("semantic", "debug").melody_dropout == 0.5  # the default kept
    assert not stage_config("fine", "debug", melody=True).layout.melody  # fine takes none
    with pytest.raises(UserError, match="melody_dropout"):
        stage_config("semantic", "debug", melody_dropout=1.5)


def test_stage_kinds_are_a_table_and_patterns_objects():
    from musiclm.stages.layout import KINDS
    from musiclm.stages.patterns import PATTERNS, SINGLE

    assert [k for k, v in KINDS.items() if v.conditioned] == ["semantic", "coarse"]
    assert [v.context for v in KINDS.values()] == [None, "semantic", "coarse"]
    for kind in KINDS:
        for pattern in PATTERNS:
            lay = LayoutConfig(kind=kind, pattern=pattern, **SMALL)
            want = SINGLE if kind == "semantic" else PATTERNS[pattern]
            assert lay.target_pattern is want and lay.stage is KINDS[kind]
