"""The CLI in-process: help teaches, user mistakes give one line and exit 2."""

import pytest

from musiclm.cli.main import main


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "data" in out
    assert main(["data", "--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("synth", "report", "import-musiccaps", "import-folder", "genres", "instruments"):
        assert cmd in out


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--genre", "polka-metal-fusion"], "unknown genre"),
        (["--seconds", "-3"], "--seconds"),
        (["--seconds", "100000"], "--seconds"),
        (["--clips", "0"], "--clips"),
        (["--lead", "theremin-ish"], "unknown instrument"),
        (["--arrangement", "kazoo"], "unknown arrangement"),
        (["--sample-rate", "100"], "--sample-rate"),
        (["--soundfont", "/nonexistent.sf2"], "soundfont not found"),
    ],
)
def test_bad_synth_input_is_one_clear_line(tmp_path, capsys, args, needle):
    code = main(["data", "synth", str(tmp_path / "c"), "--clips", "1", "-q", *args])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert needle in err and len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_unwritable_output_dir(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["data", "synth", str(blocker / "corpus"), "--clips", "1", "-q"]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_report_on_missing_corpus(tmp_path, capsys):
    assert main(["data", "report", str(tmp_path / "nothing")]) == 2
    assert "no manifest" in capsys.readouterr().err


def test_lists(capsys):
    assert main(["data", "genres"]) == 0
    out = capsys.readouterr().out
    assert "techno" in out and "celtic" in out
    assert main(["data", "instruments"]) == 0
    out = capsys.readouterr().out
    assert "TR-808 drum kit" in out and "humming" in out
