import numpy as np
import pytest
import soundfile as sf
import torch

from musiclm.codec.config import CodecConfig
from musiclm.codec.model import Codec
from musiclm.errors import UserError
from musiclm.tokenize import TokenStore, fingerprint, tokenize_corpus
from musiclm.tokens import read_shard, write_shard


def test_tokens_match_the_codec_and_resume(tone_corpus, debug_codec_dir, tmp_path):
    out = tmp_path / "tokens"
    result = tokenize_corpus(
        tone_corpus, out, {"acoustic": debug_codec_dir}, shard_size=2, progress=False
    )
    assert result.clips == 6 and result.shards_written == 3
    assert list(result.skipped) == ["gone"]  # missing audio: skipped and counted
    codec = Codec.from_pretrained(debug_codec_dir)
    store = TokenStore(out, "acoustic", expect=fingerprint(codec))
    assert sorted(store) == [f"c{i}" for i in range(5)]
    assert store.meta["complete"] and store.meta["clips"] == 5 and store.meta["skipped"] == 1
    y, sr = sf.read(str(tone_corpus / "c3.wav"), dtype="float32")
    np.testing.assert_array_equal(store["c3"]["codes"], codec.encode(y, sr))
    # rerun: every shard is on disk, nothing is redone; a deleted shard is redone alike
    again = tokenize_corpus(
        tone_corpus, out, {"acoustic": debug_codec_dir}, shard_size=2, progress=False
    )
    assert again.shards_written == 0
    (out / "acoustic" / "00001.npz").unlink()
    again = tokenize_corpus(
        tone_corpus, out, {"acoustic": debug_codec_dir}, shard_size=2, progress=False
    )
    assert again.shards_written == 1
    np.testing.assert_array_equal(TokenStore(out, "acoustic")["c3"]["codes"], store["c3"]["codes"])


def test_two_workers_give_the_same_tokens(tone_corpus, debug_codec_dir, tmp_path):
    one = tokenize_corpus(tone_corpus, tmp_path / "a", {"acoustic": debug_codec_dir}, shard_size=2,
                          progress=False)  # fmt: skip
    two = tokenize_corpus(tone_corpus, tmp_path / "b", {"acoustic": debug_codec_dir}, shard_size=2,
                          workers=2, progress=False)  # fmt: skip
    a, b = TokenStore(one.out, "acoustic"), TokenStore(two.out, "acoustic")
    assert sorted(a) == sorted(b)
    for clip in a:
        np.testing.assert_array_equal(a[clip]["codes"], b[clip]["codes"])


def test_another_model_is_refused_then_replaced(tone_corpus, debug_codec_dir, tmp_path):
    out = tmp_path / "tokens"
    tokenize_corpus(tone_corpus, out, {"acoustic": debug_codec_dir}, shard_size=10, progress=False)
    torch.manual_seed(1)
    other_dir = tmp_path / "other"
    other = Codec(CodecConfig.preset("debug"))
    other.save_pretrained(other_dir)
    with pytest.raises(UserError, match="another model"):
        TokenStore(out, "acoustic", expect=fingerprint(other))
    with pytest.raises(UserError, match="--overwrite"):
        tokenize_corpus(tone_corpus, out, {"acoustic": other_dir}, progress=False)
    tokenize_corpus(tone_corpus, out, {"acoustic": other_dir}, overwrite=True, progress=False)
    assert TokenStore(out, "acoustic", expect=fingerprint(other)).meta["clips"] == 5


def test_bad_requests(tone_corpus, debug_codec_dir, tmp_path):
    with pytest.raises(UserError, match="unknown token kind"):
        tokenize_corpus(tone_corpus, tmp_path, {"phonemes": None}, progress=False)
    with pytest.raises(UserError, match="nothing to tokenize"):
        tokenize_corpus(tone_corpus, tmp_path, {}, progress=False)
    with pytest.raises(UserError, match="run `musiclm tokenize`"):
        TokenStore(tmp_path, "semantic")


def test_shard_round_trip_keeps_shapes_and_dtypes(tmp_path):
    items = [
        ("a", {"codes": np.arange(6, dtype=np.int16).reshape(2, 3), "emb": np.ones((4, 1))}),
        ("b", {"codes": np.zeros((2, 0), np.int16), "emb": np.zeros((4, 2))}),
    ]
    write_shard(tmp_path, 0, items, skipped={"c": "unreadable"})
    shard = read_shard(tmp_path / "00000.npz")
    assert shard.skipped == {"c": "unreadable"}
    for clip, arrays in items:
        for name, x in arrays.items():
            np.testing.assert_array_equal(shard.clips[clip][name], x)
            assert shard.clips[clip][name].dtype == x.dtype
    with pytest.raises(ValueError, match="expected"):
        write_shard(tmp_path, 1, [("a", {"x": np.zeros(1)}), ("b", {"y": np.zeros(1)})])


def test_bundled_models_give_all_three_kinds(tone_corpus, tmp_path):
    """The default (bundled) models load by name for every kind and give tokens at their rates."""
    out = tmp_path / "tokens"
    models = {"acoustic": None, "semantic": None, "mulan": None, "captions": None}
    result = tokenize_corpus(tone_corpus, out, models, progress=False)
    assert result.clips == 6 and list(result.skipped) == ["gone"]
    c4 = {kind: TokenStore(out, kind)["c4"] for kind in models}  # 1.5 s
    assert c4["acoustic"]["codes"].shape == (12, 75)  # codec v2: 50 Hz, 12 levels
    assert abs(c4["semantic"]["tokens"].shape[-1] - 37.5) <= 1  # 25 Hz
    assert c4["mulan"]["tokens"].shape == (12, 1)  # one 10 s window
    from musiclm.mulan.model import MuLan

    assert c4["captions"]["tokens"].shape == (12, 1)  # one caption: "a tone"
    np.testing.assert_array_equal(
        c4["captions"]["tokens"][:, 0], MuLan.from_pretrained().text_tokens(["a tone"])[0]
    )


def test_a_killed_run_s_half_shard_is_removed_and_other_files_kept(
    tone_corpus, debug_codec_dir, tmp_path
):
    out = tmp_path / "tokens"
    tokenize_corpus(tone_corpus, out, {"acoustic": debug_codec_dir}, shard_size=2, progress=False)
    (out / "acoustic" / "00001.npz").unlink()  # killed while writing shard 1:
    half = out / "acoustic" / ".00001.npz.abcd1234.musiclm-tmp.npz"
    half.write_bytes(b"half")
    (out / "acoustic" / ".notes").write_text("mine")
    probe = out / ".write-test.abcd1234.musiclm-tmp"  # killed while probing the folder
    probe.write_bytes(b"")
    again = tokenize_corpus(
        tone_corpus, out, {"acoustic": debug_codec_dir}, shard_size=2, progress=False
    )
    assert again.shards_written == 1 and not half.exists() and not probe.exists()
    assert (out / "acoustic" / ".notes").read_text() == "mine"
    assert not (out / ".musiclm.lock").exists()


def test_a_second_tokenize_into_the_same_folder_is_refused(tone_corpus, debug_codec_dir, tmp_path):
    from musiclm.io import folder_lock

    with folder_lock(tmp_path / "tokens"):
        with pytest.raises(UserError, match="another run is writing here"):
            tokenize_corpus(
                tone_corpus, tmp_path / "tokens", {"acoustic": debug_codec_dir}, progress=False
            )
