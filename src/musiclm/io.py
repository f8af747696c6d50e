"""File and audio I/O shared by every stage: atomic writes, reading and resampling audio.

Every file the project writes goes through :func:`atomic_path` so a killed job never
leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from musiclm.errors import UserError

TMP_TAG = ".musiclm-tmp"  # in the name of every temporary this program makes
_TMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]+" + re.escape(TMP_TAG) + r"(\.[A-Za-z0-9]+)?$")


def is_temporary(name: str) -> bool:
    """Whether a file or folder name is one of this program's temporaries
    (``.NAME.XXXXXXXX.musiclm-tmp[.SUFFIX]``), which a killed run may leave behind."""
    return bool(_TMP_NAME.match(name))


def remove_temporaries(folder: str | os.PathLike) -> int:
    """Delete this program's temporaries directly in ``folder`` (not below it); returns
    how many. Anything else, dot-files included, is left alone."""
    folder, n = Path(folder), 0
    if not folder.is_dir():
        return 0
    for p in folder.iterdir():
        if is_temporary(p.name):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            n += 1
    return n


def check_output(path: str | os.PathLike, *, what: str = "output") -> Path:
    """Refuse, before any work, an output file that cannot be written: ``path`` is a
    folder, a parent is a file, or the folder is not writable. Creates nothing."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{what} {path} is a folder; give a file name")
    check_output_dir(path.parent, what=f"cannot write {path}:", create=False)
    return path


def check_output_dir(
    folder: str | os.PathLike, *, what: str = "output folder", create: bool = True
) -> Path:
    """Check that ``folder`` can be written, and create it (unless ``create`` is false:
    then its nearest existing parent is checked and nothing is made); a file in the way,
    a read-only folder or mount is a :class:`UserError`."""
    folder = Path(folder)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise UserError(f"{what} {folder}: {existing} is a file, not a folder")
    try:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
            existing = folder
        # a real probe (permissions, read-only mounts, root on /sys), under a unique
        # temporary name so two runs never trip over each other's probe
        fd, probe = tempfile.mkstemp(prefix=".write-test.", suffix=TMP_TAG, dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UserError(f"cannot write to {existing}: {e.strerror or e}") from None
    return folder


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only on success.

    The temporary is named ``.NAME.XXXXXXXX.musiclm-tmp.SUFFIX`` (see :func:`is_temporary`)
    and keeps ``path``'s suffix (or ``suffix``), so libraries that pick a format from the
    extension (soundfile, matplotlib) still work. An OS error creating or renaming it
    (a read-only folder, ``path`` being a folder) is a :class:`UserError` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f"{TMP_TAG}{suffix or path.suffix}", dir=path.parent
        )
    except OSError as e:
        raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        try:
            os.replace(tmp_path, path)
        except OSError as e:
            raise UserError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int) -> None:
    """Write mono or (samples, channels) float audio atomically; format from the suffix.

    FLAC and WAV are written as 16-bit PCM (FLAC is lossless, so this is the only loss).
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim not in (1, 2):
        raise ValueError(f"audio must be (samples,) or (samples, channels), got {audio.shape}")
    check_audio_suffix(path)
    with atomic_path(path) as tmp:
        try:
            sf.write(str(tmp), np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16")
        except (sf.LibsndfileError, OSError) as e:
            raise UserError(f"cannot write audio {path}: {e}") from None


AUDIO_SUFFIXES = (".wav", ".flac")  # 16-bit PCM in both


def check_audio_suffix(path: str | os.PathLike) -> None:
    """UserError unless ``path`` ends in an audio suffix :func:`write_audio` writes."""
    if Path(path).suffix.lower() not in AUDIO_SUFFIXES:
        raise UserError(
            f"cannot write audio as {Path(path).name!r}: the name must end in "
            f"{' or '.join(AUDIO_SUFFIXES)}"
        )


def read_audio(
    path: str | os.PathLike,
    sample_rate: int | None = None,
    *,
    mono: bool = True,
    start: float = 0.0,
    seconds: float | None = None,
) -> tuple[np.ndarray, int]:
    """Read (part of) an audio file as float32, optionally mixed to mono and resampled.

    Args:
        sample_rate: target rate; ``None`` keeps the file's rate.
        start, seconds: the window to read, in seconds of the file (read without
            decoding the whole file where the format allows).
    Returns:
        ``(audio, rate)`` with audio ``(samples,)`` if mono else ``(samples, channels)``.
    Raises:
        UserError: the file is missing or not readable audio.
    """
    try:
        with sf.SoundFile(str(path)) as f:
            rate = f.samplerate
            first = int(round(start * rate))
            frames = -1 if seconds is None else int(round(seconds * rate))
            if first:
                f.seek(min(first, f.frames))
            audio = f.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise UserError(f"cannot read audio {path}: {e}") from None
    if mono:
        audio = audio.mean(axis=1)
    if sample_rate is not None and sample_rate != rate:
        audio = resample(audio, rate, sample_rate)
        rate = sample_rate
    return np.ascontiguousarray(audio, dtype=np.float32), rate


MAX_CHANNELS = 16  # more "channels" than this means a (samples, channels) array was passed


def as_mono(audio, *, allow_empty: bool = False) -> np.ndarray:
    """User audio ``(samples,)`` or ``(channels, samples)`` (numpy or torch) -> contiguous
    mono float32 ``(samples,)``, the channels averaged.

    Raises:
        UserError: a wrong shape, NaN/inf samples, or (unless ``allow_empty``) no samples.
    """
    if hasattr(audio, "detach"):  # a torch tensor
        audio = audio.detach().cpu().float().numpy()
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        if audio.shape[0] > MAX_CHANNELS:
            raise UserError(
                f"audio must be (samples,) or (channels, samples), got shape {audio.shape}; "
                "pass a (samples, channels) array transposed"
            )
        audio = audio.mean(axis=0) if audio.shape[0] else np.zeros(0, np.float32)
    elif audio.ndim != 1:
        raise UserError(f"audio must be (samples,) or (channels, samples), got {audio.shape}")
    if audio.size == 0 and not allow_empty:
        raise UserError("audio is empty")
    if not np.isfinite(audio).all():
        raise UserError("audio contains NaN or infinite values")
    return np.ascontiguousarray(audio)


def check_rate(sample_rate) -> int:
    """A sample rate given by a user, as an int; UserError unless a positive integer."""
    ok = isinstance(sample_rate, int | np.integer | float) and not isinstance(sample_rate, bool)
    if not ok or sample_rate <= 0 or int(sample_rate) != sample_rate:
        raise UserError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    return int(sample_rate)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """High-quality resampling (soxr, VHQ) along the first axis."""
    if from_rate == to_rate:
        return audio
    return soxr.resample(audio, from_rate, to_rate, quality="VHQ").astype(np.float32)


def audio_info(path: str | os.PathLike) -> tuple[int, float]:
    """Return ``(sample_rate, seconds)`` of an audio file without decoding it."""
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as e:
        raise UserError(f"cannot read audio {path}: {e}") from None
    return info.samplerate, info.frames / info.samplerate


LOCK_NAME = ".musiclm.lock"


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike) -> Iterator[Path]:
    """Hold ``folder/.musiclm.lock`` while writing into ``folder``; a second run into
    the same folder is refused at once (UserError) instead of racing the first.

    The lock is an ``flock`` on the file, so a killed run never leaves a stale lock; the
    file is removed on release. Where ``fcntl`` is missing (Windows) nothing is locked.
    """
    folder = check_output_dir(folder)
    path = folder / LOCK_NAME
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX
        yield path
        return
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            raise UserError(f"cannot write to {folder}: {e.strerror or e}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise UserError(
                f"another run is writing here ({folder}, lock {path.name}); "
                "wait for it to finish or use another folder"
            ) from None
        try:  # the holder before us may have removed the file we opened: lock the new one
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()
        os.close(fd)
