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
uploaded recording (the prompt is then optional), as ``generate --continue`` does.

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
) -> dict[str, str]:
    """What is wrong with the page's values: ``{control: message}``, empty when all is well.
    ``continuing``: the take continues a recording, so the prompt may be empty."""
    bad: dict[str, str] = {}
    tempo = tempo or None  # the page's empty number arrives as 0
    if prompt is None and continuing:
        prompt = ""
    if not isinstance(prompt, str) or (not prompt.strip() and not continuing):
        bad["prompt"] = "Write a prompt, e.g. 'calm solo piano'."
    elif len(prompt) > MAX_PROMPT:
        bad["prompt"] = f"The prompt is {len(prompt)} characters; keep it to {MAX_PROMPT}."
    if not _finite(seconds) or not MIN_SECONDS <= seconds <= MAX_SECONDS:
        bad["seconds"] = f"Seconds must be a number from {MIN_SECONDS:g} to {MAX_SECONDS:g}."
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
    return bad


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
        progress=None,
    ) -> dict:
        """Generate one take and write it; returns its files and settings.

        ``seed`` None draws one (and records it). ``melody``: an audio file whose tune the
        take arranges (:meth:`MusicLM.with_melody`); ``continue_from``: an audio file the
        take continues, beginning with it (the prompt is then optional). ``progress(stage,
        done, total)`` as the pipeline calls it. Raises :class:`UserError` on bad values
        or an unreadable file."""
        from musiclm import continuation
        from musiclm.piece import write_piece

        if melody and continue_from:
            raise UserError(BOTH_INPUTS)
        bad = check_inputs(self.model, prompt, seconds, seed, seed is None, cfg, tempo, key,
                           continuing=bool(continue_from))  # fmt: skip
        if bad:
            raise UserError(" ".join(bad.values()))
        prompt = (prompt or "").strip()
        seed = random.randrange(2**31) if seed is None else int(seed)
        tempo = float(tempo) if tempo else None
        key = key or None
        options = GenerationOptions(cfg=float(cfg))
        with self._lock:
            t0 = time.perf_counter()
            given = None
            if continue_from:
                given, conds = continuation.prepare(self.model, prompt or None, str(continue_from),
                                                    float(seconds), tempo, key)  # fmt: skip
            else:
                conds = self.model.conditions([prompt], tempo, key, mulan=False)  # run() times it
            if melody:
                conds = self.model.with_melody(conds, str(melody), float(seconds),
                                               tempo=tempo, key=key)  # fmt: skip
            made = self.model.run(conds, float(seconds), seed, options, progress,
                                  continue_from=given)  # fmt: skip
            audio, attrs = made.audio[0], made.conditions[0].attributes()
            wall = time.perf_counter() - t0
            self._count += 1
            slug = re.sub(r"[^a-z0-9]+", "_", prompt.lower()).strip("_")[:40]
            slug = slug or ("continuation" if given is not None else "piece")
            path = self.out_dir / f"take_{self._count:03d}_{slug}.wav"
            settings = {
                "prompt": prompt, "seed": seed, "seconds": float(seconds), "cfg": float(cfg),
                "temperature": list(made.options.temperature), "top_k": options.top_k[0],
                "model": self.model_name, "tempo": attrs["tempo"], "key": attrs["key"],
                "wall_seconds": round(wall, 2), "timings": dict(made.timings.seconds),
                "batch": 1, "melody": Path(melody).name if melody else None,
                **({"continue": given.describe()} if given is not None else {}),
            }  # fmt: skip
            write_piece(path, prompt, audio, self.model, True, settings)
        return {
            "wav": str(path),
            "png": str(path.with_suffix(".png")),
            "json": str(path.with_suffix(".json")),
            "settings": settings,
        }


def build_app(model: MusicLM, out_dir: str | os.PathLike, model_name: str = "bundled"):
    """The page (a ``gradio.Blocks``) over ``model``; takes are written to ``out_dir``."""
    import gradio as gr

    studio = Studio(model, out_dir, model_name)
    attrs, tunes = model.takes_attributes, model.takes_melody
    names = (["prompt", "seconds", "seed", "random", "cfg"] + (["tempo", "key"] if attrs else [])
             + (["melody"] if tunes else []) + ["continue"])  # fmt: skip

    def _values(args) -> dict:
        """The page's inputs by name (its optional controls present or not), then takes."""
        return dict(zip(names + ["takes"], args))

    def validator(*args):
        v = _values(args)
        bad = check_inputs(model, v["prompt"], v["seconds"], v["seed"], v["random"], v["cfg"],
                           v.get("tempo"), v.get("key"),
                           continuing=bool(v["continue"]))  # fmt: skip
        if v.get("melody") and v["continue"]:
            bad["continue"] = BOTH_INPUTS
        return [gr.validate(n not in bad, bad.get(n, "")) for n in names] + [gr.validate(True, "")]

    def on_generate(*args, progress=gr.Progress()):
        v = _values(args)

        def tick(stage: str, done: int, total: int) -> None:
            progress((done, max(total, done, 1)), desc=stage, unit="steps")

        try:
            take = studio.make_take(
                v["prompt"], v["seconds"], None if v["random"] else v["seed"],
                cfg=v["cfg"], tempo=v.get("tempo"), key=v.get("key"), melody=v.get("melody"),
                continue_from=v["continue"], progress=tick,
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
                    if s.get("melody"):
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
            "melody", "continue", "wall_seconds")  # fmt: skip
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


__all__ = ["EXAMPLES", "Studio", "build_app", "check_inputs", "check_port"]
