"""``--device auto|cpu|cuda|mps``: the torch device a command runs on.

``auto`` takes a CUDA GPU if there is one, else Apple's MPS, else the CPU. Asking for a
device this machine lacks is a user mistake (one ``error:`` line, exit 2), not a crash
deep inside torch minutes later.
"""

from __future__ import annotations

import torch

from musiclm.errors import UserError

CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(name: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` / ``None``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` -> a device
    that exists here.

    Raises:
        UserError: an unknown name, or a device this machine does not have.
    """
    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps() else torch.device("cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name == "cuda" or name.startswith("cuda:"):
        if not torch.cuda.is_available():
            why = "this torch has no CUDA support" if torch.version.cuda is None else "none visible"
            raise UserError(f"--device {name}: no CUDA GPU here ({why}); use cpu or auto")
        index = name.partition(":")[2]
        if index and not (index.isdigit() and int(index) < torch.cuda.device_count()):
            raise UserError(
                f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)"
            )
        return torch.device(name)
    if name == "mps":
        if not _mps():
            raise UserError("--device mps: Apple's MPS is not available here; use cpu or auto")
        return torch.device("mps")
    raise UserError(f"--device must be one of {', '.join(CHOICES)} (or cuda:N), got {name!r}")


def trainer_device(name: str) -> str | None:
    """``--device`` of a training command for :class:`~musiclm.training.Trainer`: checked
    here (a missing GPU is refused at once), ``auto`` left to Accelerate (a GPU per
    process where there is one, as before ``--device`` existed)."""
    dev = resolve_device(name)
    return None if name.strip().lower() == "auto" else str(dev)


def generator(device: torch.device, seed: int) -> torch.Generator:
    """A seeded generator on ``device``: sampling draws on the device its tensors are on,
    so a seed gives the same piece on the same kind of device (CPU results are those of
    a CPU generator, as before devices existed)."""
    if device.type == "cpu":
        return torch.Generator().manual_seed(seed)
    return torch.Generator(device=device).manual_seed(seed)


__all__ = ["CHOICES", "generator", "resolve_device", "trainer_device"]
