"""Ctrl-C: exit 130, one line saying what was kept, no half-written file."""

import json

import pytest

from musiclm.cli.main import main
from musiclm.io import is_temporary


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from musiclm.pipeline import MusicLM

    path = tmp_path_factory.mktemp("model") / "m"
    MusicLM.debug(seed=0).save_pretrained(path)
    return path


def _line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 1, err
    return lines[0]


def test_an_interrupted_generate_exits_130_and_keeps_the_finished_pieces(
    model_dir, tmp_path, capsys, monkeypatch
):
    from musiclm.pipeline import MusicLM

    real, calls = MusicLM.run, []

    def second_call_interrupted(self, *a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(MusicLM, "run", second_call_interrupted)
    out = tmp_path / "out"
    argv = ["generate", "one", "two", "-o", str(out), "-m", str(model_dir), "-s", "0.5",
            "--batch", "1", "--seed", "3", "-q"]  # fmt: skip
    assert main(argv) == 130
    line = _line(capsys)
    assert line.startswith("interrupted: 1 of 2 piece(s) written") and "01_two.wav" in line
    assert sorted(p.name for p in out.iterdir()) == ["00_one.json", "00_one.wav"]
    assert json.loads((out / "00_one.json").read_text())["seed"] == 3


def test_an_interrupted_tokenize_exits_130(tmp_path, capsys, monkeypatch):
    import musiclm.tokenize

    def stop(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(musiclm.tokenize, "tokenize_corpus", stop)
    assert main(["tokenize", str(tmp_path), "-o", str(tmp_path / "t"), "-q"]) == 130
    assert "finished shards are kept" in _line(capsys)


def test_a_bare_ctrl_c_anywhere_exits_130(tmp_path, capsys, monkeypatch):
    import musiclm.data.report

    def stop(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(musiclm.data.report, "build_report", stop)
    assert main(["data", "report", str(tmp_path)]) == 130
    assert _line(capsys) == "interrupted"


def test_an_interrupted_stage_train_says_which_checkpoint_it_kept(tmp_path, capsys, monkeypatch):
    from musiclm.training import Trainer

    def stop(self, resume=False):
        from musiclm.training.checkpoint import Checkpoint, save_checkpoint

        save_checkpoint(self.config.out_dir, Checkpoint(7, {}, {}, state={}))
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "fit", stop)
    monkeypatch.setattr("musiclm.stages.train.layout_from_tokens", lambda *a: {})
    monkeypatch.setattr("musiclm.stages.train.StageTask", lambda *a, **kw: None)
    monkeypatch.setattr("musiclm.stages.config.stage_config", lambda *a, **kw: None)
    run = tmp_path / "run"
    argv = ["stage", "train", "semantic", "--tokens", str(tmp_path), "-o", str(run)]
    assert main(argv) == 130
    line = _line(capsys)
    assert "checkpoint of step 7 kept" in line and "--resume" in line
    assert not (run / "final").exists()
    assert not [p for p in run.iterdir() if is_temporary(p.name)]
