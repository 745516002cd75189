"""forecast.json: the one place a `Forecast` becomes JSON, and JSON becomes a `Forecast` again.

Money is unrounded in memory and rounded half-up to the cent here, only when written: a value is
money when its key is `usd` or ends in `_usd` (or sits inside such a map). Key order follows the
model; the file is byte-identical for the same plan and price snapshot.
"""

from __future__ import annotations

import json
import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from planner.forecast.model import Forecast


def _is_money_key(key: str) -> bool:
    return key == "usd" or key.endswith("_usd")


def round_half_up(x: float, places: int) -> Decimal:
    q = Decimal(1).scaleb(-places)
    return Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP) + 0  # + 0 drops a negative zero


def _plain(x: Any, path: str, money: bool) -> Any:
    if isinstance(x, dict):
        return {str(k): _plain(v, f"{path}.{k}", money or _is_money_key(str(k))) for k, v in x.items()}
    if isinstance(x, list):
        return [_plain(v, f"{path}[{i}]", money) for i, v in enumerate(x)]
    if isinstance(x, float):
        if not math.isfinite(x):
            raise ValueError(f"forecast{path}: {x} is not a number JSON can carry")
        if money:
            return float(round_half_up(x, 2))
        return x + 0.0 if x == 0 else x
    return x


def to_data(forecast: Forecast) -> dict[str, Any]:
    """The JSON data of forecast.json (money rounded to the cent)."""
    return _plain(forecast.model_dump(mode="json"), "", False)


def to_json(forecast: Forecast) -> str:
    return json.dumps(to_data(forecast), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def from_json(text: str) -> Forecast:
    """A forecast.json read back (raises pydantic's ValidationError when it does not follow the schema)."""
    return Forecast.model_validate_json(text)


def load(path: str | Path) -> Forecast:
    return from_json(Path(path).read_text(encoding="utf-8"))
