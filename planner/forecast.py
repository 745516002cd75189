"""The forecast: demand, the API bill and (with the fleet) the self-hosted cost of ownership, month by month.

`build(plan)` returns the forecast as a plain dict, the content of forecast.json (see
docs/forecast-json.md). Money stays unrounded here; the writers round to the cent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from planner import demand as demand_mod
from planner.plan import Plan

HOURS_PER_MONTH = demand_mod.HOURS_PER_MONTH
SCHEMA_VERSION = 1


def month_start(month: str) -> dt.date:
    year, mon = (int(x) for x in month.split("-"))
    return dt.date(year, mon, 1)


def api_bill(plan: Plan, table) -> dict[tuple[str, str], dict[str, float]]:
    """(workload, month) -> {provider/model: USD} for each model the workload compares with.

    Each request is priced by genai-prices at the workload's mean input and output tokens (rounded
    to whole tokens), so per-request tiers apply as the provider bills them, at the price in effect
    on the first day of the month.
    """
    from pricing import api

    by_name = {w.name: w for w in plan.workloads}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for row in table.itertuples(index=False):
        w = by_name[row.workload]
        on = month_start(row.month)
        tokens_in = round(w.traffic.input_tokens)
        tokens_out = round(w.traffic.output_tokens)
        out[(row.workload, row.month)] = {
            ref: float(api.usd_per_request(ref, tokens_in, tokens_out, on)) * float(row.requests)
            for ref in w.compare_with
        }
    return out


def _sum_dicts(dicts) -> dict[str, float]:
    total: dict[str, float] = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0.0) + v
    return total


def build(plan: Plan) -> dict[str, Any]:
    """The forecast of `plan` as a dict (the content of forecast.json)."""
    from pricing import api

    table = demand_mod.build(plan)
    bill = api_bill(plan, table)
    months_out = []
    for month in plan.months():
        rows = table[table["month"] == month]
        workloads = []
        for row in rows.itertuples(index=False):
            workloads.append({
                "name": row.workload,
                "requests": float(row.requests),
                "input_tokens": float(row.input_tokens),
                "output_tokens": float(row.output_tokens),
                "mean_requests_per_s": float(row.mean_requests_per_s),
                "peak_requests_per_s": float(row.peak_requests_per_s),
                "peak_output_tokens_per_s": float(row.peak_output_tokens_per_s),
                "api_usd": bill[(row.workload, month)],
            })
        months_out.append({
            "month": month,
            "workloads": workloads,
            "api_usd": _sum_dicts(w["api_usd"] for w in workloads),
        })

    def totals(months: list[dict[str, Any]]) -> dict[str, Any]:
        return {"api_usd": _sum_dicts(m["api_usd"] for m in months)}

    return {
        "schema_version": SCHEMA_VERSION,
        "plan": plan.model_dump(mode="json"),
        "hours_per_month": HOURS_PER_MONTH,
        "price_sources": [api.price_source(month_start(plan.start))],
        "assumptions": [
            {"name": "hours_per_month", "value": HOURS_PER_MONTH,
             "source": "AWS and Infracost convention (365 × 24 / 12)", "is_assumption": False},
        ],
        "months": months_out,
        "totals": {"first_12_months": totals(months_out[:12]), "horizon": totals(months_out)},
        "warnings": [],
    }
