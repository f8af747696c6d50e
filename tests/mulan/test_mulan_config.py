"""MuLanConfig: presets, JSON round trip, hash, validation."""

import pytest

from musiclm.errors import UserError
from musiclm.mulan.config import PRESETS, MuLanConfig


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip(name):
    c = MuLanConfig.preset(name)
    again = MuLanConfig.from_dict(c.to_dict())
    assert again == c and again.hash() == c.hash()


def test_base_follows_musiclm():
    c = MuLanConfig.preset("base")
    assert (c.embed_dim, c.rvq_levels, c.rvq_codebook_size) == (128, 12, 1024)
    assert c.text_encoder == "minilm" and c.sample_rate == 16000 and c.window_seconds == 10


def test_hash_changes_with_config():
    c = MuLanConfig.preset("debug")
    assert c.hash() != c.replace(embed_dim=8).hash()
    assert len(c.hash()) == 64


def test_bad_values():
    with pytest.raises(UserError, match="unknown MuLan preset"):
        MuLanConfig.preset("huge")
    with pytest.raises(ValueError, match="text_encoder"):
        MuLanConfig(text_encoder="bert")
    with pytest.raises(ValueError, match="unfreeze_layers"):
        MuLanConfig(unfreeze_layers=7)
    with pytest.raises(UserError, match="unknown MuLan config keys"):
        MuLanConfig.from_dict({"nope": 1})
    with pytest.raises(UserError, match="invalid MuLan config"):
        MuLanConfig.from_dict({"embed_dim": 0})
