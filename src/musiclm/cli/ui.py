"""``musiclm ui``: the studio web page (:mod:`musiclm.studio`) on a local port."""

from __future__ import annotations

from pathlib import Path

import typer


def ui(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to serve on (0.0.0.0: all)."),
    port: int = typer.Option(7860, "--port", help="Port to serve on."),
    model: str = typer.Option(None, "--model", "-m", help="A MusicLM folder (default: bundled)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda or mps."),
    out: Path = typer.Option(
        Path("out/studio"), "--out", "-o", help="Folder the takes are written to."
    ),
) -> None:
    """Serve the studio: a web page that makes music from a prompt with the bundled model
    (or --model), loaded once. Each take is a WAV, a spectrogram and a JSON sidecar in
    --out; `gradio_client` can script it through the `/generate` endpoint.

    Example: `musiclm ui --port 7860`, then open http://127.0.0.1:7860.
    """
    from musiclm.devices import resolve_device
    from musiclm.errors import UserError
    from musiclm.io import check_output_dir

    try:
        import gradio  # noqa: F401
    except ImportError:
        raise UserError(
            "the studio needs gradio: pip install 'musiclm[ui]' (or `make setup`)"
        ) from None
    from musiclm.pipeline import MusicLM
    from musiclm.studio import build_app, check_port

    check_port(host, port)
    dev = resolve_device(device)
    check_output_dir(out, create=True)
    net = MusicLM.from_pretrained(model, device=dev)
    app = build_app(net, out, model or "bundled")
    typer.echo(f"musiclm studio on http://{host}:{port} ({dev}; takes in {out}); Ctrl-C stops",
               err=True)  # fmt: skip
    app.queue().launch(server_name=host, server_port=port, allowed_paths=[str(out.resolve())],
                       show_error=False, quiet=True)  # fmt: skip
