"""`musiclm eval`: prompts in, a report (per piece, per family, overall) out, with debug parts."""

import json


def test_evaluate_end_to_end_with_debug_parts(eval_corpus, tmp_path, capsys):
    from musiclm.cli.main import main
    from musiclm.pipeline import MusicLM

    MusicLM.debug().save_pretrained(tmp_path / "m")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(
        '{"text": "an ambient violin drone", "genre": "ambient", "instruments": ["violin"]}\n'
        '{"text": "techno at 128 bpm in A minor", "tempo": 128, "key": "A minor", '
        '"genre": "techno"}\n'
    )
    argv = [
        "eval",
        str(prompts),
        "--corpus",
        str(eval_corpus),
        "--heldout",
        str(eval_corpus),
        "-m",
        str(tmp_path / "m"),
        "--seconds",
        "1",
        "-o",
        str(tmp_path / "ev"),
    ]
    assert main(argv) == 0
    report = json.loads((tmp_path / "ev" / "eval.json").read_text())
    rows, summary = report["rows"], report["summary"]
    assert [r["id"] for r in rows] == ["p01", "p02"]
    assert -1.0 <= rows[0]["mcc"] <= 1.0 and "tempo_err" in rows[1] and "key_est" in rows[1]
    assert rows[0]["genre_id"] == "ambient" and rows[0]["genre_est"] in ("ambient", "techno")
    assert "genre" in report["classifier_accuracy"]
    for key in ("mcc_shuffled", "fad_mulan", "real_time_factor", "peak_rss_mb"):
        assert summary[key] is not None
    assert (tmp_path / "ev" / "audio" / "p01.wav").exists()
    assert "| overall | value |" in (tmp_path / "ev" / "eval.md").read_text()
    assert all(0.0 <= r["key_strength"] <= 1.0 for r in rows) and summary["key_strength"]
    fams = {f["family"]: f for f in report["families"]}
    assert set(fams) == {"ambient", "electronic"} and fams["ambient"]["pieces"] == 1
    assert "| family | pieces |" in (tmp_path / "ev" / "eval.md").read_text()
