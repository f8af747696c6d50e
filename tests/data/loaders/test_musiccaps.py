import csv
import json

import numpy as np
import pytest
import soundfile as sf

from musiclm.data.loaders import ImportResult, import_musiccaps
from musiclm.data.manifest import read_manifest, resolve
from musiclm.errors import UserError

HEADER = [
    "ytid",
    "start_s",
    "end_s",
    "audioset_positive_labels",
    "aspect_list",
    "caption",
    "author_id",
    "is_balanced_subset",
    "is_audioset_eval",
]


def tone(path, seconds=0.5, rate=16000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), 0.3 * np.sin(2 * np.pi * 440 * t), rate)


def row(ytid, start=30, end=40, caption="A calm piano piece.", aspects="['piano', 'calm']"):
    return [ytid, start, end, "/m/04rlf", aspects, caption, "4", "False", "True"]


def write_csv(path, rows, header=HEADER):
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def corpus(tmp_path):
    clips = tmp_path / "clips"
    tone(clips / "aaa.wav")  # {ytid}.{ext}
    tone(clips / "sub" / "bbb_30-40.flac", rate=22050)  # {ytid}_{start}-{end}.{ext}, nested
    tone(clips / "[ccc]-[30-40].ogg")  # [{ytid}]-[{start}-{end}].{ext}
    (clips / "ddd.wav").write_bytes(b"this is not audio at all" * 10)  # corrupt
    (clips / ".hidden").mkdir()
    tone(clips / ".hidden" / "eee.wav")  # hidden folders are not searched
    rows = [
        row("aaa"),
        row("bbb", caption="Drums and bass,\nwith a newline."),
        row("ccc", aspects="not a list ["),
        row("ddd"),
        row("eee"),  # missing (hidden)
        row("fff"),  # missing
        row("ggg", start="x"),  # non-numeric
        row("hhh", start=40, end=30),  # end <= start
        row("iii", caption="  "),  # empty caption
        ["", 0, 10, "", "[]", "no id", "", "", ""],  # missing ytid
    ]
    return write_csv(tmp_path / "musiccaps.csv", rows), clips


def test_import_finds_naming_schemes_and_reports(corpus, tmp_path):
    csv_path, clips = corpus
    out = tmp_path / "out"
    result = import_musiccaps(csv_path, clips, out, progress=False)
    assert isinstance(result, ImportResult)
    assert result.manifest == out / "manifest.jsonl"
    assert result.n_clips == 3
    assert result.missing == 2

    records = {r.id: r for r in read_manifest(result.manifest)}
    assert set(records) == {"aaa", "bbb", "ccc"}
    a = records["aaa"]
    assert a.captions == ["A calm piano piece."]
    assert a.aspects == ["piano", "calm"]
    assert a.source == "musiccaps"
    assert a.sample_rate == 16000 and a.seconds == pytest.approx(0.5)
    assert a.extra["start_s"] == 30.0 and a.extra["end_s"] == 40.0
    assert a.extra["author_id"] == "4" and a.extra["is_audioset_eval"] is True
    assert records["bbb"].sample_rate == 22050
    assert records["bbb"].captions == ["Drums and bass,\nwith a newline."]
    assert records["ccc"].aspects == []  # unparsable aspect_list is dropped, row kept
    for r in records.values():  # relative paths resolve from the manifest's folder
        assert not r.audio.startswith("/")
        assert resolve(result.manifest, r.audio).is_file()

    reasons = dict(result.skipped)
    assert any("ddd.wav" in item for item in reasons)  # corrupt audio listed
    # Line numbers count physical lines: bbb's caption spans two, so ggg is on line 9.
    assert "start_s is not a number" in reasons["musiccaps.csv:9"]
    assert "not after start_s" in reasons["musiccaps.csv:10"]
    assert "empty caption" in reasons["musiccaps.csv:11"]
    assert "empty ytid" in reasons["musiccaps.csv:12"]
    assert len(result.skipped) == 5

    summary = result.summary(max_listed=2)
    assert summary.splitlines()[0] == (f"wrote 3 clips to {result.manifest}; 2 missing; 5 skipped")
    assert "... and 3 more" in summary


def test_out_dir_defaults_to_clips_dir(corpus):
    csv_path, clips = corpus
    result = import_musiccaps(csv_path, clips, progress=False)
    assert result.manifest == clips / "manifest.jsonl"
    line = json.loads(result.manifest.read_text().splitlines()[0])
    assert line["audio"] == "aaa.wav"


def test_prefers_readable_format(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "aaa.m4a").write_bytes(b"\x00" * 100)
    tone(clips / "aaa.mp3")  # libsndfile >= 1.1 writes mp3
    csv_path = write_csv(tmp_path / "m.csv", [row("aaa")])
    result = import_musiccaps(csv_path, clips, progress=False)
    assert read_manifest(result.manifest)[0].audio == "aaa.mp3"


def test_missing_inputs_are_user_errors(tmp_path, corpus):
    csv_path, clips = corpus
    with pytest.raises(UserError, match="no MusicCaps CSV"):
        import_musiccaps(tmp_path / "nope.csv", clips, progress=False)
    with pytest.raises(UserError, match="no clips folder"):
        import_musiccaps(csv_path, tmp_path / "nope", progress=False)


def test_csv_without_required_columns(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    bad = write_csv(tmp_path / "bad.csv", [["aaa", "x"]], header=["ytid", "text"])
    with pytest.raises(UserError, match="missing column.*start_s, end_s, caption"):
        import_musiccaps(bad, clips, progress=False)


def test_zero_usable_rows(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    csv_path = write_csv(tmp_path / "m.csv", [row("aaa"), row("bbb", start=50, end=40)])
    with pytest.raises(UserError, match="no usable MusicCaps rows.*1 without a clip.*1 skipped"):
        import_musiccaps(csv_path, clips, progress=False)
    assert not (clips / "manifest.jsonl").exists()
