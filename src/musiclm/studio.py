"""The studio: a Gradio web page over :class:`MusicLM` (``musiclm ui``).

    from musiclm import MusicLM
    from musiclm.studio import build_app
    build_app(MusicLM.from_pretrained(), out_dir="takes").launch()

The model is loaded once, by the caller; every take is written to ``out_dir`` as the CLI
writes a piece (WAV, spectrogram PNG, JSON sidecar with the settings that make it again),
and the page lists the takes newest first. Only controls the model uses are shown: tempo
and key appear for models with tempo and key tokens (``MusicLM.takes_attributes``), a
melody to arrange (hummed, whistled or played: an upload or the microphone) for models
whose stages take one (``MusicLM.takes_melody``). Any take may instead continue an
uploaded recording (the prompt is then optional), as ``generate --continue`` does, follow
a form of the user's (``"intro 8, verse 16, chorus 16, tail 4"``, as ``--form``), or tell
a story, one ``START=TEXT`` part per line in place of the prompt (as ``--story``).

Besides the page, ``api_name="generate"`` takes ``(prompt, seconds, seed)`` and returns
the WAV, for ``gradio_client``::

    Client("http://127.0.0.1:7860/").predict("calm solo piano", 10, 0, api_name="/generate")

Bad input (an empty prompt, seconds out of range, a seed that is not an integer) is a
message beside its control in the page, an error message through the API; the server
keeps serving. Gradio is the optional extra ``musiclm[ui]``.
"""

from __future__ import annotations

import math
import os
import random
import re
import threading
import time
from pathlib import Path

from musiclm.errors import UserError
from musiclm.form import parse_form
from musiclm.piece import PLANNED_TUNE, PROMPT_TUNE
from musiclm.pipeline import MAX_CFG, MAX_SECONDS, MIN_SECONDS, GenerationOptions, MusicLM

# ../shared/prompts/seed_prompts.txt, the project's seed prompts
EXAMPLES = (
    "A violin melody backed with 808s",
    "A rock song that only uses humming",
    "90s techno with a strong kick, only using whistling",
)
MAX_PROMPT = 500  # characters; MuLan's text tower reads 128 word pieces at most
MAX_SEED = 2**63 - 1
BOTH_INPUTS = "Give a melody to arrange or a recording to continue, not both."
STORY_ALONE = "A story is its own text: leave the prompt empty."
STORY_NO_AUDIO = "A story cannot arrange a melody or continue a recording; give one or the other."
KEYS = [f"{p} {m}" for m in ("major", "minor") for p in
        ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")]  # fmt: skip


def check_inputs(
    model: MusicLM,
    prompt: str | None,
    seconds: float | None,
    seed: float | None,
    random_seed: bool = False,
    cfg: float = 3.0,
    tempo: float | None = None,
    key: str | None = None,
    continuing: bool = False,
    form: str | None = None,
    story: str | None = None,
    melody: bool = False,
) -> dict[str, str]:
    """What is wrong with the page's values: ``{control: message}``, empty when all is well.
    ``continuing``: the take continues a recording, so the prompt may be empty; ``form``
    and ``story``: the page's form and story boxes (empty: none); ``melody``: a melody to
    arrange is given (not with a recording or a story)."""
    bad: dict[str, str] = {}
    tempo = tempo or None  # the page's empty number arrives as 0
    telling = bool(story and story.strip())
    if prompt is None and (continuing or telling):
        prompt = ""
    if telling and isinstance(prompt, str) and prompt.strip():
        bad["story"] = STORY_ALONE
    elif not isinstance(prompt, str) or (not prompt.strip() and not (continuing or telling)):
        bad["prompt"] = "Write a prompt, e.g. 'calm solo piano'."
    elif len(prompt) > MAX_PROMPT:
        bad["prompt"] = f"The prompt is {len(prompt)} characters; keep it to {MAX_PROMPT}."
    if not _finite(seconds) or not MIN_SECONDS <= seconds <= MAX_SECONDS:
        bad["seconds"] = f"Seconds must be a number from {MIN_SECONDS:g} to {MAX_SECONDS:g}."
    else:  # form and story are read against the length
        if form and form.strip():
            try:
                parse_form(form, float(seconds))
            except UserError as e:
                bad["form"] = _sentence(e)
        if telling and "story" not in bad:
            try:
                story_parts(story, float(seconds))
            except UserError as e:
                bad["story"] = _sentence(e)
    if not random_seed and (not _finite(seed) or seed != int(seed) or not 0 <= seed <= MAX_SEED):
        bad["seed"] = "The seed must be a whole number from 0 (or tick 'random seed')."
    if not _finite(cfg) or not 0 <= cfg <= MAX_CFG:
        bad["cfg"] = f"Guidance must be a number from 0 to {MAX_CFG:g}."
    if tempo is not None and model.takes_attributes:
        try:
            model.attributes(["x"], tempo=float(tempo))
        except (UserError, ValueError, TypeError):
            bad["tempo"] = "Tempo must be 20-400 bpm (or 0: what the prompt says)."
    if key and model.takes_attributes:
        try:
            model.attributes(["x"], key=key)
        except UserError as e:
            bad["key"] = str(e)
    if melody and continuing:
        bad["continue"] = BOTH_INPUTS
    if telling and (melody or continuing):
        bad.setdefault("story", STORY_NO_AUDIO)
    return bad


def story_parts(text: str, seconds: float) -> list[tuple[float, str]]:
    """The page's story box (one ``START=TEXT`` part per line, blank lines skipped) as
    checked ``(start, text)`` parts of a ``seconds``-long piece (:mod:`musiclm.story`)."""
    from musiclm.story import check_parts, parse_parts

    return check_parts(parse_parts([x for x in text.splitlines() if x.strip()]), seconds)


def _sentence(e: Exception) -> str:
    text = str(e)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _finite(x) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


class Studio:
    """The model, where takes go, and one lock: a model generates one take at a time."""

    def __init__(self, model: MusicLM, out_dir: str | os.PathLike, model_name: str = "bundled"):
        self.model, self.model_name = model, model_name
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._count = len(list(self.out_dir.glob("take_*.json")))

    def make_take(
        self,
        prompt: str,
        seconds: float,
        seed: int | None,
        *,
        cfg: float = 3.0,
        tempo: float | None = None,
        key: str | None = None,
        melody: str | os.PathLike | None = None,
        continue_from: str | os.PathLike | None = None,
        form: str | None = None,
        story: str | None = None,
        progress=None,
    ) -> dict:
        """Generate one take and write it; returns its files and settings.

        ``seed`` None draws one (and records it). ``melody``: an audio file whose tune the
        take arranges (:meth:`MusicLM.with_melody`); ``continue_from``: an audio file the
        take continues, beginning with it (the prompt is then optional); ``form``: the
        take's sections, ``"intro 8, verse 16, ..."`` in seconds (:func:`parse_form`);
        ``story``: ``START=TEXT`` lines, the take's texts in place of the prompt
        (:meth:`MusicLM.story`). ``progress(stage, done, total)`` as the pipeline calls
        it. Raises :class:`UserError` on bad values or an unreadable file."""
        from musiclm.piece import settings, write_piece

        bad = check_inputs(self.model, prompt, seconds, seed, seed is None, cfg, tempo, key,
                           continuing=bool(continue_from), form=form, story=story,
                           melody=bool(melody))  # fmt: skip
        if bad:
            raise UserError(" ".join(bad.values()))
        telling = bool(story and story.strip())
        prompt, seconds = (prompt or "").strip(), float(seconds)
        seed = random.randrange(2**31) if seed is None else int(seed)
        tempo = float(tempo) if tempo else None
        key = key or None
        options = GenerationOptions(cfg=float(cfg))
        with self._lock:
            t0 = time.perf_counter()
            conds, parts, given = self.model.prepare(
                [prompt] if prompt else None, seconds, tempo=tempo, key=key,
                form=form if form and form.strip() else None,
                story=story_parts(story, seconds) if telling else None,
                melody=str(melody) if melody else None,
                continue_from=str(continue_from) if continue_from else None,
            )  # fmt: skip
            made = self.model.run(conds, seconds, seed, options, progress, continue_from=given,
                                  story=parts)  # fmt: skip
            wall = time.perf_counter() - t0
            self._count += 1
            title = made.conditions[0].text
            slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:40]
            slug = slug or ("continuation" if given is not None else "piece")
            path = self.out_dir / f"take_{self._count:03d}_{slug}.wav"
            meta = settings(made, 0, seed=seed, seconds=seconds, model=self.model_name,
                            wall=wall, melody=Path(melody).name if melody else None,
                            prompt=given)  # fmt: skip
            write_piece(path, title, made.audio[0], self.model, True, meta)
        return {
            "wav": str(path),
            "png": str(path.with_suffix(".png")),
            "json": str(path.with_suffix(".json")),
            "settings": meta,
        }


def build_app(model: MusicLM, out_dir: str | os.PathLike, model_name: str = "bundled"):
    """The page (a ``gradio.Blocks``) over ``model``; takes are written to ``out_dir``."""
    import gradio as gr

    studio = Studio(model, out_dir, model_name)
    attrs, tunes = model.takes_attributes, model.takes_melody
    names = (["prompt", "seconds", "seed", "random", "cfg"] + (["tempo", "key"] if attrs else [])
             + ["form", "story"] + (["melody"] if tunes else []) + ["continue"])  # fmt: skip

    def _values(args) -> dict:
        """The page's inputs by name (its optional controls present or not), then takes."""
        return dict(zip(names + ["takes"], args))

    def validator(*args):
        v = _values(args)
        bad = check_inputs(model, v["prompt"], v["seconds"], v["seed"], v["random"], v["cfg"],
                           v.get("tempo"), v.get("key"), continuing=bool(v["continue"]),
                           form=v["form"], story=v["story"],
                           melody=bool(v.get("melody")))  # fmt: skip
        return [gr.validate(n not in bad, bad.get(n, "")) for n in names] + [gr.validate(True, "")]

    def on_generate(*args, progress=gr.Progress()):
        v = _values(args)

        def tick(stage: str, done: int, total: int) -> None:
            progress((done, max(total, done, 1)), desc=stage, unit="steps")

        try:
            take = studio.make_take(
                v["prompt"], v["seconds"], None if v["random"] else v["seed"],
                cfg=v["cfg"], tempo=v.get("tempo"), key=v.get("key"), melody=v.get("melody"),
                continue_from=v["continue"], form=v["form"], story=v["story"], progress=tick,
            )  # fmt: skip
        except UserError as e:
            raise gr.Error(str(e), print_exception=False) from None
        return [take, *(v["takes"] or [])]

    def api_generate(prompt: str, seconds: float, seed: float | None) -> str:
        """One piece: (prompt, seconds, seed or empty for a random one) -> the WAV."""
        try:
            return studio.make_take(prompt, seconds, None if seed is None else seed)["wav"]
        except UserError as e:
            raise gr.Error(str(e), print_exception=False) from None

    with gr.Blocks(title="musiclm studio") as app:
        gr.Markdown(
            "# musiclm studio\nText to music with "
            f"{'the bundled model' if model_name == 'bundled' else model_name} "
            f"({model.sample_rate} Hz). Each take keeps the settings that make it again."
        )
        with gr.Row():
            with gr.Column(scale=3):
                prompt = gr.Textbox(label="Prompt", lines=2, max_lines=6, elem_id="prompt",
                                    placeholder="a violin melody backed with 808s")  # fmt: skip
                gr.Examples(examples=[[e] for e in EXAMPLES], inputs=[prompt])
            with gr.Column(scale=2):
                seconds = gr.Number(label="Seconds", value=10, elem_id="seconds")
                with gr.Row():
                    seed = gr.Number(label="Seed", value=0, elem_id="seed")
                    random_seed = gr.Checkbox(label="random seed", value=True, elem_id="random")
                cfg = gr.Slider(1, 10, value=3, step=0.5, label="Guidance (1: none)")
                extra = []
                if attrs:
                    tempo = gr.Number(label="Tempo, bpm (0: as the prompt says)", value=0)
                    key = gr.Dropdown(
                        [""] + KEYS, value="", label="Key (empty: as the prompt says)"
                    )
                    extra = [tempo, key]
                with gr.Accordion("Form and story", open=False):
                    extra.append(gr.Textbox(
                        label="Form: sections and their seconds, adding up to Seconds "
                        "(optional; empty: planned for the prompt)", elem_id="form",
                        placeholder="intro 8, verse 16, chorus 16, tail 4",
                    ))  # fmt: skip
                    extra.append(gr.Textbox(
                        label="Story: one part per line, START=TEXT, the first at 0 "
                        "(optional; the prompt then stays empty)", lines=3, elem_id="story",
                        placeholder="0=whistling over a techno beat\n30=a calm piano outro",
                    ))  # fmt: skip
                with gr.Accordion("Melody or a recording to continue", open=False):
                    if tunes:
                        extra.append(gr.Audio(
                            label="Melody to arrange: hum, whistle or play a tune (optional)",
                            sources=["upload", "microphone"], type="filepath", elem_id="melody",
                        ))  # fmt: skip
                    extra.append(gr.Audio(
                        label="Recording to continue: the take begins with it (optional; "
                        "the prompt may then be empty)",
                        sources=["upload"], type="filepath", elem_id="continue",
                    ))  # fmt: skip
                button = gr.Button("Generate", variant="primary", elem_id="generate")
        takes = gr.State([])
        inputs = [prompt, seconds, seed, random_seed, cfg, *extra, takes]
        button.click(on_generate, inputs, [takes], validator=validator, api_visibility="private",
                     concurrency_id="model", concurrency_limit=1)  # fmt: skip

        @gr.render(inputs=[takes])
        def show(items):
            if not items:
                gr.Markdown("No takes yet: write a prompt and press Generate.")
            for n, take in enumerate(items):
                s = take["settings"]
                with gr.Group(elem_classes=["take"]):
                    what = s["prompt"] or "(no prompt)"
                    if s.get("story"):
                        what = " → ".join(f"{p['start']:g} s: {p['text']}" for p in s["story"])
                    if s.get("melody") not in (None, PLANNED_TUNE, PROMPT_TUNE):
                        what += f" — arranging {s['melody']}"
                    if s.get("continue"):
                        what += f" — continuing {Path(s['continue']['file']).name}"
                    gr.Markdown(f"**Take {len(items) - n}**: {what}")
                    with gr.Row():
                        gr.Audio(take["wav"], label="Audio", type="filepath", interactive=False,
                                 elem_classes=["take-audio"])  # fmt: skip
                        gr.Image(take["png"], label="Spectrogram", interactive=False)
                    with gr.Row():
                        gr.File([take["wav"], take["json"]], label="Download WAV and JSON",
                                elem_classes=["take-files"])  # fmt: skip
                        gr.JSON(_settings_view(s), label="Settings")

        # the scripting endpoint: hidden controls, the same model and lock
        with gr.Row(visible=False):
            a_prompt, a_seconds = gr.Textbox(), gr.Number()
            a_seed, a_audio = gr.Number(), gr.Audio(type="filepath")
            a_button = gr.Button()
        a_button.click(api_generate, [a_prompt, a_seconds, a_seed], [a_audio],
                       api_name="generate", concurrency_id="model")  # fmt: skip
    return app


def _settings_view(s: dict) -> dict:
    keep = ("prompt", "seed", "seconds", "cfg", "tempo", "key", "temperature", "model",
            "melody", "continue", "form", "ending", "story", "wall_seconds")  # fmt: skip
    return {k: s[k] for k in keep if k in s}


def check_port(host: str, port: int) -> None:
    """Refuse a port that is taken before Gradio tries (its own message is a traceback)."""
    import socket

    if not 1 <= port <= 65535:
        raise UserError(f"--port must be between 1 and 65535, got {port}")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            raise UserError(
                f"cannot serve on {host}:{port} ({e.strerror or e}); "
                "another program uses it? pick another with --port"
            ) from None


__all__ = ["EXAMPLES", "Studio", "build_app", "check_inputs", "check_port", "story_parts"]
