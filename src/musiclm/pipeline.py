"""``MusicLM``: text in, music out — MuLan, the three stages and the codec in one object.

    model = MusicLM.from_pretrained()                 # the bundled model, or a folder
    audio = model.generate(["a violin melody backed with 808s"], seconds=10, seed=0)

Generation (MusicLM, arXiv 2301.11325 §3.2–3.3): the text's MuLan tokens condition the
semantic stage; the semantic tokens and the MuLan tokens condition the coarse acoustic
stage; the coarse codes condition the fine stage; the codec decodes all levels. Pieces
longer than a stage's window are made window by window: the semantic stage continues
its own last half-window (sliding window, paper §4), the acoustic stages cover
consecutive windows. All prompts of a call are one batch (two with guidance).

Beyond the paper: stages trained with tempo and key tokens (``LayoutConfig.attributes``)
take the tempo and key a prompt states ("... at 70 bpm", "in E minor"), or the ones
given to :meth:`MusicLM.generate`; unknown ones are left to the model.

A folder holds ``codec/``, ``mulan/``, ``semantic/``, ``coarse/``, ``fine/`` (each a
``config.json`` + ``model.safetensors``) and ``pipeline.json`` (defaults).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from musiclm.devices import generator
from musiclm.errors import UserError
from musiclm.stages.lm import StageLM, load_stage
from musiclm.stages.sampling import SamplingOptions

BUNDLED = Path(__file__).resolve().parent / "assets" / "musiclm"
MIN_SECONDS, MAX_SECONDS = 0.5, 300.0  # below half a second the stages have no window
MAX_CFG = 100.0  # beyond this, guided logits overflow to inf/NaN; useful values are 1-10
MAX_TEMPERATURE = 100.0
PARTS = ("codec", "mulan", "semantic", "coarse", "fine")
FINE_BATCH = 64  # fine-stage windows sampled together
MIN_TEMPO, MAX_TEMPO = 20.0, 400.0  # explicit tempos outside are mistakes, not music


def _read_parts(root: Path) -> dict[str, Path]:
    """Folder of each part: ``pipeline.json`` may point a part elsewhere (relative to
    ``root``), so the bundled model shares the package's codec and MuLan instead of
    holding second copies; a part it does not name is the sub-folder of that name.

    Containment: a part must be a relative path that stays inside ``root`` or its parent
    folder (a sibling such as ``../codec``); absolute paths and paths climbing further
    (``../../etc``) are refused, so a downloaded model folder cannot make us read
    elsewhere."""
    import json

    path = root / "pipeline.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} is missing: not a MusicLM folder") from None
    except (ValueError, OSError) as e:  # UnicodeDecodeError is a ValueError
        raise UserError(f"{path} is not valid JSON ({e})") from None
    where = meta.get("parts", {}) if isinstance(meta, dict) else None
    if not isinstance(where, dict) or not all(isinstance(v, str) for v in where.values()):
        raise UserError(f'{path}: "parts" must map part names to folder names')
    unknown = sorted(set(where) - set(PARTS))
    if unknown:
        raise UserError(f"{path}: unknown part(s) {unknown}; parts are {', '.join(PARTS)}")
    base = root.resolve().parent
    parts = {}
    for name in PARTS:
        rel = where.get(name, name)
        folder = (root / rel).resolve()
        if Path(rel).is_absolute() or not folder.is_relative_to(base):
            raise UserError(
                f"{path}: part {name} -> {rel!r} lies outside the model folder and its "
                "siblings; copy the part into the folder"
            )
        parts[name] = folder
    return parts


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling settings per stage; the defaults are the paper's temperatures (§3.2)."""

    cfg: float = 3.0  # guidance on the semantic and coarse stages (1: none)
    temperature: tuple[float, float, float] = (1.0, 0.95, 0.4)  # semantic, coarse, fine
    top_k: tuple[int, int, int] = (0, 0, 0)
    top_p: float = 1.0

    def __post_init__(self) -> None:
        def bad(what: str) -> UserError:
            return UserError(f"{what}, got {self}")

        if not (isinstance(self.cfg, int | float) and 0 <= self.cfg <= MAX_CFG):
            raise bad(f"guidance (cfg) must be a number in [0, {MAX_CFG:g}]")
        if len(self.temperature) != 3 or not all(
            isinstance(t, int | float) and 0 <= t <= MAX_TEMPERATURE for t in self.temperature
        ):
            raise bad(f"temperature must be three numbers in [0, {MAX_TEMPERATURE:g}]")
        if len(self.top_k) != 3 or not all(isinstance(k, int) and k >= 0 for k in self.top_k):
            raise bad("top_k must be three integers >= 0 (0: all tokens)")
        if not (isinstance(self.top_p, int | float) and 0 < self.top_p <= 1):
            raise bad("top_p must be in (0, 1]")

    def for_stage(self, i: int, guided: bool) -> SamplingOptions:
        return SamplingOptions(
            temperature=self.temperature[i],
            top_k=self.top_k[i],
            top_p=self.top_p,
            cfg=self.cfg if guided else 1.0,
        )


@dataclass
class Timings:
    """Wall seconds per part of the last :meth:`MusicLM.generate` call."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, t0: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0


class MusicLM:
    """The whole text-to-music model. Build it from parts or load a folder."""

    def __init__(self, *, mulan, codec, semantic: StageLM, coarse: StageLM, fine: StageLM):
        self.mulan, self.codec = mulan, codec
        self.semantic, self.coarse, self.fine = semantic, coarse, fine
        self.timings = Timings()
        self._done: dict[str, int] = {}  # sampling steps per stage in this call
        self._total: dict[str, int] = {}
        self._check()

    def _check(self) -> None:
        c, f = self.coarse.layout, self.fine.layout
        m = self.mulan.config
        for stage in (self.semantic, self.coarse):
            lay = stage.layout
            if lay.mulan_codebook != m.rvq_codebook_size or lay.mulan_levels > m.rvq_levels:
                raise UserError(
                    f"the {lay.kind} stage expects {lay.mulan_levels} MuLan levels of "
                    f"{lay.mulan_codebook} codes; this MuLan gives {m.rvq_levels} of "
                    f"{m.rvq_codebook_size}"
                )
        if c.coarse_levels + c.fine_levels > self.codec.levels:
            raise UserError("the acoustic stages need more codec levels than the codec has")
        if self.codec.frame_rate != c.acoustic_rate or f.acoustic_rate != c.acoustic_rate:
            raise UserError("the codec's frame rate differs from the acoustic stages'")

    @property
    def sample_rate(self) -> int:
        return self.codec.sample_rate

    @property
    def device(self) -> torch.device:
        """Where the stages run (MuLan and the codec go with them)."""
        return next(self.semantic.parameters()).device

    def to(self, device: str | torch.device) -> MusicLM:
        """Move every part to ``device`` (``"auto"``, ``"cpu"``, ``"cuda"``, ``"mps"``)."""
        from musiclm.devices import resolve_device

        dev = resolve_device(device)
        for part in (self.mulan, self.codec, self.semantic, self.coarse, self.fine):
            part.to(dev)
        return self

    @classmethod
    def debug(cls, seed: int = 0, attributes: bool = False, beats: bool = False) -> MusicLM:
        """Random, tiny parts (8 kHz codec, debug MuLan, 1-layer stages): builds in a second,
        for tests and for trying the API; its output is noise-like, not music.
        ``attributes``: the semantic and coarse stages take tempo and key tokens (and the
        beat phase with ``beats``)."""
        from musiclm.codec.config import CodecConfig
        from musiclm.codec.model import Codec
        from musiclm.mulan.config import MuLanConfig
        from musiclm.mulan.model import MuLan
        from musiclm.stages.layout import LayoutConfig
        from musiclm.stages.lm import StageConfig

        torch.manual_seed(seed)
        mulan = MuLan(MuLanConfig.preset("debug")).eval()
        mulan.fit_rvq(torch.randn(64, mulan.config.embed_dim))
        codec = Codec(CodecConfig.preset("debug")).eval()
        c, m = codec.config, mulan.config
        layout = dict(
            mulan_levels=m.rvq_levels,
            mulan_codebook=m.rvq_codebook_size,
            semantic_codebook=16,
            acoustic_codebook=c.codebook_size,
            acoustic_rate=c.frame_rate,
            coarse_levels=c.levels // 2,
            fine_levels=c.levels - c.levels // 2,
            max_seconds=20,
            attributes=attributes,
            beats=beats,
        )
        stages = {
            kind: StageLM(
                StageConfig(
                    layout=LayoutConfig(kind=kind, **layout),
                    dim=32,
                    n_layers=1,
                    n_heads=2,
                    window_seconds=window,
                )
            ).eval()
            for kind, window in (("semantic", 2.0), ("coarse", 1.0), ("fine", 0.5))
        }
        return cls(mulan=mulan, codec=codec, **stages)

    # -- files ---------------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls, path: str | os.PathLike | None = None, device: str | torch.device | None = None
    ) -> MusicLM:
        """Load a folder (``None``: the bundled model) onto ``device`` (``None``: the CPU;
        ``"auto"``: a GPU if there is one; see :func:`musiclm.devices.resolve_device`).
        Imports only the inference modules (not the trainer)."""
        from musiclm.codec.model import Codec
        from musiclm.devices import resolve_device
        from musiclm.mulan.model import MuLan

        dev = resolve_device(device) if device is not None else None  # refused before loading

        if path is None:
            if not (BUNDLED / "pipeline.json").exists():
                raise UserError("no bundled MusicLM yet; train one with `make model`")
            path = BUNDLED
        root = Path(path)
        if not root.is_dir():
            raise UserError(f"no MusicLM folder at {root}")
        parts = _read_parts(root)
        model = cls(
            mulan=MuLan.from_pretrained(parts["mulan"]),
            codec=Codec.from_pretrained(parts["codec"]),
            semantic=load_stage(parts["semantic"]),
            coarse=load_stage(parts["coarse"]),
            fine=load_stage(parts["fine"]),
        )
        return model if dev is None or dev.type == "cpu" else model.to(dev)

    def save_pretrained(self, path: str | os.PathLike, fp16: bool = False) -> None:
        from musiclm.io import remove_temporaries, write_json_atomic
        from musiclm.stages.lm import save_stage

        root = Path(path)
        remove_temporaries(root)  # a killed save's half-written pipeline.json
        self.codec.save_pretrained(root / "codec", fp16=fp16)
        self.mulan.save_pretrained(root / "mulan", fp16=fp16)
        for name in ("semantic", "coarse", "fine"):
            save_stage(getattr(self, name), root / name, fp16=fp16)
        write_json_atomic(root / "pipeline.json", {"format_version": 1})

    # -- generation ----------------------------------------------------------------------

    @property
    def takes_attributes(self) -> bool:
        """Whether the stages take tempo and key tokens."""
        return self.semantic.layout.has_attributes or self.coarse.layout.has_attributes

    def attributes(
        self, texts: Sequence[str], tempo: float | None = None, key: str | None = None
    ) -> list[dict]:
        """The tempo (bpm) and key each prompt is generated at: ``tempo``/``key`` when
        given, else what the text states, else None (the model decides). Models without
        tempo and key tokens give None, and refuse explicit values."""
        from musiclm.stages.attributes import key_index, key_name, parse_key, parse_tempo

        if not self.takes_attributes:
            if tempo is not None or key is not None:
                raise UserError("this model has no tempo or key conditioning")
            return [{"tempo": None, "key": None} for _ in texts]
        if tempo is not None and not (
            isinstance(tempo, int | float) and MIN_TEMPO <= tempo <= MAX_TEMPO
        ):
            raise UserError(f"tempo must be {MIN_TEMPO:g}-{MAX_TEMPO:g} bpm, got {tempo!r}")
        if key is not None:
            parts = key.split()
            try:
                fixed = key_index(parts[0], parts[1] if len(parts) > 1 else "major")
            except (ValueError, IndexError):
                raise UserError(
                    f"unknown key {key!r}; write e.g. 'C major' or 'F# minor'"
                ) from None
        out = []
        for text in texts:
            t = tempo if tempo is not None else parse_tempo(text)
            if t is not None and not MIN_TEMPO <= t <= MAX_TEMPO:  # "1000 bpm" is no tempo
                t = None
            k = fixed if key is not None else parse_key(text)
            out.append({"tempo": t, "key": None if k is None else key_name(k)})
        return out

    @staticmethod
    def _attribute_ids(attrs: list[dict]) -> dict[str, torch.Tensor]:
        from musiclm.stages.attributes import key_index, tempo_bin

        tempo = [tempo_bin(a["tempo"]) if a["tempo"] else -1 for a in attrs]
        key = [key_index(*a["key"].split()) if a["key"] else -1 for a in attrs]
        bpm = [float(a["tempo"]) if a["tempo"] else 0.0 for a in attrs]
        return {"tempo": torch.tensor(tempo), "key": torch.tensor(key), "bpm": torch.tensor(bpm)}

    @torch.no_grad()
    def generate(
        self,
        texts: str | Sequence[str],
        seconds: float = 10.0,
        seed: int | Sequence[int] | None = None,
        options: GenerationOptions = GenerationOptions(),
        progress: Callable[[str, int, int], None] | None = None,
        *,
        tempo: float | None = None,
        key: str | None = None,
    ) -> np.ndarray:
        """Music for each text: float32 ``(len(texts), round(seconds * sample_rate))``.

        ``seed`` fixes every draw (None: a random seed): text ``i`` is drawn with its own
        generator seeded ``seed + i`` (or ``seed[i]`` for a list), so each piece is what
        that text alone with that seed gives, whatever else is in the batch.
        ``progress(stage, done, total)``
        is called as steps complete. ``tempo`` (bpm) and ``key`` ('F# minor') override
        what the texts state, for models with tempo and key tokens (:meth:`attributes`).
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            raise UserError("no text to generate from")
        attrs = self._attribute_ids(self.attributes(texts, tempo, key))
        if not (isinstance(seconds, int | float) and MIN_SECONDS <= seconds <= MAX_SECONDS):
            raise UserError(
                f"seconds must be in [{MIN_SECONDS:g}, {MAX_SECONDS:g}], got {seconds!r}"
            )
        dev = self.device
        attrs = {k: v.to(dev) for k, v in attrs.items()}
        g = [generator(dev, s) for s in self._seeds(seed, len(texts))]
        self.timings = Timings()
        t0 = time.perf_counter()
        # one text at a time: a batch's padding must not change a text's tokens
        mulan = (
            torch.from_numpy(np.concatenate([self.mulan.text_tokens([t]) for t in texts]))
            .long()
            .to(dev)
        )  # (B, L)
        self.timings.add("mulan", t0)
        self._done, self._total = {}, self.plan_steps(len(texts), seconds)
        sem = self._semantic(mulan, attrs, seconds, options, g, progress)
        coarse = self._coarse(mulan, attrs, sem, seconds, options, g, progress)
        fine = self._fine(coarse, options, g, progress)
        t0 = time.perf_counter()
        codes = torch.cat([coarse, fine], dim=1)
        # piece by piece: batched convolutions round differently from a batch of one
        audio = torch.cat([self.codec.batch_decode(c[None]) for c in codes]).float().cpu().numpy()
        self.timings.add("decode", t0)
        n = round(seconds * self.sample_rate)
        out = np.zeros((len(texts), n), np.float32)
        out[:, : min(n, audio.shape[1])] = audio[:, :n]
        return out

    @staticmethod
    def _seeds(seed: int | Sequence[int] | None, n: int) -> list[int]:
        """One seed per text, each in the signed 64-bit range torch takes."""
        if seed is None:
            seed = int(torch.randint(2**62, ()))
        seeds = [int(seed) + i for i in range(n)] if isinstance(seed, int) else list(seed)
        if len(seeds) != n or not all(isinstance(s, int) and 0 <= s < 2**63 for s in seeds):
            raise UserError(f"seed must be one integer in [0, 2**63) per text, got {seed!r}")
        return seeds

    def plan_steps(self, batch: int, seconds: float) -> dict[str, int]:
        """Sequential sampling steps each stage takes for ``batch`` prompts of ``seconds``
        (the totals of the progress bars)."""
        sem, coarse, fine = self.semantic, self.coarse, self.fine
        total = math.ceil(seconds * sem.layout.semantic_rate)
        frames = math.ceil(seconds * coarse.layout.acoustic_rate)
        per, n_coarse = coarse.config.target_frames, 0
        for a in range(0, frames, per):
            n_coarse += coarse.steps_for(min(per, frames - a))
        window = fine.config.target_frames
        chunks = len(self._fine_batches(batch, -(-frames // window)))
        return {"semantic": total, "coarse": n_coarse, "fine": chunks * fine.steps_for(window)}

    @staticmethod
    def _fine_batches(pieces: int, n_win: int) -> list[list[tuple[int, int, int]]]:
        """How the fine windows are sampled: batches of ``(piece, first, end)`` window
        ranges. A piece's windows are cut in blocks of ``FINE_BATCH`` as if it were alone
        (so its draws do not depend on the batch), and blocks of several pieces are
        sampled together while a batch stays within ``FINE_BATCH`` windows (at least one
        block)."""
        blocks = [
            (p, a, min(a + FINE_BATCH, n_win))
            for a in range(0, n_win, FINE_BATCH)
            for p in range(pieces)
        ]
        batches: list[list[tuple[int, int, int]]] = []
        size = 0
        for blk in blocks:
            n = blk[2] - blk[1]
            if batches and size + n <= FINE_BATCH:
                batches[-1].append(blk)
                size += n
            else:
                batches.append([blk])
                size = n
        return batches

    def _timing(self, b: int, start: float, total: float) -> dict:
        return {
            "start_s": torch.full((b,), float(start), device=self.device),
            "total_s": torch.full((b,), float(total), device=self.device),
        }

    def _run(self, stage, name, i, frames, opts, g, progress, prompt=None, **kw):
        """One window of one stage; ``kw`` are :meth:`LayoutConfig.prefix` arguments."""
        lay = stage.layout
        bpm = kw.pop("bpm", None)
        beats = (
            lay.beat_ids(bpm, kw["start_s"], stage.steps_for(frames))
            if lay.has_beats and bpm is not None
            else None
        )
        prefix = lay.prefix(**kw)
        uncond = (
            lay.prefix(**kw, drop=torch.ones(prefix.shape[0], dtype=torch.bool))
            if (lay.conditioned and opts.cfg != 1.0)
            else None
        )

        def tick(n: int) -> None:
            self._done[name] = self._done.get(name, 0) + n
            if progress is not None:
                progress(name, self._done[name], self._total.get(name, -1))

        return stage.generate(
            prefix,
            frames,
            opts.for_stage(i, lay.conditioned),
            uncond_prefix=uncond,
            prompt=prompt,
            generator=g,
            progress=tick,
            beats=beats,
        )

    def _semantic(self, mulan, attrs, seconds, opts, g, progress) -> torch.Tensor:
        """Semantic tokens ``(B, seconds * rate)``: one window, then a sliding window that
        keeps the last half as its prompt."""
        t0 = time.perf_counter()
        st = self.semantic
        rate, window = st.layout.semantic_rate, st.config.target_frames
        total = math.ceil(seconds * rate)
        b = mulan.shape[0]
        first = min(total, window)
        tokens = self._run(
            st,
            "semantic",
            0,
            first,
            opts,
            g,
            progress,
            mulan=mulan,
            **attrs,
            **self._timing(b, 0.0, seconds),
        )
        while tokens.shape[1] < total:
            keep = window // 2
            new = min(window - keep, total - tokens.shape[1])
            start = (tokens.shape[1] - keep) / rate
            more = self._run(
                st,
                "semantic",
                0,
                keep + new,
                opts,
                g,
                progress,
                mulan=mulan,
                prompt=tokens[:, -keep:],
                **attrs,
                **self._timing(b, start, seconds),
            )
            tokens = torch.cat([tokens, more[:, keep:]], dim=1)
        self.timings.add("semantic", t0)
        return tokens

    def _coarse(self, mulan, attrs, sem, seconds, opts, g, progress) -> torch.Tensor:
        """Coarse codes ``(B, Qc, seconds * frame rate)``, window after window."""
        t0 = time.perf_counter()
        st = self.coarse
        lay, window_s = st.layout, st.config.window_seconds
        total = math.ceil(seconds * lay.acoustic_rate)
        sem_window = round(window_s * lay.semantic_rate)
        parts, start = [], 0.0
        b = mulan.shape[0]
        while sum(p.shape[2] for p in parts) < total:
            a = round(start * lay.semantic_rate)
            context = sem[:, a : a + sem_window]
            if context.shape[1] < sem_window:  # the last window: pad with its own end
                pad = context[:, -1:].expand(-1, sem_window - context.shape[1])
                context = torch.cat([context, pad], dim=1)
            frames = min(st.config.target_frames, total - sum(p.shape[2] for p in parts))
            parts.append(
                self._run(
                    st,
                    "coarse",
                    1,
                    frames,
                    opts,
                    g,
                    progress,
                    mulan=mulan,
                    context=context,
                    **attrs,
                    **self._timing(b, start, seconds),
                )
            )
            start += window_s
        self.timings.add("coarse", t0)
        return torch.cat(parts, dim=2)

    def _fine(self, coarse, opts, g, progress) -> torch.Tensor:
        """Fine codes for the coarse codes, in the fine stage's (short) windows. The windows
        depend only on their own coarse codes, so they are sampled side by side as one
        batch (up to ``FINE_BATCH`` windows at a time): 10 s is then 150 steps, not 600."""
        t0 = time.perf_counter()
        st = self.fine
        window = st.config.target_frames
        b, q, total = coarse.shape
        n_win = -(-total // window)
        pad = n_win * window - total  # the last window repeats its last frame
        padded = torch.cat([coarse, coarse[:, :, -1:].expand(-1, -1, pad)], dim=2)
        windows = padded.reshape(b, q, n_win, window).permute(0, 2, 1, 3)  # (B, W, Qc, T)
        g = [g] * b if isinstance(g, torch.Generator) else g
        out: list[list[torch.Tensor]] = [[] for _ in range(b)]
        for batch in self._fine_batches(b, n_win):
            context = torch.cat([windows[p, a:e] for p, a, e in batch])
            rows = [g[p] for p, a, e in batch for _ in range(a, e)]  # a generator per row
            codes = self._run(st, "fine", 2, window, opts, rows, progress, context=context)
            for (p, _, _), part in zip(batch, codes.split([e - a for _, a, e in batch])):
                out[p].append(part)
        fine = torch.stack([torch.cat(parts) for parts in out])  # (B, W, Qf, T)
        fine = fine.permute(0, 2, 1, 3)
        self.timings.add("fine", t0)
        return fine.reshape(b, fine.shape[1], n_win * window)[:, :, :total]


def describe(model: MusicLM) -> dict:
    """Facts for a generation's JSON sidecar."""
    return {
        "sample_rate": model.sample_rate,
        "codec_levels": model.codec.levels,
        "stages": {n: getattr(model, n).config.to_dict() for n in ("semantic", "coarse", "fine")},
    }


__all__ = ["GenerationOptions", "MusicLM", "describe"]
