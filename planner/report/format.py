"""Numbers and money as text: the only formatting rules the report, the charts and the diff use.

Money is unrounded in the forecast and rounded here, half-up, only when shown: whole dollars in
tables (cents below $100), hourly prices with as many digits as they have.
"""

from __future__ import annotations

import math
from typing import Any

from planner.forecast.serialize import round_half_up  # the one half-up rule, shared with forecast.json

MISSING = "—"


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def usd(x: Any, *, cents: bool | None = None) -> str:
    """$1,234 (whole dollars), or $12.34 below $100; '—' for a missing number."""
    if not is_number(x):
        return MISSING
    if cents is None:
        cents = abs(x) < 100 and round_half_up(x, 2) != round_half_up(x, 0)
    r = round_half_up(x, 2 if cents else 0)
    sign = "-" if r < 0 else ""
    return f"{sign}${abs(r):,.2f}" if cents else f"{sign}${abs(r):,.0f}"


def usd_whole(x: Any) -> str:
    return usd(x, cents=False)


def usd_signed(x: Any) -> str:
    """+$1,234 / -$1,234 (whole dollars): a change."""
    if not is_number(x):
        return MISSING
    text = usd(x, cents=False)
    return text if text.startswith("-") else f"+{text}"


def usd_short(x: Any) -> str:
    """$1.2M, $350k, $900: an axis tick or a label where space is short."""
    if not is_number(x):
        return MISSING
    sign = "-" if x < 0 else ""
    a = abs(x)
    if a >= 1e6:
        return f"{sign}${a / 1e6:,.{1 if a < 1e8 else 0}f}M"
    if a >= 1e3:
        return f"{sign}${a / 1e3:,.0f}k"
    return f"{sign}${a:,.0f}"


def usd_rate(x: Any) -> str:
    """An hourly price: cents, or more digits when the price has them ($0.0123)."""
    if not is_number(x):
        return MISSING
    text = f"{x:,.4f}".rstrip("0")
    if len(text.split(".")[1]) < 2:
        text = f"{x:,.2f}"
    return f"${text}"


def num(x: Any, digits: int = 0) -> str:
    if not is_number(x):
        return MISSING
    return f"{round_half_up(x, digits):,.{digits}f}"


def millions(x: Any) -> str:
    if not is_number(x):
        return MISSING
    return f"{round_half_up(x / 1e6, 1):,.1f}"


def plain_value(x: Any) -> str:
    """A value as written: numbers without trailing zeros, dicts as k=v."""
    if x is None:
        return MISSING
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        return f"{x:,.6f}".rstrip("0").rstrip(".") if math.isfinite(x) else MISSING
    if isinstance(x, dict):
        return ", ".join(f"{k}={plain_value(v)}" for k, v in x.items())
    if isinstance(x, (list, tuple)):
        return ", ".join(plain_value(v) for v in x)
    return str(x)


def multiplier(x: Any) -> str:
    return f"×{plain_value(x)}" if is_number(x) else MISSING


def pct(x: Any) -> str:
    """0.123 -> 12.3% (as many digits as the value has)."""
    return f"{plain_value(x * 100)}%" if is_number(x) else MISSING


def pct_whole(x: Any) -> str:
    """0.123 -> 12%."""
    return f"{round_half_up(x * 100, 0):,.0f}%" if is_number(x) else MISSING
