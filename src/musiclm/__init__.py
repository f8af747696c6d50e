"""musiclm: an open implementation of MusicLM (text to music) and its data engine."""

__version__ = "0.1.0"
