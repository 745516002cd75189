"""The plan's `uncertainty` section: what is uncertain, how it is distributed, how many draws.

Self-contained (pydantic only), so it can live wherever the plan schema lives. Off when absent.

    uncertainty:
      draws: 1000          # Monte Carlo draws (0 .. 100,000)
      seed: 7              # same plan + same seed = the same bands, byte for byte
      traffic: {distribution: lognormal, sd: 0.3}
      growth: {distribution: normal, sd: 0.01}
      api_price: 0.25      # a number alone is the sd of the quantity's default distribution

Every quantity is a multiplier on the base value (median 1 by default) or, for `growth`, an
offset added to the monthly growth (mean 0). Distributions:

- `lognormal` (multipliers): factor = median × exp(sd × z), z standard normal;
- `normal`: multiplier = mean + sd × z (mean 1, kept ≥ 0.01), offset = mean + sd × z (mean 0);
- `uniform`: between `low` and `high`;
- `fixed`: no uncertainty (the base value).

Defaults and where they come from (each can be overridden):

- `traffic` (per workload): lognormal sd 0.30. p10/p90 ≈ ×0.68/×1.47, the scenarios' default
  traffic range (0.7, 1.5).
- `growth` (per workload): normal sd 0.01 (points per month). An assumption: ±1.3 points a month
  at p10/p90, about the scenarios' ×0.5/×1.5 of a 3 %/month growth.
- `tokens` (per workload): lognormal sd 0.15. p10/p90 ≈ ×0.83/×1.21, the sensitivity chart's
  token range (0.8, 1.2).
- `on_demand_price` (per draw; reserved rates move with it): lognormal sd 0.15. p10/p90 ≈
  ×0.82/×1.21, the sensitivity chart's GPU price range (0.8, 1.2).
- `spot_price` (per draw): lognormal sd 0.30. p10/p90 ≈ ×0.68/×1.47, the scenarios' spot range
  (0.8, 1.5) widened: one region's zones differ ×2–3 (shared/data/aws_pricing_notes.md §2).
- `api_price` (per API model, per year): lognormal sd 0.25. An assumption: genai-prices 0.2.3
  records 594 dated input/output price changes, median 0 and p10/p90 ×0.45/×2.3 per change,
  mostly resellers' and preview models' prices.
- `throughput` (per workload): lognormal, sd from the calibration: the throughput model's
  leave-one-out median error (planner/data/perf_calibration.yaml `fit_quality`),
  sd = ln(1 + median) / 0.6745.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

DISTRIBUTIONS = ("lognormal", "normal", "uniform", "fixed")
MAX_DRAWS = 100_000
DEFAULT_DRAWS = 1000
NORMAL_MULTIPLIER_FLOOR = 0.01  # a normal multiplier never goes below this


class _Spread(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: str
    sd: float | None = Field(None, ge=0, description="spread: standard deviation (of the log, for lognormal)")
    median: float | None = Field(None, gt=0, description="lognormal centre (default 1)")
    mean: float | None = Field(None, description="normal centre (default 1 for a multiplier, 0 for an offset)")
    low: float | None = Field(None, description="uniform: lowest value")
    high: float | None = Field(None, description="uniform: highest value")

    @model_validator(mode="before")
    @classmethod
    def _number_is_sd(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"sd": data}
        return data

    @field_validator("distribution")
    @classmethod
    def _known(cls, name: str) -> str:
        allowed = cls.allowed()
        if name not in allowed:
            close = difflib.get_close_matches(str(name), allowed, n=1, cutoff=0.5)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown distribution {name!r}{hint}; choose one of {', '.join(allowed)}")
        return name

    @field_validator("high")
    @classmethod
    def _not_below_low(cls, high: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("low")
        if high is not None and low is not None and high < low:
            raise ValueError(f"is below low ({low:g}): a negative spread, got {high:g}")
        return high

    @model_validator(mode="after")
    def _parameters(self) -> "_Spread":
        used = {"lognormal": {"sd", "median"}, "normal": {"sd", "mean"}, "uniform": {"low", "high"},
                "fixed": set()}[self.distribution]
        extra = [name for name in ("sd", "median", "mean", "low", "high")
                 if getattr(self, name) is not None and name not in used]
        if extra:
            raise ValueError(f"{extra[0]} does not apply to a {self.distribution} distribution "
                             f"(it takes {', '.join(sorted(used)) or 'nothing'})")
        if self.distribution == "uniform" and (self.low is None or self.high is None):
            raise ValueError("a uniform distribution needs low and high")
        return self

    @classmethod
    def allowed(cls) -> tuple[str, ...]:
        return DISTRIBUTIONS

    @property
    def has_spread(self) -> bool:
        if self.distribution == "fixed":
            return False
        if self.distribution == "uniform":
            return self.high > self.low
        return self.sd is None or self.sd > 0


class Multiplier(_Spread):
    """A factor on the base value; lognormal with median 1 unless the plan says otherwise."""

    distribution: str = "lognormal"

    @model_validator(mode="after")
    def _positive(self) -> "Multiplier":
        if self.distribution == "uniform" and self.low is not None and self.low <= 0:
            raise ValueError(f"low must be > 0 for a multiplier, got {self.low:g}")
        return self


class Offset(_Spread):
    """An amount added to the base value; normal with mean 0 unless the plan says otherwise."""

    distribution: str = "normal"

    @classmethod
    def allowed(cls) -> tuple[str, ...]:
        return ("normal", "uniform", "fixed")


def _multiplier(sd: float | None) -> Any:
    return Field(default_factory=lambda: Multiplier(sd=sd))


class Uncertainty(BaseModel):
    """What is uncertain in a plan, and how many draws sample it (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    draws: int = Field(DEFAULT_DRAWS, ge=0, le=MAX_DRAWS, description="Monte Carlo draws; 0 = no bands")
    seed: int = Field(0, ge=0, description="random seed: the same plan and seed give the same bands")
    traffic: Multiplier = _multiplier(0.30)
    growth: Offset = Field(default_factory=lambda: Offset(sd=0.01))
    tokens: Multiplier = _multiplier(0.15)
    on_demand_price: Multiplier = _multiplier(0.15)
    spot_price: Multiplier = _multiplier(0.30)
    api_price: Multiplier = _multiplier(0.25)
    throughput: Multiplier = _multiplier(None)  # sd None: from the throughput model's calibration

    QUANTITIES: ClassVar[tuple[str, ...]] = ("traffic", "growth", "tokens", "on_demand_price", "spot_price",
                                             "api_price", "throughput")
