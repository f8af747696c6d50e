"""``kill -9`` at a few moments of ``tokenize``, ``stage train`` and ``generate``, then a
rerun: the same bytes as an uninterrupted run, and no temporary or lock file left.

Each killed run is a real subprocess that gets SIGKILL (no cleanup code runs), at a moment
read off the files it writes. ``data synth`` has its own test in tests/data/synth.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import musiclm
from musiclm.cli.main import main
from musiclm.io import LOCK_NAME, is_temporary

SRC = str(Path(musiclm.__file__).resolve().parents[1])  # the code under test, not another copy


def _musiclm(argv, log: Path, kill_when=None, timeout=180) -> int:
    """Run ``musiclm ARGV`` in a subprocess on one thread; with ``kill_when``, SIGKILL it
    as soon as ``kill_when()`` is true. Returns its exit status (-9: killed)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    code = "import sys; from musiclm.cli.main import main; sys.exit(main(sys.argv[1:]))"
    with open(log, "ab") as err:
        proc = subprocess.Popen([sys.executable, "-c", code, *argv], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)  # fmt: skip
        try:
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if kill_when is not None and kill_when():
                    proc.send_signal(signal.SIGKILL)
                    break
                time.sleep(0.002)
        finally:
            if proc.poll() is None and kill_when is None:
                proc.kill()
            rc = proc.wait()
    return rc


def _killed(argv, log, kill_when) -> None:
    rc = _musiclm(argv, log, kill_when)
    assert rc == -signal.SIGKILL, f"not killed mid-run (exit {rc}): {log.read_text()[-2000:]}"


def _finished(argv, log) -> None:
    rc = _musiclm(argv, log)
    assert rc == 0, log.read_text()[-2000:]


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _no_leftovers(root: Path) -> None:
    left = [p for p in root.rglob("*") if is_temporary(p.name) or p.name == LOCK_NAME]
    assert not left, left


@pytest.fixture
def one_thread():
    """In-process reference runs on one thread, as the subprocesses (same float sums)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- tokenize ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from musiclm.codec.config import CodecConfig
    from musiclm.codec.model import Codec
    from musiclm.data.manifest import ClipRecord, write_manifest

    root = tmp_path_factory.mktemp("kill9_corpus")
    rate, seconds, records = 16000, 4.0, []
    t = np.arange(int(seconds * rate)) / rate
    for i in range(40):  # one clip a shard: many moments to be killed at
        y = 0.3 * np.sin(2 * np.pi * (110 + 7 * i) * t) * (1 + np.sin(2 * np.pi * 0.5 * i * t))
        sf.write(str(root / f"c{i:02d}.wav"), (0.5 * y).astype(np.float32), rate)
        records.append(ClipRecord(f"c{i:02d}", f"c{i:02d}.wav", rate, seconds, ["a tone"],
                                  tempo=90.0 + i))  # fmt: skip
    write_manifest(root, records)
    torch.manual_seed(0)
    Codec(CodecConfig.preset("debug")).save_pretrained(root / "codec")
    return root


def test_kill_9_tokenize_then_rerun_gives_the_same_token_files(corpus, tmp_path, one_thread):
    def argv(out):
        return ["tokenize", str(corpus), "-o", str(out), "--kinds", "acoustic,attributes",
                "--codec", str(corpus / "codec"), "--shard-size", "1", "-q"]  # fmt: skip

    assert main(argv(tmp_path / "ref")) == 0
    ref = _files(tmp_path / "ref")
    out, log = tmp_path / "out", tmp_path / "log"
    shards = out / "acoustic"

    def writing() -> bool:  # the token folder is ready: shards are being written
        return (shards / "meta.json").exists()

    def half_done() -> bool:  # mid-write of a shard, or half of them on disk
        names = [p.name for p in shards.iterdir()] if shards.is_dir() else []
        return any(is_temporary(n) for n in names) or len(names) > 20

    _killed(argv(out), log, writing)
    _killed(argv(out), log, half_done)
    assert not json.loads((shards / "meta.json").read_text())["complete"]
    _finished(argv(out), log)
    assert _files(out) == ref
    _no_leftovers(out)


# -- stage train ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stage_tokens(tmp_path_factory):
    """Token files of three clips, as `musiclm tokenize` writes them (debug-size vocabularies)."""
    from musiclm.tokens import write_meta, write_shard

    root = tmp_path_factory.mktemp("kill9_tokens")
    rng = np.random.default_rng(0)
    models = {
        "mulan": {"rvq_levels": 3, "rvq_codebook_size": 8},
        "semantic": {"sample_rate": 16000, "hop_length": 3200, "clusters": 16},
        "acoustic": {"family": "frame", "sample_rate": 24000, "hop_length": 2400, "levels": 4,
                     "codebook_size": 8},
    }  # fmt: skip
    items: dict[str, list] = {k: [] for k in models}
    for clip, seconds in {"a": 12, "b": 4, "c": 25}.items():
        items["semantic"].append((clip, {"tokens": rng.integers(0, 16, seconds * 5, np.int16)}))
        items["acoustic"].append((clip, {"codes": rng.integers(0, 8, (4, seconds * 10), np.int16)}))
        items["mulan"].append((clip, {"tokens": rng.integers(0, 8, (3, 1), np.int16)}))
    for kind, rows in items.items():
        write_meta(root / kind, {"kind": kind, "fingerprint": kind, "shards": 1,
                                 "model": models[kind]})  # fmt: skip
        write_shard(root / kind, 0, rows)
    return root


STEPS = 240


def _stage_argv(tokens, run, *more):
    return ["stage", "train", "coarse", "--tokens", str(tokens), "-c", "debug", "--steps",
            str(STEPS), "-b", "2", "--save-every", "20", "-o", str(run), "--device", "cpu",
            *more]  # fmt: skip


@pytest.fixture(scope="module")
def stage_reference(stage_tokens, tmp_path_factory):
    run = tmp_path_factory.mktemp("kill9_stage_ref") / "run"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(_stage_argv(stage_tokens, run)) == 0
    finally:
        torch.set_num_threads(threads)
    return run


def _same_run(run: Path, ref: Path) -> None:
    """The exported stage, the last checkpoint's weights and the loss curve are the
    uninterrupted run's, byte for byte."""
    assert _files(run / "final") == _files(ref / "final")
    last = f"ckpt-{STEPS:06d}"
    for name in ("model.safetensors", "optimizer.safetensors"):
        assert (run / last / name).read_bytes() == (ref / last / name).read_bytes()
    assert (run / "metrics.csv").read_bytes() == (ref / "metrics.csv").read_bytes()
    _no_leftovers(run)


def test_kill_9_stage_train_then_resume_gives_the_same_model(
    stage_tokens, stage_reference, tmp_path
):
    run, log = tmp_path / "run", tmp_path / "log"

    def checkpoint_40() -> bool:
        return (run / "ckpt-000040").is_dir()

    def mid_save() -> bool:  # a checkpoint folder being written, or past step 140
        names = [p.name for p in run.iterdir()]
        return any(is_temporary(n) for n in names) or "ckpt-000140" in names

    _killed(_stage_argv(stage_tokens, run), log, checkpoint_40)
    _killed(_stage_argv(stage_tokens, run, "--resume"), log, mid_save)
    assert not (run / "final").exists()
    _finished(_stage_argv(stage_tokens, run, "--resume"), log)
    _same_run(run, stage_reference)


@pytest.mark.slow
def test_kill_9_during_the_export_then_resume_gives_the_same_model(
    stage_tokens, stage_reference, tmp_path
):
    run, log = tmp_path / "run", tmp_path / "log"
    _killed(_stage_argv(stage_tokens, run), log, lambda: (run / "final").exists())
    _finished(_stage_argv(stage_tokens, run, "--resume"), log)
    _same_run(run, stage_reference)


# -- generate ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from musiclm.pipeline import MusicLM

    path = tmp_path_factory.mktemp("kill9_model") / "m"
    MusicLM.debug(seed=0).save_pretrained(path)
    return path


CAPTIONS = ["calm piano", "fast techno", "a violin melody", "humming rock"]


def _settings(sidecar: bytes) -> dict:
    meta = json.loads(sidecar)
    return {k: v for k, v in meta.items() if k not in ("wall_seconds", "timings")}


def _complete_or_absent(out: Path, seconds: float, rate: int) -> dict[str, bytes]:
    """Every piece the killed run left is whole: a WAV of the full length, and a sidecar
    only beside its WAV. Returns those files' bytes."""
    left = {p.name: p.read_bytes() for p in out.iterdir()
            if p.suffix in (".wav", ".json") and not is_temporary(p.name)}  # fmt: skip
    for name in left:
        stem = name.rsplit(".", 1)[0]
        if name.endswith(".json"):
            assert f"{stem}.wav" in left, f"{name} without its WAV"
        else:
            assert sf.info(str(out / name)).frames == round(seconds * rate)
    return left


def test_kill_9_generate_leaves_whole_pieces_and_a_rerun_the_same_bytes(model_dir, tmp_path):
    from musiclm.pipeline import MusicLM

    rate = MusicLM.from_pretrained(model_dir).sample_rate
    out, log, seconds = tmp_path / "out", tmp_path / "log", 1.0
    argv = ["generate", *CAPTIONS, "-o", str(out), "-m", str(model_dir), "-s", str(seconds),
            "--batch", "1", "--seed", "3", "-q", "--device", "cpu"]  # fmt: skip
    names = lambda: [p.name for p in out.iterdir()] if out.is_dir() else []  # noqa: E731

    seen = []
    _killed(argv, log, lambda: any(n.endswith(".wav") and not is_temporary(n) for n in names()))
    seen.append(_complete_or_absent(out, seconds, rate))
    _killed(argv, log, lambda: any(is_temporary(n) for n in names()) or "02_a_violin_melody.wav"
            in names())  # fmt: skip
    seen.append(_complete_or_absent(out, seconds, rate))
    assert any(seen), "the runs were killed before any piece was written"
    _finished(argv, log)
    final = _files(out)
    assert len([n for n in final if n.endswith(".wav")]) == len(CAPTIONS)
    for left in seen:
        for name, data in left.items():
            if name.endswith(".wav"):
                assert data == final[name], f"{name} differs from the rerun's"
            else:
                assert _settings(data) == _settings(final[name])
    _no_leftovers(out)
