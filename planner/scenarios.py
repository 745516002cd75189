"""Scenarios (low / base / high) and one-at-a-time sensitivity of a plan's forecast.

`run(plan, build)` builds variants of the plan and calls `build` (planner.forecast.build, passed in
so this module never imports the forecast: the dependency stays one-way) on each. Variants are
deep copies of the plan with a few fields changed:

- traffic: `workloads[i].traffic.requests_per_day` (or every value of `requests_per_day_by_month`)
  times a multiplier;
- growth: `workloads[i].traffic.monthly_growth` (only for workloads that grow from
  `requests_per_day`; an explicit monthly series keeps its shape);
- token lengths: `workloads[i].traffic.input_tokens` / `.output_tokens` times a multiplier;
- GPU prices: `plan.pricing.compute_price_multiplier`; spot prices: `plan.pricing.spot_price_multiplier`;
- buffer: `plan.costs.uncertainty_buffer`.

Scenario ranges come from the plan's `scenarios` section (traffic 0.7 / 1.5, spot prices 0.8 / 1.5,
growth = base growth × 0.5 / × 1.5 unless set). Low moves traffic, growth and spot prices down
together, high moves them up. Sensitivity moves one parameter at a time: traffic (the scenario
range), input and output tokens (× 0.8 / × 1.2), GPU prices (× 0.8 / × 1.2) and the uncertainty
buffer (± 0.15, kept within 0..1).

Cost: 2 scenario builds + 10 sensitivity builds (+ 1 for the base unless it is passed in);
identical variants are built once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

TOKEN_RANGE = (0.8, 1.2)
GPU_PRICE_RANGE = (0.8, 1.2)
BUFFER_STEP = 0.15
GROWTH_FACTORS = (0.5, 1.5)
DEFAULT_SCENARIOS = {"traffic_low": 0.7, "traffic_high": 1.5, "growth_low": None, "growth_high": None,
                     "spot_price_low": 0.8, "spot_price_high": 1.5}


def _settings(plan) -> dict[str, Any]:
    s = getattr(plan, "scenarios", None)
    out = dict(DEFAULT_SCENARIOS)
    if s is not None:
        for k in out:
            v = getattr(s, k, None) if not isinstance(s, dict) else s.get(k)
            if v is not None or k.startswith("growth"):
                out[k] = v
    return out


# --- plan variants -----------------------------------------------------------------------------

def _update(model, **changes):
    return model.model_copy(update=changes)


def _map_traffic(plan, fn: Callable[[Any, Any], dict]):
    """A deep copy of `plan` whose every workload's traffic is updated with fn(workload, traffic)."""
    new = plan.model_copy(deep=True)
    workloads = []
    for w in new.workloads:
        changes = fn(w, w.traffic)
        workloads.append(_update(w, traffic=_update(w.traffic, **changes)) if changes else w)
    return _update(new, workloads=workloads)


def scale_traffic(plan, k: float):
    def fn(_w, t):
        if t.requests_per_day_by_month is not None:
            return {"requests_per_day_by_month": {m: v * k for m, v in t.requests_per_day_by_month.items()}}
        return {"requests_per_day": t.requests_per_day * k}
    return _map_traffic(plan, fn)


def set_growth(plan, growth: dict[str, float | None]):
    def fn(w, t):
        g = growth.get(w.name)
        return {} if g is None else {"monthly_growth": g}
    return _map_traffic(plan, fn)


def scale_tokens(plan, field: str, k: float):
    return _map_traffic(plan, lambda _w, t: {field: getattr(t, field) * k})


def set_pricing(plan, **changes):
    new = plan.model_copy(deep=True)
    return _update(new, pricing=_update(new.pricing, **changes))


def set_buffer(plan, buffer: float):
    new = plan.model_copy(deep=True)
    return _update(new, costs=_update(new.costs, uncertainty_buffer=buffer))


def _growth(plan, which: str, settings: dict) -> dict[str, float | None]:
    """Monthly growth per workload in the low/high scenario; None where the traffic is a series."""
    fixed = settings[f"growth_{which}"]
    factor = GROWTH_FACTORS[0 if which == "low" else 1]
    out: dict[str, float | None] = {}
    for w in plan.workloads:
        if w.traffic.requests_per_day_by_month is not None:
            out[w.name] = None
        else:
            out[w.name] = float(fixed) if fixed is not None else w.traffic.monthly_growth * factor
    return out


# --- reading a forecast ------------------------------------------------------------------------

def primary_model(forecast: dict) -> str | None:
    """The API model the sensitivity reports against: the first with a break-even entry, else the
    first compared model in the horizon totals."""
    be = forecast.get("break_even") or {}
    if be:
        return next(iter(be))
    horizon = (forecast.get("totals") or {}).get("horizon") or {}
    for key in ("api_path_usd", "api_usd"):
        if horizon.get(key):
            return next(iter(horizon[key]))
    return None


def horizon_savings_usd(forecast: dict, model: str | None) -> float | None:
    """API path (or token bill, if no path cost) minus self-hosted, over the whole horizon."""
    horizon = (forecast.get("totals") or {}).get("horizon") or {}
    sh = horizon.get("self_hosted_usd")
    if model is None or not isinstance(sh, (int, float)):
        return None
    api = (horizon.get("api_path_usd") or {}).get(model)
    if api is None:
        api = (horizon.get("api_usd") or {}).get(model)
    return None if api is None else float(api) - float(sh)


def break_even_month(forecast: dict, model: str | None) -> str | None:
    if model is None:
        return None
    return ((forecast.get("break_even") or {}).get(model) or {}).get("month")


def _summary(forecast: dict) -> dict[str, Any]:
    return {"totals": forecast.get("totals") or {}, "break_even": forecast.get("break_even") or {}}


# --- run ---------------------------------------------------------------------------------------

def _build_all(build: Callable[[Any], dict], plans: list, cache: dict[str, dict], workers: int) -> list[dict]:
    """build() of each plan, once per distinct plan; in `workers` processes when workers > 1."""
    keys = [p.model_dump_json() for p in plans]
    todo = {k: p for k, p in zip(keys, plans) if k not in cache}
    if workers > 1 and len(todo) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            for k, result in zip(todo, pool.map(build, todo.values())):
                cache[k] = result
    else:
        for k, p in todo.items():
            cache[k] = build(p)
    return [cache[k] for k in keys]


def run(plan, build: Callable[[Any], dict], *, base: dict | None = None, workers: int = 1) -> dict[str, Any]:
    """Low/base/high scenarios and the one-at-a-time sensitivity of `plan` (see the module doc).

    `build` turns a plan into a forecast dict; `base`, when given, is build(plan) already done.
    `workers` > 1 builds the variants in that many processes (`build` must then be a module-level
    function, as planner.forecast.build is); results do not depend on it.
    Returns {"scenarios": [...], "sensitivity": [...]} for the forecast's keys of the same names;
    sensitivity is [] while the base forecast has no break-even (no self-hosted side yet).
    """
    cache: dict[str, dict] = {}
    if base is not None:
        cache[plan.model_dump_json()] = base
    settings = _settings(plan)
    spot_base = float(plan.pricing.spot_price_multiplier)
    base_growth = {w.name: (None if w.traffic.requests_per_day_by_month is not None else w.traffic.monthly_growth)
                   for w in plan.workloads}
    scenario_plans = {}
    for name in ("low", "high"):
        traffic = float(settings[f"traffic_{name}"])
        growth = _growth(plan, name, settings)
        spot = spot_base * float(settings[f"spot_price_{name}"])
        scenario_plans[name] = (traffic, growth, spot,
                                set_pricing(set_growth(scale_traffic(plan, traffic), growth), spot_price_multiplier=spot))

    buffer = float(plan.costs.uncertainty_buffer)
    gpu = float(plan.pricing.compute_price_multiplier)
    ranges = [
        ("traffic", "multiplier", 1.0, float(settings["traffic_low"]), float(settings["traffic_high"]),
         lambda k: scale_traffic(plan, k)),
        ("input_tokens", "multiplier", 1.0, *TOKEN_RANGE, lambda k: scale_tokens(plan, "input_tokens", k)),
        ("output_tokens", "multiplier", 1.0, *TOKEN_RANGE, lambda k: scale_tokens(plan, "output_tokens", k)),
        ("gpu_prices", "multiplier", 1.0, *GPU_PRICE_RANGE,
         lambda k: set_pricing(plan, compute_price_multiplier=gpu * k)),
        ("uncertainty_buffer", "fraction", buffer, max(0.0, buffer - BUFFER_STEP), min(1.0, buffer + BUFFER_STEP),
         lambda b: set_buffer(plan, b)),
    ]
    sensitivity_plans = [(make(low), make(high)) for _p, _u, _b, low, high, make in ranges]

    # the base first: without a break-even there is nothing for the sensitivity to move
    if base is None:
        base = _build_all(build, [plan], cache, 1)[0]
    with_sensitivity = "break_even" in base
    plans = [v[3] for v in scenario_plans.values()]
    if with_sensitivity:
        plans += [p for pair in sensitivity_plans for p in pair]
    _build_all(build, plans, cache, workers)

    def forecast_of(p) -> dict:
        return cache[p.model_dump_json()]

    scenarios = []
    for name in ("low", "base", "high"):
        if name == "base":
            scenarios.append({"name": "base", "traffic_multiplier": 1.0, "growth": base_growth,
                              "spot_price_multiplier": spot_base, **_summary(base)})
            continue
        traffic, growth, spot, variant = scenario_plans[name]
        scenarios.append({"name": name, "traffic_multiplier": traffic,
                          "growth": {k: (v if v is not None else base_growth[k]) for k, v in growth.items()},
                          "spot_price_multiplier": spot, **_summary(forecast_of(variant))})
    if not with_sensitivity:
        return {"scenarios": scenarios, "sensitivity": []}

    model = primary_model(base)
    sensitivity = []
    for (parameter, unit, base_value, low, high, _make), (p_lo, p_hi) in zip(ranges, sensitivity_plans):
        lo, hi = forecast_of(p_lo), forecast_of(p_hi)
        sensitivity.append({
            "parameter": parameter, "unit": unit, "model": model,
            "base_value": base_value, "low_value": low, "high_value": high,
            "break_even_base": break_even_month(base, model),
            "break_even_low": break_even_month(lo, model), "break_even_high": break_even_month(hi, model),
            "horizon_savings_base_usd": horizon_savings_usd(base, model),
            "horizon_savings_low_usd": horizon_savings_usd(lo, model),
            "horizon_savings_high_usd": horizon_savings_usd(hi, model),
        })
    return {"scenarios": scenarios, "sensitivity": sensitivity}
