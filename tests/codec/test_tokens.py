"""Code files round-trip exactly and reject what is not one."""

import numpy as np
import pytest

from musiclm.codec.tokens import CodeFile, load_codes, save_codes
from musiclm.errors import UserError


def test_round_trip(tmp_path):
    codes = np.random.default_rng(0).integers(0, 1024, size=(8, 50))
    save_codes(tmp_path / "x.npz", CodeFile(codes, 24000, 50.0, 1024, samples=24000))
    f = load_codes(tmp_path / "x.npz")
    assert np.array_equal(f.codes, codes) and f.levels == 8
    assert (f.sample_rate, f.frame_rate, f.codebook_size, f.samples) == (24000, 50.0, 1024, 24000)


def test_bad_files(tmp_path):
    with pytest.raises(UserError, match="no code file"):
        load_codes(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(UserError, match="not a musiclm code file"):
        load_codes(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", codes=np.zeros((2, 3)), sample_rate=1)
    with pytest.raises(UserError, match="not a musiclm code file"):
        load_codes(tmp_path / "other.npz")
    save_codes(tmp_path / "big.npz", CodeFile(np.full((2, 3), 2000), 24000, 50.0, 1024))
    with pytest.raises(UserError, match="outside"):
        load_codes(tmp_path / "big.npz")
