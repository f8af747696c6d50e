"""A small corpus of synthetic chord clips, and debug tokenizers fitted on it once."""

import pytest
import soundfile as sf
import torch
from semantic_audio import CHORDS, RATE, SECONDS, chord_clip

from musiclm.data.manifest import ClipRecord, write_manifest
from musiclm.semantic import TrainSettings, fit_semantic


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """Eight 4 s clips cycling through pairs of chords, with a manifest."""
    out = tmp_path_factory.mktemp("chords")
    names = list(CHORDS)
    recs = []
    for i in range(8):
        pair = [names[i % 4], names[(i + 1 + i // 4) % 4]]
        y, _ = chord_clip(pair, seed=i)
        sf.write(out / f"{i}.wav", y, RATE)
        recs.append(ClipRecord(f"c{i}", f"{i}.wav", RATE, SECONDS, [f"chords {pair}"]))
    write_manifest(out, recs)
    return out


@pytest.fixture(scope="session")
def tok0_dir(corpus, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("sem0")
    fit_semantic(corpus, out, config="debug", progress=False, device="cpu")
    return out


@pytest.fixture(scope="session")
def tok1_dir(corpus, tok0_dir, tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("sem1")
    settings = TrainSettings(steps=8, batch_size=4, warmup_steps=0)
    fit_semantic(
        corpus, out, iteration=1, previous=tok0_dir, train=settings, progress=False, device="cpu"
    )
    return out
