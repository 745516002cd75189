"""The `planner` command line.

Each command lives in its own module under `planner.commands` and exposes
``register(app: typer.Typer)``; this module finds them, so adding a command never edits this file.
Commands stay thin: parse options, call one function that returns a result, print it.
Heavy imports (pandas, pulumi, matplotlib) happen inside the command functions so that
``planner --help`` answers at once.

Bad input raises `planner.errors.UserError`; `main` prints it as one line
(``error: FILE: FIELD.PATH: what is wrong``) and exits 2. Other exceptions are bugs and keep
their traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from planner.errors import ExitCode, UserError

app = typer.Typer(
    name="planner",
    help="Capacity planner for self-hosted LLMs: size a GPU fleet for your traffic, forecast its "
    "cost month by month next to the API bill, and provision it with Pulumi.\n\n"
    "Example: planner forecast examples/eu-chat-assistant.yaml",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("llm-capacity-planner")
        except PackageNotFoundError:  # run from a source tree that was never installed
            text = "unknown (not installed)"
        print(f"planner {text}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Capacity planner for self-hosted LLMs."""


def _register_commands() -> None:
    import planner.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"planner.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def run(argv: list[str] | None = None) -> int:
    """Run the CLI with `argv` and return the exit code (the programmatic entry point for tests)."""
    try:
        app(args=argv, prog_name="planner", standalone_mode=True)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except SystemExit as exc:  # standalone mode ends every run, including usage errors (exit 2)
        code = exc.code
        if code is None:
            return int(ExitCode.OK)
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return int(ExitCode.FAILURE)
    return int(ExitCode.OK)


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
