import json
from pathlib import Path

import pytest

from musiclm.data.manifest import ClipRecord, Instrument, Section, write_manifest
from musiclm.data.report import (
    UNKNOWN,
    build_report,
    collapse_melody_source,
    count_clips,
    format_counts,
    tempo_band,
)
from musiclm.errors import UserError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _clip(i: int) -> ClipRecord:
    """30 clips: genre rock 15 / jazz 9 / celtic 6; piano everywhere, drums in 20."""
    genre = "rock" if i < 15 else "jazz" if i < 24 else "celtic"
    instruments = [Instrument("piano", 0, role="harmony")]
    if i < 20:
        instruments.append(Instrument("standard kit", 0, drum=True, role="drums"))
    if genre == "celtic":
        instruments.append(Instrument("violin", 40, role="melody"))
    return ClipRecord(
        id=f"c{i:03d}",
        audio=f"audio/c{i:03d}.flac",
        sample_rate=24000,
        seconds=10.0 if i < 20 else 45.0,
        captions=["a loud rock song with piano", "piano and drums"] if i < 10 else ["calm"],
        aspects=["piano", "drums"],
        genre=genre,
        tempo=[70.0, 95.0, 128.0, 160.0, 100.0][i % 5],
        key="C" if i % 2 else "F#",
        mode="major" if i % 3 else "minor",
        meter="4/4",
        instruments=instruments,
        mood=["happy"] if i % 2 else ["sad", "happy"],
        sections=[Section("intro", 0, 4), Section("verse", 4, 10)],
        melody_source="music21:essenFolksong/han1.abc#12" if i < 12 else "procedural",
    )


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    write_manifest(folder / "manifest.jsonl", [_clip(i) for i in range(30)])
    return folder


def test_report_tables_stats_and_plots(corpus: Path):
    report = build_report(corpus, expected_instruments=["Piano", "sitar"])
    out = corpus / "report"
    md = (out / "report.md").read_text()
    assert md == report.markdown
    assert "| genre | clips | share % |" in md
    assert "| rock | 15 | 50.0 |\n| jazz | 9 | 30.0 |\n| celtic | 6 | 20.0 |" in md
    assert "| piano | 30 | 100.0 |" in md and "| violin | 6 | 20.0 |" in md
    assert "| drum | 20 | 66.7 |" in md
    assert "| music21:essenFolksong | 12 | 40.0 |" in md
    assert "![Genre](genre.png)" in md

    stats = json.loads((out / "report.json").read_text())
    assert stats == json.loads(json.dumps(report.stats))
    d = stats["distributions"]
    assert stats["clips"] == 30
    assert stats["hours"] == pytest.approx((20 * 10 + 10 * 45) / 3600, abs=1e-4)
    assert d["genre"]["counts"] == {"rock": 15, "jazz": 9, "celtic": 6}
    assert d["tempo"]["counts"] == {
        **{f"{b}-{b + 10}": 0 for b in range(70, 170, 10)},
        "70-80": 6,
        "90-100": 6,
        "100-110": 6,
        "120-130": 6,
        "160-170": 6,
    }
    assert d["tempo_band"]["counts"] == {
        "medium (80-120)": 12,
        "fast (120-150)": 6,
        "slow (<80)": 6,
        "very fast (>150)": 6,
    }
    assert d["key_mode"]["counts"]["C major"] == 10
    assert d["mood"]["counts"] == {"happy": 30, "sad": 15}
    assert d["duration"]["counts"] == {"10-20 s": 20, "20-30 s": 0, "30-60 s": 10}
    assert d["captions_per_clip"]["counts"] == {"1": 20, "2": 10}
    assert d["caption_words"] == {
        "counts": {"0-10": 40},
        "total": 40,
        "unit": "captions",
    }
    assert d["section"]["counts"] == {"intro": 30, "verse": 30}
    assert d["source"]["counts"] == {"synth": 30}
    bias = stats["bias"]
    assert bias["most_represented"][0] == {"genre": "rock", "clips": 15, "share": 50.0}
    assert bias["least_represented"][0]["genre"] == "celtic"
    assert bias["genre_ratio"] == 2.5
    assert bias["under_represented_cultures"]["share"] == 20.0
    assert bias["missing_instruments"] == ["sitar"]
    assert bias["warnings"] == []  # under 200 clips: shares too noisy to warn about

    pngs = [p for p in report.files if p.suffix == ".png"]
    names = {p.name for p in pngs}
    assert {"genre.png", "instruments.png", "tempo.png", "key_mode.png"} <= names
    assert {"duration.png", "melody_sources.png"} <= names
    for p in report.files:
        assert p.is_file()
    for p in pngs:
        assert p.read_bytes()[:8] == PNG_MAGIC
        assert f"({p.name})" in md
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_musiccaps_like_manifest_counts_unknown(tmp_path: Path):
    records = [
        ClipRecord(
            id=f"m{i}",
            audio=f"m{i}.wav",
            sample_rate=48000,
            seconds=10.0,
            captions=["A low quality recording of a folk song."],
            aspects=["low quality", "folk"] if i % 2 else ["low quality"],
            source="musiccaps",
        )
        for i in range(6)
    ]
    manifest = write_manifest(tmp_path / "mc" / "manifest.jsonl", records)
    report = build_report(manifest, tmp_path / "out", title="MusicCaps")
    d = report.stats["distributions"]
    assert d["genre"]["counts"] == {UNKNOWN: 6}
    assert d["instrument"]["counts"] == {UNKNOWN: 6}
    assert d["tempo"]["counts"] == {UNKNOWN: 6}
    assert d["melody_source"]["counts"] == {UNKNOWN: 6}
    assert d["aspect"]["counts"] == {"low quality": 6, "folk": 3}
    assert report.stats["bias"]["genre_ratio"] is None
    md = report.markdown
    assert md.startswith("# MusicCaps\n")
    assert "| low quality | 6 | 100.0 |" in md and "| folk | 3 | 50.0 |" in md
    assert "## Genre" not in md and "Not recorded in this corpus" in md
    names = {p.name for p in report.files}
    assert {"aspects.png", "duration.png"} <= names and "genre.png" not in names
    assert (tmp_path / "out" / "aspects.png").read_bytes()[:8] == PNG_MAGIC


def test_rare_category_warning(tmp_path: Path):
    records = [_clip(i % 20) for i in range(199)] + [_clip(29)]  # one celtic clip in 200
    for i, r in enumerate(records):
        r.id = f"r{i}"
    write_manifest(tmp_path, records)
    bias = build_report(tmp_path).stats["bias"]
    assert any("genre 'celtic'" in w and "0.5%" in w for w in bias["warnings"])
    assert (tmp_path / "report" / "report.md").read_text().count("- Warning:") == len(
        bias["warnings"]
    )


def test_empty_manifest_is_user_error(tmp_path: Path):
    write_manifest(tmp_path, [])
    with pytest.raises(UserError, match="no clips"):
        build_report(tmp_path)


def test_unwritable_out_dir_is_user_error(corpus: Path, tmp_path: Path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    with pytest.raises(UserError, match="cannot create report folder"):
        build_report(corpus, blocker / "report")


def test_helpers():
    assert collapse_melody_source("music21:essenFolksong/han1.abc#12") == "music21:essenFolksong"
    assert collapse_melody_source("procedural") == "procedural"
    assert collapse_melody_source(None) == UNKNOWN
    assert [tempo_band(t) for t in (79.9, 80, 120, 150, 150.1, None)] == [
        "slow (<80)",
        "medium (80-120)",
        "fast (120-150)",
        "fast (120-150)",
        "very fast (>150)",
        UNKNOWN,
    ]
    assert count_clips([["a", "a", "b"], [], ["b"]]) == {"b": 2, "a": 1, UNKNOWN: 1}
    table = format_counts({"x|y": 1, "z": 3}, 4, label="genre")
    assert table.splitlines() == [
        "| genre | clips | share % |",
        "|---|---:|---:|",
        "| x\\|y | 1 | 25.0 |",
        "| z | 3 | 75.0 |",
    ]
