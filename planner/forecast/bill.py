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
    on the first day of the month (asked once per period in which the model's price holds).
    """
    by_name = {w.name: w for w in plan.workloads}
    months = list(dict.fromkeys(demand["month"].to_numpy()))
    per_request = {w.name: usd_per_request_by_month(w, months) for w in plan.workloads}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for name, month, requests in zip(demand["workload"].to_numpy(), demand["month"].to_numpy(),
                                     demand["requests"].to_numpy()):
        prices = per_request[name]
        out[(name, month)] = {ref: prices[ref][month] * float(requests) for ref in by_name[name].compare_with}
    return out


def usd_per_request_by_month(workload, months: list[str], input_tokens: float | None = None,
                             output_tokens: float | None = None) -> dict[str, dict[str, float]]:
    """{provider/model: {month: USD for one request}} at the workload's (or the given) mean tokens."""
    from pricing import api

    tokens_in = round(workload.traffic.input_tokens if input_tokens is None else input_tokens)
    tokens_out = round(workload.traffic.output_tokens if output_tokens is None else output_tokens)
    starts = [month_start(m) for m in months]
    out: dict[str, dict[str, float]] = {}
    for ref in workload.compare_with:
        periods = api.price_periods(ref, starts)
        first: dict[int, float] = {}
        for on, period in zip(starts, periods):
            if period not in first:
                first[period] = float(api.usd_per_request(ref, tokens_in, tokens_out, on))
        out[ref] = {m: first[period] for m, period in zip(months, periods)}
    return out
