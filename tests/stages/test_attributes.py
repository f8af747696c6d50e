import math

import numpy as np
import pytest
import torch

from musiclm.conditions import parse_tempo
from musiclm.errors import UserError
from musiclm.stages.attributes import (
    TEMPO_BINS,
    bin_tempo,
    record_attributes,
    tempo_bin,
)
from musiclm.stages.config import StageConfig
from musiclm.stages.layout import NULL, LayoutConfig
from musiclm.stages.lm import StageLM
from musiclm.theory import N_KEYS, key_index, key_name, parse_key

LAYOUT = dict(mulan_levels=2, mulan_codebook=8, semantic_codebook=16, acoustic_codebook=8,
              coarse_levels=2, fine_levels=2, semantic_rate=5, acoustic_rate=10,
              max_seconds=30)  # fmt: skip


@pytest.mark.parametrize(
    "text, tempo, key",
    [
        ("A calm solo piano piece in C major at 70 bpm", 70.0, "C major"),
        ("Fast energetic drum and bass at 174 BPM", 174.0, None),
        ("A sad cello solo in E minor", None, "E minor"),
        ("Lo-fi beat, 85 bpm, in f# dorian", 85.0, "F# minor"),
        ("a 120-bpm groove in Bb major", 120.0, "Bb major"),
        ("a minor chord progression", None, None),  # "a" is an article here
        ("a violin melody backed with 808s", None, None),  # 808 is not a tempo
        ("slow blues in a minor key", None, "A minor"),
    ],
)
def test_prompts_state_tempo_and_key(text, tempo, key):
    assert parse_tempo(text) == tempo
    k = parse_key(text)
    assert (None if k is None else key_name(k)) == key


def test_tempo_bins_are_narrower_than_the_eval_tolerance():
    centres = [bin_tempo(i) for i in range(TEMPO_BINS)]
    assert all(b > a for a, b in zip(centres, centres[1:]))
    for bpm in (40.0, 63.0, 70.0, 99.5, 124.0, 174.0, 249.0):
        assert abs(bin_tempo(tempo_bin(bpm)) / bpm - 1) < 0.02  # a bin is ~3 % wide
    assert tempo_bin(10) == 0 and tempo_bin(900) == TEMPO_BINS - 1
    with pytest.raises(ValueError):
        tempo_bin(math.nan)


def test_keys_spell_alike():
    assert key_index("Db", "major") == key_index("C#", "major") == 1
    assert key_index("A", "dorian") == key_index("A", "minor") == 21
    assert key_index("F", "mixolydian") == key_index("F", "major")
    assert {key_name(i) for i in range(N_KEYS)} == {key_name(key_index(*key_name(i).split()))
                                                    for i in range(N_KEYS)}  # fmt: skip
    assert record_attributes(93.0, "C", "major") == (tempo_bin(93.0), 0)
    assert record_attributes(None, "H", "major") == (-1, -1)


def test_layout_adds_tempo_and_key_after_every_other_id():
    plain = LayoutConfig(kind="coarse", **LAYOUT)
    lay = LayoutConfig(kind="coarse", attributes=True, **LAYOUT)
    assert lay.vocab_size == plain.vocab_size + TEMPO_BINS + N_KEYS
    assert lay.attribute_offset == plain.vocab_size and lay.acoustic_offset == plain.acoustic_offset
    assert (lay.attribute_offset, lay.vocab_size) in lay.used_ranges()
    fine = LayoutConfig(kind="fine", attributes=True, **LAYOUT)
    assert (
        not fine.has_attributes
        and fine.vocab_size == LayoutConfig(kind="fine", **LAYOUT).vocab_size
    )
    kw = dict(mulan=torch.zeros(3, 2, dtype=torch.long), start_s=torch.zeros(3),
              total_s=torch.ones(3), context=torch.zeros(3, 20, dtype=torch.long))  # fmt: skip
    tempo, key = torch.tensor([5, -1, 63]), torch.tensor([23, 0, -1])
    p = lay.prefix(**kw, tempo=tempo, key=key)
    assert p.shape[2] == plain.prefix(**kw).shape[2] + 2
    ids = p[:, 0, 4:6]  # after 2 MuLan and 2 timing ids
    off = lay.attribute_offset
    assert ids.tolist() == [[off + 5, off + TEMPO_BINS + 23], [NULL, off + TEMPO_BINS],
                            [off + 63, NULL]]  # fmt: skip
    dropped = lay.prefix(**kw, tempo=tempo, key=key, drop=torch.tensor([True, False, True]))
    # guidance's unconditional pass drops them with the MuLan ids (timing stays)
    assert dropped[[0, 2]][:, 0, [0, 1, 4, 5]].eq(NULL).all()
    assert lay.prefix(**kw)[:, 0, 4:6].eq(NULL).all()  # unknown when not given
    with pytest.raises(ValueError, match="attribute ids"):
        lay.prefix(**kw, tempo=torch.tensor([64, 0, 0]))
    cfg = StageConfig(layout=lay, dim=32, n_layers=1, n_heads=2, window_seconds=4.0)
    assert p.shape[2] == cfg.prefix_len  # 20 semantic frames: 4 s at 5 Hz


def test_warm_start_keeps_a_trained_stage_and_adds_rows():
    from musiclm.stages.train import warm_start

    def stage(attributes, dim=32):
        lay = LayoutConfig(kind="semantic", attributes=attributes, **LAYOUT)
        return StageLM(StageConfig(layout=lay, dim=dim, n_layers=1, n_heads=2, window_seconds=2.0))

    torch.manual_seed(0)
    old, new = stage(False), stage(True)
    before = new.net.embed[0].weight[old.layout.vocab_size :].clone()
    warm_start(new, old)
    emb = new.net.embed[0].weight
    assert torch.equal(emb[: old.layout.vocab_size], old.net.embed[0].weight)
    assert torch.equal(emb[old.layout.vocab_size :], before)  # the new ids keep their init
    for name, value in old.state_dict().items():
        if not name.startswith("net.embed."):
            assert torch.equal(new.state_dict()[name], value), name
    with pytest.raises(UserError, match="sizes must match"):
        warm_start(stage(True, dim=64), old)


def test_interpolating_a_fine_tuned_stage_with_its_base(tmp_path, capsys):
    from musiclm.cli.main import main
    from musiclm.stages.lm import load_stage, save_stage
    from musiclm.stages.train import interpolate, warm_start

    def stage(beats, dim=32):
        lay = LayoutConfig(kind="semantic", attributes=beats, beats=beats, **LAYOUT)
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


def test_dataset_reads_and_drops_attribute_tokens(tmp_path):
    from musiclm.stages.train import StageDataset
    from musiclm.tokens import write_meta, write_shard

    items = {"semantic": [], "mulan": [], "attributes": []}
    for i, clip in enumerate("abc"):
        items["semantic"].append((clip, {"tokens": np.arange(50, dtype=np.int16) % 16}))
        items["mulan"].append((clip, {"tokens": np.full((2, 1), 3, np.int16)}))
        items["attributes"].append((clip, {"tempo": np.array([10 * i], np.int16),
                                           "key": np.array([i - 1], np.int16),
                                           "bpm": np.array([60.0 * i], np.float32)}))  # fmt: skip
    for kind in ("semantic", "mulan"):
        write_meta(tmp_path / kind, {"kind": kind, "fingerprint": kind, "shards": 1})
        write_shard(tmp_path / kind, 0, items[kind])
    lay = LayoutConfig(kind="semantic", attributes=True, **LAYOUT)
    cfg = StageConfig(layout=lay, dim=32, n_layers=1, n_heads=2, window_seconds=4.0,
                      attr_dropout=0.5)  # fmt: skip
    with pytest.raises(UserError, match="--kinds attributes"):
        StageDataset(tmp_path, cfg)
    write_meta(tmp_path / "attributes", {"kind": "attributes", "fingerprint": "a", "shards": 1})
    write_shard(tmp_path / "attributes", 0, items["attributes"])
    val = StageDataset(tmp_path, cfg, train=False)
    off = lay.attribute_offset
    expected = [[off + 0, NULL], [off + 10, off + TEMPO_BINS], [off + 20, off + TEMPO_BINS + 1]]
    assert [val[i]["prefix"][0, 4:6].tolist() for i in range(3)] == expected
    torch.manual_seed(0)
    train = StageDataset(tmp_path, cfg)
    seen = [tuple(train[2]["prefix"][0, 4:6].tolist()) for _ in range(40)]
    assert {s[0] for s in seen} == {off + 20, NULL}  # each attribute dropped now and then
    assert {s[1] for s in seen} == {off + TEMPO_BINS + 1, NULL}
    beat_cfg = StageConfig(layout=LayoutConfig(kind="semantic", attributes=True, beats=True,
                                               **LAYOUT),
                           dim=32, n_layers=1, n_heads=2, window_seconds=4.0)  # fmt: skip
    val = StageDataset(tmp_path, beat_cfg, train=False)
    assert val[0]["frame_ids"].eq(0).all()  # 0 bpm: unknown
    assert val[1]["frame_ids"][0, :6].tolist() == [1, 2, 4, 5, 7, 1]  # 60 bpm at 5 Hz
    assert val[2]["frame_ids"].shape == (1, beat_cfg.target_steps)  # one channel: beats


def test_beat_phase_follows_the_tempo_from_the_window_start():
    sem = LayoutConfig(kind="semantic", attributes=True, beats=True, **LAYOUT)  # 5 Hz
    ids = sem.beat_ids(torch.tensor([60.0, 150.0, 0.0]), torch.tensor([0.0, 0.0, 3.0]), 10)
    # 60 bpm at 5 Hz: a beat every 5 frames, 8 phase bins -> 1, 2, 4, 5, 7, then again
    assert ids[0].tolist() == [1, 2, 4, 5, 7, 1, 2, 4, 5, 7]
    assert ids[1, 0] == 1 and ids[1, 2] == 1  # 150 bpm: a beat every 0.4 s = 2 frames
    assert ids[2].eq(0).all()  # unknown tempo: no beat grid
    later = sem.beat_ids(torch.tensor([60.0]), torch.tensor([0.5]), 1)
    assert later.tolist() == [[5]]  # half a beat in
    flat = LayoutConfig(kind="coarse", pattern="flat", attributes=True, beats=True, **LAYOUT)
    f = flat.beat_ids(torch.tensor([60.0]), torch.zeros(1), 6)  # 2 levels a frame
    assert f[0, 0::2].tolist() == f[0, 1::2].tolist()
    assert sem.position_ids == 9 and LayoutConfig(kind="semantic", beats=True).position_ids == 0


def test_beat_table_starts_as_a_no_op_and_reaches_the_output():
    from musiclm.stages.train import warm_start

    def stage(beats):
        lay = LayoutConfig(kind="semantic", attributes=True, beats=beats, **LAYOUT)
        return StageLM(StageConfig(layout=lay, dim=32, n_layers=1, n_heads=2, window_seconds=2.0))

    torch.manual_seed(0)
    old, new = stage(False), stage(True)
    warm_start(new, old)
    kw = dict(mulan=torch.zeros(2, 2, dtype=torch.long), start_s=torch.zeros(2),
              total_s=torch.ones(2), tempo=torch.tensor([5, 5]))  # fmt: skip
    prefix = old.layout.prefix(**kw)
    target = torch.randint(0, 16, (2, 10))
    beats = new.layout.beat_ids(torch.tensor([120.0, 90.0]), torch.zeros(2), 10)
    assert torch.allclose(old.loss(prefix, target), new.loss(prefix, target, beats))
    new.net.position_embed.weight.data[1:].normal_()
    assert not torch.allclose(old.loss(prefix, target), new.loss(prefix, target, beats))
    # sampling: the beat ids reach every step, and the cached path matches teacher forcing
    g = torch.Generator().manual_seed(0)
    from musiclm.stages.sampling import SamplingOptions

    greedy = SamplingOptions(temperature=0.0)
    out = new.generate(prefix, 10, greedy, generator=g, frame_ids=beats)
    ids = torch.cat([prefix, new.layout.target_ids(out)], dim=2)[:, :, :-1]
    p = prefix.shape[2] - 1
    logits = new.net(ids, position_ids=new._positions(beats, p))[:, 0, p:]
    assert torch.equal(logits.argmax(-1), out)
    with pytest.raises(ValueError, match="frame ids must be"):
        new.generate(prefix, 10, greedy, frame_ids=beats[:, :5])
