"""The `planner` command line.

Each command lives in its own module under `planner.commands` and exposes
``register(app: typer.Typer)``; this module finds them, so adding a command never edits this file.
Commands stay thin: parse options, call one function that returns a result, print it.
Heavy imports (pandas, pulumi, matplotlib) happen inside the command functions so that
``planner --help`` answers at once.

Bad input raises `planner.errors.UserError`; `run` prints it as one line
(``error: FILE: FIELD.PATH: what is wrong``) and exits 2. `run` guards every command: anything
else that escapes (MemoryError and RecursionError included) is a bug, printed as one line
``error: internal: ... please report`` with exit 70; ``planner --debug ...`` adds the traceback.
Ctrl-C is ``error: interrupted``, exit 130.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import traceback

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


MAX_ERROR_CHARS = 1000  # an error is one line; a longer one is cut (the values in it are shortened already)


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
                                       help="print the version and exit"),
          debug: bool = typer.Option(False, "--debug", help="show the traceback of an internal error")) -> None:
    """Capacity planner for self-hosted LLMs."""


def _register_commands() -> None:
    import planner.commands as commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"planner.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def _debug_first(argv: list[str]) -> tuple[list[str], bool]:
    """`--debug` anywhere before `--` is the group's option: move it to the front."""
    end = argv.index("--") if "--" in argv else len(argv)
    debug = "--debug" in argv[:end]
    if not debug:
        return argv, False
    return ["--debug"] + [a for a in argv[:end] if a != "--debug"] + argv[end:], True


def run(argv: list[str] | None = None) -> int:
    """Run the CLI with `argv` and return the exit code (the programmatic entry point for tests)."""
    argv, debug = _debug_first(list(sys.argv[1:] if argv is None else argv))
    try:
        app(args=argv, prog_name="planner", standalone_mode=True)
    except UserError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return int(exc.exit_code)
    except SystemExit as exc:  # standalone mode ends every run, including usage errors (exit 2)
        code = exc.code
        if code is None:
            return int(ExitCode.OK)
        if code == ExitCode.INTERRUPTED:  # click turns Ctrl-C into exit 130 with a blank line
            print("error: interrupted", file=sys.stderr)
            return int(ExitCode.INTERRUPTED)
        if isinstance(code, int):
            return code
        print(code, file=sys.stderr)
        return int(ExitCode.FAILURE)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BaseException as exc:  # noqa: BLE001 - the guard: a bug is one line, never a raw traceback
        return _internal_error(exc, debug)
    return int(ExitCode.OK)


def _internal_error(exc: BaseException, debug: bool) -> int:
    if isinstance(exc, MemoryError):
        what = "out of memory"
    elif isinstance(exc, RecursionError):
        what = "recursion too deep"
    else:
        what = f"{type(exc).__name__}: {exc}"
    try:
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        hint = "" if debug else " (run with --debug for the traceback)"
        print(f"error: internal: {_one_line(what)[:300]}; please report this as a bug{hint}", file=sys.stderr)
    except BaseException:  # noqa: BLE001 - printing must not raise a second traceback
        pass
    return int(ExitCode.INTERNAL)


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
