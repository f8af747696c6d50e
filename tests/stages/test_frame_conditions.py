"""Per-frame conditions: melody, section and seconds-to-end channels."""

import numpy as np
import pretty_midi
import pytest
import torch

from musiclm.conditions import MELODY_IDS, MELODY_PC0, MELODY_REST, Conditions, Section, section_ids
from musiclm.stages.config import StageConfig
from musiclm.stages.inputs import StageInputs, Window
from musiclm.stages.layout import TO_END_EDGES, LayoutConfig
from musiclm.stages.lm import StageLM
from musiclm.stages.train import warm_start
from musiclm.theory import SECTIONS

LAYOUT = dict(mulan_levels=2, mulan_codebook=8, semantic_codebook=16, acoustic_codebook=8,
              coarse_levels=2, fine_levels=2, semantic_rate=25, acoustic_rate=50,
              max_seconds=30)  # fmt: skip


def test_channels_follow_the_flags():
    full = LayoutConfig(kind="semantic", attributes=True, beats=True, melody=True, form=True,
                        **LAYOUT)  # fmt: skip
    assert [n for n, _ in full.frame_channels] == ["beats", "melody", "section", "to_end"]
    assert full.more_position_ids == (MELODY_IDS, len(SECTIONS) + 1, len(TO_END_EDGES) + 2)
    fine = LayoutConfig(kind="fine", melody=True, form=True, **LAYOUT)
    assert fine.frame_channels == ()  # the fine stage is unconditioned


def test_frame_ids_read_the_piece_at_the_window_time():
    lay = LayoutConfig(kind="semantic", melody=True, form=True, **LAYOUT)
    melody = torch.full((1, 250), MELODY_REST)
    melody[0, 100:125] = MELODY_PC0 + 9  # an A from 4 s to 5 s
    form = (Section("intro", 0.0, 4.0), Section("verse", 4.0, 9.0))
    sections = section_ids(form, 10.0)[None]
    ids = lay.frame_ids(torch.tensor([3.0]), 75, melody=melody, sections=sections,
                        total_s=torch.tensor([10.0]))  # fmt: skip
    assert ids.shape == (1, 3, 75)  # melody, section, to_end; 3 s window from 3 s
    mel, sec, left = ids[0]
    assert mel[:25].eq(MELODY_REST).all() and mel[25:50].eq(MELODY_PC0 + 9).all()
    assert sec[0] == 1 + SECTIONS.index("intro") and sec[30] == 1 + SECTIONS.index("verse")
    assert sec[-1] == 1 + SECTIONS.index("verse")
    assert left[0] > left[-1] > 0  # fewer seconds left: another bucket, never unknown
    late = lay.frame_ids(torch.tensor([9.5]), 25, melody=melody, sections=sections,
                         total_s=torch.tensor([10.0]))[0]  # fmt: skip
    assert late[1, 0] == 1 + SECTIONS.index("tail")  # after the last section: the ending
    assert late[0, -1] == 0  # past the melody's end: unknown
    assert late[2, -1] == 1  # the last half second
    none = lay.frame_ids(torch.tensor([0.0]), 25)
    assert none.eq(0).all()  # nothing given: all unknown, as dropped in training


def test_a_layout_without_to_end_leaves_the_seconds_left_unknown():
    lay = LayoutConfig(kind="semantic", form=True, to_end=False, **LAYOUT)
    assert [n for n, _ in lay.frame_channels] == ["section", "to_end"]  # same tables
    sections = section_ids((Section("verse", 0.0, 8.0),), 10.0)[None]
    ids = lay.frame_ids(torch.tensor([5.0]), 50, sections=sections, total_s=torch.tensor([10.0]))
    assert ids[0, 0].gt(0).all() and ids[0, 1].eq(0).all()
    with_end = LayoutConfig(kind="semantic", form=True, **LAYOUT)
    assert with_end.frame_ids(torch.tensor([5.0]), 50, sections=sections,
                              total_s=torch.tensor([10.0]))[0, 1].gt(0).all()  # fmt: skip


def test_stage_inputs_build_channels_from_conditions():
    lay = LayoutConfig(kind="semantic", melody=True, form=True, **LAYOUT)
    melody = torch.full((100,), MELODY_PC0)
    conds = [Conditions("a", mulan=torch.zeros(2, dtype=torch.long), melody=melody,
                        form=(Section("verse", 0.0, 3.0),)),
             Conditions("b", mulan=torch.zeros(2, dtype=torch.long))]  # fmt: skip
    x = StageInputs(lay, conds, "cpu")(Window(0.0, 4.0, 25), guided=True)
    assert x.per_frame.shape == (2, 3, 25)
    assert x.per_frame[0, 0].eq(MELODY_PC0).all() and x.per_frame[1, 0].eq(0).all()
    assert x.per_frame[0, 1].eq(1 + SECTIONS.index("verse")).all()
    assert x.per_frame[1, 1].eq(0).all() and x.per_frame[:, 2].gt(0).all()


def test_new_channels_start_as_a_no_op_after_a_warm_start():
    def stage(**flags):
        lay = LayoutConfig(kind="semantic", attributes=True, beats=True, **flags, **LAYOUT)
        return StageLM(StageConfig(layout=lay, dim=32, n_layers=1, n_heads=2, window_seconds=1.0))

    torch.manual_seed(0)
    old, new = stage(), stage(melody=True, form=True)
    warm_start(new, old)
    kw = dict(mulan=torch.zeros(2, 2, dtype=torch.long), start_s=torch.zeros(2),
              total_s=torch.full((2,), 5.0), tempo=torch.tensor([5, 5]))  # fmt: skip
    prefix = old.layout.prefix(**kw)
    target = torch.randint(0, 16, (2, 25))
    bpm, start = torch.tensor([120.0, 90.0]), torch.zeros(2)
    beats = old.layout.frame_ids(start, 25, bpm=bpm)
    melody = torch.randint(1, MELODY_IDS, (2, 25))
    full = new.layout.frame_ids(start, 25, bpm=bpm, melody=melody, total_s=kw["total_s"])
    assert torch.allclose(old.loss(prefix, target, beats), new.loss(prefix, target, full))
    new.net.more_position_embeds[0].weight.data[1:].normal_()
    assert not torch.allclose(old.loss(prefix, target, beats), new.loss(prefix, target, full))
    out = new.generate(prefix, 25, generator=torch.Generator().manual_seed(0), frame_ids=full)
    assert out.shape == (2, 25)
    with pytest.raises(ValueError, match="frame ids must be"):
        new.generate(prefix, 25, frame_ids=full[..., :5])


def test_score_melody_takes_the_highest_melody_note(tmp_path):
    from musiclm.tokenize.tokenizers import score_melody

    pm = pretty_midi.PrettyMIDI()
    lead = pretty_midi.Instrument(program=40, name="violin (melody)")
    lead.notes += [pretty_midi.Note(90, 69, 0.0, 1.0), pretty_midi.Note(90, 76, 0.5, 1.0),
                   pretty_midi.Note(90, 60, 2.0, 3.0)]  # fmt: skip
    bass = pretty_midi.Instrument(program=33, name="bass (bass)")
    bass.notes.append(pretty_midi.Note(90, 40, 0.0, 4.0))
    pm.instruments += [lead, bass]
    pm.write(str(tmp_path / "a.mid"))
    ids = score_melody(tmp_path / "a.mid", 4.0)
    assert ids.shape == (100,)
    assert set(ids[:12]) == {MELODY_PC0 + 9}  # A4 alone
    assert set(ids[13:25]) == {MELODY_PC0 + 4}  # E5 above it
    assert set(ids[25:50]) == {MELODY_REST} and set(ids[50:75]) == {MELODY_PC0}
    assert set(ids[75:]) == {MELODY_REST}  # the bass is not the tune
    bass_only = pretty_midi.PrettyMIDI()
    bass_only.instruments.append(bass)
    bass_only.write(str(tmp_path / "b.mid"))
    assert np.all(score_melody(tmp_path / "b.mid", 4.0) == 0)  # no tune: unknown


def test_dataset_reads_melody_and_form_and_counts_long_clips(tmp_path):
    from musiclm.errors import UserError
    from musiclm.stages.train import StageDataset
    from musiclm.tokens import write_meta, write_shard

    lengths = {"a": 2.0, "b": 8.0}  # seconds at 25 Hz
    items = {k: [] for k in ("semantic", "mulan", "melody", "form")}
    for clip, seconds in lengths.items():
        n = int(seconds * 25)
        items["semantic"].append((clip, {"tokens": np.arange(n, dtype=np.int16) % 16}))
        items["mulan"].append((clip, {"tokens": np.full((2, 1), 3, np.int16)}))
        items["melody"].append((clip, {"ids": np.full(n, MELODY_PC0 + 2, np.int8)}))
        items["form"].append((clip, {"ids": np.full(n, 2, np.int8)}))
    lay = LayoutConfig(kind="semantic", melody=True, form=True, **LAYOUT)
    cfg = StageConfig(layout=lay, dim=32, n_layers=1, n_heads=2, window_seconds=2.0,
                      melody_dropout=0.5, form_dropout=0.0, cond_dropout=0.0,
                      per_window=True)  # fmt: skip
    for kind in ("semantic", "mulan"):
        write_meta(tmp_path / kind, {"kind": kind, "fingerprint": kind, "shards": 1})
        write_shard(tmp_path / kind, 0, items[kind])
    with pytest.raises(UserError, match="--kinds melody"):
        StageDataset(tmp_path, cfg)
    for kind in ("melody", "form"):
        write_meta(tmp_path / kind, {"kind": kind, "fingerprint": kind, "shards": 1})
        write_shard(tmp_path / kind, 0, items[kind])
    val = StageDataset(tmp_path, cfg, train=False)
    assert len(val) == 2  # validation: each clip once
    ids = val[1]["frame_ids"]
    assert ids.shape == (3, cfg.target_steps)
    assert ids[0].eq(MELODY_PC0 + 2).all() and ids[1].eq(2).all()
    assert ids[2, 0] > ids[2, -1] > 0  # seconds to the end of the 8 s clip
    end = StageDataset(tmp_path, cfg, train=False, at_end=True)[1]["frame_ids"]
    assert end[2, -1] == 1 and ids[2, -1] > 1  # the last window ends at the clip's end
    assert torch.equal(end[:2], ids[:2])  # same melody and section there
    torch.manual_seed(0)
    train = StageDataset(tmp_path, cfg)
    assert sorted(train.clips) == ["a"] + ["b"] * 4  # 8 s = four 2 s windows
    melodies = {bool(train[1]["frame_ids"][0].any()) for _ in range(30)}
    assert melodies == {True, False}  # the melody is dropped for some examples


def test_the_engines_ending_section_is_the_tail():
    """Engine manifests call the ending "ending"; plans and the stages call it "tail"."""
    from musiclm.theory import SECTIONS

    form = [Section("verse", 0.0, 2.0), Section("ending", 2.0, 3.0)]
    ids = section_ids(form, 3.0)
    tail = 1 + SECTIONS.index("tail")
    assert (ids[: 2 * 25] == 1 + SECTIONS.index("verse")).all() and (ids[2 * 25 :] == tail).all()
