"""The API bill: each workload's requests priced by genai-prices, month by month."""

from __future__ import annotations

import datetime as dt

from planner.plan import Plan


def month_start(month: str) -> dt.date:
    year, mon = (int(x) for x in month.split("-"))
    return dt.date(year, mon, 1)


def api_bill(plan: Plan, demand) -> dict[tuple[str, str], dict[str, float]]:
    """(workload, month) -> {provider/model: USD} for each model the workload compares with.

    Each request is priced by genai-prices at the workload's mean input and output tokens (rounded
    to whole tokens), so per-request tiers apply as the provider bills them, at the price in effect
    on the first day of the month.
    """
    from pricing import api

    by_name = {w.name: w for w in plan.workloads}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for row in demand.itertuples(index=False):
        w = by_name[row.workload]
        on = month_start(row.month)
        tokens_in = round(w.traffic.input_tokens)
        tokens_out = round(w.traffic.output_tokens)
        out[(row.workload, row.month)] = {
            ref: float(api.usd_per_request(ref, tokens_in, tokens_out, on)) * float(row.requests)
            for ref in w.compare_with
        }
    return out
