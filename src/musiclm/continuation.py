"""Continuing given audio: ``MusicLM.generate(texts, seconds, continue_from=audio)``.

    model = MusicLM.from_pretrained()
    audio = model.generate(None, seconds=20, continue_from="my_clip.wav", seed=0)

AudioLM and MusicLM are continuation models at heart (arXiv 2209.03143 §4.1, 2301.11325
§3.3): the prompt's tokens are encoded and the stages carry on from them.

- **The prompt** (:func:`encode`): any sample rate, resampled (soxr) to the model's; stereo
  folded to mono; refused when missing, empty, unreadable, silent, shorter than
  :data:`MIN_PROMPT_S` or longer than :data:`MAX_PROMPT_S`. Its semantic tokens (the
  semantic tokenizer), codec codes (all levels the stages make), MuLan *audio* tokens,
  tempo (librosa's beat tracker) and key (key profiles, :func:`musiclm.analysis.key_fit`)
  are read once, over its whole frames.
- **Conditions** (:func:`conditions`): a text's MuLan tokens when there is a text, else
  the prompt's audio tokens (what the stages were trained on); tempo and key as given,
  else as the text states, else the prompt's. For stages that take a melody, the
  prompt's own tune (PESTO, :mod:`musiclm.melody`) over its frames, then its last bars
  repeated (:func:`carried_tune`; ``GenerationOptions(tune=False)`` leaves it out).
- **Tokens** (:func:`continue_codes`): the semantic stage continues the prompt's semantic
  tokens and the coarse stage its coarse codes, both in sliding windows that keep half a
  window of what came before (:func:`musiclm.windows.continuation_windows`); the fine
  stage makes the fine codes of the new frames only (the prompt's own are kept).
- **Audio** (:func:`join`): the codec decodes everything; the output is the prompt as
  given up to :data:`OVERLAP_S` before its end, then an equal-power crossfade into the
  decoded audio over that overlap (no click at the join), then the continuation, its
  level matched to the prompt's last seconds.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from musiclm import drafts, windows
from musiclm.conditions import (
    MAX_TEMPO,
    MELODY_PC0,
    MELODY_RATE,
    MIN_TEMPO,
    Conditions,
    check_key,
    parse,
)
from musiclm.errors import UserError
from musiclm.stages.inputs import StageInputs, Window

if TYPE_CHECKING:
    from musiclm.pipeline import GenerationOptions, MusicLM, _Call

MIN_PROMPT_S = 1.0  # below a second a beat tracker finds no tempo and MuLan hears little
MAX_PROMPT_S = 120.0  # longer prompts are refused before decoding (only the end is continued)
MIN_NEW_S = 0.5  # a continuation adds at least this (the pipeline's shortest piece)
OVERLAP_S = 0.1  # crossfade from the prompt into the decoded audio, before the prompt's end
LEVEL_S = 3.0  # seconds either side of the join whose levels are matched (join)
MAX_LEVEL_DB = 24.0  # the most the continuation's level is moved
SILENCE_PEAK = 1e-3  # -60 dBFS: a prompt whose loudest sample is below this is silence
KEY_MIN_STRENGTH = 0.6  # key-profile correlation: engine clips read 0.77, white noise 0.53
BEATS_PER_BAR = 4  # the bar carried_tune repeats: 4/4, the corpus' and most music's metre
DRAFT_KEY_S = 10.0  # the prompt's last seconds whose mean chroma a draft is matched to
DRAFT_SCORE_S = 30.0  # the first seconds of each draft's added audio that are scored


@dataclass(frozen=True, eq=False)
class Prompt:
    """An encoded continuation prompt (:func:`encode`)."""

    audio: np.ndarray  # (samples,) float32 mono at the model's rate: the output's start
    sample_rate: int  # the model's
    source: str  # the file it came from, or "array"
    source_rate: int  # the sample rate it was given at
    semantic: Tensor  # (Ks,) int64 semantic tokens of its whole semantic frames
    codes: Tensor  # (Qc + Qf, Kc) int64 codec codes of the same seconds
    mulan: Tensor  # (L,) int64 MuLan audio tokens of the whole prompt
    tempo: float | None  # bpm by librosa's beat tracker; None: none found
    key: int | None  # key index (musiclm.theory.key_index); None: no clear key
    known_seconds: float  # the seconds its tokens cover (its whole semantic frames)
    # its melody ids (musiclm.melody, MELODY_RATE) over its whole semantic frames, for
    # models whose stages take a melody; None: such a model's prompt with no tune heard
    melody: np.ndarray | None = None

    @property
    def seconds(self) -> float:
        """Its length, as given."""
        return len(self.audio) / self.sample_rate

    def describe(self) -> dict:
        """What a sidecar records of it."""
        return {"file": self.source, "seconds": round(self.seconds, 3),
                "sample_rate": self.source_rate}  # fmt: skip


# -- the prompt ------------------------------------------------------------------------------


def load(source, sample_rate: int) -> tuple[np.ndarray, str, int]:
    """``source`` -> ``(mono float32 audio at sample_rate, name, its own rate)``, checked.

    ``source``: a path, an array ``(samples,)`` / ``(channels, samples)`` at
    ``sample_rate``, or a tuple ``(array, rate)``."""
    from musiclm.io import as_mono, audio_info, check_rate, read_audio, resample

    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise UserError(f"continuation prompt {path}: no such file")
        if path.is_dir():
            raise UserError(f"continuation prompt {path} is a folder; give an audio file")
        if path.stat().st_size == 0:
            raise UserError(f"continuation prompt {path} is empty (0 bytes)")
        rate, seconds = audio_info(path)  # corrupt files are refused here, before decoding
        check_length(seconds, str(path))
        audio, _ = read_audio(path, sample_rate)
        name = str(path)
    else:
        array, rate = source if isinstance(source, tuple) else (source, sample_rate)
        rate = check_rate(rate)
        audio = as_mono(array, allow_empty=True)
        name = "array"
        check_length(len(audio) / rate, name)
        audio = resample(audio, rate, sample_rate)
    if not np.isfinite(audio).all():
        raise UserError(f"continuation prompt {name} holds NaN or infinite samples")
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak < SILENCE_PEAK:
        raise UserError(
            f"continuation prompt {name} is silent (peak {20 * np.log10(max(peak, 1e-10)):.0f}"
            f" dBFS, below {20 * np.log10(SILENCE_PEAK):.0f}); give audio with music in it"
        )
    return np.ascontiguousarray(audio, np.float32), name, int(rate)


def check_length(seconds: float, name: str) -> None:
    if seconds <= 0:
        raise UserError(f"continuation prompt {name} holds no audio")
    if seconds < MIN_PROMPT_S:
        raise UserError(
            f"continuation prompt {name} is {seconds:.2g} s; it must be at least "
            f"{MIN_PROMPT_S:g} s long"
        )
    if seconds > MAX_PROMPT_S:
        raise UserError(
            f"continuation prompt {name} is {seconds:.0f} s; at most {MAX_PROMPT_S:g} s "
            "is taken (cut it to its last part)"
        )


def check_seconds(prompt_seconds: float, seconds: float) -> None:
    """The output holds the prompt and what follows: ``seconds`` must be longer."""
    if seconds < prompt_seconds + MIN_NEW_S:
        raise UserError(
            f"the continuation prompt is {prompt_seconds:.2f} s; seconds ({seconds:g}) must be "
            f"at least {MIN_NEW_S:g} s longer (it is the whole output, prompt included)"
        )


@torch.no_grad()
def encode(model: MusicLM, source, *, sample_rate: int | None = None) -> Prompt:
    """Read and encode a continuation prompt for ``model`` (see the module docstring).
    ``sample_rate``: the rate of an array ``source`` (default: the model's)."""
    from musiclm.analysis import key_fit, onset_tempo

    if isinstance(source, Prompt):
        return source
    sr = model.sample_rate
    if sample_rate is not None and not isinstance(source, str | os.PathLike | tuple):
        source = (source, sample_rate)
    audio, name, rate = load(source, sr)
    sem_rate = model.semantic.layout.semantic_rate
    ac_rate = model.coarse.layout.acoustic_rate
    ratio = _ratio(ac_rate, sem_rate)
    ks = len(audio) * sem_rate // sr  # whole semantic frames (their codec frames are whole too)
    tok = model.semantic_tokenizer
    semantic = torch.from_numpy(tok.encode(audio, sr)[:ks].astype(np.int64))
    levels = model.fine.layout.coarse_levels + model.fine.layout.fine_levels
    codes = torch.from_numpy(model.codec.encode(audio, sr, n_levels=levels)[:, : ks * ratio])
    mulan = torch.from_numpy(np.asarray(model.mulan.audio_tokens(audio, sr), np.int64))
    tempo = key = None
    if model.takes_attributes:
        with warnings.catch_warnings():  # librosa on short clips: "n_fft too large" for the
            warnings.simplefilter("ignore")  # CQT's lowest octaves, which the key fit ignores
            t = onset_tempo(audio, sr)
            name_k, strength = key_fit(audio, sr)
        tempo = round(t, 2) if MIN_TEMPO <= t <= MAX_TEMPO else None
        key = check_key(name_k) if name_k != "none" and strength >= KEY_MIN_STRENGTH else None
    melody = None
    if model.takes_melody:
        from musiclm.melody import melody_ids

        ids = melody_ids(audio, sr, ks * MELODY_RATE // sem_rate)
        melody = ids if (ids >= MELODY_PC0).any() else None
    return Prompt(audio, sr, name, rate, semantic, codes.long(), mulan, tempo, key, ks / sem_rate,
                  melody)  # fmt: skip


def prepare(
    model: MusicLM,
    texts: str | Sequence[str] | None,
    source,
    seconds: float,
    tempo: float | None = None,
    key: str | None = None,
) -> tuple[Prompt, list[Conditions]]:
    """The prompt in ``source`` read and encoded once (:func:`encode`), checked against
    ``seconds`` (the whole output), and the conditions of continuing it (:func:`conditions`):
    what :meth:`MusicLM.generate`, ``generate --continue`` and the studio start from."""
    prompt = encode(model, source)
    check_seconds(prompt.seconds, seconds)
    return prompt, conditions(model, texts, prompt, tempo, key)


def carried_tune(
    prompt: Prompt, seconds: float, beats_per_bar: int = BEATS_PER_BAR
) -> Tensor | None:
    """The melody condition of continuing ``prompt`` to ``seconds``: the prompt's own
    tune over its frames, then its last bars played again and again (the most whole bars
    at its tempo that are a power of two and hold a note: phrases come in 1, 2, 4 or 8
    bars; its whole tune when no tempo is known or no bar fits). None: no tune heard.

    Why: the stages keep a prompt's key far better with its tune to follow than without
    (mean chroma r >= 0.7 on 75 % of 10 s prompts against 21 %, docs/continuation.md),
    as repeating a phrase is what music does; the tempo keeps the repeats on the beat."""
    ids = prompt.melody
    if ids is None or not (ids >= MELODY_PC0).any():
        return None
    n = len(ids)
    span = n
    if prompt.tempo:
        bar = beats_per_bar * 60.0 * MELODY_RATE / prompt.tempo  # frames per bar
        bars = int(n // bar)
        while bars >= 1:
            size = 1 << (bars.bit_length() - 1)  # the largest power of two <= bars
            frames = int(round(size * bar))
            if (ids[n - frames :] >= MELODY_PC0).any():
                span = frames
                break
            bars = size - 1
    total = max(round(seconds * MELODY_RATE), n)
    loop = ids[n - span :]
    after = np.resize(loop, total - n)  # repeats the last bars to fill
    return torch.from_numpy(np.concatenate([ids, after]).astype(np.int64))


def with_tune(conds: Sequence[Conditions], prompt: Prompt, seconds: float) -> list[Conditions]:
    """``conds`` with the prompt's tune carried on (:func:`carried_tune`) where they hold
    no melody; unchanged when the prompt has none (or the model takes none)."""
    ids = carried_tune(prompt, seconds)
    if ids is None:
        return list(conds)
    return [c if c.melody is not None else replace(c, melody=ids, tune=True) for c in conds]


def _ratio(acoustic_rate: int, semantic_rate: int) -> int:
    if acoustic_rate % semantic_rate:
        raise UserError(
            f"continuation needs the codec rate ({acoustic_rate} Hz) to be a multiple of the "
            f"semantic rate ({semantic_rate} Hz)"
        )
    return acoustic_rate // semantic_rate


def conditions(
    model: MusicLM,
    texts: str | Sequence[str] | None,
    prompt: Prompt,
    tempo: float | None = None,
    key: str | None = None,
) -> list[Conditions]:
    """The conditions of continuing ``prompt``: one per text (its MuLan text tokens), or
    with no text one piece on the prompt's MuLan audio tokens; a tempo and key not given
    and not stated by the text are the prompt's (models with tempo and key tokens)."""
    texts = [texts] if isinstance(texts, str) else list(texts or [])
    texts = [t for t in texts if t.strip()]
    if texts:
        conds = model.conditions(texts, tempo, key)
    else:
        c = parse("", tempo, key, attributes=model.takes_attributes)
        conds = [c.with_mulan(prompt.mulan.clone())]
    if model.takes_attributes:
        conds = [
            replace(
                c,
                tempo=c.tempo if c.tempo is not None else prompt.tempo,
                key=c.key if c.key is not None else prompt.key,
            )
            for c in conds
        ]
    return conds


# -- tokens ----------------------------------------------------------------------------------


def continue_codes(
    model: MusicLM,
    conds: Sequence[Conditions],
    prompt: Prompt,
    seconds: float,
    opts: GenerationOptions,
    g: list[torch.Generator],
    call: _Call,
) -> tuple[Tensor, Tensor]:
    """Coarse ``(B, Qc, T)`` and fine ``(B, Qf, T)`` codes of ``seconds``, the prompt's
    codes first (``T = ceil(seconds * frame rate)``)."""
    check_seconds(prompt.seconds, seconds)
    b, dev = len(conds), model.device
    n = opts.drafts_for_continuation()
    call.totals = plan_steps(model, b, prompt, seconds)
    rows = [c for c in conds for _ in range(n)]  # each piece's drafts side by side
    gens = drafts.generators(g, n, dev)
    sem = _semantic(model, rows, prompt.semantic.to(dev).expand(b * n, -1), seconds, opts, gens,
                    call)  # fmt: skip
    qc = model.coarse.layout.coarse_levels
    known = prompt.codes.to(dev)
    kc = known.shape[1]
    coarse = _coarse(model, rows, sem, known[:qc].expand(b * n, -1, -1), seconds, opts, gens,
                     call)  # fmt: skip
    if n > 1:
        t0 = time.perf_counter()
        coarse = drafts.keep(coarse, nearest_drafts(model, prompt, coarse[:, :, kc:], n), n)
        call.timings.add("drafts", t0)
    new_fine = model._fine(coarse[:, :, kc:], opts, g, call)
    fine = torch.cat([known[qc:].expand(b, -1, -1), new_fine], dim=2)
    return coarse, fine


def nearest_drafts(model: MusicLM, prompt: Prompt, new: Tensor, n: int) -> Tensor:
    """For ``new (B * n, Qc, T)`` coarse codes of the added seconds (each piece's ``n``
    drafts side by side), the index ``(B,)`` of each piece's draft whose mean chroma is
    nearest (Pearson r) that of the prompt's last :data:`DRAFT_KEY_S`, over its first
    :data:`DRAFT_SCORE_S`: the draft that stays in the prompt's key. The coarse levels
    alone decode with the pitch (codec v2 keeps chroma r 0.93 at 4 levels,
    docs/codec.md), so the fine stage runs only for the draft kept."""
    from musiclm.analysis import mean_chroma

    sr = model.sample_rate
    ref = mean_chroma(prompt.audio[-round(DRAFT_KEY_S * sr) :], sr)
    span = new[:, :, : round(DRAFT_SCORE_S * model.coarse.layout.acoustic_rate)]

    def nearest(chroma: np.ndarray) -> float:
        return float(np.corrcoef(ref, chroma)[0, 1])

    return drafts.best(drafts.chroma_scores(model.codec, span, [nearest] * len(span)), n)


def _semantic(model: MusicLM, conds, known: Tensor, seconds, opts, g, call) -> Tensor:
    """Semantic tokens ``(B, seconds * rate)`` continuing ``known (B, Ks)``."""
    t0 = time.perf_counter()
    st = model.semantic
    rate = st.layout.semantic_rate
    inputs = StageInputs(st.layout, conds, model.device)
    tokens = known
    total = windows.frames(seconds, rate)
    for w in windows.continuation_windows(total, known.shape[1], st.config.target_frames):
        window = Window(w.start / rate, seconds, st.steps_for(w.frames))
        prompt = tokens[:, w.start : w.start + w.keep]
        part = model._sample(st, "semantic", 0, inputs, window, w.frames, opts, g, call, prompt)
        tokens = torch.cat([tokens, part[:, w.keep :]], dim=1)
    call.timings.add("semantic", t0)
    return tokens


def _coarse(model: MusicLM, conds, sem: Tensor, known: Tensor, seconds, opts, g, call) -> Tensor:
    """Coarse codes ``(B, Qc, seconds * frame rate)`` continuing ``known (B, Qc, Kc)``: each
    window continues the last half-window of codes so far, conditioned on the semantic
    tokens of its own seconds."""
    t0 = time.perf_counter()
    st = model.coarse
    lay = st.layout
    ratio = _ratio(lay.acoustic_rate, lay.semantic_rate)
    sem_window = round(st.config.window_seconds * lay.semantic_rate)
    inputs = StageInputs(lay, conds, model.device)
    codes = known
    total = windows.frames(seconds, lay.acoustic_rate)
    for w in windows.continuation_windows(total, known.shape[2], st.config.target_frames, ratio):
        first = w.start // ratio
        context = sem[:, first : first + sem_window]
        if context.shape[1] < sem_window:  # the last window: pad with its own end
            pad = context[:, -1:].expand(-1, sem_window - context.shape[1])
            context = torch.cat([context, pad], dim=1)
        window = Window(w.start / lay.acoustic_rate, seconds, st.steps_for(w.frames), context)
        prompt = codes[:, :, w.start : w.start + w.keep]
        part = model._sample(st, "coarse", 1, inputs, window, w.frames, opts, g, call, prompt)
        codes = torch.cat([codes, part[:, :, w.keep :]], dim=2)
    call.timings.add("coarse", t0)
    return codes


def plan_steps(model: MusicLM, batch: int, prompt: Prompt, seconds: float) -> dict[str, int]:
    """Sequential sampling steps of continuing ``prompt`` to ``seconds`` (progress totals)."""
    sem, coarse, fine = model.semantic, model.coarse, model.fine
    ratio = _ratio(coarse.layout.acoustic_rate, sem.layout.semantic_rate)
    ks, kc = prompt.semantic.shape[0], prompt.codes.shape[1]

    def drawn(stage, total, known, align=1) -> int:
        out = 0
        for w in windows.continuation_windows(total, known, stage.config.target_frames, align):
            steps = stage.steps_for(w.frames)
            lay = stage.layout
            shape = (
                (1, w.keep) if lay.stage.target == "semantic" else (1, lay.target_levels, w.keep)
            )
            dummy = torch.zeros(shape, dtype=torch.long)  # the steps a prompt fixes: its shape's
            out += steps - stage._prompt_steps(dummy, steps, w.frames)[1]
        return out

    n = windows.frames(seconds, coarse.layout.acoustic_rate)
    window = fine.config.target_frames
    chunks = len(windows.fine_batches(batch, -(-(n - kc) // window)))
    return {
        "semantic": drawn(sem, windows.frames(seconds, sem.layout.semantic_rate), ks),
        "coarse": drawn(coarse, n, kc, ratio),
        "fine": chunks * fine.steps_for(window),
    }


# -- audio -----------------------------------------------------------------------------------


def level_gain(prompt: np.ndarray, decoded: np.ndarray, sample_rate: int) -> np.ndarray:
    """Gain per piece ``(B,)`` that puts ``decoded (B, N)``'s new audio (up to
    :data:`LEVEL_S` after the prompt's end) at the level of the prompt's last
    :data:`LEVEL_S`, within :data:`MAX_LEVEL_DB`: the stages play at the level they were
    trained at, so a quiet recording's continuation came in ~17 dB louder."""
    n = len(prompt)
    span = round(LEVEL_S * sample_rate)
    before = float(np.sqrt(np.mean(np.square(prompt[-span:], dtype=np.float64))))
    after = np.sqrt(np.mean(np.square(decoded[:, n : n + span], dtype=np.float64), axis=1))
    if decoded.shape[1] <= n:
        return np.ones(len(decoded), np.float32)
    limit = 10 ** (MAX_LEVEL_DB / 20)
    return np.clip(before / np.maximum(after, 1e-9), 1 / limit, limit).astype(np.float32)


def join(prompt: np.ndarray, decoded: np.ndarray, sample_rate: int) -> np.ndarray:
    """The output: ``prompt (n,)`` as given up to :data:`OVERLAP_S` before its end, an
    equal-power crossfade into ``decoded (B, N)`` over that overlap, then ``decoded``,
    at the prompt's level (:func:`level_gain`).

    Equal power (sin/cos), not linear: the codec's rendering of the prompt has phases of
    its own (Griffin-Lim), so over the overlap the two are little correlated and a linear
    fade would dip by up to 3 dB."""
    n = len(prompt)
    ov = min(round(OVERLAP_S * sample_rate), n)
    out = decoded * level_gain(prompt, decoded, sample_rate)[:, None]  # a new array
    head = n - ov
    out[:, :head] = prompt[:head]
    t = (np.arange(ov, dtype=np.float64) + 0.5) / max(ov, 1)
    fade_in, fade_out = np.sin(0.5 * np.pi * t), np.cos(0.5 * np.pi * t)
    out[:, head:n] = (prompt[head:n] * fade_out + out[:, head:n] * fade_in).astype(np.float32)
    return out


__all__ = [
    "LEVEL_S",
    "MAX_PROMPT_S",
    "MIN_PROMPT_S",
    "OVERLAP_S",
    "Prompt",
    "carried_tune",
    "conditions",
    "nearest_drafts",
    "encode",
    "prepare",
    "join",
    "level_gain",
    "with_tune",
]
