"""Shared fixtures: a debug MuLan, a tiny captioned corpus of tones."""

from __future__ import annotations

import pytest
import soundfile as sf
from mulan_helpers import make, tone

from musiclm.data.manifest import ClipRecord, write_manifest
from musiclm.mulan.model import MuLan


@pytest.fixture
def mulan() -> MuLan:
    return make()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory):
    """Eight 1 s captioned tones at 16 kHz (with aspects) and one clip with no caption."""
    out = tmp_path_factory.mktemp("mulan_tones")
    recs = []
    for i in range(9):
        sf.write(out / f"{i}.wav", tone(110 * 2 ** (i / 4)), 16000)
        captions = [f"tone number {i}", f"a pure tone, pitch {i}"] if i < 8 else [" "]
        recs.append(
            ClipRecord(
                f"t{i}", f"{i}.wav", 16000, 1.0, captions,
                aspects=["tone", f"pitch {i}", "sine"], genre="techno" if i % 2 else "ambient",
                tempo=70.0 + 20 * i,
            )
        )  # fmt: skip
    write_manifest(out, recs)
    return out
