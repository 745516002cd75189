"""The plan file: what a user writes, validated by pydantic.

`load(path)` returns a `Plan` or raises `UserError` naming the file, the line (where the YAML has
one), the field path and what is wrong, with the closest valid value where there is one. Names
that refer to catalogs (models, GPU kinds), AWS regions and API models are resolved here so that
everything downstream works with canonical ids.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator,
                      model_validator)

from planner.errors import UserError, did_you_mean

PURCHASE_OPTIONS = ("reserved_1y", "reserved_3y", "on_demand", "spot")
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


def _resolved(resolve, value: str, index: int | None = None) -> str:
    """`resolve(value)` (a catalog or price-list lookup), its UserError turned into a field error."""
    try:
        return resolve(value)
    except UserError as exc:
        raise ValueError(exc.message if index is None else f"[{index}]: {exc.message}") from None


def _month(value: Any, what: str = "value") -> str:
    if not isinstance(value, str) or not MONTH_RE.match(value):
        if what == "key":
            raise ValueError(f"key {value!r} must be YYYY-MM (e.g. 2027-01)")
        raise ValueError(f"must be YYYY-MM (e.g. 2027-01), got {value!r}")
    return value


@lru_cache(maxsize=1)
def aws_regions() -> tuple[str, ...]:
    """AWS commercial regions known to botocore's bundled endpoint data (no network)."""
    import boto3

    session = boto3.session.Session()
    regions = set(session.get_available_regions("ec2"))
    return tuple(sorted(regions))


class Constraints(_Strict):
    regions: list[str] = Field(min_length=1, description="allowed AWS regions (data residency)")
    gpus: list[str] | None = Field(None, description="allowed GPU kinds; omitted = all in the catalog")
    purchase: list[Literal["reserved_1y", "reserved_3y", "on_demand", "spot"]] = Field(
        default_factory=lambda: ["reserved_1y", "on_demand", "spot"], min_length=1)
    max_spot_share: float = Field(0.3, ge=0, le=1, description="of peak capacity")
    min_replicas: int = Field(2, ge=1, description="redundancy floor, per workload")
    headroom: float = Field(0.2, ge=0, le=1, description="spare capacity over peak demand")
    availability_zones: int = Field(2, ge=1, le=6, description="AZs the production fleet spans")
    regions_per_workload: int = Field(1, ge=1, description="regions a workload is spread across")
    spot_interruption_overhead: float = Field(
        0.1, ge=0, le=1, description="extra spot capacity bought to absorb interruptions")

    @field_validator("regions")
    @classmethod
    def _known_regions(cls, regions: list[str]) -> list[str]:
        known = aws_regions()
        for i, region in enumerate(regions):
            if region not in known:
                raise ValueError(f"[{i}]: unknown AWS region {region!r}{did_you_mean(region, known)}")
        if len(set(regions)) != len(regions):
            raise ValueError("lists a region twice")
        return regions

    @field_validator("gpus")
    @classmethod
    def _known_gpus(cls, gpus: list[str] | None) -> list[str] | None:
        if gpus is None:
            return None
        from planner import catalog

        if not gpus:
            raise ValueError("is empty: omit it to allow every GPU kind in the catalog")
        return list(dict.fromkeys(_resolved(catalog.resolve_gpu, gpu, i) for i, gpu in enumerate(gpus)))

    @field_validator("purchase")
    @classmethod
    def _no_duplicate_purchase(cls, purchase: list[str]) -> list[str]:
        return list(dict.fromkeys(purchase))

    @model_validator(mode="after")
    def _enough_regions(self) -> "Constraints":
        if self.regions_per_workload > len(self.regions):
            raise ValueError(f"regions_per_workload ({self.regions_per_workload}) exceeds the number "
                             f"of allowed regions ({len(self.regions)})")
        return self


class Traffic(_Strict):
    requests_per_day: float | None = Field(None, gt=0, description="in the start month")
    monthly_growth: float = Field(0.0, gt=-1, le=10, description="compound growth per month (0.06 = 6 %)")
    requests_per_day_by_month: dict[str, float] | None = Field(
        None, description="explicit series, YYYY-MM -> requests/day; months in between are interpolated")
    peak_to_average: float | None = Field(None, ge=1, le=100)
    hourly_profile: list[float] | None = Field(None, description="24 relative weights, hour 0..23 UTC")
    input_tokens: float = Field(gt=0, description="mean per request")
    output_tokens: float = Field(gt=0, description="mean per request")

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
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{key}: requests per day must be a number > 0, got {value!r}")
            out[key] = float(value)
        return dict(sorted(out.items()))

    @field_validator("hourly_profile")
    @classmethod
    def _profile(cls, profile: list[float] | None) -> list[float] | None:
        if profile is None:
            return None
        if len(profile) != 24:
            raise ValueError(f"needs 24 hourly weights, got {len(profile)}")
        if any(w < 0 for w in profile):
            raise ValueError("weights must be >= 0")
        if sum(profile) <= 0:
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
    ttft_ms: float | None = Field(None, gt=0, description="time to first token, at peak")
    tpot_ms: float | None = Field(None, gt=0, description="time per output token, at peak")
    percentile: Literal["p50", "p90", "p99"] = Field(
        "p90", description="the SLO holds for this percentile of requests (queueing included)")


class HfConfigModel(_Strict):
    hf_config: str = Field(min_length=1, description="path to a Hugging Face config.json, relative to the plan")


class Workload(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    model: str | HfConfigModel
    precision: str = "bf16"
    kv_precision: str | None = None
    engine: Literal["vllm", "sglang", "trtllm"] = Field("vllm", description="the serving engine sized for and "
                                                        "started by the stack")
    # a model read from hf_config at load time (model then holds its id); None for catalog models
    _model_spec: Any = PrivateAttr(None)
    traffic: Traffic
    slo: Slo = Field(default_factory=Slo)
    compare_with: list[str] = Field(min_length=1, description="API models, provider/model")
    api_allowed: bool = Field(True, description="false when this workload's data may not go to a "
                              "third-party API (residency, privacy)")
    api_meets_slo: bool = Field(True, description="false when the API cannot meet this workload's "
                                "latency SLO")

    @field_validator("model")
    @classmethod
    def _known_model(cls, model: str | HfConfigModel) -> str | HfConfigModel:
        if isinstance(model, HfConfigModel):
            return model  # read by Plan._read_hf_configs, which knows the plan's folder
        from planner import catalog

        return _resolved(catalog.resolve_model, model)

    @field_validator("precision", "kv_precision")
    @classmethod
    def _known_precision(cls, precision: str | None) -> str | None:
        if precision is None:
            return None
        from planner import catalog

        return _resolved(catalog.resolve_precision, precision)

    @field_validator("compare_with")
    @classmethod
    def _known_api_models(cls, refs: list[str]) -> list[str]:
        from pricing import api

        out = [_resolved(api.resolve, ref, i) for i, ref in enumerate(refs)]
        if len(set(out)) != len(out):
            raise ValueError("lists an API model twice")
        return out


class Costs(_Strict):
    ml_engineers: float = Field(0.0, ge=0, description="FTE running the self-hosted model")
    ml_engineer_usd_month: float = Field(18000.0, ge=0, description="loaded cost per FTE")
    devops_engineers: float = Field(0.0, ge=0)
    devops_usd_month: float = Field(16000.0, ge=0)
    data_eval_usd_month: float = Field(0.0, ge=0)
    compliance_one_time_usd: float = Field(0.0, ge=0, description="charged in the first month")
    compliance_usd_month: float = Field(0.0, ge=0)
    uncertainty_buffer: float = Field(0.30, ge=0, le=1, description="applied to self-hosted costs")
    retraining_every_months: int | None = Field(None, ge=1)
    retraining_gpu_hours: float = Field(0.0, ge=0, description="GPU-hours per retraining cycle")
    weights_storage_gib: float | None = Field(None, ge=0, description="EBS per instance for weights "
                                              "and runtime; omitted = 2 x weights + 100 GiB")
    egress_gb_per_million_requests: float | None = Field(
        None, ge=0, description="data out per million requests; omitted = from the token counts")
    # the API path's own costs, so the comparison is fair
    api_ml_engineers: float = Field(0.0, ge=0)
    api_devops_engineers: float = Field(0.0, ge=0)
    api_data_eval_usd_month: float = Field(0.0, ge=0)
    api_compliance_one_time_usd: float = Field(0.0, ge=0)
    api_compliance_usd_month: float = Field(0.0, ge=0)


class Pricing(_Strict):
    snapshot: str | None = Field(None, description="price snapshot file; omitted = the shipped one")
    reserved_1y_discount: float | None = Field(None, ge=0, lt=1, description="omitted = shipped default")
    reserved_3y_discount: float | None = Field(None, ge=0, lt=1, description="omitted = shipped default")
    compute_price_multiplier: float = Field(1.0, gt=0, description="scales every GPU instance price")
    spot_price_multiplier: float = Field(1.0, gt=0, description="scales spot prices")


class Scenarios(_Strict):
    traffic_low: float = Field(0.7, gt=0)
    traffic_high: float = Field(1.5, gt=0)
    growth_low: float | None = Field(None, gt=-1)
    growth_high: float | None = Field(None, gt=-1)
    spot_price_low: float = Field(0.8, gt=0)
    spot_price_high: float = Field(1.5, gt=0)


class Plan(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    start: str
    horizon_months: int = Field(ge=1, le=120)
    constraints: Constraints
    workloads: list[Workload] = Field(min_length=1)
    costs: Costs = Field(default_factory=Costs)
    pricing: Pricing = Field(default_factory=Pricing)
    scenarios: Scenarios = Field(default_factory=Scenarios)
    recommendation_spend_threshold_usd_month: float = Field(
        10000.0, ge=0, description="API spend per month above which self-hosting is worth a look")
    file: str | None = Field(None, exclude=False, description="set by load(); not part of the YAML")

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
                raise ValueError(f"[{i}].name: duplicate workload name {w.name!r}")
            seen.add(w.name)
        return workloads

    @model_validator(mode="after")
    def _read_hf_configs(self) -> "Plan":
        from planner import catalog

        for w in self.workloads:
            if isinstance(w.model, HfConfigModel):
                path = Path(w.model.hf_config)
                if not path.is_absolute():
                    path = (Path(self.file).parent if self.file else Path(".")) / path
                spec = catalog.read_hf_config(path)  # UserError naming the config file and field
                w.model = spec.id
                w._model_spec = spec
        return self

    @model_validator(mode="after")
    def _series_inside_horizon(self) -> "Plan":
        months = set(self.months())
        for i, w in enumerate(self.workloads):
            series = w.traffic.requests_per_day_by_month
            if series is None:
                continue
            if self.start not in series:
                raise ValueError(f"workloads[{i}].traffic.requests_per_day_by_month: must give the "
                                 f"start month {self.start}")
            outside = [m for m in series if m not in months]
            if outside:
                raise ValueError(f"workloads[{i}].traffic.requests_per_day_by_month: {outside[0]} is "
                                 f"outside the forecast ({self.start} + {self.horizon_months} months)")
        return self

    def months(self) -> list[str]:
        year, month = (int(x) for x in self.start.split("-"))
        out = []
        for k in range(self.horizon_months):
            y, m = divmod(month - 1 + k, 12)
            out.append(f"{year + y:04d}-{m + 1:02d}")
        return out

    def workload(self, name: str) -> Workload:
        for w in self.workloads:
            if w.name == name:
                return w
        raise UserError(f"unknown workload {name!r}{did_you_mean(name, [w.name for w in self.workloads])}",
                        file=self.file, field="workload")

    def resolve_path(self, relative: str) -> Path:
        """A path from the plan, relative to the plan file's folder."""
        p = Path(relative)
        if p.is_absolute() or self.file is None:
            return p
        return Path(self.file).parent / p


# --- loading ---------------------------------------------------------------------------------

def _loc_to_path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc` (or of its deepest existing parent)."""
    node, line = root, None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    nxt = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        node = nxt
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _message(err: dict[str, Any], model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], str]:
    kind = err["type"]
    msg = err["msg"]
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        choices = list(parent.model_fields) if parent else []
        choices = [c for c in choices if c != "file"]
        return loc, f"unknown field{did_you_mean(str(loc[-1]), choices)}"
    if kind == "missing":
        return loc, "is required"
    if kind == "literal_error":
        value = err.get("input")
        expected = err.get("ctx", {}).get("expected", "")
        return loc, f"{value!r} is not one of {expected}{did_you_mean(str(value), PURCHASE_OPTIONS)}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
        # validators may name a sub-path first: "[2]: unknown ..." or "workloads[0].x: ..."
        m = re.match(r"^((?:\[\d+\])?(?:\.?[A-Za-z_][\w]*)*(?:\[\d+\])*(?:\.[A-Za-z_][\w]*)*):\s(.*)$", msg)
        if m and (m.group(1).startswith("[") or "." in m.group(1) or m.group(1) in ("workloads",)):
            sub, rest = m.group(1), m.group(2)
            parts: list[Any] = []
            for token in re.findall(r"\[(\d+)\]|([A-Za-z_][\w]*)", sub):
                parts.append(int(token[0]) if token[0] else token[1])
            return tuple(loc) + tuple(parts), rest
        return loc, msg
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return loc, f"{msg.lower()}, got {err.get('input')!r}"
    return loc, f"{msg[0].lower()}{msg[1:]}" + (f", got {err.get('input')!r}" if "input" in err and
                                                 not isinstance(err.get("input"), (dict, list)) else "")


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    import typing

    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        # unwrap list[X], X | None
        for _ in range(3):
            args = typing.get_args(ann)
            if not args:
                break
            ann = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), args[0])
        current = ann
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def parse(data: Any, *, file: str = "<plan>", root: yaml.Node | None = None) -> Plan:
    """Validate an already-parsed plan (a dict) and return a `Plan`."""
    if not isinstance(data, dict):
        raise UserError("a plan is a YAML mapping (name, start, horizon_months, constraints, "
                        "workloads, costs)", file=file)
    data = dict(data)
    data.pop("file", None)
    # YAML reads 2027-01-01 as a date; keep the value so the error shows what was written
    try:
        plan = Plan.model_validate({**data, "file": file})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        loc, msg = _message(err, Plan, loc)
        raise UserError(msg, file=file, field=_loc_to_path(loc) or None,
                        line=_line_of(root, loc)) from None
    return plan


def load(path: str | Path) -> Plan:
    """Read and validate a plan file; raise `UserError` naming the file, line and field."""
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise UserError("no such file", file=file)
    if path.is_dir():
        raise UserError("is a directory, not a plan file", file=file)
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UserError(f"YAML syntax error: {problem}", file=file,
                        line=(mark.line + 1) if mark else None) from None
    if data is None:
        raise UserError("is empty", file=file)
    return parse(data, file=file, root=root)


def workload_model_spec(workload: Workload, models: dict):
    """The ModelSpec a workload is sized with: read from its hf_config at load time, else `models[model]`."""
    return workload._model_spec if workload._model_spec is not None else models[workload.model]
