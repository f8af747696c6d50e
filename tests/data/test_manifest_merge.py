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
