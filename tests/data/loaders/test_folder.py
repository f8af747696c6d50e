import json

import numpy as np
import pytest
import soundfile as sf

from musiclm.data.loaders import import_folder
from musiclm.data.manifest import Instrument, read_manifest, resolve
from musiclm.errors import UserError


def tone(path, seconds=0.25, rate=16000, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(str(path), 0.3 * np.sin(2 * np.pi * 220 * t), rate, format=fmt)


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "music"
    tone(root / "one.wav")
    (root / "one.txt").write_text("A bright ukulele tune.\n\n  Happy ukulele strumming. \n")
    tone(root / "albums" / "a" / "two.flac", rate=44100)
    (root / "albums" / "a" / "two.json").write_text(
        json.dumps(
            {
                "caption": "Slow jazz trio.",
                "captions": ["A late-night jazz trio.", "Slow jazz trio."],
                "aspects": ["jazz", "slow"],
                "genre": "jazz",
                "tempo": 72,
                "key": "Bb",
                "mode": "major",
                "meter": "4/4",
                "mood": "relaxed",
                "instruments": ["piano", {"name": "drums", "program": 0, "drum": True}],
                "artist": "me",
            }
        )
    )
    tone(root / "three.aiff", fmt="AIFF")
    (root / "three.txt").write_text("Ambient pad.")
    tone(root / "nocaption.wav")  # missing
    tone(root / "nocaption2.ogg")  # missing
    (root / "broken.wav").write_bytes(b"RIFF garbage, not a wave file")
    (root / "broken.txt").write_text("should be skipped")
    tone(root / "badjson.wav")
    (root / "badjson.json").write_text("{not json")
    tone(root / "badtempo.wav")
    (root / "badtempo.json").write_text('{"caption": "x", "tempo": "fast"}')
    tone(root / ".hidden.wav")
    (root / ".hidden.txt").write_text("hidden")
    tone(root / ".cache" / "x.wav")
    (root / ".cache" / "x.txt").write_text("hidden folder")
    return root


def test_import_folder(folder):
    result = import_folder(folder, progress=False)
    assert result.manifest == folder / "manifest.jsonl"
    assert result.n_clips == 3
    assert result.missing == 2
    records = {r.id: r for r in read_manifest(result.manifest)}
    assert set(records) == {"one", "albums__a__two", "three"}

    one = records["one"]
    assert one.captions == ["A bright ukulele tune.", "Happy ukulele strumming."]
    assert one.source == "folder" and one.sample_rate == 16000
    assert one.seconds == pytest.approx(0.25)

    two = records["albums__a__two"]
    assert two.audio == "albums/a/two.flac"
    assert two.captions == ["Slow jazz trio.", "A late-night jazz trio."]  # deduplicated
    assert two.aspects == ["jazz", "slow"] and two.genre == "jazz"
    assert two.tempo == 72.0 and two.key == "Bb" and two.mode == "major" and two.meter == "4/4"
    assert two.mood == ["relaxed"]
    assert two.instruments == [Instrument("piano"), Instrument("drums", program=0, drum=True)]
    assert two.extra == {"artist": "me"}
    assert two.sample_rate == 44100

    assert records["three"].captions == ["Ambient pad."]
    for r in records.values():
        assert resolve(result.manifest, r.audio).is_file()

    reasons = dict(result.skipped)
    assert set(reasons) == {"broken.wav", "badjson.wav", "badtempo.wav"}
    assert "invalid JSON" in reasons["badjson.wav"]
    assert "tempo" in reasons["badtempo.wav"]
    assert "3 clips" in result.summary() and "broken.wav" in result.summary()


def test_out_dir_elsewhere_keeps_paths_resolvable(folder, tmp_path):
    out = tmp_path / "elsewhere" / "corpus"
    result = import_folder(folder, out, progress=False)
    assert result.manifest == out / "manifest.jsonl"
    for r in read_manifest(result.manifest):
        assert r.audio.startswith("../../music/")
        assert resolve(result.manifest, r.audio).is_file()


def test_json_sidecar_preferred_and_bad_instruments(tmp_path):
    tone(tmp_path / "a.wav")
    (tmp_path / "a.json").write_text('{"captions": ["from json"]}')
    (tmp_path / "a.txt").write_text("from txt")
    tone(tmp_path / "b.wav")
    (tmp_path / "b.json").write_text('{"caption": "b", "instruments": [{"program": 3}]}')
    tone(tmp_path / "c.wav")
    (tmp_path / "c.json").write_text('{"genre": "rock"}')
    result = import_folder(tmp_path, progress=False)
    assert [r.captions for r in read_manifest(result.manifest)] == [["from json"]]
    reasons = dict(result.skipped)
    assert "instrument" in reasons["b.wav"]
    assert "no caption" in reasons["c.wav"]


def test_duplicate_ids_skipped(tmp_path):
    tone(tmp_path / "a.wav")
    tone(tmp_path / "a.flac")
    (tmp_path / "a.txt").write_text("shared caption")
    result = import_folder(tmp_path, progress=False)
    assert result.n_clips == 1
    assert "same id" in result.skipped[0][1]


def test_empty_results_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="no folder"):
        import_folder(tmp_path / "nope", progress=False)
    tone(tmp_path / "a.wav")
    with pytest.raises(UserError, match="no captioned audio.*1 without"):
        import_folder(tmp_path, progress=False)
    assert not (tmp_path / "manifest.jsonl").exists()
