"""The tokenize step: a corpus -> cached acoustic, semantic and MuLan token files."""

from musiclm.tokenize.run import TokenizeResult, tokenize_corpus
from musiclm.tokenize.store import TokenStore
from musiclm.tokenize.tokenizers import KINDS, fingerprint

__all__ = ["KINDS", "TokenStore", "TokenizeResult", "fingerprint", "tokenize_corpus"]
