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
    on the first day of the month. The entry's `cached_input_share` of the input tokens (rounded to
    whole tokens) is priced at the provider's cached-input rate (genai-prices bills cache reads at
    the input rate where a model lists none); the bill is then scaled by (1 − `discount`) and by
    the plan's `pricing.api_price_multiplier`.
    """
    from pricing import api

    by_name = {w.name: w for w in plan.workloads}
    multiplier = plan.pricing.api_price_multiplier
    out: dict[tuple[str, str], dict[str, float]] = {}
    for row in demand.itertuples(index=False):
        w = by_name[row.workload]
        on = month_start(row.month)
        tokens_in = round(w.traffic.input_tokens)
        tokens_out = round(w.traffic.output_tokens)
        out[(row.workload, row.month)] = {
            ref.model: float(api.usd_per_request(ref.model, tokens_in, tokens_out, on,
                                                 cached_input_tokens=round(tokens_in * ref.cached_input_share)))
            * (1 - ref.discount) * multiplier * float(row.requests)
            for ref in w.compare_with
        }
    return out
