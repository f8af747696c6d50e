"""Training a stage on cached tokens (``musiclm tokenize``) with the shared trainer.

An example is a ``window_seconds`` window of one clip, cut at the same moment from every
token kind the stage needs (semantic 25 Hz, acoustic 50 Hz, MuLan per 10 s window), with
timing tokens for where the window sits in its clip. MusicLM trains the stages on the
MuLan tokens of the *audio* (arXiv 2301.11325 §3.2); captions are not needed here. A
corpus with captions may add ``captions`` tokens: ``text_cond`` of the examples then use
a random caption's MuLan tokens, the kind of tokens a text prompt gives at inference.
A layout with ``attributes`` also reads ``attributes`` tokens (the clip's tempo and key).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from musiclm.errors import UserError
from musiclm.stages.config import StageConfig
from musiclm.stages.layout import KINDS
from musiclm.stages.lm import StageLM, load_stage
from musiclm.tokens import TokenStore, mulan_window_at
from musiclm.training import TrainTask


class StageDataset(Dataset):
    """Windows of cached tokens for one stage: ``{"prefix": (streams, P), "target": ...}``.

    Clips shorter than the window are skipped and counted (``skipped``); in training with
    ``per_window`` a clip of ``n`` windows' length counts ``n`` times. Randomness (the
    window start, conditioning dropout) comes from the global RNGs, which the trainer seeds
    per (seed, epoch, index); ``train=False`` takes the first window (``at_end``: the
    last, e.g. to measure how a stage ends a song) and never drops.
    """

    def __init__(
        self, tokens: str | Path, config: StageConfig, *, train: bool = True, at_end: bool = False
    ):
        self.config, self.layout, self.train = config, config.layout, train
        self.at_end = at_end
        lay = self.layout
        channels = {n for n, _ in lay.frame_channels}
        needs = lay.stage.needs + ("attributes",) * lay.has_attributes
        needs += ("melody",) * ("melody" in channels) + ("form",) * ("section" in channels)
        for kind in ("melody", "form"):
            if kind in needs and not (Path(tokens) / kind).is_dir():
                raise UserError(
                    f"{kind} conditioning needs {kind} tokens: run `musiclm tokenize CORPUS "
                    f"-o {tokens} --kinds {kind}` first"
                )
        if self.layout.has_attributes and not (Path(tokens) / "attributes").is_dir():
            raise UserError(
                f"tempo and key tokens need attribute tokens: run `musiclm tokenize CORPUS "
                f"-o {tokens} --kinds attributes` first"
            )
        self.stores = {k: TokenStore(tokens, k) for k in needs}
        self.captions = self._caption_store(tokens) if config.text_cond > 0 else None
        self._check_vocab()
        ids = set.intersection(*(set(s) for s in self.stores.values()))
        lay, seconds = self.layout, config.window_seconds
        self.clips = []  # with per_window, a clip of n windows' length is listed n times
        # (train), so long songs are seen in proportion to their audio, not as often as a clip
        kept = 0
        for clip in sorted(ids):
            length = self._seconds(clip)
            if length + 1e-6 >= seconds:
                kept += 1
                per = train and config.per_window
                copies = max(1, math.floor(length / seconds + 1e-6)) if per else 1
                self.clips += [clip] * copies
        self.skipped = len(ids) - kept
        if not self.clips:
            raise UserError(
                f"no clip in {tokens} has {seconds:g} s of {', '.join(lay.stage.needs)} tokens"
            )

    def _caption_store(self, tokens: str | Path) -> TokenStore:
        """The captions' MuLan tokens, made by the same MuLan as the audio's."""
        if "mulan" not in self.stores:
            raise UserError(f"the {self.layout.kind} stage takes no MuLan tokens; text_cond is 0")
        if not (Path(tokens) / "captions").is_dir():
            raise UserError(
                f"text conditioning needs caption tokens: run `musiclm tokenize CORPUS -o "
                f"{tokens} --kinds captions` first"
            )
        return TokenStore(tokens, "captions", expect=self.stores["mulan"].meta.get("fingerprint"))

    def _check_vocab(self) -> None:
        """Token files of another vocabulary than the stage's config are refused."""
        lay = self.layout
        if "acoustic" in self.stores:
            codes = next(iter(self.stores["acoustic"].values()))["codes"]
            if codes.shape[0] < lay.coarse_levels + lay.fine_levels:
                raise UserError(
                    f"acoustic tokens have {codes.shape[0]} levels; the stage needs "
                    f"{lay.coarse_levels + lay.fine_levels}"
                )
        if "mulan" in self.stores:
            tokens = next(iter(self.stores["mulan"].values()))["tokens"]
            if tokens.shape[0] < lay.mulan_levels:
                raise UserError(
                    f"MuLan tokens have {tokens.shape[0]} levels; the stage expects at least "
                    f"{lay.mulan_levels}"
                )

    def _seconds(self, clip: str) -> float:
        lay = self.layout
        if "semantic" in self.stores:
            return self.stores["semantic"][clip]["tokens"].shape[-1] / lay.semantic_rate
        return self.stores["acoustic"][clip]["codes"].shape[-1] / lay.acoustic_rate

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, Any]:
        lay, cfg = self.layout, self.config
        clip = self.clips[index]
        total = self._seconds(clip)
        span = total - cfg.window_seconds
        # window starts on a semantic frame (0.04 s) so every rate cuts at the same moment
        grid = 1.0 / lay.semantic_rate
        if self.train:
            start = math.floor(float(torch.rand(())) * span / grid) * grid
        else:
            start = math.floor(span / grid + 1e-6) * grid if self.at_end else 0.0
        drop = bool(torch.rand(()) < cfg.cond_dropout) if self.train and lay.conditioned else False
        kw: dict[str, Any] = {}
        target: torch.Tensor
        if lay.conditioned:
            mulan = self.stores["mulan"][clip]["tokens"]  # (levels, windows)
            tokens = mulan[:, mulan_window_at(start, cfg.window_seconds, mulan.shape[1])]
            if self.captions is not None and clip in self.captions:
                text = self.captions[clip]["tokens"]  # (levels, captions)
                if not self.train:  # validation: the first caption, as a prompt would be
                    tokens = text[:, 0]
                elif float(torch.rand(())) < cfg.text_cond:
                    tokens = text[:, int(torch.randint(text.shape[1], ()))]
            kw["mulan"] = torch.from_numpy(tokens.astype(np.int64))[None]
            kw["start_s"] = torch.tensor([start])
            kw["total_s"] = torch.tensor([total])
            kw["drop"] = torch.tensor([drop])
            if lay.has_attributes:
                attrs = self.stores["attributes"][clip]
                for name in ("tempo", "key"):
                    value = int(attrs[name][0])
                    if self.train and float(torch.rand(())) < cfg.attr_dropout:
                        value = -1
                    kw[name] = torch.tensor([value])
                if lay.has_beats:  # no beat grid where the tempo is unknown or all is dropped
                    if "bpm" not in attrs:
                        raise UserError("attribute tokens without bpm: rerun `musiclm tokenize "
                                        "--kinds attributes` into an empty folder")  # fmt: skip
                    known = int(kw["tempo"][0]) >= 0 and not drop
                    kw["bpm"] = torch.tensor([float(attrs["bpm"][0]) if known else 0.0])
        if "semantic" in lay.stage.needs:
            s = self.stores["semantic"][clip]["tokens"]
            a = round(start * lay.semantic_rate)
            sem = torch.from_numpy(s[a : a + round(cfg.window_seconds * lay.semantic_rate)])
            if lay.stage.target == "semantic":
                target = sem.long()[None]
            else:
                kw["context"] = sem.long()[None]
        if "acoustic" in lay.stage.needs:
            codes = self.stores["acoustic"][clip]["codes"]
            a = round(start * lay.acoustic_rate)
            window = codes[:, a : a + cfg.target_frames].astype(np.int64)
            coarse = torch.from_numpy(window[: lay.coarse_levels])[None]
            fine = torch.from_numpy(
                window[lay.coarse_levels : lay.coarse_levels + lay.fine_levels]
            )[None]
            if lay.stage.context == "coarse":
                kw["context"] = coarse
                target = fine
            else:
                target = coarse
        bpm = kw.pop("bpm", None)
        prefix = lay.prefix(**kw)
        item = {"prefix": prefix[0], "target": target[0]}
        if lay.frame_channels:
            item["frame_ids"] = self._frame_ids(clip, start, total, bpm, drop)[0]
        return item

    def _frame_ids(self, clip: str, start: float, total: float, bpm, drop: bool):
        """The per-frame conditions of the window (:meth:`LayoutConfig.frame_ids`), each
        kind dropped (unknown) for its share of the examples and all with ``drop``."""
        cfg = self.config

        def kept(kind: str, share: float):
            if kind not in self.stores or drop or (self.train and float(torch.rand(())) < share):
                return None
            return torch.from_numpy(self.stores[kind][clip]["ids"].astype(np.int64))[None]

        melody = kept("melody", cfg.melody_dropout)
        sections = kept("form", cfg.form_dropout)
        return self.layout.frame_ids(
            torch.tensor([start]),
            cfg.target_steps,
            bpm=bpm,
            melody=melody,
            sections=sections,
            total_s=None if drop else torch.tensor([total]),
        )


class StageTask(TrainTask):
    """One stage as a :class:`TrainTask` over a tokenize output folder."""

    def __init__(
        self,
        config: StageConfig,
        tokens: str | Path,
        *,
        val: str | Path | None = None,
        init_from: str | Path | None = None,
    ):
        self.config, self.tokens, self.val, self.init_from = config, tokens, val, init_from

    def train_dataset(self) -> StageDataset:
        return StageDataset(self.tokens, self.config, train=True)

    def val_dataset(self) -> StageDataset | None:
        return StageDataset(self.val, self.config, train=False) if self.val else None

    def model_config(self) -> dict[str, Any]:
        return {"stage": self.config.to_dict()}

    def build_model(self) -> StageLM:
        model = StageLM(self.config)
        if self.init_from is not None:
            warm_start(model, load_stage(self.init_from))
        return model

    def loss(self, model, batch: dict[str, Any], step: int, optimizer: str = "main"):
        loss = model(batch["prefix"], batch["target"], batch.get("frame_ids"))
        return loss, {"ce": loss.item(), "ppl": math.exp(min(loss.item(), 20.0))}


def warm_start(model: StageLM, trained: StageLM) -> None:
    """Start ``model`` from the weights of a ``trained`` stage of the same kind and sizes:
    every tensor is copied; input embeddings of a larger vocabulary (e.g. tempo and key
    ids added at its end) keep their new rows, new tensors (a beat-phase table) their
    initial values. Fine-tuning a stage for a new kind of
    conditioning then costs a fraction of training it again."""
    a, b = model.config, trained.config
    same = ("dim", "n_layers", "n_heads", "mlp_ratio")
    if a.layout.kind != b.layout.kind or any(getattr(a, k) != getattr(b, k) for k in same):
        raise UserError(
            f"cannot warm-start a {a.layout.kind} stage {[getattr(a, k) for k in same]} from "
            f"a {b.layout.kind} stage {[getattr(b, k) for k in same]} (kind and sizes must match)"
        )
    own, theirs = model.state_dict(), trained.state_dict()
    old = b.layout.vocab_size
    if set(theirs) - set(own):  # new parameters (the beat-phase table) keep their init
        raise UserError("cannot warm-start: the trained stage has parameters this one lacks")
    with torch.no_grad():
        for name, value in theirs.items():
            target = own[name]
            if target.shape == value.shape:
                target.copy_(value)
            elif name.startswith("net.embed.") and target.shape[1:] == value.shape[1:]:
                if old > target.shape[0] or a.layout.attribute_offset != b.layout.vocab_size:
                    raise UserError("cannot warm-start: the vocabularies differ beyond new ids")
                target[:old].copy_(value)
            else:
                raise UserError(f"cannot warm-start: {name} is {tuple(value.shape)}, "
                                f"this stage needs {tuple(target.shape)}")  # fmt: skip


def interpolate(base: StageLM, tuned: StageLM, alpha: float) -> StageLM:
    """Weights ``(1 - alpha) base + alpha tuned`` for a stage fine-tuned from ``base``
    (WiSE-FT, Wortsman et al. 2022): a short fine-tune for new conditioning (tempo, key,
    beat grid) that costs some of what the base knew keeps more of it half-way, often
    with most of the new skill (docs/model.md). What the base lacks counts as: the tuned
    rows for new ids (the base never reads them) and zero for new tensors (the beat-phase
    table starts at zero). Returns a new stage with ``tuned``'s config."""
    import copy

    if not 0.0 <= alpha <= 1.0:
        raise UserError(f"alpha must be in [0, 1], got {alpha}")
    start = copy.deepcopy(tuned)  # the base in the tuned layout: warm_start checks kind,
    warm_start(start, base)  # sizes and vocabularies, copies the base, keeps new id rows
    out = copy.deepcopy(tuned)
    known = base.state_dict()
    with torch.no_grad():
        for (name, value), begin in zip(out.state_dict().items(), start.state_dict().values()):
            if name not in known:
                begin.zero_()  # tables the base lacks start at zero
            value.mul_(alpha).add_(begin, alpha=1.0 - alpha)
    return out.eval()


def layout_from_tokens(tokens: str | Path, kind: str) -> dict[str, Any]:
    """Vocabulary facts of the token files a stage will train on (levels, codebook sizes,
    frame rates), read from their ``meta.json``, as :class:`LayoutConfig` overrides."""
    if kind not in KINDS:
        raise UserError(f"unknown stage {kind!r}; choose from {sorted(KINDS)}")
    out: dict[str, Any] = {}
    for need in KINDS[kind].needs:
        model = TokenStore(tokens, need).meta.get("model", {})
        try:
            if need == "mulan":
                out |= dict(
                    mulan_levels=model["rvq_levels"], mulan_codebook=model["rvq_codebook_size"]
                )
            elif need == "semantic":
                rate = model["sample_rate"] / model["hop_length"]
                out |= dict(semantic_codebook=model["clusters"], semantic_rate=round(rate))
            else:
                hop = (  # as CodecConfig.hop: only the seanet family strides
                    math.prod(model["strides"])
                    if model["family"] == "seanet"
                    else model["hop_length"]
                )
                levels = int(model["levels"])
                out |= dict(
                    acoustic_codebook=model["codebook_size"],
                    acoustic_rate=model["sample_rate"] // hop,
                    coarse_levels=(levels + 1) // 2,
                    fine_levels=levels // 2,
                )
        except KeyError as e:
            raise UserError(
                f"{tokens}/{need}/meta.json lacks {e} (made by an older musiclm?)"
            ) from None
    return out
