"""Entry point: ``musiclm <group> <command>``; user mistakes become one line and exit 2."""

from __future__ import annotations

import sys

import typer

from musiclm import __version__
from musiclm.cli import codec, data, mulan, semantic, stage
from musiclm.cli.evaluate import evaluate
from musiclm.cli.generate import generate
from musiclm.cli.tokenize import tokenize
from musiclm.errors import UserError

app = typer.Typer(
    name="musiclm",
    help=(
        "musiclm: text to music, MusicLM-style, plus the captioned music corpus it trains on.\n\n"
        "Start with `musiclm data synth corpus --clips 20` to render a small captioned corpus, "
        "then `musiclm data report corpus` to see what it holds."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(data.app, name="data")
app.add_typer(codec.app, name="codec")
app.add_typer(semantic.app, name="semantic")
app.add_typer(mulan.app, name="mulan")
app.command("tokenize")(tokenize)
app.add_typer(stage.app, name="stage")
app.command("generate")(generate)
app.command("eval")(evaluate)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"musiclm {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    pass


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 user error, 130 interrupted)."""
    try:
        app(args=argv, standalone_mode=False)
    except UserError as e:
        typer.secho(f"error: {e}", err=True, fg=typer.colors.RED)
        return 2
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except SystemExit as e:
        return int(e.code or 0)
    except Exception as e:  # click's usage errors arrive here in non-standalone mode
        import click

        if isinstance(e, click.ClickException):
            e.show()
            return e.exit_code
        if isinstance(e, click.exceptions.Abort):
            return 130
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
