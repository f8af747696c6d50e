"""`musiclm tokenize`: tokens of each kind through the CLI, attribute tokens from the
manifest, and a manifest row outside its corpus refused before any work."""

from fixtures.manifests import corpus_of
from fixtures.tokenize import tone_clip
from musiclm.cli.main import main
from musiclm.data.manifest import write_manifest
from musiclm.tokenize import TokenStore


def test_cli_tokenizes_and_rejects_bad_kinds(tone_corpus, debug_codec_dir, tmp_path, capsys):
    from musiclm.cli.main import main

    argv = ["tokenize", str(tone_corpus), "-o", str(tmp_path / "t"), "--kinds", "acoustic",
            "--codec", str(debug_codec_dir), "-q"]  # fmt: skip
    assert main(argv) == 0
    assert "5 of 6 clips tokenized" in capsys.readouterr().out
    assert main(["tokenize", str(tone_corpus), "-o", str(tmp_path / "t"), "--kinds", "words"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --kinds") and len(err.strip().splitlines()) == 1


def test_attribute_tokens_come_from_the_manifest(tmp_path, capsys):
    from musiclm.cli.main import main
    from musiclm.stages.attributes import tempo_bin
    from musiclm.theory import key_index

    records = [tone_clip(tmp_path / f"a{i}.wav", 0.5, 8000, 300) for i in range(3)]
    for rec, (tempo, key, mode) in zip(
        records, [(93.0, "C", "major"), (174.0, "F#", "dorian"), (None, None, None)]
    ):
        rec.tempo, rec.key, rec.mode = tempo, key, mode
    write_manifest(tmp_path / "manifest.jsonl", records)
    argv = ["tokenize", str(tmp_path), "-o", str(tmp_path / "t"), "--kinds", "attributes", "-q"]
    assert main(argv) == 0
    store = TokenStore(tmp_path / "t", "attributes")
    got = [(int(store[f"a{i}"]["tempo"][0]), int(store[f"a{i}"]["key"][0])) for i in range(3)]
    assert got == [(tempo_bin(93.0), 0), (tempo_bin(174.0), key_index("F#", "minor")), (-1, -1)]
    assert [float(store[f"a{i}"]["bpm"][0]) for i in range(3)] == [93.0, 174.0, 0.0]


def test_the_cli_refuses_it_in_one_line_before_any_work(tmp_path, outside_wav, capsys):
    root = corpus_of(tmp_path / "corpus", [("bad", "../elsewhere/x.wav")])
    out = tmp_path / "tokens"
    assert main(["tokenize", str(root), "-o", str(out), "--kinds", "attributes", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "'../elsewhere/x.wav'" in err[0]
    assert not out.exists()
