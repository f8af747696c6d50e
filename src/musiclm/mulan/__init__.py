"""MuLan: a text tower and an audio tower trained contrastively into one shared space.

MusicLM (arXiv 2301.11325 §3.1) conditions its stages on a 128-d MuLan embedding quantised
by RVQ (12 x 1024) into conditioning tokens: the *audio* embedding in training, the *text*
embedding at inference. Parts:

- :mod:`musiclm.mulan.config` — :class:`MuLanConfig` and its presets;
- :mod:`musiclm.mulan.text` — MiniLM-L6 (or a random debug encoder) + projection;
- :mod:`musiclm.mulan.audio` — log-mel patches -> conv stem -> small Transformer;
- :mod:`musiclm.mulan.rvq` — residual k-means over embeddings (conditioning tokens);
- :mod:`musiclm.mulan.model` — :class:`MuLan`, the two towers and the InfoNCE loss;
- :mod:`musiclm.mulan.train` — :class:`MuLanTask` for the shared trainer;
- :mod:`musiclm.mulan.retrieval` — corpus embedding, search and retrieval metrics.

Import the submodule you need; this package imports nothing on its own, so that loading
one part stays cheap.
"""
