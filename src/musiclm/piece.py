"""A generated piece on disk: the WAV, optionally its PNG spectrogram, and last its JSON
sidecar (settings, conditions, model facts), so a piece with a sidecar is complete.

Shared by ``musiclm generate`` and the studio page."""

from __future__ import annotations

from pathlib import Path


def write_piece(path: Path, caption: str, y, net, spectrogram: bool, meta: dict) -> None:
    """The WAV, its PNG and last its JSON sidecar (a piece with a sidecar is complete)."""
    from musiclm.io import write_audio, write_json_atomic
    from musiclm.pipeline import describe

    write_audio(path, y, net.sample_rate)
    if spectrogram:
        from musiclm.spectrogram import save_spectrograms

        save_spectrograms(path.with_suffix(".png"), {caption: y}, net.sample_rate)
    write_json_atomic(path.with_suffix(".json"), {**meta, **describe(net)})
