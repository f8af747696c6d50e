"""`musiclm generate` for whole songs: --form, --story, the form in the sidecar, and
their bad input as one line before the model loads."""

import json

import pytest
import soundfile as sf

from musiclm.cli.main import main


@pytest.fixture(scope="module")
def debug_model(tmp_path_factory):
    from musiclm.pipeline import MusicLM

    path = tmp_path_factory.mktemp("model") / "m"
    MusicLM.debug(seed=0, attributes=True).save_pretrained(path)
    return path


def _one_error_line(capsys, code):
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2 and "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith("error:"), err
    return lines[0]


def test_every_piece_has_its_form_in_the_sidecar(debug_model, tmp_path):
    out = tmp_path / "a.wav"
    assert main(["generate", "a techno track", "-o", str(out), "-m", str(debug_model),
                 "-s", "3", "--seed", "1", "-q"]) == 0  # fmt: skip
    meta = json.loads(out.with_suffix(".json").read_text())
    form = meta["form"]
    assert form[0]["start"] == 0 and form[-1]["end"] == 3.0
    assert all(set(s) == {"name", "start", "end"} for s in form)
    assert all(a["end"] == b["start"] for a, b in zip(form, form[1:]))
    assert "story" not in meta


def test_form_option_sets_the_sections(debug_model, tmp_path):
    out = tmp_path / "f.wav"
    assert main(["generate", "pop", "-o", str(out), "-m", str(debug_model), "-s", "3",
                 "--seed", "1", "-q", "--form", "intro 1, verse 1.5, tail 0.5"]) == 0  # fmt: skip
    form = json.loads(out.with_suffix(".json").read_text())["form"]
    assert [(s["name"], s["start"], s["end"]) for s in form] == [
        ("intro", 0, 1), ("verse", 1, 2.5), ("tail", 2.5, 3)]  # fmt: skip


def test_the_planned_ending_is_in_the_sidecar_and_no_ending_leaves_it_out(debug_model, tmp_path):
    import numpy as np

    args = ["pop", "-m", str(debug_model), "-s", "3", "--seed", "1", "-q"]
    ring, fade, raw = tmp_path / "r.wav", tmp_path / "f.wav", tmp_path / "n.wav"
    assert main(["generate", *args, "-o", str(ring), "--form", "verse 1.5, tail 1.5"]) == 0
    assert main(["generate", *args, "-o", str(fade), "--form", "verse 3"]) == 0
    assert main(["generate", *args, "-o", str(raw), "--form", "verse 1.5, tail 1.5",
                 "--no-ending"]) == 0  # fmt: skip
    said = [json.loads(p.with_suffix(".json").read_text())["ending"] for p in (ring, fade, raw)]
    assert said == ["ring-out", "fade-out", None]
    y, sr = sf.read(ring, dtype="float32")
    z, _ = sf.read(raw, dtype="float32")
    head = slice(0, sr // 4)  # the same piece before its ending (written at its own gain)
    assert np.corrcoef(y[head], z[head])[0, 1] > 0.999
    scale = np.abs(y[head]).max() / np.abs(z[head]).max()
    assert np.abs(y[-sr // 2 :]).max() < 0.05 * scale * np.abs(z[-sr // 2 :]).max()


def test_story_makes_one_piece_with_its_parts_in_the_sidecar(debug_model, tmp_path):
    out = tmp_path / "story.wav"
    argv = ["generate", "--story", "0=whistling over a techno beat at 128 bpm", "--story",
            "2=a calm piano outro", "-s", "4", "-o", str(out), "-m", str(debug_model), "-q",
            "--seed", "3"]  # fmt: skip
    assert main(argv) == 0
    y, sr = sf.read(out)
    assert len(y) == 4 * sr
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [(p["start"], p["text"], p["tempo"]) for p in meta["story"]] == [
        (0, "whistling over a techno beat at 128 bpm", 128.0),
        (2, "a calm piano outro", 128.0),  # the tempo carried over
    ]
    assert meta["prompt"] == meta["story"][0]["text"] and meta["form"][-1]["end"] == 4.0
    from musiclm.pipeline import STORY_CONTRAST

    assert meta["story_contrast"] == STORY_CONTRAST  # the guidance away from the other text
    # a story with its own form
    code = main([*argv, "--form", "intro 1, verse 2, tail 1"])
    assert code == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert [s["name"] for s in meta["form"]] == ["intro", "verse", "tail"]


@pytest.mark.parametrize(
    "extra, needle",
    [
        (["x", "--story", "0=a"], "give no caption"),
        (["--story", "0=a", "--story", "1=b", "--prompts", "P"], "give no caption"),
        (["--story", "2=a", "--story", "4=b"], "starts at 0 s"),
        (["--story", "0=a", "--story", "4=b", "--story", "3=c"], "part 3 starts at 3 s"),
        (["--story", "0=a", "--story", "9=b"], "past the end of the 8 s piece"),
        (["--story", "0=a", "--story", "4="], "part 2 (at 4 s) has no text"),
        (["--story", "a calm piano"], "write START=TEXT"),
        (["x", "--form", "intro 8, verse"], "form part 2 'verse'"),
        (["x", "--form", "intro 4, solo 4"], "unknown section 'solo'"),
        (["x", "--form", "intro 4, verse 2"], "adds up to 6 s but the piece is 8 s"),
        (["x", "-s", "301"], "<= 300"),
    ],
)
def test_bad_songs_are_one_line_before_the_model_loads(
    extra, needle, tmp_path, capsys, monkeypatch
):
    from musiclm.pipeline import MusicLM

    def never(*a, **kw):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(MusicLM, "from_pretrained", never)
    (tmp_path / "P").write_text("a caption\n")
    extra = [str(tmp_path / "P") if x == "P" else x for x in extra]
    out = tmp_path / "a.wav"
    argv = ["generate", *extra, "-o", str(out), "-q"]
    if "-s" not in extra:
        argv += ["-s", "8"]
    line = _one_error_line(capsys, main(argv))
    assert needle in line, line
    assert not out.exists()
