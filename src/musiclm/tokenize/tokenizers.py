"""The three token kinds every stage trains on, behind one small interface.

- ``acoustic``: codec RVQ codes, ``codes (levels, frames)`` at the codec frame rate;
- ``semantic``: semantic tokenizer ids, ``tokens (frames,)`` at 25 Hz;
- ``mulan``: MuLan embedding and its RVQ tokens of the *audio*, one per window of
  ``MULAN_WINDOW_S`` seconds, ``embedding (D, windows)`` and ``tokens (levels, windows)``
  (MusicLM trains the stages on the audio's MuLan tokens; text takes their place at
  inference);
- ``captions``: MuLan RVQ tokens of each of the clip's captions, ``tokens (levels,
  captions)``, for corpora that have captions: a stage trained partly on them sees at
  training time the same kind of tokens it is prompted with;
- ``attributes``: the record's tempo bin and key index, ``tempo (1,)`` and ``key (1,)``
  (-1 where the manifest does not say), and its tempo ``bpm (1,)`` (0 if unknown), for
  stages with tempo and key tokens (:mod:`musiclm.stages.attributes`); no model;
- ``melody``: the tune of the clip's MIDI score (the part named ``(melody)``), ``ids
  (frames,)`` at 25 Hz (:data:`musiclm.conditions.MELODY_IDS`: a rest, or the pitch
  class of the highest sounding melody note), for stages with melody conditioning;
  clips without a score or a melody part are skipped; no model;
- ``form``: the manifest's sections, ``ids (frames,)`` at 25 Hz (1 + index in
  :data:`musiclm.theory.SECTIONS`, "tail" after the last section), for stages with
  form conditioning; no model.

The last axis of every array is time (captions for ``captions``).
"""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import importlib
import json
import math
import os
from typing import Any, ClassVar

import numpy as np
import torch

from musiclm.errors import UserError
from musiclm.tokens import MULAN_WINDOW_S, mulan_window_starts


def fingerprint(model: Any) -> str:
    """SHA-256 of a model's config and every tensor of its state: two models give the same
    fingerprint only if they tokenize alike. A model's own ``fingerprint`` string wins."""
    own = getattr(model, "fingerprint", None)
    if isinstance(own, str):
        return own
    h = hashlib.sha256()
    config = getattr(model, "config", None)
    if config is not None:
        as_dict = config.to_dict() if hasattr(config, "to_dict") else dataclasses.asdict(config)
        h.update(json.dumps(as_dict, sort_keys=True, default=str).encode())
    if isinstance(model, torch.nn.Module):
        for name, tensor in sorted(model.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().float().numpy().tobytes())
    return h.hexdigest()


def _small_int(x: np.ndarray, vocabulary: int) -> np.ndarray:
    return np.asarray(x).astype(np.int16 if vocabulary <= 32768 else np.int32)


class TokenKind(abc.ABC):
    """A loaded tokenizer of one kind: ``tk(audio, sample_rate) -> {name: array}``."""

    kind: ClassVar[str]
    _module: ClassVar[str]
    _class: ClassVar[str]

    def __init__(self, model: Any):
        self.model = model
        self.fingerprint = fingerprint(model)

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> TokenKind:
        """Load the model of this kind from a folder (``None``: the bundled one)."""
        try:
            model_class = getattr(importlib.import_module(cls._module), cls._class)
        except ImportError as e:  # the package part is missing from this install
            raise UserError(f"cannot tokenize {cls.kind}: {e}") from None
        return cls(model_class.from_pretrained(path))

    def describe(self) -> dict[str, Any]:
        config = getattr(self.model, "config", None)
        if config is None:
            return {}
        return config.to_dict() if hasattr(config, "to_dict") else dataclasses.asdict(config)

    @abc.abstractmethod
    def __call__(self, audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
        """Tokens of one mono clip ``(samples,)`` at ``sample_rate``."""

    def of_record(
        self, audio: np.ndarray, sample_rate: int, record, manifest=None
    ) -> dict[str, np.ndarray]:
        """Tokens of a manifest record's clip (kinds that need its captions or its score,
        found beside ``manifest``, override this)."""
        return self(audio, sample_rate)


class AcousticTokens(TokenKind):
    kind, _module, _class = "acoustic", "musiclm.codec.model", "Codec"

    def __call__(self, audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
        codes = self.model.encode(audio, sample_rate)  # (levels, frames)
        return {"codes": _small_int(codes, self.model.codebook_size)}


class SemanticTokens(TokenKind):
    kind, _module, _class = "semantic", "musiclm.semantic", "SemanticTokenizer"

    def __call__(self, audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
        tokens = np.asarray(self.model.encode(audio, sample_rate))  # (frames,)
        return {"tokens": _small_int(tokens, int(self.model.codebook_size))}


class MuLanTokens(TokenKind):
    kind, _module, _class = "mulan", "musiclm.mulan.model", "MuLan"

    def __call__(self, audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
        window = int(round(MULAN_WINDOW_S * sample_rate))
        starts = mulan_window_starts(len(audio), sample_rate)
        emb = np.stack([self.model.embed_audio(audio[s : s + window], sample_rate) for s in starts])
        tokens = np.asarray(self.model.tokens(emb))  # (windows, levels)
        size = int(getattr(self.model.config, "rvq_codebook_size", 1 << 15))
        return {
            "embedding": emb.T.astype(np.float16),  # (D, windows)
            "tokens": _small_int(tokens.T, size),  # (levels, windows)
        }


class CaptionTokens(TokenKind):
    kind, _module, _class = "captions", "musiclm.mulan.model", "MuLan"

    def __call__(self, audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
        raise UserError("caption tokens need the clip's captions (a manifest record)")

    def of_record(
        self, audio: np.ndarray, sample_rate: int, record, manifest=None
    ) -> dict[str, np.ndarray]:
        captions = [c for c in record.captions if c.strip()]
        if not captions:
            raise UserError("no caption")
        tokens = np.asarray(self.model.text_tokens(captions))  # (captions, levels)
        size = int(getattr(self.model.config, "rvq_codebook_size", 1 << 15))
        return {"tokens": _small_int(tokens.T, size)}  # (levels, captions)


class AttributeTokens(TokenKind):
    kind = "attributes"

    def __init__(self, model: Any = None):
        from musiclm.stages.attributes import TEMPO_BINS, TEMPO_MAX, TEMPO_MIN
        from musiclm.theory import N_KEYS

        self.model = None
        self._describe = dict(
            tempo_bins=TEMPO_BINS, tempo_min=TEMPO_MIN, tempo_max=TEMPO_MAX, keys=N_KEYS
        )
        self.fingerprint = hashlib.sha256(
            json.dumps(self._describe, sort_keys=True).encode()
        ).hexdigest()

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> TokenKind:
        return cls()

    def describe(self) -> dict[str, Any]:
        return dict(self._describe)

    def __call__(self, audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
        raise UserError("attribute tokens need the clip's manifest record")

    def of_record(
        self, audio: np.ndarray, sample_rate: int, record, manifest=None
    ) -> dict[str, np.ndarray]:
        from musiclm.stages.attributes import record_attributes

        bpm = record.tempo
        if isinstance(bpm, bool) or not isinstance(bpm, int | float) or not 0 < bpm < 1e4:
            bpm = None  # "fast", NaN, a negative tempo: unknown, like a missing one
        key = record.key if isinstance(record.key, str) else None
        mode = getattr(record, "mode", None)
        tempo, key = record_attributes(bpm, key, mode if isinstance(mode, str) else None)
        return {
            "tempo": np.array([tempo], np.int16),
            "key": np.array([key], np.int16),
            "bpm": np.array([bpm or 0.0], np.float32),  # exact, for beat phases
        }


class _RecordTokens(TokenKind):
    """A kind read from the manifest record alone (no model): its fingerprint is its
    description, so a change of vocabulary makes old files stale."""

    def __init__(self, model: Any = None):
        self.model = None
        self.fingerprint = hashlib.sha256(
            json.dumps({"kind": self.kind, **self.describe()}, sort_keys=True).encode()
        ).hexdigest()

    @classmethod
    def load(cls, path: str | os.PathLike | None) -> TokenKind:
        return cls()

    def __call__(self, audio: np.ndarray, sample_rate: int) -> dict[str, np.ndarray]:
        raise UserError(f"{self.kind} tokens need the clip's manifest record")


class MelodyTokens(_RecordTokens):
    kind = "melody"

    def describe(self) -> dict[str, Any]:
        from musiclm.conditions import MELODY_IDS, MELODY_RATE

        return {"rate": MELODY_RATE, "ids": MELODY_IDS, "version": 1}

    def of_record(
        self, audio: np.ndarray, sample_rate: int, record, manifest=None
    ) -> dict[str, np.ndarray]:
        from musiclm.conditions import MELODY_NONE, MELODY_RATE
        from musiclm.data.manifest import resolve

        seconds = len(audio) / sample_rate
        if not record.midi or manifest is None:  # no score: the melody is unknown
            return {"ids": np.full(math.ceil(seconds * MELODY_RATE), MELODY_NONE, np.int8)}
        return {"ids": score_melody(resolve(manifest, record.midi), seconds).astype(np.int8)}


class FormTokens(_RecordTokens):
    kind = "form"

    def describe(self) -> dict[str, Any]:
        from musiclm.theory import SECTIONS

        return {"rate": 25, "sections": list(SECTIONS), "version": 1}

    def of_record(
        self, audio: np.ndarray, sample_rate: int, record, manifest=None
    ) -> dict[str, np.ndarray]:
        from musiclm.conditions import FORM_RATE, section_ids

        seconds = len(audio) / sample_rate
        if not record.sections:  # unknown form (a corpus without sections)
            return {"ids": np.zeros(math.ceil(seconds * FORM_RATE), np.int8)}
        return {"ids": section_ids(record.sections, seconds).numpy().astype(np.int8)}


def score_melody(path, seconds: float) -> np.ndarray:
    """Melody ids ``(frames,)`` at ``MELODY_RATE`` of a MIDI score's melody part (the
    instrument named ``... (melody)``, as the corpus engine writes it): the pitch class of
    the highest note sounding at each frame's centre, a rest where none is; unknown
    (MELODY_NONE) throughout if the score has no melody part."""
    import pretty_midi

    from musiclm.conditions import MELODY_NONE, MELODY_RATE
    from musiclm.melody import top_note_ids

    try:
        pm = pretty_midi.PrettyMIDI(str(path))
    except Exception as e:  # noqa: BLE001 - mido/pretty_midi raise many kinds
        raise UserError(f"unreadable MIDI {path}: {e}") from None
    parts = [i for i in pm.instruments if i.name.endswith("(melody)") and not i.is_drum]
    n = math.ceil(seconds * MELODY_RATE)
    if not parts:
        return np.full(n, MELODY_NONE, np.int64)
    return top_note_ids((x for p in parts for x in p.notes), n)


KINDS: dict[str, type[TokenKind]] = {
    k.kind: k
    for k in (
        AcousticTokens, SemanticTokens, MuLanTokens, CaptionTokens, AttributeTokens,
        MelodyTokens, FormTokens,
    )
}  # fmt: skip
