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
``config.json`` + ``model.safetensors``) and ``pipeline.json`` (defaults); optionally
``tokenizer/``, the semantic tokenizer (only continuation needs it; without it, the
bundled one).

Continuation (``generate(..., continue_from=audio)``) lives in :mod:`musiclm.continuation`.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from musiclm import drafts, songs, windows
from musiclm.conditions import Conditions, Section, check_key, parse
from musiclm.devices import generator
from musiclm.errors import UserError
from musiclm.stages.inputs import StageInputs, Window
from musiclm.stages.lm import StageLM, load_stage
from musiclm.stages.sampling import SamplingOptions
from musiclm.story import Part

if TYPE_CHECKING:
    from musiclm.continuation import Prompt

BUNDLED = Path(__file__).resolve().parent / "assets" / "musiclm"
MIN_SECONDS, MAX_SECONDS = 0.5, 300.0  # below half a second the stages have no window
MAX_CFG = 100.0  # beyond this, guided logits overflow to inf/NaN; useful values are 1-10
MAX_TEMPERATURE = 100.0
PARTS = ("codec", "mulan", "semantic", "coarse", "fine")
OPTIONAL_PARTS = ("tokenizer",)  # the semantic tokenizer (continuation); default: the bundled


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
    unknown = sorted(set(where) - set(PARTS) - set(OPTIONAL_PARTS))
    if unknown:
        names = ", ".join(PARTS + OPTIONAL_PARTS)
        raise UserError(f"{path}: unknown part(s) {unknown}; parts are {names}")
    base = root.resolve().parent
    parts = {}
    for name in PARTS + OPTIONAL_PARTS:
        if name in OPTIONAL_PARTS and name not in where and not (root / name).is_dir():
            continue
        rel = where.get(name, name)
        folder = (root / rel).resolve()
        if Path(rel).is_absolute() or not folder.is_relative_to(base):
            raise UserError(
                f"{path}: part {name} -> {rel!r} lies outside the model folder and its "
                "siblings; copy the part into the folder"
            )
        parts[name] = folder
    return parts


# The default temperatures (semantic, coarse, fine). The paper samples the coarse stage at
# 0.95 (§3.2); from text ours samples it at 0.5: on 16 held-out captions key strength
# 0.587 -> 0.637 and the stated tempo 0.88 -> 0.96 (24 captions), on the eval prompts MCC
# 0.39 -> 0.47 and the instruments heard 0.42 -> 0.50. Pieces that follow given audio keep
# 0.95: at 0.5 an arranged melody is followed less (chroma cosine 0.655 -> 0.548 on 10
# held-out tunes) and a continuation keeps its prompt's tempo less often (11 -> 9 of 12
# engine prompts) (docs/model.md, "Sampling temperatures").
TEXT_TEMPERATURE = (1.0, 0.5, 0.4)
AUDIO_TEMPERATURE = (1.0, 0.95, 0.4)
# story parts' guidance away from their neighbours' texts (GenerationOptions.story_contrast),
# chosen on the dev stories among 0 / 3 / 8 / 20 (docs/songs.md): at 20 the audio turns noisy
STORY_CONTRAST = 8.0
# drafts a continuation makes of its added seconds, the one nearest the prompt's key kept
# (GenerationOptions.drafts): on 48 held-out 10 s prompts chroma r >= 0.7 on 67 % with 2,
# 77 % with 4, at RTF 0.54 -> 0.77 (idle, 2 threads; docs/continuation.md)
CONTINUE_DRAFTS = 4
# drafts of each coarse window of a piece from text, the one that fits the piece's key
# best kept (GenerationOptions.drafts, musiclm.drafts): 4 took the eval prompts' key
# strength 0.633 -> 0.711 and 28 held-out captions' key 17 -> 22 right (docs/model.md,
# "Drafts"); pieces longer than LONG_PIECE_S take LONG_DRAFTS: a 300 s piece on one
# thread ran at RTF 0.43 / 0.72 / 0.98 with 1 / 2 / 4 (key strength 0.74 / 0.84 / 0.85)
TEXT_DRAFTS = 4
LONG_DRAFTS = 2
LONG_PIECE_S = 60.0
MAX_DRAFTS = 8
# guidance toward the melody and key for pieces given a melody (GenerationOptions.pitch_cfg):
# with the semantic stage free of the melody, 1 raised the chroma cosine 0.569 -> 0.658 at
# the same MCC (0.477 / 0.475); 3 cost MCC (0.409) (docs/melody.md)
MELODY_PITCH_CFG = 1.0  # text pieces' planned tunes get none: at 1 the eval's key match
# rose 5 -> 7 of 8 but MCC fell 0.49 -> 0.36 and genre 0.32 -> 0.11 (docs/model.md)


@dataclass(frozen=True)
class GenerationOptions:
    """Sampling settings per stage; the default temperatures are the paper's (§3.2) but
    for the coarse stage's from text, chosen by measurement (:data:`TEXT_TEMPERATURE`)."""

    cfg: float = 3.0  # guidance on the semantic and coarse stages (1: none)
    # semantic, coarse, fine; None: TEXT_TEMPERATURE, or AUDIO_TEMPERATURE for pieces that
    # follow given audio, a melody or a prompt (MusicLM.run; Generation.options says which)
    temperature: tuple[float, float, float] | None = None
    top_k: tuple[int, int, int] = (0, 0, 0)
    top_p: float = 1.0
    # seconds each coarse window overlaps the previous one, crossfaded (songs.stitch);
    # None: 2.5 s for stages with windows >= 10 s, else 0; 0: consecutive windows
    overlap: float | None = None
    # a planned tune (musiclm.tune) for pieces given no melody, for stages that take one:
    # without it the bundled stages' pieces are far less tonal (key strength 0.49 against
    # 0.58 on the eval prompts, docs/model.md); it costs some MCC and instruments heard
    tune: bool = True
    # guidance's unconditional pass keeps the melody (text and MuLan dropped only), so
    # guidance pushes toward the text's style rather than toward text and melody together
    guide_keeps_melody: bool = False
    # drafts the coarse stage samples side by side, one kept (musiclm.drafts): for pieces
    # from text, of each coarse window, the one that fits the piece's key best (None:
    # TEXT_DRAFTS, LONG_DRAFTS past LONG_PIECE_S); for continuations, of the added
    # seconds (the semantic stage too), the one whose mean chroma is nearest the
    # prompt's (None: CONTINUE_DRAFTS). Pieces given a melody take one unless asked.
    # 1: one draft, faster
    drafts: int | None = None
    # the semantic stage reads a melody the user gives (--melody) too; False: the coarse
    # stage alone follows it and the semantic stage the text, which keeps the text's style
    # (MCC with a melody 0.411 -> 0.477, text only 0.499; chroma cosine 0.624 -> 0.569:
    # docs/melody.md). Planned and carried tunes are read by both stages either way
    semantic_melody: bool = False
    # guidance toward the pitch conditions alone, the key token and the melody (a pass
    # without them, all else kept): weight of (conditional - that pass); 0: none;
    # None: MELODY_PITCH_CFG for pieces given a melody (--melody), else 0
    pitch_cfg: float | None = None
    # render the form plan's ending (musiclm.ending): a ring-out over the tail or a
    # fade-out, as the corpus engine ends its songs; False: the model's ending as sampled
    ending: bool = True
    # seconds of the previous story part the first semantic window of a part keeps as
    # its prompt (None: half a window, 5 s for the bundled stages; docs/songs.md)
    story_keep: float | None = None
    # guidance away from the neighbouring story parts' texts: weight of (conditional -
    # the pass with a neighbour's MuLan tokens), shared among the neighbours; 0: none
    story_contrast: float = STORY_CONTRAST

    def __post_init__(self) -> None:
        def bad(what: str) -> UserError:
            return UserError(f"{what}, got {self}")

        if not (isinstance(self.cfg, int | float) and 0 <= self.cfg <= MAX_CFG):
            raise bad(f"guidance (cfg) must be a number in [0, {MAX_CFG:g}]")
        if self.pitch_cfg is not None and not (
            isinstance(self.pitch_cfg, int | float) and 0 <= self.pitch_cfg <= MAX_CFG
        ):
            raise bad(f"pitch guidance (pitch_cfg) must be a number in [0, {MAX_CFG:g}]")
        if not (isinstance(self.story_contrast, int | float)
                and 0 <= self.story_contrast <= MAX_CFG):  # fmt: skip
            raise bad(f"story contrast (story_contrast) must be a number in [0, {MAX_CFG:g}]")
        if self.temperature is not None and (len(self.temperature) != 3 or not all(
            isinstance(t, int | float) and 0 <= t <= MAX_TEMPERATURE for t in self.temperature
        )):  # fmt: skip
            raise bad(f"temperature must be three numbers in [0, {MAX_TEMPERATURE:g}]")
        if len(self.top_k) != 3 or not all(isinstance(k, int) and k >= 0 for k in self.top_k):
            raise bad("top_k must be three integers >= 0 (0: all tokens)")
        if not (isinstance(self.top_p, int | float) and 0 < self.top_p <= 1):
            raise bad("top_p must be in (0, 1]")
        if self.drafts is not None and not (
            isinstance(self.drafts, int) and 1 <= self.drafts <= MAX_DRAFTS
        ):
            raise bad(f"drafts must be None or an integer in [1, {MAX_DRAFTS}]")
        if self.story_keep is not None and not (
            isinstance(self.story_keep, int | float) and 0 <= self.story_keep <= 60
        ):
            raise bad("story_keep must be None or seconds in [0, 60]")

    def resolved(
        self, follows_audio: bool = False, melody: bool = False, seconds: float | None = None
    ) -> GenerationOptions:
        """These options with their temperatures, pitch guidance and drafts set: as given,
        else the defaults for pieces from text, or for pieces that follow given audio (a
        melody to arrange, a prompt to continue); ``melody``: a melody was given;
        ``seconds``: the piece's length (longer pieces from text take fewer drafts)."""
        temperature = self.temperature
        if temperature is None:
            temperature = AUDIO_TEMPERATURE if follows_audio else TEXT_TEMPERATURE
        pitch = self.pitch_cfg
        if pitch is None:
            pitch = MELODY_PITCH_CFG if melody else 0.0
        drafts = self.drafts
        if drafts is None:
            long = seconds is not None and seconds > LONG_PIECE_S
            drafts = (1 if melody else CONTINUE_DRAFTS if follows_audio
                      else LONG_DRAFTS if long else TEXT_DRAFTS)  # fmt: skip
        return dataclasses.replace(self, temperature=temperature, pitch_cfg=pitch, drafts=drafts)

    @property
    def pitch_weight(self) -> float:
        """The pitch guidance weight (``pitch_cfg`` as resolved; unresolved: 0)."""
        return 0.0 if self.pitch_cfg is None else float(self.pitch_cfg)

    def drafts_for_continuation(self) -> int:
        """Drafts a continuation makes of its added seconds (:data:`CONTINUE_DRAFTS` unless
        given)."""
        return CONTINUE_DRAFTS if self.drafts is None else self.drafts

    def for_stage(self, i: int, guided: bool) -> SamplingOptions:
        return SamplingOptions(
            temperature=self.resolved().temperature[i],
            top_k=self.top_k[i],
            top_p=self.top_p,
            cfg=self.cfg if guided else 1.0,
        )


@dataclass
class Timings:
    """Wall seconds per part of one :meth:`MusicLM.run` call."""

    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, t0: float) -> float:
        """Adds the seconds since ``t0`` to ``name``'s, and returns them."""
        took = time.perf_counter() - t0
        self.seconds[name] = self.seconds.get(name, 0.0) + took
        return took


class MusicLM:
    """The whole text-to-music model. Build it from parts or load a folder."""

    def __init__(self, *, mulan, codec, semantic: StageLM, coarse: StageLM, fine: StageLM,
                 tokenizer=None):  # fmt: skip
        self.mulan, self.codec = mulan, codec
        self.semantic, self.coarse, self.fine = semantic, coarse, fine
        # the semantic tokenizer: only continuation needs it, so it loads on first use
        self._tokenizer, self._tokenizer_path = tokenizer, None  # path None: the bundled one
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
    def semantic_tokenizer(self):
        """The :class:`~musiclm.semantic.SemanticTokenizer` whose tokens the semantic
        stage models: the folder's ``tokenizer/`` part, else the bundled one, loaded on
        first use (generation from text never needs it)."""
        if self._tokenizer is None:
            from musiclm.semantic.tokenizer import SemanticTokenizer

            tok = SemanticTokenizer.from_pretrained(self._tokenizer_path)
            vocab = self.semantic.layout.semantic_codebook
            if tok.codebook_size != vocab:
                raise UserError(
                    f"the semantic tokenizer has {tok.codebook_size} tokens; the semantic "
                    f"stage models {vocab}: put the stage's tokenizer in the model's tokenizer/"
                )
            self._tokenizer = tok.to(self.device)
        return self._tokenizer

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
        if self._tokenizer is not None:
            self._tokenizer.to(dev)
        return self

    @classmethod
    def debug(
        cls,
        seed: int = 0,
        attributes: bool = False,
        beats: bool = False,
        *,
        form: bool = False,
        melody: bool = False,
    ) -> MusicLM:
        """Random, tiny parts (8 kHz codec, debug MuLan, 1-layer stages): builds in a second,
        for tests and for trying the API; its output is noise-like, not music.
        ``attributes``: the semantic and coarse stages take tempo and key tokens (and the
        beat phase with ``beats``); ``form``: the form plan's sections; ``melody``: the
        per-frame melody."""
        from musiclm.codec.config import CodecConfig
        from musiclm.codec.model import Codec
        from musiclm.mulan.config import MuLanConfig
        from musiclm.mulan.model import MuLan
        from musiclm.stages.config import StageConfig
        from musiclm.stages.layout import LayoutConfig

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
            form=form,
            melody=melody,
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
        from musiclm.semantic.config import SemanticConfig
        from musiclm.semantic.tokenizer import SemanticTokenizer

        tok = SemanticTokenizer(SemanticConfig.preset("debug").replace(iteration=0)).eval()
        tok.centroids.normal_()  # distinct centroids: varied tokens
        return cls(mulan=mulan, codec=codec, **stages, tokenizer=tok)

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
        model._tokenizer_path = parts.get("tokenizer")
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
        if self._tokenizer is not None or self._tokenizer_path is not None:
            self.semantic_tokenizer.save_pretrained(root / "tokenizer")  # fp32: see docs
        write_json_atomic(root / "pipeline.json", {"format_version": 1})

    # -- generation ----------------------------------------------------------------------

    @property
    def takes_attributes(self) -> bool:
        """Whether the stages take tempo and key tokens."""
        return self.semantic.layout.has_attributes or self.coarse.layout.has_attributes

    @torch.no_grad()
    def conditions(
        self,
        texts: str | Sequence[str],
        tempo: float | None = None,
        key: str | None = None,
        *,
        mulan: bool = True,
    ) -> list[Conditions]:
        """Each prompt's :class:`Conditions`, made once (:func:`musiclm.conditions.parse`):
        the text's MuLan tokens, and the tempo (bpm) and key it is generated at: ``tempo``
        / ``key`` when given, else what the text states, else None (the model decides).
        Models without tempo and key tokens refuse explicit values. ``mulan=False``: parsed
        and checked only; :meth:`run` adds the MuLan tokens, timed with the rest of its call."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            raise UserError("no text to generate from")
        parsed = [parse(t, tempo, key, attributes=self.takes_attributes) for t in texts]
        return self._with_mulan(parsed) if mulan else parsed

    def _with_mulan(self, conds: list[Conditions]) -> list[Conditions]:
        """``conds``, each with its text's MuLan tokens (those that have them as they are)."""
        # one text at a time: a batch's padding must not change a text's tokens
        tokens = self.mulan.text_tokens
        return [
            c if c.mulan is not None else c.with_mulan(torch.from_numpy(tokens([c.text])[0]))
            for c in conds
        ]

    def attributes(
        self, texts: Sequence[str], tempo: float | None = None, key: str | None = None
    ) -> list[dict]:
        """The tempo and key each prompt is generated at (:meth:`conditions` without the
        MuLan tokens): ``[{"tempo": 85.0, "key": "A minor"}, ...]``, None where unknown."""
        return [parse(t, tempo, key, attributes=self.takes_attributes).attributes() for t in texts]

    @torch.no_grad()
    def generate(
        self,
        texts: str | Sequence[str] | None = None,
        seconds: float = 10.0,
        seed: int | Sequence[int] | None = None,
        options: GenerationOptions = GenerationOptions(),
        progress: Callable[[str, int, int], None] | None = None,
        *,
        tempo: float | None = None,
        key: str | None = None,
        continue_from=None,
        form: str | Sequence[Section] | None = None,
        story: Sequence[tuple[float, str]] | None = None,
        melody=None,
    ) -> np.ndarray:
        """Music for each text: float32 ``(len(texts), round(seconds * sample_rate))``.

        ``seed`` fixes every draw (None: a random seed): text ``i`` is drawn with its own
        generator seeded ``seed + i`` (or ``seed[i]`` for a list), so each piece is what
        that text alone with that seed gives, whatever else is in the batch.
        ``progress(stage, done, total)``
        is called as steps complete. ``tempo`` (bpm) and ``key`` ('F# minor') override
        what the texts state, for models with tempo and key tokens (:meth:`conditions`).
        ``continue_from`` (a path, an array at :attr:`sample_rate`, ``(array, rate)`` or
        an :meth:`encode_prompt` result) continues that audio: each piece begins with it
        and is ``seconds`` long in all; ``texts`` may then be None (the prompt's own MuLan
        tokens condition it), and tempo and key default to the prompt's
        (:mod:`musiclm.continuation`).
        ``form``: the sections of every piece, ``"intro 8, verse 16, ..."`` (seconds,
        :func:`musiclm.form.parse_form`) or a list of :class:`Section`; by default each piece
        gets a plan (:func:`musiclm.form.plan_form`). ``story``: one piece whose text
        changes, ``[(0, "whistling over techno"), (30, "a calm piano outro")]``
        (:meth:`story`; no ``texts`` then). ``melody`` (a path, an array at
        :attr:`sample_rate` or ``(array, rate)``: a hummed, whistled or played tune) is
        arranged as the texts ask, looped or cut to ``seconds``; its tempo (or half or
        double it, to suit each text) and key are the pieces' unless ``tempo``/``key`` say
        otherwise (:meth:`with_melody`). :meth:`run` also returns the conditions (with the
        form) and the timings.
        """
        conds, parts, prompt = self.prepare(texts, seconds, tempo=tempo, key=key, form=form,
                                            story=story, melody=melody,
                                            continue_from=continue_from)  # fmt: skip
        made = self.run(conds, seconds, seed, options, progress, story=parts, continue_from=prompt)
        return made.audio

    def prepare(
        self,
        texts: str | Sequence[str] | None,
        seconds: float,
        *,
        tempo: float | None = None,
        key: str | None = None,
        form: str | Sequence[Section] | None = None,
        story: Sequence[tuple[float, str]] | None = None,
        melody=None,
        continue_from=None,
    ) -> tuple[list[Conditions], list[Part] | None, Prompt | None]:
        """What :meth:`run` takes for a call of :meth:`generate` (the same arguments):
        the pieces' conditions, a story's parts (None: no story) and the encoded
        continuation prompt (None: none), every bad value refused first. ``generate``,
        ``musiclm generate`` and the studio all start here."""
        parts, prompt = None, None
        if melody is not None and (story is not None or continue_from is not None):
            raise UserError("a melody cannot be given with a story or a continuation")
        if story is not None:
            if texts:
                raise UserError("give either texts or a story, not both")
            if continue_from is not None:
                raise UserError("a story cannot continue given audio; give one or the other")
            parts = self.story(story, seconds, tempo, key)
            conds = [parts[0].conditions]
        elif continue_from is not None:
            from musiclm import continuation

            prompt, conds = continuation.prepare(self, texts, continue_from, seconds, tempo, key)
        else:
            conds = self.conditions(texts, tempo, key, mulan=False)  # run() makes and times them
        if form is not None:
            from musiclm.form import check_form, parse_form

            plan = parse_form(form, seconds) if isinstance(form, str) else check_form(form, seconds)
            conds = [dataclasses.replace(c, form=plan) for c in conds]
        if melody is not None:  # an array without its rate is at the model's
            conds = self.with_melody(conds, melody, seconds, self.sample_rate, tempo=tempo, key=key)
        return conds, parts, prompt

    def encode_prompt(self, source, sample_rate: int | None = None):
        """A continuation prompt read, checked and encoded once
        (:func:`musiclm.continuation.encode`): pass it to :meth:`run` as ``continue_from``."""
        from musiclm.continuation import encode

        return encode(self, source, sample_rate=sample_rate)

    @torch.no_grad()
    def story(
        self,
        parts: Sequence[tuple[float, str]],
        seconds: float,
        tempo: float | None = None,
        key: str | None = None,
    ) -> list[Part]:
        """The parts of a story (MusicLM §4; :mod:`musiclm.story`), checked against the
        piece's ``seconds``, each with its conditions made (:meth:`conditions`); a part
        whose text states no tempo keeps the previous part's."""
        from musiclm.story import carry_tempo, check_parts

        checked = check_parts(parts, seconds)
        conds = self.conditions([t for _, t in checked], tempo, key)
        return carry_tempo([Part(s, c) for (s, _), c in zip(checked, conds)])

    @torch.no_grad()
    def run(
        self,
        conditions: Sequence[Conditions] | None,
        seconds: float = 10.0,
        seed: int | Sequence[int] | None = None,
        options: GenerationOptions = GenerationOptions(),
        progress: Callable[[str, int, int], None] | None = None,
        *,
        continue_from=None,
        story: Sequence[Part] | None = None,
    ) -> Generation:
        """Music for each prompt's :class:`Conditions` (see :meth:`conditions`), with the
        timings of this call: :meth:`generate`'s work, re-entrant (nothing is kept on the
        model between calls). Conditions without MuLan tokens get them here, and the
        timings then have a ``"mulan"`` part. ``continue_from``: an :meth:`encode_prompt`
        result every piece continues (its conditions: :func:`musiclm.continuation.conditions`).
        ``story`` (:meth:`story`): one piece made of its parts (``conditions`` then None or
        the first part's). A piece without a form gets its plan here (:meth:`with_forms`),
        so the conditions returned carry it."""
        if story is not None:
            story = list(story)
            first = story[0].conditions if story else None
            given = list(conditions or [first])
            # the first part's conditions, their form perhaps set (generate(story=, form=))
            if not story or len(given) != 1 or not _same_but_form(given[0], first):
                raise UserError("a story is one piece: give its parts, not other conditions")
            conditions = given
        conds = list(conditions or ())
        if not conds:
            raise UserError("no text to generate from")
        if not (isinstance(seconds, int | float) and MIN_SECONDS <= seconds <= MAX_SECONDS):
            raise UserError(
                f"seconds must be in [{MIN_SECONDS:g}, {MAX_SECONDS:g}], got {seconds!r}"
            )
        dev = self.device
        # a melody given (with_melody) rather than planned (with_tunes, below), or a prompt
        given = continue_from is not None or any(c.melody is not None for c in conds)
        options = options.resolved(follows_audio=given, melody=any(c.given_melody for c in conds),
                                   seconds=seconds)  # fmt: skip
        seeds = self._seeds(seed, len(conds))
        g = [generator(dev, s) for s in seeds]
        conds = self.with_forms(conds, seconds, seeds)
        prompt = None
        if continue_from is not None:
            from musiclm import continuation

            prompt = self.encode_prompt(continue_from)
            if options.tune:  # the prompt's own tune, carried on
                conds = continuation.with_tune(conds, prompt, seconds)
        elif options.tune and story is None:  # a story's parts get theirs below
            conds = self.with_tunes(conds, seconds, seeds)
        overlap = songs.overlap_for(self.coarse.config.window_seconds, options.overlap)
        starts = tuple(p.start for p in story) if story is not None else (0.0,)
        steps = self.plan_steps(len(conds), seconds, overlap=overlap, breaks=starts[1:])
        call = _Call(steps, progress)
        if any(c.mulan is None for c in conds):
            t0 = time.perf_counter()
            conds = self._with_mulan(conds)
            call.timings.add("mulan", t0)
        if story is not None:  # every part shares the piece's form
            story = [Part(p.start, dataclasses.replace(p.conditions, form=conds[0].form))
                     for p in story]  # fmt: skip
            if options.tune:
                story = self.story_tunes(story, seconds, seeds[0], tempo=conds[0].tempo)
                conds = [story[0].conditions]
            timeline = songs.Timeline(tuple(p.start for p in story),
                                      tuple((p.conditions,) for p in story))  # fmt: skip
        else:
            timeline = songs.Timeline.single(conds)
        if prompt is None and not any(c.key is not None for p in timeline.parts for c in p):
            options = dataclasses.replace(options, drafts=1)  # no key for a draft to fit
        n = round(seconds * self.sample_rate)
        out = np.zeros((len(conds), n), np.float32)
        if prompt is not None:
            coarse, fine = continuation.continue_codes(self, conds, prompt, seconds, options, g,
                                                       call)  # fmt: skip
            pieces = self._decode(coarse, fine, call)
        elif overlap:
            sem = self._semantic(timeline, seconds, options, g, call)
            pieces = self._stitched(timeline, sem, seconds, overlap, options, g, call)
        else:
            sem = self._semantic(timeline, seconds, options, g, call)
            coarse = self._coarse(timeline, sem, seconds, options, g, call)
            fine = self._fine(coarse, options, g, call)
            pieces = self._decode(coarse, fine, call)
        for i in range(len(pieces)):
            y, pieces[i] = pieces[i].float().cpu().numpy(), None  # one copy at a time
            out[i, : min(n, y.shape[0])] = y[:n]
        keep = 0
        if prompt is not None:  # the prompt as given, crossfaded into the rest
            out = continuation.join(prompt.audio, out, self.sample_rate)
            keep = len(prompt.audio)
        if options.ending:
            from musiclm import ending

            ending.finish(out, [c.form for c in conds], self.sample_rate, keep=keep, inplace=True)
        return Generation(out, conds, call.timings, story, options)

    def _decode(self, coarse, fine, call: _Call) -> list[torch.Tensor]:
        """Each piece's audio from its codes: piece by piece (batched convolutions round
        differently from a batch of one), long pieces in crossfaded chunks (songs.decode),
        so memory stays flat."""
        t0 = time.perf_counter()
        codes = torch.cat([coarse, fine], dim=1)
        pieces = [songs.decode(self.codec, c) for c in codes]
        call.timings.add("decode", t0)
        return pieces

    @property
    def takes_melody(self) -> bool:
        """Whether the stages take a per-frame melody (``generate --melody``, the tune)."""
        return any(getattr(s.layout, "melody", False) for s in (self.semantic, self.coarse))

    def with_tunes(
        self, conditions: Sequence[Conditions], seconds: float, seeds: Sequence[int]
    ) -> list[Conditions]:
        """Each piece given no melody gets a planned tune over its form, in its key
        (:func:`musiclm.tune.plan_tune`), for stages that take a melody; a piece with no
        key gets the tune's, so key token and notes agree. Other models: unchanged."""
        if not self.takes_melody:
            return list(conditions)
        from musiclm.form import plan_form
        from musiclm.tune import plan_key, plan_tune

        out = []
        for c, s in zip(conditions, seeds):
            if c.melody is not None or not c.form:
                out.append(c)
                continue
            plan = plan_form(c.text, seconds, tempo=c.tempo, seed=s)
            key = c.key if c.key is not None else plan_key(plan.genre, s)
            tempo = c.tempo or plan.tempo
            ids = plan_tune(c.form, seconds, genre=plan.genre, tempo=tempo, meter=plan.meter,
                            key=key, seed=s, ending=plan.ending)  # fmt: skip
            melody = torch.from_numpy(ids)
            out.append(dataclasses.replace(c, melody=melody, key=key, tempo=tempo, tune=True))
        return out

    def story_tunes(
        self, story: Sequence[Part], seconds: float, seed: int, *, tempo: float | None = None
    ) -> list[Part]:
        """Each story part with a planned tune for its own text (:meth:`with_tunes`, the
        piece's form and seed), in the previous part's key and tempo unless its text
        states others; ``tempo``: the first part's if its text states none (the plan's).
        Measured on 20 two-part stories: parts nearer their own text 26 -> 34 of 40
        (docs/songs.md, story mode). Models whose stages take no melody: unchanged."""
        if not self.takes_melody or not story:
            return list(story)
        first = story[0].conditions
        if first.tempo is None:
            first = dataclasses.replace(first, tempo=tempo)
        first = self.with_tunes([first], seconds, [seed])[0]
        out = [Part(story[0].start, first)]
        for p in story[1:]:
            c, prev = p.conditions, out[-1].conditions
            c = dataclasses.replace(c, key=prev.key if c.key is None else c.key,
                                    tempo=c.tempo or prev.tempo)  # fmt: skip
            out.append(Part(p.start, self.with_tunes([c], seconds, [seed])[0]))
        return out

    def with_melody(
        self,
        conditions: Sequence[Conditions],
        source,
        seconds: float,
        sample_rate: int | None = None,
        *,
        tempo: float | None = None,
        key: str | None = None,
    ) -> list[Conditions]:
        """Every piece arranges the melody in ``source`` (a path, an array at
        ``sample_rate``, ``(array, rate)``, or a :class:`musiclm.melody.Melody` already read
        for ``seconds``; :func:`musiclm.melody.read_melody`): its ids fitted to ``seconds``,
        and, unless ``tempo``/``key`` are given (as the conditions already hold them), the
        melody's own key and tempo, so the beat and key tokens agree with the notes; the
        tempo halved or doubled where that suits the text's stated tempo or genre better
        (:func:`musiclm.melody.piece_tempo`: the same notes in half or double time).

        Raises:
            UserError: the model's stages take no melody; a bad melody file or array.
        """
        if not self.takes_melody:
            raise UserError(
                "this model's stages take no melody; use one whose semantic or coarse stage "
                "was trained with `musiclm stage train ... --melody`"
            )
        from musiclm.melody import Melody, piece_tempo, read_melody

        m = source if isinstance(source, Melody) else read_melody(source, seconds, sample_rate)
        ids = torch.from_numpy(m.ids)
        out = []
        for c in conditions:
            new = {"melody": ids, "tune": False}
            if self.takes_attributes:
                if tempo is None and m.tempo is not None:  # the octave that fits the text
                    new["tempo"] = piece_tempo(m.tempo, c.text, c.tempo)
                if key is None and m.key is not None:
                    new["key"] = check_key(m.key)
            out.append(dataclasses.replace(c, **new))
        return out

    @property
    def takes_form(self) -> bool:
        """Whether the stages take the form plan (per-frame sections): then a repeated
        section restates the first one's semantic tokens, and a plan's tempo is stated."""
        return any(getattr(s.layout, "form", False) for s in (self.semantic, self.coarse))

    def with_forms(
        self, conditions: Sequence[Conditions], seconds: float, seeds: Sequence[int]
    ) -> list[Conditions]:
        """Each piece's conditions with a form: its own (checked against ``seconds``) or
        a plan sampled for its text with its seed (:func:`musiclm.form.plan_form`). For
        stages that take the form, a piece with no tempo is given the plan's: its
        sections end on that tempo's bar lines, as the training songs' did."""
        from musiclm.form import check_form, plan_form

        out = []
        for c, s in zip(conditions, seeds):
            if c.form is not None:
                out.append(dataclasses.replace(c, form=check_form(c.form, seconds)))
                continue
            plan = plan_form(c.text, seconds, tempo=c.tempo, seed=s)
            tempo = c.tempo
            if tempo is None and self.takes_form and self.takes_attributes:
                tempo = plan.tempo
            out.append(dataclasses.replace(c, form=plan.sections, tempo=tempo))
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

    def plan_steps(
        self, batch: int, seconds: float, *, overlap: float = 0.0, breaks: Sequence[float] = ()
    ) -> dict[str, int]:
        """Sequential sampling steps each stage takes for ``batch`` prompts of ``seconds``
        (the totals of the progress bars); ``overlap``: seconds the coarse windows
        overlap, ``breaks``: a story's part starts after the first."""
        sem, coarse, fine = self.semantic, self.coarse, self.fine
        total = windows.frames(seconds, sem.layout.semantic_rate)
        rate = coarse.layout.acoustic_rate
        n = windows.frames(seconds, rate)
        cut = [round(b * rate) for b in breaks]
        if overlap:
            wins = self._stitched_windows(n, overlap, cut)
            n = sum(w.frames for w in wins)  # the fine stage makes every window's frames
        else:
            wins = self._coarse_windows(n, cut)
        n_coarse = sum(coarse.steps_for(w.frames) for w in wins)
        window = fine.config.target_frames
        chunks = len(windows.fine_batches(batch, -(-n // window)))
        return {"semantic": total, "coarse": n_coarse, "fine": chunks * fine.steps_for(window)}

    def _coarse_windows(self, total: int, breaks: Sequence[int] = ()):
        st = self.coarse
        return windows.coarse_windows(
            total, st.config.target_frames, st.config.window_seconds, st.layout.semantic_rate,
            breaks,
        )  # fmt: skip

    def _stitched_windows(self, total: int, overlap: float, breaks: Sequence[int] = ()):
        ov = round(overlap * self.coarse.layout.acoustic_rate)
        lead = max(1, round(songs.LEAD * ov))
        return windows.stitched_windows(total, self.coarse.config.target_frames, ov, lead, breaks)

    def _stitched(self, timeline: songs.Timeline, sem, seconds, overlap, opts, g, call: _Call):
        """Audio of each piece from overlapping coarse windows (:func:`songs.stitch`):
        the coarse stage samples every window (taking the conditions of the part its
        take-over lies in), the fine stage the windows' codes end to end, the codec
        decodes window by window (so memory stays flat in length)."""
        t0 = time.perf_counter()
        st = self.coarse
        rate, sem_rate = st.layout.acoustic_rate, st.layout.semantic_rate
        sem_window = round(st.config.window_seconds * sem_rate)
        total = windows.frames(seconds, rate)
        wins = self._stitched_windows(total, overlap, timeline.breaks(rate))
        n, gens = self._drafts(opts, g)
        inputs = self._part_inputs(st, timeline, n)
        parts, scoring = [], 0.0
        for w in wins:
            first = round(w.start * sem_rate / rate)
            context = sem[:, first : first + sem_window]
            if context.shape[1] < sem_window:  # the last window: pad with its own end
                pad = context[:, -1:].expand(-1, sem_window - context.shape[1])
                context = torch.cat([context, pad], dim=1)
            window = Window(w.start / rate, seconds, st.steps_for(w.frames), context)
            k = timeline.part_at(w.fade_in, rate)
            codes, took = self._coarse_window(inputs[k], timeline.parts[k], window, w.frames,
                                              opts, gens, n, call)  # fmt: skip
            parts.append(codes)
            scoring += took
        call.timings.add("coarse", t0 + scoring)
        coarse = torch.cat(parts, dim=2)  # the windows end to end, overlaps twice
        codes = torch.cat([coarse, self._fine(coarse, opts, g, call)], dim=1)
        t0 = time.perf_counter()
        bounds = np.cumsum([0] + [w.frames for w in wins])
        fade = max(1, round(songs.FADE * overlap * rate))
        out = []
        for c in codes:
            spans = zip(bounds, bounds[1:])
            audio = (self.codec.batch_decode(c[None, :, a:b])[0] for a, b in spans)  # lazily
            out.append(songs.stitch(audio, wins, fade, self.codec.hop_length, total))
        call.timings.add("decode", t0)
        return out

    def _part_inputs(
        self, stage: StageLM, timeline: songs.Timeline, drafts_per_piece: int = 1
    ) -> list[StageInputs]:
        """Each story part's stage inputs (one part for a piece that is no story), with
        its neighbouring parts' conditions to contrast with; each piece's row
        ``drafts_per_piece`` times in a row (musiclm.drafts)."""
        n = drafts_per_piece

        def rows(p):
            return tuple(c for c in p for _ in range(n))

        return [StageInputs(stage.layout, rows(p), self.device,
                            tuple(rows(o) for o in timeline.neighbours(k)))
                for k, p in enumerate(timeline.parts)]  # fmt: skip

    def _drafts(self, opts: GenerationOptions, g):
        """Drafts per piece of each coarse window (``opts.drafts``, as :meth:`run` resolved
        it: one when no piece has a key to fit), and every draft's generator."""
        n = opts.drafts or 1
        return n, (drafts.generators(g, n, self.device) if n > 1 else g)

    def _coarse_window(self, inputs: StageInputs, conds: Sequence[Conditions], window: Window,
                       frames: int, opts: GenerationOptions, gens, n: int,
                       call: _Call) -> tuple[torch.Tensor, float]:  # fmt: skip
        """One coarse window of every piece, and the seconds spent choosing among drafts:
        with ``n`` drafts a piece, they are sampled side by side and the one whose
        coarse codes decode nearest its key (``conds``' key, :func:`drafts.key_fits`)
        is kept; a piece without a key keeps its first."""
        if n == 1:
            return self._sample(self.coarse, "coarse", 1, inputs, window, frames, opts, gens,
                                call), 0.0  # fmt: skip
        window = dataclasses.replace(window, context=drafts.repeat_rows(window.context, n))
        codes = self._sample(self.coarse, "coarse", 1, inputs, window, frames, opts, gens, call)
        t0 = time.perf_counter()
        scores = drafts.key_fits(self.codec, codes, [c.key for c in conds for _ in range(n)])
        kept = drafts.keep(codes, drafts.best(scores, n), n)
        return kept, call.timings.add("drafts", t0)

    def _sample(self, stage: StageLM, name: str, i: int, inputs: StageInputs, window: Window,
                frames: int, opts: GenerationOptions, g, call: _Call, prompt=None):  # fmt: skip
        """One window of one stage."""
        x = inputs(window, guided=opts.cfg != 1.0, keep_melody=opts.guide_keeps_melody,
                   pitch=opts.pitch_weight > 0, contrast=opts.story_contrast > 0)  # fmt: skip
        guides = []
        if x.pitchless_prefix is not None:
            guides.append((x.pitchless_prefix, x.pitchless_per_frame, opts.pitch_weight))
        for p in x.contrast_prefixes:
            guides.append((p, x.per_frame, opts.story_contrast / len(x.contrast_prefixes)))
        return stage.generate(
            x.prefix,
            frames,
            opts.for_stage(i, stage.layout.conditioned),
            uncond_prefix=x.uncond_prefix,
            prompt=prompt,
            generator=g,
            progress=lambda n: call.tick(name, n),
            frame_ids=x.per_frame,
            uncond_frame_ids=x.uncond_per_frame,
            guides=guides,
        )

    def _semantic(self, timeline: songs.Timeline, seconds, opts, g, call: _Call) -> torch.Tensor:
        """Semantic tokens ``(B, seconds * rate)`` over the sliding windows: each window
        takes the conditions of the part its new frames start in; with stages that take
        the form, a repeated section restates the first one's opening (songs.copies).
        Pieces whose schedules differ are sampled apart."""
        t0 = time.perf_counter()
        st = self.semantic
        if not opts.semantic_melody:
            timeline = timeline.without_given_melody()
        rate, window = st.layout.semantic_rate, st.config.target_frames
        total = windows.frames(seconds, rate)
        forms = [c.form if self.takes_form else None for c in timeline.parts[0]]
        # a restatement stays within a story part: a second chorus in another part's text
        # restating the first part's chorus would carry the old text's music into it
        plans = [tuple(c for c in songs.copies(f, rate, window)
                       if timeline.part_at(c.src, rate) == timeline.part_at(c.start, rate))
                 for f in forms]  # fmt: skip
        out: list[torch.Tensor | None] = [None] * len(plans)
        for idx in songs.groups(plans):
            sub = timeline.pieces(idx) if len(idx) < len(plans) else timeline
            inputs = self._part_inputs(st, sub)
            rows = [g[i] for i in idx] if len(idx) < len(plans) else g
            keep = None if opts.story_keep is None else round(opts.story_keep * rate)
            schedule = windows.song_windows(total, window, sub.breaks(rate), plans[idx[0]], keep)
            tokens = None
            for w in schedule:
                if isinstance(w, windows.Copy):  # a repeated section's opening, restated
                    tokens = torch.cat([tokens, tokens[:, w.src : w.src + w.frames]], dim=1)
                    call.tick("semantic", w.frames)
                    continue
                prompt = None if tokens is None or not w.keep else tokens[:, -w.keep :]
                at = inputs[sub.part_at(w.start + w.keep, rate)]
                win = Window(w.start / rate, seconds, st.steps_for(w.frames))
                part = self._sample(st, "semantic", 0, at, win, w.frames, opts, rows, call, prompt)
                tokens = part if tokens is None else torch.cat([tokens, part[:, w.keep :]], dim=1)
            for i, t in zip(idx, tokens):
                out[i] = t
        call.timings.add("semantic", t0)
        return torch.stack(out)

    def _coarse(self, timeline: songs.Timeline, sem, seconds, opts, g, call: _Call) -> torch.Tensor:
        """Coarse codes ``(B, Qc, seconds * frame rate)``, window after window; a window
        takes the conditions of the part it lies in (no window spans two)."""
        t0 = time.perf_counter()
        st = self.coarse
        rate = st.layout.acoustic_rate
        sem_window = round(st.config.window_seconds * st.layout.semantic_rate)
        n, gens = self._drafts(opts, g)
        inputs = self._part_inputs(st, timeline, n)
        parts, done, scoring = [], 0, 0.0
        for w in self._coarse_windows(windows.frames(seconds, rate), timeline.breaks(rate)):
            context = sem[:, w.semantic : w.semantic + sem_window]
            if context.shape[1] < sem_window:  # the last window: pad with its own end
                pad = context[:, -1:].expand(-1, sem_window - context.shape[1])
                context = torch.cat([context, pad], dim=1)
            window = Window(w.start_s, seconds, st.steps_for(w.frames), context)
            k = timeline.part_at(done, rate)
            codes, took = self._coarse_window(inputs[k], timeline.parts[k], window, w.frames,
                                              opts, gens, n, call)  # fmt: skip
            parts.append(codes)
            scoring += took
            done += w.frames
        call.timings.add("coarse", t0 + scoring)
        return torch.cat(parts, dim=2)

    def _fine(self, coarse, opts, g, call: _Call | None = None) -> torch.Tensor:
        """Fine codes for the coarse codes, in the fine stage's (short) windows. The windows
        depend only on their own coarse codes, so they are sampled side by side as one
        batch (up to ``FINE_BATCH`` windows at a time): 10 s is then 150 steps, not 600."""
        t0 = time.perf_counter()
        call = call or _Call({}, None)
        st = self.fine
        window = st.config.target_frames
        b, q, total = coarse.shape
        n_win = -(-total // window)
        pad = n_win * window - total  # the last window repeats its last frame
        padded = torch.cat([coarse, coarse[:, :, -1:].expand(-1, -1, pad)], dim=2)
        wins = padded.reshape(b, q, n_win, window).permute(0, 2, 1, 3)  # (B, W, Qc, T)
        g = [g] * b if isinstance(g, torch.Generator) else g
        out: list[list[torch.Tensor]] = [[] for _ in range(b)]
        inputs = StageInputs(st.layout, (), self.device)  # the fine stage is unconditioned
        for batch in windows.fine_batches(b, n_win):
            context = torch.cat([wins[p, a:e] for p, a, e in batch])
            rows = [g[p] for p, a, e in batch for _ in range(a, e)]  # a generator per row
            w = Window(0.0, 0.0, st.steps_for(window), context)
            codes = self._sample(st, "fine", 2, inputs, w, window, opts, rows, call)
            for (p, _, _), part in zip(batch, codes.split([e - a for _, a, e in batch])):
                out[p].append(part)
        fine = torch.stack([torch.cat(parts) for parts in out])  # (B, W, Qf, T)
        fine = fine.permute(0, 2, 1, 3)
        call.timings.add("fine", t0)
        return fine.reshape(b, fine.shape[1], n_win * window)[:, :, :total]


@dataclass
class Generation:
    """What one :meth:`MusicLM.run` made."""

    audio: np.ndarray  # (B, samples) float32
    conditions: list[Conditions]  # each piece's, as used, with its form (the sidecar writes them)
    timings: Timings  # wall seconds per part of this call
    story: list[Part] | None = None  # a story's parts, as used (then one piece)
    options: GenerationOptions | None = None  # as used, the temperatures resolved


class _Call:
    """The state of one generate call: progress counts and timings (never on the model)."""

    def __init__(self, totals: dict[str, int], progress: Callable[[str, int, int], None] | None):
        self.totals, self.progress = totals, progress
        self.done: dict[str, int] = {}
        self.timings = Timings()

    def tick(self, name: str, n: int) -> None:
        self.done[name] = self.done.get(name, 0) + n
        if self.progress is not None:
            self.progress(name, self.done[name], self.totals.get(name, -1))


def _same_but_form(a: Conditions, b: Conditions) -> bool:
    """Whether two conditions differ at most in their form (tensors compared as objects)."""
    for f in dataclasses.fields(Conditions):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name != "form" and x is not y and (isinstance(x, torch.Tensor) or x != y):
            return False
    return True


def describe(model: MusicLM) -> dict:
    """Facts for a generation's JSON sidecar."""
    return {
        "sample_rate": model.sample_rate,
        # the levels generated and decoded (the codec may have more)
        "codec_levels": model.fine.layout.coarse_levels + model.fine.layout.fine_levels,
        "stages": {n: getattr(model, n).config.to_dict() for n in ("semantic", "coarse", "fine")},
    }


__all__ = ["Generation", "GenerationOptions", "MusicLM", "describe"]
