"""The plan's pydantic models: what a user may write, with its defaults and bounds.

Names that refer to catalogs (models, GPU kinds), AWS regions and API models are resolved by
`planner.plan.resolve` so that everything downstream works with canonical ids. A validator that
needs to point below its own field raises `FieldError` with the sub-path as data.

Every number is bounded (README, "Limits"): finite, not a boolean or a string, and inside a range a
real plan can have. The bounds are checked at load, so everything downstream (demand, fleet,
money) works on values that cannot overflow: the largest cost a plan can produce is far below
1e300. Bounds that depend on more than one field (tokens within the model's context, the traffic
a plan reaches by its last month, the plan's size) are checked by model validators.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from planner.errors import UserError, did_you_mean
from planner.plan import resolve
from planner.plan.errors import FieldError
from pricing.files import shorten
from pricing.terms import DEFAULT_PURCHASE, Purchase

PURCHASE_OPTIONS = tuple(Purchase)
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

# --- limits (stated in the README's plan reference; tests/test_hostile_inputs.py) -------------
FIRST_YEAR, LAST_YEAR = 2020, 2100  # `start` years
MAX_HORIZON_MONTHS = 120
MAX_WORKLOADS = 100
MAX_PLAN_CELLS = 7_200  # workloads × horizon_months × constraints.regions: the work grows with it (issue 13's 10 × 36 × 20)
MAX_REQUESTS_PER_DAY = 1e10  # in any month, growth and the high scenario included
MAX_INPUT_TOKENS = 10_000_000  # and input + output within the model's context
MAX_OUTPUT_TOKENS = 1_000_000
MAX_PEAK_TO_AVERAGE = 24.0  # the whole day in one hour: an hourly shape cannot be peakier
MAX_MIN_REPLICAS = 100
MAX_FTE = 10_000.0
MAX_SALARY_USD_MONTH = 1e6
MAX_USD_MONTH = 1e9
MAX_USD_ONE_TIME = 1e10
MAX_MULTIPLIER = 100.0  # what-if price multipliers
MIN_MULTIPLIER = 0.01
MAX_SCENARIO_TRAFFIC = 10.0
MAX_NAME_CHARS = 64
MAX_REF_CHARS = 80  # a model id, an API model reference, a region or GPU name
MAX_PATH_CHARS = 4096
# the low and high scenarios' monthly growth when `scenarios.growth_low/high` are not given: base × these
GROWTH_FACTORS = (0.5, 1.5)


def _number(value: Any) -> Any:
    """A finite int or float: never a boolean (`true` is not 1), a string or .inf/.nan."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, got {shorten(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {value}")
    if isinstance(value, int) and abs(value) > 10**300:
        raise ValueError(f"is out of range, got {shorten(value)}")
    return value


def _integer(value: Any) -> Any:
    """A whole number (2 or 2.0), never a boolean or a string."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be an integer, got {shorten(value)}")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer() or abs(value) > 1e15:
            raise ValueError(f"must be a whole number (an integer), got {shorten(value)}")
        return int(value)
    return value


Number = Annotated[float, BeforeValidator(_number)]
Integer = Annotated[int, BeforeValidator(_integer)]
Ref = Annotated[str, Field(min_length=1, max_length=MAX_REF_CHARS)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


def _month(value: Any, what: str = "value") -> str:
    if not isinstance(value, str) or not MONTH_RE.match(value):
        if what == "key":
            raise ValueError(f"key {shorten(value)} must be YYYY-MM (e.g. 2027-01)")
        raise ValueError(f"must be YYYY-MM (e.g. 2027-01), got {shorten(value)}")
    year = int(value[:4])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year} is outside {FIRST_YEAR}..{LAST_YEAR}, got {shorten(value)}")
    return value


class Constraints(_Strict):
    regions: list[Ref] = Field(min_length=1, max_length=40, description="allowed AWS regions (data residency)")
    gpus: list[Ref] | None = Field(None, max_length=40,
                                   description="allowed GPU kinds; omitted = all in the catalog")
    purchase: list[Purchase] = Field(default_factory=lambda: list(DEFAULT_PURCHASE), min_length=1, max_length=8)
    max_spot_share: Number = Field(0.3, ge=0, le=1, description="of the instances each hour needs")
    min_replicas: Integer = Field(2, ge=1, le=MAX_MIN_REPLICAS, description="redundancy floor, per workload")
    headroom: Number = Field(0.2, ge=0, le=1, description="spare capacity over peak demand")
    availability_zones: Integer = Field(2, ge=1, le=6, description="AZs the production fleet spans")
    regions_per_workload: Integer = Field(1, ge=1, le=40, description="regions a workload is spread across")
    spot_interruption_overhead: Number = Field(
        0.1, ge=0, le=1, description="extra spot capacity bought to absorb interruptions")

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, regions: list[str]) -> list[str]:
        return resolve.regions(regions)

    @field_validator("gpus")
    @classmethod
    def _known_gpus(cls, gpus: list[str] | None) -> list[str] | None:
        if gpus is None:
            return None
        if not gpus:
            raise ValueError("is empty: omit it to allow every GPU kind in the catalog")
        return resolve.gpus(gpus)

    @field_validator("purchase")
    @classmethod
    def _no_duplicate_purchase(cls, purchase: list[Purchase]) -> list[Purchase]:
        return list(dict.fromkeys(purchase))

    @model_validator(mode="after")
    def _enough_regions(self) -> "Constraints":
        if self.regions_per_workload > len(self.regions):
            raise FieldError(f"regions_per_workload ({self.regions_per_workload}) exceeds the number "
                             f"of allowed regions ({len(self.regions)})")
        return self


class Traffic(_Strict):
    requests_per_day: Number | None = Field(None, gt=0, le=MAX_REQUESTS_PER_DAY, description="in the start month")
    monthly_growth: Number = Field(0.0, ge=-0.5, le=1, description="compound growth per month (0.06 = 6 %)")
    requests_per_day_by_month: dict[str, Number] | None = Field(
        None, max_length=MAX_HORIZON_MONTHS,
        description="explicit series, YYYY-MM -> requests/day; months in between are interpolated")
    peak_to_average: Number | None = Field(None, ge=1, le=MAX_PEAK_TO_AVERAGE)
    hourly_profile: list[Number] | None = Field(None, max_length=24,
                                                description="24 relative weights, hour 0..23 UTC")
    input_tokens: Number = Field(ge=1, le=MAX_INPUT_TOKENS, description="mean per request")
    output_tokens: Number = Field(ge=1, le=MAX_OUTPUT_TOKENS, description="mean per request")

    @field_validator("requests_per_day_by_month")
    @classmethod
    def _series(cls, series: dict[str, float] | None) -> dict[str, float] | None:
        if series is None:
            return None
        if not series:
            raise ValueError("is empty")
        out = {}
        for key, value in series.items():
            key = _month(key if isinstance(key, str) else str(key), "key")
            if not 0 < value <= MAX_REQUESTS_PER_DAY:
                raise FieldError(f"requests per day must be > 0 and at most {MAX_REQUESTS_PER_DAY:g}, "
                                 f"got {shorten(value)}", (key,))
            out[key] = float(value)
        return dict(sorted(out.items()))

    @field_validator("hourly_profile")
    @classmethod
    def _profile(cls, profile: list[float] | None) -> list[float] | None:
        if profile is None:
            return None
        if len(profile) != 24:
            raise ValueError(f"needs 24 hourly weights, got {len(profile)}")
        for h, w in enumerate(profile):
            if not 0 <= w <= 1e15:
                raise FieldError(f"weights must be >= 0 and at most 1e15, got {shorten(w)}", (h,))
        if max(profile) <= 0:
            raise ValueError("weights must not all be zero")
        return profile

    @model_validator(mode="after")
    def _one_of_each(self) -> "Traffic":
        if (self.requests_per_day is None) == (self.requests_per_day_by_month is None):
            raise ValueError("give exactly one of requests_per_day or requests_per_day_by_month")
        if self.requests_per_day_by_month is not None and self.monthly_growth != 0:
            raise ValueError("monthly_growth applies to requests_per_day, not to an explicit "
                             "requests_per_day_by_month series")
        if (self.peak_to_average is None) == (self.hourly_profile is None):
            raise ValueError("give exactly one of peak_to_average or hourly_profile")
        return self


class Slo(_Strict):
    ttft_ms: Number | None = Field(None, gt=0, le=600_000, description="time to first token, at peak")
    tpot_ms: Number | None = Field(None, gt=0, le=60_000, description="time per output token, at peak")
    percentile: Literal["p50", "p90", "p99"] = Field(
        "p90", description="the SLO holds for this percentile of requests (queueing included)")


class HfConfigModel(_Strict):
    """A model the catalog lacks, described by its Hugging Face config.json (read offline)."""

    hf_config: str = Field(min_length=1, max_length=MAX_PATH_CHARS,
                           description="path to a Hugging Face config.json, relative to the plan")


class ApiModelRef(_Strict):
    """An API model a workload is compared with, at the price actually paid.

    In the plan, a `compare_with` entry is either the model id (`openai/gpt-4o`) or a mapping
    `{model: openai/gpt-4o, discount: 0.5, cached_input_share: 0.4}`.
    """

    model: Ref = Field(description="provider/model, as genai-prices names it")
    discount: Number = Field(0.0, ge=0, lt=1, description="off the list price: 0.5 for a batch API, a "
                             "committed-use deal; the bill is scaled by (1 - discount)")
    cached_input_share: Number = Field(0.0, ge=0, le=1, description="share of input tokens billed at the "
                                       "provider's cached-input rate (genai-prices)")

    @field_validator("model")
    @classmethod
    def _known_api_model(cls, ref: str) -> str:
        return resolve.api_model(ref)


class Workload(_Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=NAME_PATTERN)
    model: Ref | HfConfigModel
    precision: Ref = "bf16"
    kv_precision: Ref | None = None
    engine: Literal["vllm", "sglang", "trtllm"] = Field("vllm", description="the serving engine sized for and "
                                                        "started by the stack")
    # the spec of an hf_config model, read when the plan loads (Plan._read_hf_configs); None for catalog models
    _model_spec: Any = PrivateAttr(None)
    traffic: Traffic
    slo: Slo = Field(default_factory=Slo)
    compare_with: list[ApiModelRef] = Field(
        min_length=1, max_length=10, description="API models: provider/model, or {model, discount, cached_input_share}")
    api_allowed: bool = Field(True, description="false when this workload's data may not go to a "
                              "third-party API (residency, privacy)")
    api_meets_slo: bool = Field(True, description="false when the API cannot meet this workload's "
                                "latency SLO")

    @field_validator("model")
    @classmethod
    def _known_model(cls, model: str | HfConfigModel) -> str | HfConfigModel:
        if isinstance(model, HfConfigModel):
            return model  # read by Plan._read_hf_configs, which knows the plan's folder
        return resolve.model(model)

    @property
    def model_id(self) -> str:
        """The model's id: the catalog's, or the id read from its hf_config."""
        if isinstance(self.model, str):
            return self.model
        if self._model_spec is None:
            raise ValueError(f"{self.name}: hf_config model not read yet")
        return self._model_spec.id

    @field_validator("precision", "kv_precision")
    @classmethod
    def _known_precision(cls, precision: str | None) -> str | None:
        if precision is None:
            return None
        return resolve.precision(precision)

    @field_validator("compare_with", mode="before")
    @classmethod
    def _api_model_ids(cls, refs: Any) -> Any:
        """A bare `provider/model` is an entry at list price (resolved here, so an error names the entry)."""
        if not isinstance(refs, list):
            return refs
        return [{"model": resolve.api_model(ref, (i,)) if len(ref) <= MAX_REF_CHARS else ref}
                if isinstance(ref, str) else ref for i, ref in enumerate(refs)]

    @field_validator("compare_with")
    @classmethod
    def _api_models_once(cls, refs: list[ApiModelRef]) -> list[ApiModelRef]:
        ids = [ref.model for ref in refs]
        if len(set(ids)) != len(ids):
            raise FieldError("lists an API model twice")
        return refs

    @property
    def api_models(self) -> list[str]:
        """The compared API model ids (provider/model), the one the workload would otherwise use first."""
        return [ref.model for ref in self.compare_with]

    @model_validator(mode="after")
    def _tokens_within_context(self) -> "Workload":
        if not isinstance(self.model, str):  # an hf_config model: checked once it is read (Plan._read_hf_configs)
            return self
        context = resolve.context_length(self.model)
        t = self.traffic
        if context is not None and t.input_tokens + t.output_tokens > context:
            raise FieldError(f"input_tokens + output_tokens = {t.input_tokens + t.output_tokens:,.0f} exceeds "
                             f"{self.model}'s context of {context:,} tokens", ("traffic", "input_tokens"))
        return self


class Costs(_Strict):
    ml_engineers: Number = Field(0.0, ge=0, le=MAX_FTE, description="FTE running the self-hosted model")
    ml_engineer_usd_month: Number = Field(18000.0, ge=0, le=MAX_SALARY_USD_MONTH, description="loaded cost per FTE")
    devops_engineers: Number = Field(0.0, ge=0, le=MAX_FTE)
    devops_usd_month: Number = Field(16000.0, ge=0, le=MAX_SALARY_USD_MONTH)
    data_eval_usd_month: Number = Field(0.0, ge=0, le=MAX_USD_MONTH)
    compliance_one_time_usd: Number = Field(0.0, ge=0, le=MAX_USD_ONE_TIME, description="charged in the first month")
    compliance_usd_month: Number = Field(0.0, ge=0, le=MAX_USD_MONTH)
    uncertainty_buffer: Number = Field(0.30, ge=0, le=1, description="applied to self-hosted costs")
    retraining_every_months: Integer | None = Field(None, ge=1, le=MAX_HORIZON_MONTHS)
    retraining_gpu_hours: Number = Field(0.0, ge=0, le=1e7, description="GPU-hours per retraining cycle, per "
                                         "workload (each workload's model is retrained)")
    retraining_gpu: Ref | None = Field(None, description="GPU kind retraining runs on; omitted = each "
                                       "workload's own serving GPU")
    weights_storage_gib: Number | None = Field(None, ge=0, le=16384, description="EBS per instance for weights "
                                               "and runtime; omitted = 2 x weights + 100 GiB")
    egress_gb_per_million_requests: Number | None = Field(
        None, ge=0, le=1e7, description="data out per million requests; omitted = from the token counts")
    # the API path's own costs, so the comparison is fair
    api_ml_engineers: Number = Field(0.0, ge=0, le=MAX_FTE)
    api_devops_engineers: Number = Field(0.0, ge=0, le=MAX_FTE)
    api_data_eval_usd_month: Number = Field(0.0, ge=0, le=MAX_USD_MONTH)
    api_compliance_one_time_usd: Number = Field(0.0, ge=0, le=MAX_USD_ONE_TIME)
    api_compliance_usd_month: Number = Field(0.0, ge=0, le=MAX_USD_MONTH)

    @field_validator("retraining_gpu")
    @classmethod
    def _known_retraining_gpu(cls, gpu: str | None) -> str | None:
        return None if gpu is None else resolve.gpus([gpu])[0]


class Pricing(_Strict):
    snapshot: str | None = Field(None, min_length=1, max_length=MAX_PATH_CHARS,
                                 description="price snapshot file; omitted = the shipped one")
    reserved_1y_discount: Number | None = Field(None, ge=0, lt=1, description="omitted = shipped default")
    reserved_3y_discount: Number | None = Field(None, ge=0, lt=1, description="omitted = shipped default")
    compute_price_multiplier: Number = Field(1.0, ge=MIN_MULTIPLIER, le=MAX_MULTIPLIER,
                                             description="scales every GPU instance price")
    spot_price_multiplier: Number = Field(1.0, ge=MIN_MULTIPLIER, le=MAX_MULTIPLIER, description="scales spot prices")
    spot_basis: Literal["conservative", "lowest_zone"] = Field(
        "conservative", description="spot at the highest zone price known (else 0.6 x on-demand), or at the "
        "cheapest zone's quote")
    api_price_multiplier: Number = Field(1.0, ge=MIN_MULTIPLIER, le=MAX_MULTIPLIER,
                                         description="scales every API bill (after each model's discount); the "
                                         "scenarios and the sensitivity move it")


class Scenarios(_Strict):
    traffic_low: Number = Field(0.7, ge=MIN_MULTIPLIER, le=MAX_SCENARIO_TRAFFIC)
    traffic_high: Number = Field(1.5, ge=MIN_MULTIPLIER, le=MAX_SCENARIO_TRAFFIC)
    growth_low: Number | None = Field(None, ge=-0.5, le=1.5)
    growth_high: Number | None = Field(None, ge=-0.5, le=1.5)
    spot_price_low: Number = Field(0.8, ge=MIN_MULTIPLIER, le=MAX_MULTIPLIER)
    spot_price_high: Number = Field(1.5, ge=MIN_MULTIPLIER, le=MAX_MULTIPLIER)
    api_price_low: Number = Field(1.0, ge=MIN_MULTIPLIER, le=MAX_MULTIPLIER, description="API bills × this in the "
                                  "low scenario")
    api_price_high: Number = Field(1.0, ge=MIN_MULTIPLIER, le=MAX_MULTIPLIER, description="API bills × this in the "
                                   "high scenario")


# --- uncertainty: the Monte Carlo section (issue 13) --------------------------------------------
#
#     uncertainty:
#       draws: 1000          # Monte Carlo draws (0 .. 100,000); 0 = no bands
#       seed: 7              # same plan + same seed = the same bands, byte for byte
#       traffic: {distribution: lognormal, sd: 0.3}
#       growth: {distribution: normal, sd: 0.01}
#       api_price: 0.25      # a number alone is the sd of the quantity's default distribution
#
# Every quantity is a multiplier on the base value (median 1 by default) or, for `growth`, an offset
# added to the monthly growth (mean 0). Distributions: `lognormal` (multipliers: median × exp(sd × z),
# z standard normal); `normal` (mean + sd × z: mean 1 for a multiplier, kept >= 0.01; mean 0 for an
# offset); `uniform` (between `low` and `high`); `fixed` (the base value). Defaults and their sources
# are in `Uncertainty`'s docstring; the sampling is `planner.uncertainty.draws`.

DISTRIBUTIONS = ("lognormal", "normal", "uniform", "fixed")
OFFSET_DISTRIBUTIONS = ("normal", "uniform", "fixed")
MAX_DRAWS = 100_000
DEFAULT_DRAWS = 1000
MAX_SEED = 2**32 - 1
MAX_SPREAD_SD = 2.0  # sd of a multiplier's log (×7.4 at one sd) or of a normal multiplier
MAX_OFFSET_SD = 0.2  # sd of the monthly growth offset (20 points a month)
MIN_GROWTH_OFFSET, MAX_GROWTH_OFFSET = -0.5, 1.5  # as scenarios.growth_low/high
NORMAL_MULTIPLIER_FLOOR = 0.01  # a normal multiplier never goes below this


class _Spread(_Strict):
    """One uncertain quantity: its distribution and that distribution's parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: str
    sd: Number | None = Field(None, ge=0, le=MAX_SPREAD_SD,
                              description="spread: standard deviation (of the log, for lognormal)")
    median: Number | None = Field(None, gt=0, le=MAX_MULTIPLIER, description="lognormal centre (default 1)")
    mean: Number | None = Field(None, ge=-MAX_MULTIPLIER, le=MAX_MULTIPLIER,
                                description="normal centre (default 1 for a multiplier, 0 for an offset)")
    low: Number | None = Field(None, ge=-MAX_MULTIPLIER, le=MAX_MULTIPLIER, description="uniform: lowest value")
    high: Number | None = Field(None, ge=-MAX_MULTIPLIER, le=MAX_MULTIPLIER, description="uniform: highest value")

    ALLOWED: ClassVar[tuple[str, ...]] = DISTRIBUTIONS

    @model_validator(mode="before")
    @classmethod
    def _number_is_sd(cls, data: Any) -> Any:
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            return {"sd": data}
        return data

    @field_validator("distribution", mode="before")
    @classmethod
    def _known(cls, name: Any) -> str:
        if not isinstance(name, str) or name not in cls.ALLOWED:
            hint = did_you_mean(name, list(cls.ALLOWED)) if isinstance(name, str) and len(name) <= 200 else ""
            raise FieldError(f"unknown distribution {shorten(name)}{hint}; choose one of {', '.join(cls.ALLOWED)}")
        return name

    @model_validator(mode="after")
    def _parameters(self) -> "_Spread":
        used = {"lognormal": {"sd", "median"}, "normal": {"sd", "mean"}, "uniform": {"low", "high"},
                "fixed": set()}[self.distribution]
        extra = [name for name in ("sd", "median", "mean", "low", "high")
                 if getattr(self, name) is not None and name not in used]
        if extra:
            raise FieldError(f"{extra[0]} does not apply to a {self.distribution} distribution "
                             f"(it takes {', '.join(sorted(used)) or 'nothing'})", (extra[0],))
        if self.distribution == "uniform":
            if self.low is None or self.high is None:
                raise FieldError("a uniform distribution needs low and high", ("low" if self.low is None else "high",))
            if self.high < self.low:
                raise FieldError(f"is below low ({self.low:g}): a negative spread, got {self.high:g}", ("high",))
        return self

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
        for name in ("mean", "low", "high"):
            value = getattr(self, name)
            if value is not None and not MIN_MULTIPLIER <= value <= MAX_MULTIPLIER:
                raise FieldError(f"must be within {MIN_MULTIPLIER:g}..{MAX_MULTIPLIER:g} for a multiplier, "
                                 f"got {value:g}", (name,))
        return self


class Offset(_Spread):
    """An amount added to the base value (the monthly growth); normal with mean 0 unless the plan says otherwise."""

    distribution: str = "normal"
    ALLOWED: ClassVar[tuple[str, ...]] = OFFSET_DISTRIBUTIONS

    @model_validator(mode="after")
    def _bounded(self) -> "Offset":
        if self.sd is not None and self.sd > MAX_OFFSET_SD:
            raise FieldError(f"must be at most {MAX_OFFSET_SD:g} for a monthly growth offset, got {self.sd:g}",
                             ("sd",))
        for name in ("mean", "low", "high"):
            value = getattr(self, name)
            if value is not None and not MIN_GROWTH_OFFSET <= value <= MAX_GROWTH_OFFSET:
                raise FieldError(f"must be within {MIN_GROWTH_OFFSET:g}..{MAX_GROWTH_OFFSET:g} for a monthly "
                                 f"growth offset, got {value:g}", (name,))
        return self


def _multiplier(sd: float | None) -> Any:
    return Field(default_factory=lambda: Multiplier(sd=sd))


class Uncertainty(_Strict):
    """What is uncertain in a plan, and how many draws sample it. Off when the section is absent.

    Defaults and where they come from (each can be overridden):

    - `traffic` (per workload): lognormal sd 0.30. p10/p90 ≈ ×0.68/×1.47, the scenarios' default
      traffic range (0.7, 1.5).
    - `growth` (per workload): normal sd 0.01 (points per month). An assumption: ±1.3 points a
      month at p10/p90, about the scenarios' ×0.5/×1.5 of a 3 %/month growth.
    - `tokens` (per workload): lognormal sd 0.15. p10/p90 ≈ ×0.83/×1.21, the sensitivity chart's
      token range (0.8, 1.2).
    - `on_demand_price` (per draw; reserved rates move with it): lognormal sd 0.15. p10/p90 ≈
      ×0.82/×1.21, the sensitivity chart's GPU price range (0.8, 1.2).
    - `spot_price` (per draw): lognormal sd 0.30. p10/p90 ≈ ×0.68/×1.47, the scenarios' spot range
      (0.8, 1.5) widened: one region's zones differ ×2–3 (shared/data/aws_pricing_notes.md §2).
    - `api_price` (per API model, per year): lognormal sd 0.25. An assumption: genai-prices 0.2.3
      records 594 dated input/output price changes, median 0 and p10/p90 ×0.45/×2.3 per change,
      mostly resellers' and preview models' prices.
    - `throughput` (per workload): lognormal, sd from the calibration of the workload's engine
      (planner/data/perf_calibration.yaml `fit_quality.<engine>`): the larger of its
      leave-one-source-out median errors of throughput at an operating point and at maximum,
      sd = ln(1 + median) / 0.6745 (`planner.uncertainty.draws.throughput_error_sd`).
    """

    draws: Integer = Field(DEFAULT_DRAWS, ge=0, le=MAX_DRAWS, description="Monte Carlo draws; 0 = no bands")
    seed: Integer = Field(0, ge=0, le=MAX_SEED, description="random seed: the same plan and seed give the same bands")
    traffic: Multiplier = _multiplier(0.30)
    growth: Offset = Field(default_factory=lambda: Offset(sd=0.01))
    tokens: Multiplier = _multiplier(0.15)
    on_demand_price: Multiplier = _multiplier(0.15)
    spot_price: Multiplier = _multiplier(0.30)
    api_price: Multiplier = _multiplier(0.25)
    throughput: Multiplier = _multiplier(None)  # sd None: from the throughput model's calibration

    QUANTITIES: ClassVar[tuple[str, ...]] = ("traffic", "growth", "tokens", "on_demand_price", "spot_price",
                                             "api_price", "throughput")


def _length(value: Any) -> int | None:
    return len(value) if isinstance(value, (list, dict)) else None


class Plan(_Strict):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, pattern=NAME_PATTERN)
    start: str
    horizon_months: Integer = Field(ge=1, le=MAX_HORIZON_MONTHS)
    constraints: Constraints
    workloads: list[Workload] = Field(min_length=1, max_length=MAX_WORKLOADS)
    costs: Costs = Field(default_factory=Costs)
    pricing: Pricing = Field(default_factory=Pricing)
    scenarios: Scenarios = Field(default_factory=Scenarios)
    uncertainty: Uncertainty | None = Field(None, description="Monte Carlo bands; off when absent")
    recommendation_spend_threshold_usd_month: Number = Field(
        10000.0, ge=0, le=MAX_USD_MONTH, description="API spend per month above which self-hosting is worth a look")
    file: str | None = Field(None, exclude=False, description="set by load(); not part of the YAML")

    @model_validator(mode="before")
    @classmethod
    def _within_ceiling(cls, data: Any) -> Any:
        """Refuse a plan too large to forecast before validating (or working on) any of it."""
        if not isinstance(data, dict):
            return data
        workloads = _length(data.get("workloads"))
        if workloads is not None and workloads > MAX_WORKLOADS:
            raise FieldError(f"{workloads:,} workloads; a plan has at most {MAX_WORKLOADS}", ("workloads",))
        constraints = data.get("constraints")
        regions = _length(constraints.get("regions")) if isinstance(constraints, dict) else None
        horizon = data.get("horizon_months")
        if (workloads and regions and isinstance(horizon, int) and not isinstance(horizon, bool)
                and 1 <= horizon <= MAX_HORIZON_MONTHS and workloads * horizon * regions > MAX_PLAN_CELLS):
            raise FieldError(f"{workloads} workloads × {horizon} months × {regions} regions = "
                             f"{workloads * horizon * regions:,}, more than the {MAX_PLAN_CELLS:,} the planner "
                             "sizes in one plan: split it into several plans, or allow fewer regions",
                             ("workloads",))
        return data

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: Any) -> str:
        return _month(value, "start")

    @field_validator("workloads")
    @classmethod
    def _unique_names(cls, workloads: list[Workload]) -> list[Workload]:
        seen: set[str] = set()
        for i, w in enumerate(workloads):
            if w.name in seen:
                raise FieldError(f"duplicate workload name {w.name!r}", (i, "name"))
            seen.add(w.name)
        return workloads

    @model_validator(mode="after")
    def _read_hf_configs(self) -> "Plan":
        """Read each hf_config model once (relative to the plan's folder) and check the tokens fit its context."""
        for i, w in enumerate(self.workloads):
            if not isinstance(w.model, HfConfigModel):
                continue
            spec = resolve.hf_config(self.resolve_path(w.model.hf_config))
            w._model_spec = spec
            t = w.traffic
            if t.input_tokens + t.output_tokens > spec.context_length:
                raise FieldError(f"input_tokens + output_tokens = {t.input_tokens + t.output_tokens:,.0f} exceeds "
                                 f"{spec.id}'s context of {spec.context_length:,} tokens",
                                 ("workloads", i, "traffic", "input_tokens"))
        return self

    @model_validator(mode="after")
    def _series_inside_horizon(self) -> "Plan":
        months = set(self.months())
        for i, w in enumerate(self.workloads):
            series = w.traffic.requests_per_day_by_month
            if series is None:
                continue
            where = ("workloads", i, "traffic", "requests_per_day_by_month")
            if self.start not in series:
                raise FieldError(f"must give the start month {self.start}", where)
            outside = [m for m in series if m not in months]
            if outside:
                raise FieldError(f"{outside[0]} is outside the forecast ({self.start} + "
                                 f"{self.horizon_months} months)", where)
        return self

    @model_validator(mode="after")
    def _traffic_within_limit(self) -> "Plan":
        """Requests per day stay within MAX_REQUESTS_PER_DAY in every month, in the base forecast and in
        the high scenario (traffic × scenarios.traffic_high, growth at scenarios.growth_high or × 1.5)."""
        s = self.scenarios
        traffic_factor = max(1.0, s.traffic_high, s.traffic_low)
        last = self.horizon_months - 1
        for i, w in enumerate(self.workloads):
            t = w.traffic
            if t.requests_per_day is None:
                largest, field = max(t.requests_per_day_by_month.values()), "requests_per_day_by_month"
                growth = 0.0
            else:
                high = s.growth_high if s.growth_high is not None else t.monthly_growth * GROWTH_FACTORS[1]
                low = s.growth_low if s.growth_low is not None else t.monthly_growth * GROWTH_FACTORS[0]
                growth = max(t.monthly_growth, high, low)
                field = "monthly_growth" if growth > 0 else "requests_per_day"
                largest = t.requests_per_day
            log_peak = math.log(largest) + math.log(traffic_factor) + max(0.0, last * math.log1p(growth))
            if log_peak > math.log(MAX_REQUESTS_PER_DAY) + 1e-12:
                raise FieldError(
                    f"traffic reaches {math.exp(min(log_peak, 700)):.3g} requests/day by {self.months()[-1]} "
                    f"(growth {growth:g}/month, traffic × {traffic_factor:g} in the scenarios); the planner "
                    f"sizes at most {MAX_REQUESTS_PER_DAY:g} requests/day per workload",
                    ("workloads", i, "traffic", field))
        return self

    def months(self) -> list[str]:
        year, month = (int(x) for x in self.start.split("-"))
        out = []
        for k in range(self.horizon_months):
            y, m = divmod(month - 1 + k, 12)
            out.append(f"{year + y:04d}-{m + 1:02d}")
        return out

    @property
    def api_models(self) -> list[str]:
        """Every API model the workloads compare with, in the order the plan first names it."""
        return list(dict.fromkeys(ref for w in self.workloads for ref in w.api_models))

    def workload(self, name: str) -> Workload:
        for w in self.workloads:
            if w.name == name:
                return w
        raise UserError(f"unknown workload {shorten(name)}{did_you_mean(name, [w.name for w in self.workloads])}",
                        file=self.file, field="workload")

    def resolve_path(self, relative: str) -> Path:
        """A path from the plan (`~` expanded), relative to the plan file's folder."""
        p = Path(relative).expanduser()
        if p.is_absolute() or self.file is None:
            return p
        return Path(self.file).expanduser().parent / p
