"""musiclm: an open implementation of MusicLM (text to music) and its data engine.

The public API is importable from here; heavy modules load on first use::

    from musiclm import SynthConfig, synth_corpus, ClipDataset, read_manifest
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "SynthConfig": "musiclm.data.synth.engine",
    "synth_corpus": "musiclm.data.synth.engine",
    "ClipDataset": "musiclm.data.dataset",
    "ClipRecord": "musiclm.data.manifest",
    "read_manifest": "musiclm.data.manifest",
    "write_manifest": "musiclm.data.manifest",
    "import_musiccaps": "musiclm.data.loaders",
    "import_folder": "musiclm.data.loaders",
    "build_report": "musiclm.data.report",
    "Codec": "musiclm.codec.model",
    "CodecConfig": "musiclm.codec.config",
    "MusicLM": "musiclm.pipeline",
    "GenerationOptions": "musiclm.pipeline",
    "MuLan": "musiclm.mulan.model",
    "MuLanConfig": "musiclm.mulan.config",
    "SemanticConfig": "musiclm.semantic",
    "SemanticTokenizer": "musiclm.semantic",
    "fit_semantic": "musiclm.semantic",
    "TokenStore": "musiclm.tokenize",
    "tokenize_corpus": "musiclm.tokenize",
    "UserError": "musiclm.errors",
}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'musiclm' has no attribute {name!r}")
