"""How long work says how far it is: a callable told one short line at each step (the CLI shows
it in its status line; library callers may pass None). It never changes a result."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str], None]


def silent(_message: str) -> None:
    """The progress of a caller that does not listen."""
