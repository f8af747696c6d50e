"""A manifest reads only its own folder and the roots its corpus.json declares
(``data merge`` and the importers declare theirs); anything else is one clear line. The
commands' side: tests/cli/test_data_merge.py and test_tokenize_cli.py."""

import json

import pytest

from fixtures.manifests import corpus_of, write_wav
from musiclm.data.loaders import import_folder
from musiclm.data.manifest import ClipRecord, read_manifest, resolve, write_manifest
from musiclm.errors import UserError


@pytest.mark.parametrize("how", ["climbing", "absolute", "symlink", "midi"])
def test_a_row_leading_out_of_the_corpus_is_refused(how, tmp_path, outside_wav):
    root = tmp_path / "corpus"
    write_wav(root / "in.wav")
    audio = {"climbing": "../elsewhere/x.wav", "absolute": str(outside_wav)}.get(how, "in.wav")
    midi = None
    if how == "symlink":
        (root / "link").symlink_to(outside_wav.parent, target_is_directory=True)
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


def test_declared_roots_are_read_and_nothing_else(tmp_path, outside_wav):
    root = corpus_of(tmp_path / "corpus", [("x", "../elsewhere/x.wav")])
    (root / "corpus.json").write_text(json.dumps({"audio_roots": ["../elsewhere"]}))
    assert [r.id for r in read_manifest(root)] == ["x"]
    write_wav(tmp_path / "third" / "y.wav")
    corpus_of(root, [("x", "../elsewhere/x.wav"), ("y", "../third/y.wav")])
    with pytest.raises(UserError, match="'../third/y.wav' lies outside"):
        read_manifest(root)
    # a root is a folder, not a prefix of names: ../elsewhere does not admit ../elsewhere2
    write_wav(tmp_path / "elsewhere2" / "z.wav")
    corpus_of(root, [("z", "../elsewhere2/z.wav")])
    with pytest.raises(UserError, match="lies outside"):
        read_manifest(root)


@pytest.mark.parametrize(
    "content", ["[1]", '{"audio_roots": "../elsewhere"}', '{"audio_roots": [1]}', "{bad"]
)
def test_a_bad_roots_declaration_is_one_line(content, tmp_path, outside_wav):
    root = corpus_of(tmp_path / "corpus", [("x", "../elsewhere/x.wav")])
    (root / "corpus.json").write_text(content)
    with pytest.raises(UserError, match="corpus.json") as e:
        read_manifest(root)
    assert "\n" not in str(e.value)


def test_a_corpus_inside_its_folder_never_reads_corpus_json(tmp_path):
    root = tmp_path / "corpus"
    write_wav(root / "audio" / "a.wav")
    corpus_of(root, [("a", "audio/a.wav")])
    (root / "corpus.json").write_text("{bad")  # not ours to judge here
    assert [r.id for r in read_manifest(root)] == ["a"]


def test_merging_into_a_synth_corpus_json_keeps_its_settings(tmp_path):
    from musiclm.data.manifest import merge_manifests

    a = corpus_of(tmp_path / "a", [("x", "x.wav")])
    write_wav(a / "x.wav")
    out = tmp_path / "out"
    out.mkdir()
    (out / "corpus.json").write_text('{"seed": 3}')
    merge_manifests(out, [a])
    assert json.loads((out / "corpus.json").read_text()) == {"seed": 3, "audio_roots": ["../a"]}


def test_import_folder_elsewhere_declares_the_folder(tmp_path):
    music = tmp_path / "music"
    write_wav(music / "song.wav")
    (music / "song.txt").write_text("a tone")
    out = tmp_path / "corpora" / "mine"
    import_folder(music, out, progress=False)
    assert json.loads((out / "corpus.json").read_text()) == {"audio_roots": ["../../music"]}
    (rec,) = read_manifest(out)
    assert resolve(out, rec.audio).is_file()
    # imported in place: no declaration needed, none written
    import_folder(music, progress=False)
    assert not (music / "corpus.json").exists()
