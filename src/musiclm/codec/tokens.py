"""The acoustic-token file: ``.npz`` with ``codes`` (levels x frames) and the facts needed
to decode them with the right model, checked on load (never pickled)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from musiclm.errors import UserError
from musiclm.io import atomic_path


@dataclass(frozen=True)
class CodeFile:
    codes: np.ndarray  # (levels, frames) int16/int32
    sample_rate: int
    frame_rate: float
    codebook_size: int
    samples: int | None = None  # length of the encoded audio, to trim the decode exactly
    # the codec that made the codes (CodecConfig.version); None in files written before it
    codec_version: str | None = None

    @property
    def levels(self) -> int:
        return int(self.codes.shape[0])


def save_codes(path: str | os.PathLike, f: CodeFile) -> None:
    """Write atomically; codes are stored as the smallest int type that holds them."""
    codes = np.asarray(f.codes)
    if codes.ndim != 2:
        raise ValueError(f"codes must be (levels, frames), got shape {codes.shape}")
    dtype = np.int16 if f.codebook_size <= 32768 else np.int32
    buf = io.BytesIO()
    np.savez_compressed(
        buf,
        codes=codes.astype(dtype),
        sample_rate=np.int64(f.sample_rate),
        frame_rate=np.float64(f.frame_rate),
        codebook_size=np.int64(f.codebook_size),
        samples=np.int64(-1 if f.samples is None else f.samples),
        codec_version=np.str_(f.codec_version or ""),
    )
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(buf.getvalue())


def load_codes(path: str | os.PathLike) -> CodeFile:
    """Read a code file; UserError for a missing, corrupt or malformed one."""
    try:
        with np.load(str(path), allow_pickle=False) as z:
            codes = z["codes"].astype(np.int64)
            sample_rate = int(z["sample_rate"])
            frame_rate = float(z["frame_rate"])
            codebook_size = int(z["codebook_size"])
            samples = int(z["samples"]) if "samples" in z else -1
            version = str(z["codec_version"]) if "codec_version" in z else ""
    except FileNotFoundError:
        raise UserError(f"no code file at {path}") from None
    except (OSError, ValueError, KeyError) as e:
        raise UserError(f"{path} is not a musiclm code file ({e})") from None
    if codes.ndim != 2 or codes.size == 0:
        raise UserError(f"{path}: codes must be a non-empty (levels, frames) array")
    if codes.min() < 0 or codes.max() >= codebook_size:
        raise UserError(f"{path}: code values outside 0..{codebook_size - 1}")
    return CodeFile(
        codes, sample_rate, frame_rate, codebook_size, None if samples < 0 else samples,
        version or None,
    )  # fmt: skip
