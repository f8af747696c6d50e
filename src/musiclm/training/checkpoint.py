"""Checkpoints and final weights, without pickle: safetensors for tensors, JSON for the rest.

A training checkpoint is a folder ``ckpt-000123/`` (the step, zero-padded)::

    model.safetensors      weights, floats in fp32 ("name.key" for a dict of networks)
    config.json            {"format_version", "config_hash", "weights_sha256", "model": {...}}
    trainer_state.json     step, data position, metrics, TrainConfig, schedulers, and the
                           non-tensor parts of optimizer and RNG states
    optimizer.safetensors  optimizer state tensors (moments, step counts)
    rng.safetensors        torch RNG states (uint8 tensors), one set per process

It is written into a temporary folder beside it and renamed into place, so a killed job
leaves either a whole checkpoint or none. Final weights for ``from_pretrained`` are just
``model.safetensors`` + ``config.json`` (:func:`save_pretrained` / :func:`load_pretrained`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from musiclm.configs import config_hash
from musiclm.errors import UserError
from musiclm.io import TMP_TAG, atomic_path, remove_temporaries, write_json_atomic

FORMAT_VERSION = 1
WEIGHTS, CONFIG, STATE = "model.safetensors", "config.json", "trainer_state.json"
OPTIMIZER, RNG = "optimizer.safetensors", "rng.safetensors"
_CKPT = re.compile(r"^ckpt-(\d+)$")


@dataclass
class Checkpoint:
    """Everything needed to continue a run exactly; see the module docstring for files."""

    step: int
    weights: dict[str, torch.Tensor]
    model_config: dict[str, Any]
    optimizers: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> state_dict()
    state: dict[str, Any] = field(default_factory=dict)  # JSON-able trainer state
    rng: list[dict[str, Any]] = field(default_factory=list)  # rng_state() of each process
    path: Path | None = None  # where it was loaded from


# ---- model weights -------------------------------------------------------------------


def model_state_dict(model: nn.Module | Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    """The state dict of a network, or of a dict of networks with ``"name."`` prefixes."""
    if isinstance(model, nn.Module):
        return dict(model.state_dict())
    return {f"{name}.{k}": v for name, m in model.items() for k, v in m.state_dict().items()}


def load_model_state(
    model: nn.Module | Mapping[str, nn.Module], weights: Mapping[str, torch.Tensor]
) -> None:
    """Inverse of :func:`model_state_dict` (strict: every key must match)."""
    if isinstance(model, nn.Module):
        model.load_state_dict(weights)
        return
    for name, m in model.items():
        prefix = f"{name}."
        m.load_state_dict({k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)})


def _for_saving(
    tensors: Mapping[str, torch.Tensor], float_dtype: torch.dtype | None = None
) -> dict[str, torch.Tensor]:
    """CPU, contiguous, floats cast to ``float_dtype``; tensors that share storage (tied
    weights) are cloned, since safetensors refuses shared memory."""
    out, seen = {}, set()
    for key, t in tensors.items():
        t = t.detach()
        if float_dtype is not None and t.is_floating_point():
            t = t.to(float_dtype)
        t = t.cpu().contiguous()
        ptr = t.untyped_storage().data_ptr()
        if t.numel() and ptr in seen:
            t = t.clone()
        seen.add(t.untyped_storage().data_ptr())
        out[key] = t
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_weights(directory: Path, weights: Mapping[str, torch.Tensor], config: dict, dtype):
    # safetensors writes through a temporary of its own (".tmpXXXXXX") beside the file it
    # is given, which a killed run leaves behind under a name that is not ours to remove:
    # give it a file inside a temporary folder of ours, removed whole (remove_temporaries).
    with atomic_path(directory / WEIGHTS) as tmp:
        folder = Path(tempfile.mkdtemp(prefix=f".{WEIGHTS}.", suffix=TMP_TAG, dir=directory))
        try:
            save_file(_for_saving(weights, dtype), str(folder / WEIGHTS), metadata={"format": "pt"})
            os.replace(folder / WEIGHTS, tmp)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        digest = _sha256(tmp)
    header = {"format_version": FORMAT_VERSION, "config_hash": config_hash(config)}
    write_json_atomic(directory / CONFIG, {**header, "weights_sha256": digest, "model": config})


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"missing {path.name} in {path.parent}") from None
    except (OSError, ValueError) as e:
        raise UserError(f"cannot read {path}: {e}") from None


def _read_safetensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(str(path), device="cpu")
    except FileNotFoundError:
        raise UserError(f"missing {path.name} in {path.parent}") from None
    except (OSError, SafetensorError) as e:
        raise UserError(f"cannot read {path}: {e}") from None


def _read_weights(directory: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    header = _read_json(directory / CONFIG)
    version = header.get("format_version") if isinstance(header, dict) else None
    if (
        not isinstance(version, int)
        or version > FORMAT_VERSION
        or not isinstance(header.get("model"), dict)
    ):
        raise UserError(
            f"{directory / CONFIG} is not a musiclm config of format <= {FORMAT_VERSION}"
        )
    expected = header.get("weights_sha256")
    if expected is not None and (directory / WEIGHTS).exists():
        if _sha256(directory / WEIGHTS) != expected:
            raise UserError(f"{directory / WEIGHTS} does not match its checksum (corrupt file?)")
    return _read_safetensors(directory / WEIGHTS), header


def save_pretrained(
    model: nn.Module | Mapping[str, nn.Module] | Mapping[str, torch.Tensor],
    config: Mapping[str, Any],
    directory: str | os.PathLike,
    *,
    dtype: torch.dtype | None = torch.float32,
) -> Path:
    """Write final weights as ``model.safetensors`` + ``config.json`` into ``directory``.

    Args:
        model: a network, a dict of networks, or a state dict.
        config: the JSON-able model config that rebuilds it.
        dtype: floating tensors are cast to this (``torch.float16`` halves the size of a
            bundled model); ``None`` keeps them as they are.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    remove_temporaries(directory)  # half-written files of a killed export
    values = list(model.values()) if isinstance(model, Mapping) else []
    if values and all(isinstance(v, torch.Tensor) for v in values):
        weights = dict(model)
    else:
        weights = model_state_dict(model)
    _write_weights(directory, weights, dict(config), dtype)
    return directory


def load_pretrained(directory: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict]:
    """Read what :func:`save_pretrained` wrote: ``(state_dict, model config)``.

    Raises:
        UserError: a missing, corrupt or newer-format file.
    """
    weights, header = _read_weights(Path(directory))
    return weights, header["model"]


# ---- JSON + tensors codec for optimizer, scheduler and RNG states ---------------------


def _encode(obj: Any, key: str, tensors: dict[str, torch.Tensor]) -> Any:
    """A JSON-able copy of ``obj`` with tensors moved into ``tensors`` under dotted keys."""
    if isinstance(obj, torch.Tensor):
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}.{i}", tensors) for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _encode(v, f"{key}.{k}", tensors) for k, v in obj.items()}
        return {"__items__": [[k, _encode(v, f"{key}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"cannot store a {type(obj).__name__} at {key} in a checkpoint")


def _decode(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    if isinstance(obj, list):
        return [_decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return tensors[obj["__tensor__"]]
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {k: _decode(v, tensors) for k, v in obj["__items__"]}
        return {k: _decode(v, tensors) for k, v in obj.items()}
    return obj


def rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's (CPU and CUDA) global RNGs."""
    _, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state = {
        "python": random.getstate(),
        "numpy": {"keys": keys.tolist(), "pos": pos, "has_gauss": has_gauss, "cached": cached},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned (CUDA states only where CUDA is in use)."""
    random.setstate(state["python"])
    n = state["numpy"]
    keys = np.asarray(n["keys"], dtype=np.uint32)
    np.random.set_state(("MT19937", keys, n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


# ---- checkpoint folders ---------------------------------------------------------------


def list_checkpoints(out_dir: str | os.PathLike) -> list[Path]:
    """Complete checkpoint folders in ``out_dir``, oldest step first."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    found = []
    for p in out_dir.iterdir():
        m = _CKPT.match(p.name)
        if m and p.is_dir() and (p / STATE).is_file():
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def latest_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    """The checkpoint of the highest step in ``out_dir``, or ``None``."""
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


def _write_folder(final: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp)`` on a fresh temporary folder, then rename it to ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=TMP_TAG, dir=final.parent))
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700
        if final.exists():  # the same step saved again: swap, then drop the old one
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=TMP_TAG, dir=final.parent))
            os.replace(final, old / final.name)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


_OLD_TMP = re.compile(r"^\.ckpt-\d+\.(tmp|old)-[A-Za-z0-9_]+$")  # before TMP_TAG names


def remove_partial_checkpoints(out_dir: str | os.PathLike) -> int:
    """Delete the temporary checkpoint folders (and files) a killed run left in
    ``out_dir``; returns how many. Only this program's own temporary names are touched."""
    out_dir = Path(out_dir)
    n = remove_temporaries(out_dir)
    for p in out_dir.iterdir() if out_dir.is_dir() else []:
        if _OLD_TMP.match(p.name) and p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            n += 1
    return n


def save_checkpoint(out_dir: str | os.PathLike, ckpt: Checkpoint, *, keep_last: int = 0) -> Path:
    """Write ``ckpt`` as ``out_dir/ckpt-<step>/`` atomically; then delete all but the
    ``keep_last`` newest checkpoints (0 keeps all). Returns the folder."""
    final = Path(out_dir) / f"ckpt-{ckpt.step:06d}"
    opt_tensors: dict[str, torch.Tensor] = {}
    rng_tensors: dict[str, torch.Tensor] = {}
    state = {
        "format_version": FORMAT_VERSION,
        "step": ckpt.step,
        **ckpt.state,
        "optimizers": {n: _encode(s, n, opt_tensors) for n, s in ckpt.optimizers.items()},
        "rng": [_encode(s, f"rank{r}", rng_tensors) for r, s in enumerate(ckpt.rng)],
    }
    json.dumps(state)  # fail on a non-JSON value before anything is written

    def write(tmp: Path) -> None:
        _write_weights(tmp, ckpt.weights, ckpt.model_config, torch.float32)
        save_file(_for_saving(opt_tensors), str(tmp / OPTIMIZER), metadata={"format": "pt"})
        save_file(_for_saving(rng_tensors), str(tmp / RNG), metadata={"format": "pt"})
        write_json_atomic(tmp / STATE, state)  # last: its presence marks a whole folder

    _write_folder(final, write)
    if keep_last > 0:
        for old in list_checkpoints(out_dir)[:-keep_last]:
            shutil.rmtree(old, ignore_errors=True)
    return final


def resolve_checkpoint(path: str | os.PathLike) -> Path:
    """A checkpoint folder itself, or the latest checkpoint of a run folder."""
    path = Path(path)
    if (path / STATE).is_file():
        return path
    latest = latest_checkpoint(path)
    if latest is None:
        raise UserError(f"no checkpoint at {path}")
    return latest


def load_checkpoint(
    path: str | os.PathLike, *, model_config: Mapping[str, Any] | None = None
) -> Checkpoint:
    """Read a checkpoint folder (or the latest one in a run folder).

    Args:
        model_config: the config of the network it will be loaded into; a checkpoint
            saved with another config is refused.
    Raises:
        UserError: no checkpoint, a corrupt one, or one of another model config.
    """
    path = resolve_checkpoint(path)
    weights, header = _read_weights(path)
    if model_config is not None and header.get("config_hash") != config_hash(model_config):
        saved = header["model"]
        keys = sorted(
            k for k in set(saved) | set(model_config) if saved.get(k) != model_config.get(k)
        )
        raise UserError(
            f"checkpoint {path} was saved for a different model config "
            f"(differs in: {', '.join(keys) or 'values'}); use a new out_dir or the same config"
        )
    state = _read_json(path / STATE)
    opt_tensors = _read_safetensors(path / OPTIMIZER)
    rng_tensors = _read_safetensors(path / RNG)
    optimizers = {n: _decode(s, opt_tensors) for n, s in state.pop("optimizers", {}).items()}
    rng = [_decode(s, rng_tensors) for s in state.pop("rng", [])]
    step = int(state.pop("step"))
    state.pop("format_version", None)
    return Checkpoint(step, weights, header["model"], optimizers, state, rng, path)


def kept_message(out_dir: str | os.PathLike) -> str:
    """What an interrupted run kept, for the one line the CLI prints."""
    latest = latest_checkpoint(out_dir)
    if latest is None:
        return f"no checkpoint in {out_dir} yet; rerun the same command to start again"
    step = int(_CKPT.match(latest.name).group(1))
    return f"checkpoint of step {step} kept in {latest}; rerun with --resume to continue"
