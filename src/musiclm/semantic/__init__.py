"""Semantic tokens (MusicLM §3.1): 25 Hz k-means ids of a self-supervised representation,
grown HuBERT-style from hand-made frame features (iteration 0) to the layers of our own
masked-prediction encoder (iterations >= 1)."""

from musiclm.semantic.config import SemanticConfig
from musiclm.semantic.fit import TrainSettings, fit_semantic
from musiclm.semantic.tokenizer import SemanticTokenizer, save_tokens

__all__ = ["SemanticConfig", "SemanticTokenizer", "TrainSettings", "fit_semantic", "save_tokens"]
