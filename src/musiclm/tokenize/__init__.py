"""The tokenize step: a corpus -> cached acoustic, semantic and MuLan token files."""

from musiclm.tokenize.run import TokenizeResult, tokenize_corpus
from musiclm.tokenize.tokenizers import KINDS, fingerprint
from musiclm.tokens import TokenStore

__all__ = ["KINDS", "TokenStore", "TokenizeResult", "fingerprint", "tokenize_corpus"]
