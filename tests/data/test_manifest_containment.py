"""A manifest reads only its own folder and the roots its corpus.json declares
(``data merge`` and the importers declare theirs); anything else is one clear line."""

import json
import os

import numpy as np
import pytest
import soundfile as sf

from musiclm.cli.main import main
from musiclm.data.loaders import import_folder
from musiclm.data.manifest import ClipRecord, read_manifest, resolve, write_manifest
from musiclm.errors import UserError


def _wav(path, seconds=0.5, rate=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)
    return path


def _corpus(root, rows):
    """``rows``: (id, audio path as the manifest states it)."""
    records = [ClipRecord(i, a, 8000, 0.5, [f"clip {i}"]) for i, a in rows]
    write_manifest(root, records)
    return root


@pytest.fixture
def outside(tmp_path):
    return _wav(tmp_path / "elsewhere" / "x.wav")


@pytest.mark.parametrize("how", ["climbing", "absolute", "symlink", "midi"])
def test_a_row_leading_out_of_the_corpus_is_refused(how, tmp_path, outside):
    root = tmp_path / "corpus"
    _wav(root / "in.wav")
    audio = {"climbing": "../elsewhere/x.wav", "absolute": str(outside)}.get(how, "in.wav")
    midi = None
    if how == "symlink":
        (root / "link").symlink_to(outside.parent, target_is_directory=True)
        audio = "link/x.wav"
    if how == "midi":
        midi = "../elsewhere/x.mid"
    rows = [ClipRecord("ok", "in.wav", 8000, 0.5, ["fine"]),
            ClipRecord("bad", audio, 8000, 0.5, ["bad"], midi=midi)]  # fmt: skip
    write_manifest(root, rows)
    with pytest.raises(UserError) as e:
        read_manifest(root)
    line = str(e.value)
    assert "\n" not in line and "manifest.jsonl:2:" in line and "lies outside" in line
    assert repr(midi or audio) in line and "audio_roots" in line


def test_the_cli_refuses_it_in_one_line_before_any_work(tmp_path, outside, capsys):
    root = _corpus(tmp_path / "corpus", [("bad", "../elsewhere/x.wav")])
    out = tmp_path / "tokens"
    assert main(["tokenize", str(root), "-o", str(out), "--kinds", "attributes", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "'../elsewhere/x.wav'" in err[0]
    assert not out.exists()


def test_declared_roots_are_read_and_nothing_else(tmp_path, outside):
    root = _corpus(tmp_path / "corpus", [("x", "../elsewhere/x.wav")])
    (root / "corpus.json").write_text(json.dumps({"audio_roots": ["../elsewhere"]}))
    assert [r.id for r in read_manifest(root)] == ["x"]
    _wav(tmp_path / "third" / "y.wav")
    _corpus(root, [("x", "../elsewhere/x.wav"), ("y", "../third/y.wav")])
    with pytest.raises(UserError, match="'../third/y.wav' lies outside"):
        read_manifest(root)
    # a root is a folder, not a prefix of names: ../elsewhere does not admit ../elsewhere2
    _wav(tmp_path / "elsewhere2" / "z.wav")
    _corpus(root, [("z", "../elsewhere2/z.wav")])
    with pytest.raises(UserError, match="lies outside"):
        read_manifest(root)


@pytest.mark.parametrize(
    "content", ["[1]", '{"audio_roots": "../elsewhere"}', '{"audio_roots": [1]}', "{bad"]
)
def test_a_bad_roots_declaration_is_one_line(content, tmp_path, outside):
    root = _corpus(tmp_path / "corpus", [("x", "../elsewhere/x.wav")])
    (root / "corpus.json").write_text(content)
    with pytest.raises(UserError, match="corpus.json") as e:
        read_manifest(root)
    assert "\n" not in str(e.value)


def test_a_corpus_inside_its_folder_never_reads_corpus_json(tmp_path):
    root = tmp_path / "corpus"
    _wav(root / "audio" / "a.wav")
    _corpus(root, [("a", "audio/a.wav")])
    (root / "corpus.json").write_text("{bad")  # not ours to judge here
    assert [r.id for r in read_manifest(root)] == ["a"]


def test_merge_declares_its_sources_and_a_merged_corpus_tokenizes(tmp_path, capsys):
    import torch

    from musiclm.codec.config import CodecConfig
    from musiclm.codec.model import Codec
    from musiclm.tokenize import TokenStore

    a = _corpus(tmp_path / "a", [("x", "audio/x.wav")])
    b = _corpus(tmp_path / "deep" / "b", [("y", "y.wav")])
    _wav(a / "audio" / "x.wav"), _wav(b / "y.wav")
    merged = tmp_path / "all"
    assert main(["data", "merge", str(merged), str(a), str(b)]) == 0
    roots = json.loads((merged / "corpus.json").read_text())["audio_roots"]
    assert roots == ["../a", "../deep/b"]
    # a merge of the merged corpus and a third one declares the roots it reads through
    c = _corpus(tmp_path / "c", [("z", "z.wav")])
    _wav(c / "z.wav")
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


def test_merging_into_a_synth_corpus_json_keeps_its_settings(tmp_path):
    from musiclm.data.manifest import merge_manifests

    a = _corpus(tmp_path / "a", [("x", "x.wav")])
    _wav(a / "x.wav")
    out = tmp_path / "out"
    out.mkdir()
    (out / "corpus.json").write_text('{"seed": 3}')
    merge_manifests(out, [a])
    assert json.loads((out / "corpus.json").read_text()) == {"seed": 3, "audio_roots": ["../a"]}


def test_import_folder_elsewhere_declares_the_folder(tmp_path):
    music = tmp_path / "music"
    _wav(music / "song.wav")
    (music / "song.txt").write_text("a tone")
    out = tmp_path / "corpora" / "mine"
    import_folder(music, out, progress=False)
    assert json.loads((out / "corpus.json").read_text()) == {"audio_roots": ["../../music"]}
    (rec,) = read_manifest(out)
    assert resolve(out, rec.audio).is_file()
    # imported in place: no declaration needed, none written
    import_folder(music, progress=False)
    assert not (music / "corpus.json").exists()


def test_a_moved_corpus_keeps_its_relative_roots(tmp_path):
    a = _corpus(tmp_path / "tree" / "a", [("x", "x.wav")])
    _wav(a / "x.wav")
    assert main(["data", "merge", str(tmp_path / "tree" / "all"), str(a)]) == 0
    os.rename(tmp_path / "tree", tmp_path / "moved")
    (rec,) = read_manifest(tmp_path / "moved" / "all")
    assert resolve(tmp_path / "moved" / "all", rec.audio).is_file()
