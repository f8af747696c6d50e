"""Entry point: ``musiclm <group> <command>``.

Exit codes: 0 done; 2 a user mistake (bad argument, missing or unreadable file, a path
that cannot be written), always as one line on stderr starting ``error:``; 130
interrupted (Ctrl-C), with one line saying what was kept; 1 a bug, also as one line
(``MUSICLM_TRACEBACK=1`` shows the traceback).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings

import typer

from musiclm import __version__
from musiclm.cli import codec, data, mulan, semantic, stage
from musiclm.cli.evaluate import evaluate
from musiclm.cli.generate import generate
from musiclm.cli.tokenize import tokenize
from musiclm.cli.ui import ui
from musiclm.errors import Interrupted, UserError

app = typer.Typer(
    name="musiclm",
    help=(
        "musiclm: text to music, MusicLM-style, plus the captioned music corpus it trains on.\n\n"
        "Start with `musiclm data synth corpus --clips 20` to render a small captioned corpus, "
        "then `musiclm data report corpus` to see what it holds."
    ),
    # a bare `musiclm` or `musiclm data` is a usage error ("Missing command", exit 2) in
    # every typer version, rather than help with exit 0 in some and 2 in others
    no_args_is_help=False,
    pretty_exceptions_enable=False,
    add_completion=False,
)
for group, name in ((data, "data"), (codec, "codec"), (semantic, "semantic"), (mulan, "mulan")):
    app.add_typer(group.app, name=name, no_args_is_help=False)
app.command("tokenize")(tokenize)
app.add_typer(stage.app, name="stage", no_args_is_help=False)
app.command("generate")(generate)
app.command("eval")(evaluate)
app.command("ui")(ui)


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


def _click_exceptions() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(usage errors, aborts) of the click typer runs on: typer >= 0.22 vendors its own
    copy (``typer._click``, base ``typer.TyperException``), older typers use the click
    package. Both are looked for, so every typer of the range in pyproject.toml works."""
    usage: list[type] = []
    aborts: list[type] = [typer.Abort]
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        usage.append(mod.ClickException)
        if hasattr(mod, "Abort"):
            aborts.append(mod.Abort)
    return tuple(usage), tuple(aborts)


def _error(message: str) -> None:
    line = " ".join(str(message).split())  # one line, whatever the message holds
    typer.secho(f"error: {line}", err=True, fg=typer.colors.RED)


def _usage(e) -> int:
    """One line for a click usage error, pointing at the command's help."""
    ctx = getattr(e, "ctx", None)
    hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    _error(f"{e.format_message()}{hint}")
    return int(getattr(e, "exit_code", 2) or 2)


def _interrupted(message: str = "") -> int:
    typer.echo(f"interrupted{': ' + message if message else ''}", err=True)
    return 130


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return the exit code (0 ok, 2 user error, 130 interrupted, 1 bug)."""
    # resampy, which librosa loads lazily, imports setuptools' pkg_resources and that warns
    # of its own deprecation (seen on `generate --melody`): nothing a user can act on
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    usage, aborts = _click_exceptions()
    try:
        code = app(args=argv, prog_name="musiclm", standalone_mode=False)
    except UserError as e:
        _error(e)
        return 2
    except Interrupted as e:
        return _interrupted(str(e))
    except KeyboardInterrupt:
        return _interrupted()
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except usage as e:
        return _usage(e)
    except aborts as e:  # Ctrl-C (older click), or an EOFError, arrive as Abort
        if isinstance(e.__cause__ or e.__context__, EOFError):
            _error("unexpected end of a file (empty or cut short?)")
            return 2
        return _interrupted()
    except OSError as e:  # the disk, permissions, a path: the user's environment
        if os.environ.get("MUSICLM_TRACEBACK"):
            raise
        where = f" {e.filename}" if getattr(e, "filename", None) else ""
        _error(f"cannot access{where}: {e.strerror or e}")
        return 2
    except Exception as e:
        if os.environ.get("MUSICLM_TRACEBACK"):
            raise
        _error(
            f"unexpected {type(e).__name__}: {e} (a bug: please report it with the command; "
            "MUSICLM_TRACEBACK=1 shows where)"
        )
        return 1
    # Non-standalone typer returns the code of an explicit exit: --help and --version
    # give 0, and typer >= 0.22 turns a Ctrl-C it sees into Exit(130).
    if isinstance(code, int) and code:
        return _interrupted() if code == 130 else code
    return 0


if __name__ == "__main__":
    sys.exit(main())
