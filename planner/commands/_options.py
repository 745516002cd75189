"""Option values several commands share: parsed once, with the same error wording everywhere."""

from __future__ import annotations

from planner.errors import UserError
from planner.plan.schema import MONTH_RE


def month(value: str | None, option: str = "--month") -> str | None:
    """A YYYY-MM month, or a one-line error naming the option and the expected form."""
    if value is None:
        return None
    if not MONTH_RE.match(value):
        raise UserError(f"{value!r} is not a month: write YYYY-MM, e.g. 2027-06", field=option)
    return value
