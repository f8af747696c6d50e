"""``musiclm generate --continue FILE``: the prompt file's checks, kept out of the generate
command so that it only wires them in (the prompt's encoding and conditions:
:func:`musiclm.continuation.prepare`)."""

from __future__ import annotations

from pathlib import Path


def check_prompt_file(path: Path, seconds: float) -> None:
    """Refuse, before any model loads, a prompt file that is missing, empty, unreadable,
    too short or too long, or not shorter than ``seconds`` (the whole output)."""
    from musiclm import continuation
    from musiclm.errors import UserError
    from musiclm.io import audio_info

    if not path.exists():
        raise UserError(f"--continue {path}: no such file")
    if path.is_dir():
        raise UserError(f"--continue {path} is a folder; give an audio file")
    if path.stat().st_size == 0:
        raise UserError(f"--continue {path} is empty (0 bytes)")
    _, length = audio_info(path)  # a corrupt file is refused here
    continuation.check_length(length, str(path))
    if length >= seconds:
        raise UserError(
            f"--continue {path} is {length:.2f} s; --seconds ({seconds:g}) is the whole "
            "output, prompt included, so it must be longer"
        )
    continuation.check_seconds(length, seconds)
