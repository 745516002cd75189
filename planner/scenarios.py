"""Scenarios (low / base / high) and one-at-a-time sensitivity of a plan's forecast.

`run(plan, build)` builds variants of the plan and calls `build` on each (a function from a plan to
its `Forecast`, passed in so this module never builds a forecast itself: the dependency stays
one-way). Variants are deep copies of the plan with a few fields changed:

- traffic: `workloads[i].traffic.requests_per_day` (or every value of `requests_per_day_by_month`)
  times a multiplier;
- growth: `workloads[i].traffic.monthly_growth` (only for workloads that grow from
  `requests_per_day`; an explicit monthly series keeps its shape);
- token lengths: `workloads[i].traffic.input_tokens` / `.output_tokens` times a multiplier;
- GPU prices: `plan.pricing.compute_price_multiplier`; spot prices: `plan.pricing.spot_price_multiplier`;
- API prices: `plan.pricing.api_price_multiplier` (every API bill, after each model's own discount);
- buffer: `plan.costs.uncertainty_buffer`.

Scenario ranges come from the plan's `scenarios` section (its defaults are the one definition:
traffic 0.7 / 1.5, spot prices 0.8 / 1.5, API prices 1.0 / 1.0, growth = base growth × 0.5 / × 1.5
unless set). Low moves traffic, growth, spot and API prices down together, high moves them up.
Sensitivity moves one parameter at a time: traffic (the scenario range), input and output tokens
(× 0.8 / × 1.2), GPU prices (× 0.8 / × 1.2), API prices (× 0.5 / × 1.2) and the uncertainty
buffer (± 0.15, kept within 0..1).

Cost: 2 scenario builds + 12 sensitivity builds (+ 1 for the base unless it is passed in);
identical variants are built once. The API-price variants change no fleet (only the bill).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from planner.forecast.model import FleetChange, FleetChoice, Forecast, Scenario, Sensitivity
from planner.plan import Plan
from planner.plan.schema import GROWTH_FACTORS  # one definition: the plan's scenarios section documents it

TOKEN_RANGE = (0.8, 1.2)
GPU_PRICE_RANGE = (0.8, 1.2)
# API prices: × 0.5 is what a batch API (OpenAI's Batch API is −50 %) or a committed-use deal pays;
# × 1.2 matches the GPU range's upside (list prices rarely rise, but a discount can end)
API_PRICE_RANGE = (0.5, 1.2)
BUFFER_STEP = 0.15

Build = Callable[[Plan], Forecast]


# --- plan variants -----------------------------------------------------------------------------

def _update(model, **changes):
    return model.model_copy(update=changes)


def _map_traffic(plan: Plan, fn: Callable[[Any, Any], dict]) -> Plan:
    """A deep copy of `plan` whose every workload's traffic is updated with fn(workload, traffic)."""
    new = plan.model_copy(deep=True)
    workloads = []
    for w in new.workloads:
        changes = fn(w, w.traffic)
        workloads.append(_update(w, traffic=_update(w.traffic, **changes)) if changes else w)
    return _update(new, workloads=workloads)


def scale_traffic(plan: Plan, k: float) -> Plan:
    def fn(_w, t):
        if t.requests_per_day_by_month is not None:
            return {"requests_per_day_by_month": {m: v * k for m, v in t.requests_per_day_by_month.items()}}
        return {"requests_per_day": t.requests_per_day * k}
    return _map_traffic(plan, fn)


def set_growth(plan: Plan, growth: dict[str, float | None]) -> Plan:
    def fn(w, t):
        g = growth.get(w.name)
        return {} if g is None else {"monthly_growth": g}
    return _map_traffic(plan, fn)


def scale_tokens(plan: Plan, field: str, k: float) -> Plan:
    return _map_traffic(plan, lambda _w, t: {field: getattr(t, field) * k})


def set_pricing(plan: Plan, **changes) -> Plan:
    new = plan.model_copy(deep=True)
    return _update(new, pricing=_update(new.pricing, **changes))


def set_buffer(plan: Plan, buffer: float) -> Plan:
    new = plan.model_copy(deep=True)
    return _update(new, costs=_update(new.costs, uncertainty_buffer=buffer))


def growth_of(plan: Plan, which: str) -> dict[str, float | None]:
    """Monthly growth per workload in the low/high scenario; None where the traffic is a series."""
    fixed = getattr(plan.scenarios, f"growth_{which}")
    factor = GROWTH_FACTORS[0 if which == "low" else 1]
    out: dict[str, float | None] = {}
    for w in plan.workloads:
        if w.traffic.requests_per_day_by_month is not None:
            out[w.name] = None
        else:
            out[w.name] = float(fixed) if fixed is not None else w.traffic.monthly_growth * factor
    return out


# --- reading a forecast ------------------------------------------------------------------------

def primary_model(forecast: Forecast) -> str | None:
    """The API model the sensitivity reports against: the first with a break-even entry."""
    return next(iter(forecast.break_even), None)


def horizon_savings_usd(forecast: Forecast, model: str | None) -> float | None:
    """API path minus self-hosted, over the whole horizon."""
    horizon = forecast.totals.horizon
    if model is None or model not in horizon.api_path_usd:
        return None
    return horizon.api_path_usd[model] - horizon.self_hosted_usd


def break_even_month(forecast: Forecast, model: str | None) -> str | None:
    entry = forecast.break_even.get(model) if model else None
    return entry.month if entry else None


def fleet_changes(base: list[FleetChoice], other: list[FleetChoice], *, source: str, name: str,
                  side: str) -> list[FleetChange]:
    """The workloads whose chosen instance type, regions or TP differ between two forecasts."""
    by_name = {c.workload: c for c in base}
    out = []
    for o in other:
        b = by_name.get(o.workload)
        if b is None:
            continue
        changed = [f for f in ("instance_type", "regions", "tp") if getattr(b, f) != getattr(o, f)]
        if changed:
            out.append(FleetChange(source=source, name=name, side=side, workload=o.workload, changed=changed,
                                   base=b, other=o))
    return out


# --- the variants ------------------------------------------------------------------------------

def scenario_plan(plan: Plan, name: str) -> Plan:
    """The low or high scenario's plan: traffic, growth, spot and API prices moved together."""
    s = plan.scenarios
    spot = float(plan.pricing.spot_price_multiplier) * float(getattr(s, f"spot_price_{name}"))
    api = float(plan.pricing.api_price_multiplier) * float(getattr(s, f"api_price_{name}"))
    moved = set_growth(scale_traffic(plan, float(getattr(s, f"traffic_{name}"))), growth_of(plan, name))
    return set_pricing(moved, spot_price_multiplier=spot, api_price_multiplier=api)


def sensitivity_ranges(plan: Plan) -> list[tuple[str, str, float, float, float, Callable[[float], Plan]]]:
    """(parameter, unit, base value, low value, high value, the plan at a value) per sensitivity bar."""
    s = plan.scenarios
    buffer = float(plan.costs.uncertainty_buffer)
    gpu = float(plan.pricing.compute_price_multiplier)
    api_base = float(plan.pricing.api_price_multiplier)
    return [
        ("traffic", "multiplier", 1.0, float(s.traffic_low), float(s.traffic_high), lambda k: scale_traffic(plan, k)),
        ("input_tokens", "multiplier", 1.0, *TOKEN_RANGE, lambda k: scale_tokens(plan, "input_tokens", k)),
        ("output_tokens", "multiplier", 1.0, *TOKEN_RANGE, lambda k: scale_tokens(plan, "output_tokens", k)),
        ("gpu_prices", "multiplier", 1.0, *GPU_PRICE_RANGE,
         lambda k: set_pricing(plan, compute_price_multiplier=gpu * k)),
        ("api_prices", "multiplier", 1.0, *API_PRICE_RANGE,
         lambda k: set_pricing(plan, api_price_multiplier=api_base * k)),
        ("uncertainty_buffer", "fraction", buffer, max(0.0, buffer - BUFFER_STEP), min(1.0, buffer + BUFFER_STEP),
         lambda b: set_buffer(plan, b)),
    ]


def variant_plans(plan: Plan) -> list[Plan]:
    """Every plan `run` builds besides `plan` itself, in the order it builds them (some may be equal)."""
    out = [scenario_plan(plan, "low"), scenario_plan(plan, "high")]
    for _parameter, _unit, _base, low, high, make in sensitivity_ranges(plan):
        out += [make(low), make(high)]
    return out


# --- run ---------------------------------------------------------------------------------------

def run(plan: Plan, build: Build, *, base: Forecast | None = None) -> tuple[list[Scenario], list[Sensitivity]]:
    """Low/base/high scenarios and the one-at-a-time sensitivity of `plan` (see the module doc).

    `build` turns a plan into a forecast; `base`, when given, is build(plan) already done.
    """
    cache: dict[str, Forecast] = {}

    def forecast_of(p: Plan) -> Forecast:
        key = p.model_dump_json()
        if key not in cache:
            cache[key] = build(p)
        return cache[key]

    if base is not None:
        cache[plan.model_dump_json()] = base
    base = forecast_of(plan)
    s = plan.scenarios
    spot_base = float(plan.pricing.spot_price_multiplier)
    api_base = float(plan.pricing.api_price_multiplier)
    base_growth = {w.name: (None if w.traffic.requests_per_day_by_month is not None else w.traffic.monthly_growth)
                   for w in plan.workloads}
    scenarios: list[Scenario] = []
    for name in ("low", "base", "high"):
        if name == "base":
            traffic, growth, spot, api, result = 1.0, base_growth, spot_base, api_base, base
        else:
            traffic = float(getattr(s, f"traffic_{name}"))
            changed = growth_of(plan, name)
            spot = spot_base * float(getattr(s, f"spot_price_{name}"))
            api = api_base * float(getattr(s, f"api_price_{name}"))
            result = forecast_of(scenario_plan(plan, name))
            growth = {k: (v if v is not None else base_growth[k]) for k, v in changed.items()}
        changes = [] if name == "base" else fleet_changes(base.fleet_choice, result.fleet_choice, source="scenario",
                                                          name=name, side=name)
        scenarios.append(Scenario(name=name, traffic_multiplier=traffic, growth=growth, spot_price_multiplier=spot,
                                  api_price_multiplier=api, totals=result.totals, break_even=result.break_even,
                                  fleet_choice=result.fleet_choice, fleet_changes=changes))

    ranges = sensitivity_ranges(plan)
    model = primary_model(base)
    sensitivity = []
    for parameter, unit, base_value, low, high, make in ranges:
        lo, hi = forecast_of(make(low)), forecast_of(make(high))
        sensitivity.append(Sensitivity(
            parameter=parameter, unit=unit, model=model, base_value=base_value, low_value=low, high_value=high,
            break_even_base=break_even_month(base, model), break_even_low=break_even_month(lo, model),
            break_even_high=break_even_month(hi, model),
            horizon_savings_base_usd=horizon_savings_usd(base, model),
            horizon_savings_low_usd=horizon_savings_usd(lo, model),
            horizon_savings_high_usd=horizon_savings_usd(hi, model),
            fleet_changes=[*fleet_changes(base.fleet_choice, lo.fleet_choice, source="sensitivity", name=parameter,
                                          side="low"),
                           *fleet_changes(base.fleet_choice, hi.fleet_choice, source="sensitivity", name=parameter,
                                          side="high")]))
    return scenarios, sensitivity
