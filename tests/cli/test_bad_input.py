"""Bad input to every subcommand: a non-zero exit, one line on stderr, no traceback, and
nothing left behind. The command's work is never reached (each case fails in its checks),
so the whole file runs in seconds."""

import json

import numpy as np
import pytest
import soundfile as sf

from musiclm.cli.main import main

COMMANDS = [
    ["data", "synth"], ["data", "report"], ["data", "import-musiccaps"],
    ["data", "import-folder"], ["data", "merge"], ["data", "genres"], ["data", "instruments"],
    ["data", "melodies"], ["codec", "train"], ["codec", "encode"], ["codec", "decode"],
    ["codec", "eval"], ["semantic", "fit"], ["semantic", "encode"], ["mulan", "train"],
    ["mulan", "embed"], ["mulan", "search"], ["tokenize"], ["stage", "train"],
    ["stage", "merge"], ["generate"], ["eval"],
]  # fmt: skip
NEED_ARGS = [c for c in COMMANDS if c[-1] not in ("genres", "instruments", "melodies", "embed")]


def _one_error_line(capsys, code, *, needle=None, expected=2):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == expected, err
    assert "Traceback" not in err and len(lines) == 1 and lines[0].startswith("error:"), err
    if needle is not None:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("cmd", NEED_ARGS, ids=" ".join)
def test_a_missing_argument_is_one_line(cmd, capsys):
    # generate has no required argument: no caption is its "missing argument"
    code = main(cmd)
    _one_error_line(capsys, code, needle="caption" if cmd == ["generate"] else "Missing")


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_an_unknown_option_is_one_line(cmd, capsys):
    _one_error_line(capsys, main([*cmd, "--no-such-option"]), needle="--no-such-option")


@pytest.mark.parametrize("argv", [[], ["data"], ["codec"], ["stage"], ["mulan"]], ids=repr)
def test_a_bare_group_is_a_missing_command(argv, capsys):
    line = _one_error_line(capsys, main(argv), needle="Missing command")
    assert f"'{' '.join(['musiclm', *argv])} --help'" in line


def test_help_and_version_exit_0(capsys):
    assert main(["--version"]) == 0 and main(["generate", "--help"]) == 0


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "in.wav"
    sf.write(str(path), np.zeros(8000, np.float32), 8000)
    return path


@pytest.fixture
def corpus(tmp_path, wav):
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "in.wav").write_bytes(wav.read_bytes())
    row = dict(id="c0", audio="in.wav", sample_rate=8000, seconds=1.0, captions=["a tone"])
    (root / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    return root


NUMBERS = [  # (argv after the command, a word the line must hold)
    (["generate", "x", "--cfg", "-1"], "cfg"),
    (["generate", "x", "--cfg", "nan"], "cfg"),
    (["generate", "x", "--cfg", "inf"], "cfg"),
    (["generate", "x", "--top-k", "-1"], "top_k"),
    (["generate", "x", "--temperature", "nan,1,1"], "temperature"),
    (["generate", "x", "--temperature", "1,inf,1"], "temperature"),
    (["generate", "x", "--temperature", "1,1"], "--temperature"),
    (["generate", "x", "--seed", str(2**63)], "--seed"),
    (["generate", "x", "--seed", "-1"], "--seed"),
    (["generate", "x", "--seconds", "nan"], "--seconds"),
    (["generate", "x", "--seconds", "-1"], "--seconds"),
    (["generate", "x", "--seconds", "0.0001"], "--seconds"),
    (["generate", "x", "--batch", "0"], "--batch"),
    (["generate", "x", "--clips", "x"], "--clips"),
    (["data", "synth", "OUT", "--clips", "x"], "--clips"),
    (["data", "synth", "OUT", "--seconds", "nan"], "--seconds"),
    (["data", "synth", "OUT", "--workers", "0"], "--workers"),
    (["stage", "train", "semantic", "--tokens", "T", "--lr", "inf"], "--lr"),
    (["stage", "train", "semantic", "--tokens", "T", "--lr", "nan"], "--lr"),
    (["stage", "train", "semantic", "--tokens", "T", "--lr", "0"], "--lr"),
    (["stage", "train", "semantic", "--tokens", "T", "--steps", "0"], "--steps"),
    (["stage", "train", "semantic", "--tokens", "T", "--seed", "-1"], "--seed"),
    (["tokenize", "CORPUS", "-o", "OUT", "--workers", "0"], "--workers"),
    (["tokenize", "CORPUS", "-o", "OUT", "--shard-size", "0"], "--shard-size"),
    (["eval", "P", "--corpus", "CORPUS", "--heldout", "CORPUS", "--batch", "0"], "--batch"),
    (["eval", "P", "--corpus", "CORPUS", "--heldout", "CORPUS", "--max-clips", "0"], "clips"),
    (["eval", "P", "--corpus", "CORPUS", "--heldout", "CORPUS", "--seconds", "nan"], "seconds"),
    (["eval", "P", "--corpus", "CORPUS", "--heldout", "CORPUS", "--cfg", "nan"], "cfg"),
    (["codec", "eval", "--data", "CORPUS", "--clips", "0"], "--clips"),
    (["codec", "eval", "--data", "CORPUS", "--clips", "-1"], "--clips"),
    (["codec", "eval", "--data", "CORPUS", "--seconds", "nan"], "--seconds"),
    (["codec", "eval", "--data", "CORPUS", "--seconds", "-1"], "--seconds"),
    (["codec", "eval", "--data", "CORPUS", "--seconds", "0.0001"], "--seconds"),
    (["semantic", "fit", "--data", "CORPUS", "-o", "OUT", "--seconds", "nan"], "--seconds"),
    (["semantic", "fit", "--data", "CORPUS", "-o", "OUT", "--clips", "0"], "--clips"),
    (["mulan", "search", "q", "--data", "CORPUS", "--top", "0"], "--top"),
]


def _fill(argv, tmp_path, corpus):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"text": "calm piano"}\n')
    names = {"OUT": tmp_path / "out", "T": tmp_path / "tokens", "CORPUS": corpus, "P": prompts,
             "A": tmp_path / "a", "B": tmp_path / "b", "M": tmp_path / "m"}  # fmt: skip
    return [str(names[a]) if a in names else a for a in argv]


@pytest.mark.parametrize("argv,needle", NUMBERS, ids=[" ".join(a) for a, _ in NUMBERS])
def test_out_of_range_numbers_are_one_line_before_any_work(
    argv, needle, tmp_path, corpus, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # generate's default -o out.wav lands here, if anywhere
    argv = _fill(argv, tmp_path, corpus)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    _one_error_line(capsys, main(argv), needle=needle)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("text", ["", "   ", "\t"], ids=repr)
def test_empty_captions_are_refused(text, tmp_path, capsys):
    code = main(["generate", text, "-o", str(tmp_path / "a.wav"), "-q"])
    _one_error_line(capsys, code, needle="empty")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"# only a comment\n\n", b"\xff\xfe\x00bad"])
def test_prompt_files_without_captions_or_not_utf8(content, tmp_path, capsys):
    (tmp_path / "p.txt").write_bytes(content)
    code = main(["generate", "--prompts", str(tmp_path / "p.txt"), "-o", str(tmp_path / "o")])
    _one_error_line(capsys, code)
    assert not (tmp_path / "o").exists()


def _output_cases(tmp_path):
    (tmp_path / "a.wav").mkdir()
    (tmp_path / "file").write_text("x")
    return {
        "a folder": tmp_path / "a.wav",
        "under a file": tmp_path / "file" / "x.wav",
        "unknown suffix": tmp_path / "x.mp3",
    }


@pytest.mark.parametrize("case", ["a folder", "under a file", "unknown suffix"])
def test_generate_output_checked_before_generating(case, tmp_path, capsys):
    out = _output_cases(tmp_path)[case]
    before = sorted(tmp_path.rglob("*"))
    _one_error_line(capsys, main(["generate", "x", "-o", str(out), "-q"]))
    assert sorted(tmp_path.rglob("*")) == before


def test_a_read_only_output_folder_is_one_line(tmp_path, capsys):
    import os

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        if os.access(ro, os.W_OK):  # root ignores permissions: use a read-only mount
            ro = __import__("pathlib").Path("/sys/musiclm-test")
        _one_error_line(capsys, main(["generate", "x", "-o", str(ro / "a.wav"), "-q"]))
    finally:
        (tmp_path / "ro").chmod(0o755)


@pytest.mark.parametrize("case", ["a folder", "under a file", "unknown suffix"])
def test_codec_decode_output_checked(case, tmp_path, wav, capsys):
    codes = tmp_path / "c.npz"
    assert main(["codec", "encode", str(wav), "-o", str(codes)]) == 0
    capsys.readouterr()
    out = _output_cases(tmp_path)[case]
    before = sorted(tmp_path.rglob("*"))
    _one_error_line(capsys, main(["codec", "decode", str(codes), "-o", str(out)]))
    assert sorted(tmp_path.rglob("*")) == before


def test_eval_output_is_checked_before_the_model_is_loaded(tmp_path, corpus, capsys, monkeypatch):
    from musiclm.pipeline import MusicLM

    def work(*a, **kw):
        raise AssertionError("the work started")

    monkeypatch.setattr(MusicLM, "from_pretrained", work)
    (tmp_path / "file").write_text("x")
    argv = _fill(["eval", "P", "--corpus", "CORPUS", "--heldout", "CORPUS", "--out"], tmp_path,
                 corpus) + [str(tmp_path / "file" / "x")]  # fmt: skip
    _one_error_line(capsys, main(argv), needle="is a file")


@pytest.mark.parametrize(
    "cmd",
    [["stage", "train", "semantic", "--tokens", "T"], ["codec", "train", "--data", "CORPUS"],
     ["mulan", "train", "--data", "CORPUS"]],
    ids=lambda c: " ".join(c[:2]),
)  # fmt: skip
def test_a_train_export_under_a_file_is_refused_before_training(cmd, tmp_path, corpus, capsys):
    (tmp_path / "file").write_text("x")
    argv = _fill(cmd, tmp_path, corpus) + ["--export", str(tmp_path / "file" / "final"),
                                           "-o", str(tmp_path / "run")]  # fmt: skip
    _one_error_line(capsys, main(argv), needle="is a file")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "content",
    [b"", b"not json\n", b"[1, 2]\n", b'{"id": "x"}\n', b"\xff\xfe\x00\x01\n"],
    ids=["empty", "not json", "a list", "missing fields", "not utf-8"],
)
def test_bad_manifests(content, tmp_path, capsys):
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "manifest.jsonl").write_bytes(content)
    code = main(["data", "report", str(tmp_path / "c"), "-o", str(tmp_path / "r")])
    if content:
        _one_error_line(capsys, code, needle="manifest")
    else:  # an empty corpus is no error to report on, but must not crash
        assert code in (0, 2) and "Traceback" not in capsys.readouterr().err


def test_a_bad_tempo_does_not_kill_a_tokenize_run(tmp_path, wav, capsys):
    tempos = ["fast", float("nan"), 120]
    rows = [dict(id=f"c{i}", audio="in.wav", sample_rate=8000, seconds=1.0,
                 captions=["x"], tempo=t) for i, t in enumerate(tempos)]  # fmt: skip
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "in.wav").write_bytes(wav.read_bytes())
    (tmp_path / "c" / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "tok"
    assert main(["tokenize", str(tmp_path / "c"), "-o", str(out), "--kinds", "attributes",
                 "-q"]) == 0  # fmt: skip
    from musiclm.tokenize import TokenStore

    store = TokenStore(out, "attributes")
    assert [int(store[f"c{i}"]["tempo"][0]) >= 0 for i in range(3)] == [False, False, True]
    assert not (out / ".musiclm.lock").exists()


@pytest.mark.parametrize(
    "config",
    ["[1, 2]", '{"format_version": 1, "model": [1]}',
     '{"format_version": 1, "model": {"frame_rate": "fast"}}', "\xff"],
    ids=["a list", "model a list", "wrong type", "not json"],
)  # fmt: skip
def test_bad_model_configs(config, tmp_path, wav, capsys):
    from musiclm.codec.config import CodecConfig
    from musiclm.codec.model import Codec

    Codec(CodecConfig.preset("debug")).save_pretrained(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(config, encoding="latin-1")
    argv = ["codec", "encode", str(wav), "-o", str(tmp_path / "c.npz"), "-m", str(tmp_path / "m")]
    _one_error_line(capsys, main(argv))
    assert not (tmp_path / "c.npz").exists()


@pytest.fixture(scope="module")
def debug_model(tmp_path_factory):
    from musiclm.pipeline import MusicLM

    path = tmp_path_factory.mktemp("model") / "m"
    MusicLM.debug(seed=0).save_pretrained(path)
    return path


@pytest.mark.parametrize(
    "pipeline",
    ['{"parts": ["codec"]}', "[]", '{"parts": {"codec": 5}}', '{"parts": {"vocoder": "x"}}',
     "{bad", '{"parts": {"codec": "../../elsewhere/codec"}}', '{"parts": {"codec": "ABS"}}'],
)  # fmt: skip
def test_bad_pipeline_json_and_parts_outside_the_folder(pipeline, debug_model, tmp_path, capsys):
    """A part outside the model folder and its siblings is refused even when it is a
    working part (here a copy of the model's own codec)."""
    import shutil

    model = tmp_path / "models" / "m"
    shutil.copytree(debug_model, model)
    shutil.copytree(debug_model / "codec", tmp_path / "elsewhere" / "codec",
                    dirs_exist_ok=True)  # fmt: skip
    pipeline = pipeline.replace("ABS", str(tmp_path / "elsewhere" / "codec"))
    (model / "pipeline.json").write_text(pipeline)
    out = tmp_path / "a.wav"
    argv = ["generate", "x", "-o", str(out), "-m", str(model), "-q", "-s", "0.5"]
    _one_error_line(capsys, main(argv))
    assert not out.exists()


def test_a_sibling_part_is_allowed(debug_model, tmp_path, capsys):
    import shutil

    model = tmp_path / "m"
    shutil.copytree(debug_model, model)
    shutil.move(model / "codec", tmp_path / "codec")
    (model / "pipeline.json").write_text('{"parts": {"codec": "../codec"}}')
    assert main(["generate", "x", "-o", str(tmp_path / "a.wav"), "-m", str(model), "-q",
                 "-s", "0.5"]) == 0  # fmt: skip


def test_an_empty_code_file_and_a_zero_frame_wav(tmp_path, capsys):
    (tmp_path / "empty.npz").write_bytes(b"")
    _one_error_line(capsys, main(["codec", "decode", str(tmp_path / "empty.npz"), "-o",
                                  str(tmp_path / "a.wav")]))  # fmt: skip
    sf.write(str(tmp_path / "zero.wav"), np.zeros(0, np.float32), 8000)
    _one_error_line(capsys, main(["semantic", "encode", str(tmp_path / "zero.wav"), "-o",
                                  str(tmp_path / "t.npy")]))  # fmt: skip
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "t.npy").exists()


MORE = [  # found by a wider sweep; files made by the fixtures below
    ["codec", "encode", "IN", "-o", "OUT.npz", "--levels", "0"],
    ["codec", "encode", "IN", "-o", "OUT.npz", "--levels", "99"],
    ["codec", "encode", "ZERO", "-o", "OUT.npz"],
    ["codec", "encode", "IN", "-o", "DIR"],
    ["mulan", "search", "", "--data", "CORPUS"],
    ["semantic", "fit", "--data", "CORPUS", "-o", "FILE"],
    ["semantic", "encode", "IN", "-o", "DIR.npy"],
    ["data", "melodies", "-o", "DIR"],
    ["data", "synth", "FILE", "--clips", "1"],
    ["tokenize", "CORPUS", "-o", "FILE", "--kinds", "attributes"],
    ["generate", "x", "y", "-o", "OUT.wav"],
    ["generate", "x", "--tempo", "nan"],
    ["data", "import-folder", "DIR"],  # nothing captioned: no progress bar before the line
    ["data", "import-folder", "CORPUS", "--out", "FILE/x"],
    ["data", "import-musiccaps", "CSV", "CORPUS", "--out", "FILE/x"],
]


@pytest.mark.parametrize("argv", MORE, ids=[" ".join(a) for a in MORE])
def test_more_bad_input(argv, tmp_path, corpus, wav, capsys):
    sf.write(str(tmp_path / "zero.wav"), np.zeros(0, np.float32), 8000)
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir.npy").mkdir()
    (tmp_path / "file").write_text("x")
    (tmp_path / "mc.csv").write_text("ytid,start_s,end_s,caption\nin,0,1,a tone\n")
    names = {"IN": wav, "ZERO": tmp_path / "zero.wav", "DIR": tmp_path / "dir", "CORPUS": corpus,
             "DIR.npy": tmp_path / "dir.npy", "FILE": tmp_path / "file",
             "FILE/x": tmp_path / "file" / "x", "CSV": tmp_path / "mc.csv"}  # fmt: skip
    argv = [str(names.get(a, a)).replace("OUT", str(tmp_path / "out")) for a in argv]
    before = sorted(tmp_path.rglob("*"))
    _one_error_line(capsys, main(argv))
    assert sorted(tmp_path.rglob("*")) == before
