"""The corpus engine end to end: files, manifest, determinism, resume, bad input."""

import json
import shutil

import pytest
import soundfile as sf

from musiclm.data.manifest import read_manifest, resolve
from musiclm.data.synth.engine import SynthConfig, synth_corpus
from musiclm.errors import UserError

CFG = SynthConfig(seed=7, seconds=6.0, sample_rate=16000, shard_size=3)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("corpus")
    synth_corpus(out, 5, CFG, workers=1, progress=False)
    return out


def _bytes(out, rec):
    return resolve(out, rec.audio).read_bytes()


def test_manifest_rows_and_files(corpus):
    recs = read_manifest(corpus)
    assert [r.id for r in recs] == [f"s7-{i:06d}" for i in range(5)]
    for r in recs:
        data, sr = sf.read(resolve(corpus, r.audio))
        assert sr == 16000 and len(data) == 6 * 16000
        assert resolve(corpus, r.midi).is_file()
        assert len(r.captions) >= 3 and r.aspects
        assert r.genre and r.tempo and r.key and r.mode and r.meter and r.melody_source
        assert r.instruments and all(i.name and i.program >= 0 for i in r.instruments)
        assert r.sections[0].start == 0 and r.sections[-1].end == pytest.approx(6.0, abs=0.01)
    assert sorted(p.name for p in (corpus / "shards").iterdir()) == ["0000.jsonl", "0001.jsonl"]
    assert not (corpus / ".parts").exists() or not any((corpus / ".parts").rglob("*.json"))


def test_same_seed_same_bytes_whatever_workers_or_count(corpus, tmp_path):
    other = tmp_path / "other"
    synth_corpus(other, 4, CFG, workers=2, progress=False)
    a, b = read_manifest(corpus)[:4], read_manifest(other)
    assert [r.to_json() for r in a] == [r.to_json() for r in b]
    assert all(_bytes(corpus, x) == _bytes(other, y) for x, y in zip(a, b))
    assert (corpus / "manifest.jsonl").read_text().splitlines()[:4] == (
        other / "manifest.jsonl"
    ).read_text().splitlines()


def test_different_seed_different_music(corpus, tmp_path):
    other = tmp_path / "seed8"
    synth_corpus(other, 2, SynthConfig(**{**CFG.__dict__, "seed": 8}), progress=False)
    a, b = read_manifest(corpus)[:2], read_manifest(other)
    assert all(_bytes(corpus, x) != _bytes(other, y) for x, y in zip(a, b))


def test_resume_after_a_kill_finishes_without_duplicates(corpus, tmp_path):
    out = tmp_path / "resume"
    shutil.copytree(corpus, out)
    # simulate a run killed in the middle of shard 1: its shard file never got written,
    # one clip finished (row in .parts), one left a temporary half-file behind
    recs = read_manifest(out)
    (out / "shards" / "0001.jsonl").unlink()
    (out / "manifest.jsonl").unlink()
    parts = out / ".parts" / "0001"
    parts.mkdir(parents=True)
    (parts / f"{recs[3].id}.json").write_text(recs[3].to_json() + "\n")
    resolve(out, recs[4].audio).unlink()
    half = resolve(out, recs[4].audio).parent / f".{recs[4].id}.flac.x1y2z3w4.musiclm-tmp.flac"
    half.write_bytes(b"half")  # named as io.atomic_path names its temporaries
    res = synth_corpus(out, 5, CFG, progress=False)
    assert res.rendered == 1  # only the unfinished clip
    assert (out / "manifest.jsonl").read_text() == (corpus / "manifest.jsonl").read_text()
    assert not half.exists()
    assert _bytes(out, recs[4]) == _bytes(corpus, recs[4])
    # growing the corpus extends the partial last shard
    res = synth_corpus(out, 7, CFG, progress=False)
    assert res.rendered == 2 and [r.id for r in read_manifest(out)][-1] == "s7-000006"


def test_other_settings_in_the_same_folder_are_refused(corpus):
    with pytest.raises(UserError, match="other settings"):
        synth_corpus(corpus, 5, SynthConfig(**{**CFG.__dict__, "seconds": 8.0}), progress=False)


def test_validation():
    for bad in (
        dict(seconds=2.0),
        dict(seconds=301.0),
        dict(sample_rate=1000),
        dict(genres=("nope",)),
        dict(lead="nope"),
        dict(arrangement="nope"),
        dict(seed=-1),
    ):
        with pytest.raises(UserError):
            SynthConfig(**{**CFG.__dict__, **bad}).validate()


def test_corpus_json_records_settings(corpus):
    saved = json.loads((corpus / "corpus.json").read_text())
    assert saved["seed"] == 7 and saved["seconds"] == 6.0 and saved["sample_rate"] == 16000


def test_synth_removes_only_its_own_temporaries(tmp_path):
    """`musiclm data synth .` in a project once wiped every dot-file below it."""
    out = tmp_path / "project"
    keep = [".pre-commit-config.yaml", ".env.local", "sub/.hidden/.keep.txt", "audio/0000/.a.b"]
    for name in keep:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text("precious")
    ours = out / "audio" / "0000" / ".s7-000000.flac.abcd1234.musiclm-tmp.flac"
    ours.write_bytes(b"half")  # left by a killed run: removed
    synth_corpus(out, 1, CFG, progress=False)
    assert all((out / name).read_text() == "precious" for name in keep)
    assert not ours.exists() and not (out / ".musiclm.lock").exists()
    assert [r.id for r in read_manifest(out)] == ["s7-000000"]


def test_a_second_run_into_the_same_corpus_is_refused(tmp_path):
    from musiclm.io import folder_lock

    with folder_lock(tmp_path / "c"):
        with pytest.raises(UserError, match="another run is writing here"):
            synth_corpus(tmp_path / "c", 1, CFG, progress=False)
    assert not (tmp_path / "c" / "manifest.jsonl").exists()


@pytest.mark.parametrize(
    "name,content",
    [("corpus.json", "not json"), ("corpus.json", "[1, 2]"), ("shards/0000.jsonl", "garbage\n")],
)
def test_corrupt_corpus_files_are_one_clear_error(corpus, tmp_path, name, content):
    out = tmp_path / "c"
    shutil.copytree(corpus, out)
    (out / "manifest.jsonl").unlink()
    (out / name).write_text(content)
    with pytest.raises(UserError, match="corpus.json|not a clip row"):
        synth_corpus(out, 5, CFG, progress=False)


def test_kill_9_mid_run_then_rerun_gives_the_same_bytes_and_no_leftovers(corpus, tmp_path):
    """A real SIGKILL (no cleanup code runs) after the first clip is on disk."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from musiclm.io import is_temporary

    out = tmp_path / "killed"
    code = (
        "from musiclm.data.synth.engine import SynthConfig, synth_corpus\n"
        f"synth_corpus({str(out)!r}, 5, SynthConfig(seed=7, seconds=6.0, sample_rate=16000,"
        " shard_size=3), progress=False)\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        deadline = time.monotonic() + 120
        while not list(out.glob(".parts/*/*.json")) and time.monotonic() < deadline:
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert not (out / "manifest.jsonl").exists()  # it really was cut short
    synth_corpus(out, 5, CFG, progress=False)
    assert (out / "manifest.jsonl").read_bytes() == (corpus / "manifest.jsonl").read_bytes()
    for rec in read_manifest(out):
        assert _bytes(out, rec) == _bytes(corpus, rec)
    assert not [p for p in out.rglob("*") if is_temporary(p.name)]
    assert not (out / ".musiclm.lock").exists()
