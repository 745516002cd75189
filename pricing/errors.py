"""The one error type for bad input, and the exit codes every command uses.

It lives in `pricing` because `pricing` is the lowest layer of the project: `planner` and `stacks`
depend on it, and it depends on nothing of ours. `planner.errors` re-exports these names, so
callers keep writing ``from pricing.errors import UserError``.

A `UserError` is bad input: the CLI prints it as one line, ``error: FILE:LINE: FIELD.PATH: what is
wrong``, and exits with `ExitCode.USAGE` (2). Anything else that escapes is a bug: the CLI prints
one line, ``error: internal: ... please report``, and exits with `ExitCode.INTERNAL` (70); the
traceback is shown only with ``planner --debug``.
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1  # the command ran but the answer is "no" (e.g. a partial refresh)
    USAGE = 2  # bad input: plan file, option, catalog name
    INTERNAL = 70  # a bug: anything but a UserError escaped a command (EX_SOFTWARE)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class UserError(Exception):
    """Bad input, reported as one line naming the file and the field."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None,
                 line: int | None = None, exit_code: ExitCode = ExitCode.USAGE):
        super().__init__(message)
        self.message = message
        self.file = file
        self.field = field
        self.line = line
        self.exit_code = exit_code

    def with_context(self, *, file: str | None = None, field: str | None = None) -> "UserError":
        if file and not self.file:
            self.file = file
        if field and not self.field:
            self.field = field
        return self

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.field:
            parts.append(self.field)
        parts.append(self.message)
        return ": ".join(parts)


def did_you_mean(value: str, choices: Iterable[str], n: int = 3) -> str:
    """' (did you mean 'x'?)' for the closest choices, or '' when nothing is close."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.5)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(lowered[c]) for c in close) + "?)"
