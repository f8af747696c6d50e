"""`musiclm data merge`: merged manifests read every clip where it lies, declare their
sources' folders (so a merged corpus tokenizes and survives a move), and refuse clashes."""

import json
import os

from fixtures.manifests import corpus_of, write_wav
from musiclm.cli.main import main
from musiclm.data.dataset import ClipDataset
from musiclm.data.manifest import ClipRecord, read_manifest, resolve, write_manifest


def _corpus(root, ids):
    import numpy as np
    import soundfile as sf

    (root / "audio").mkdir(parents=True)
    records = []
    for i in ids:
        sf.write(str(root / "audio" / f"{i}.wav"), np.zeros(1600, np.float32), 16000)
        records.append(ClipRecord(i, f"audio/{i}.wav", 16000, 0.1, [f"clip {i}"], midi=None))
    write_manifest(root, records)
    return root


def test_merged_manifest_reads_every_clip_where_it_lies(tmp_path, capsys):
    a, b = _corpus(tmp_path / "a", ["x", "y"]), _corpus(tmp_path / "deep" / "b", ["z"])
    assert main(["data", "merge", str(tmp_path / "all"), str(a), str(b)]) == 0
    assert "3 clips from 2 corpora" in capsys.readouterr().out
    merged = read_manifest(tmp_path / "all")
    assert [r.id for r in merged] == ["x", "y", "z"]
    for r in merged:
        assert resolve(tmp_path / "all", r.audio).resolve().is_file()
    assert len(ClipDataset(tmp_path / "all", sample_rate=16000, seconds=0.1)) == 3


def test_duplicate_ids_are_refused(tmp_path, capsys):
    a, b = _corpus(tmp_path / "a", ["x"]), _corpus(tmp_path / "b", ["x"])
    assert main(["data", "merge", str(tmp_path / "all"), str(a), str(b)]) == 2
    assert "already in another source" in capsys.readouterr().err
    assert not (tmp_path / "all" / "manifest.jsonl").exists()


def test_a_merge_into_a_folder_another_run_writes_is_refused(tmp_path, capsys):
    from musiclm.io import folder_lock

    a = _corpus(tmp_path / "a", ["x"])
    with folder_lock(tmp_path / "all"):
        assert main(["data", "merge", str(tmp_path / "all"), str(a)]) == 2
    assert "another run is writing here" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == []


def test_data_synth_refuses_a_merged_corpus_folder(tmp_path):
    import pytest

    from musiclm.data.synth.engine import SynthConfig, synth_corpus
    from musiclm.errors import UserError

    a = _corpus(tmp_path / "a", ["x"])
    assert main(["data", "merge", str(tmp_path / "all"), str(a)]) == 0
    with pytest.raises(UserError, match="did not make"):
        synth_corpus(tmp_path / "all", 1, SynthConfig(seconds=5.0), progress=False)


def test_merge_declares_its_sources_and_a_merged_corpus_tokenizes(tmp_path, capsys):
    import torch

    from musiclm.codec.config import CodecConfig
    from musiclm.codec.model import Codec
    from musiclm.tokenize import TokenStore

    a = corpus_of(tmp_path / "a", [("x", "audio/x.wav")])
    b = corpus_of(tmp_path / "deep" / "b", [("y", "y.wav")])
    write_wav(a / "audio" / "x.wav"), write_wav(b / "y.wav")
    merged = tmp_path / "all"
    assert main(["data", "merge", str(merged), str(a), str(b)]) == 0
    roots = json.loads((merged / "corpus.json").read_text())["audio_roots"]
    assert roots == ["../a", "../deep/b"]
    # a merge of the merged corpus and a third one declares the roots it reads through
    c = corpus_of(tmp_path / "c", [("z", "z.wav")])
    write_wav(c / "z.wav")
    again = tmp_path / "again"
    assert main(["data", "merge", str(again), str(merged), str(c)]) == 0
    assert [r.id for r in read_manifest(again)] == ["x", "y", "z"]

    torch.manual_seed(0)
    Codec(CodecConfig.preset("debug")).save_pretrained(tmp_path / "codec")
    argv = ["tokenize", str(again), "-o", str(tmp_path / "tok"), "--kinds", "acoustic",
            "--codec", str(tmp_path / "codec"), "-q"]  # fmt: skip
    assert main(argv) == 0
    assert "3 of 3 clips tokenized" in capsys.readouterr().out
    assert sorted(TokenStore(tmp_path / "tok", "acoustic")) == ["x", "y", "z"]


def test_a_moved_corpus_keeps_its_relative_roots(tmp_path):
    a = corpus_of(tmp_path / "tree" / "a", [("x", "x.wav")])
    write_wav(a / "x.wav")
    assert main(["data", "merge", str(tmp_path / "tree" / "all"), str(a)]) == 0
    os.rename(tmp_path / "tree", tmp_path / "moved")
    (rec,) = read_manifest(tmp_path / "moved" / "all")
    assert resolve(tmp_path / "moved" / "all", rec.audio).is_file()
