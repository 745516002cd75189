"""User-facing errors and exit codes (defined once, in `pricing.errors`; re-exported here).

A `UserError` is bad input: the CLI prints it as one line, ``error: FILE: FIELD.PATH: what is wrong``,
and exits with `ExitCode.USAGE` (2).
"""

from pricing.errors import ExitCode, UserError, did_you_mean

__all__ = ["ExitCode", "UserError", "did_you_mean"]
