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
    on the first day of the month (asked once per period in which the model's price holds). The
    entry's `cached_input_share` of the input tokens (rounded to whole tokens) is priced at the
    provider's cached-input rate (genai-prices bills cache reads at the input rate where a model
    lists none); the bill is then scaled by (1 − `discount`) and by the plan's
    `pricing.api_price_multiplier`.
    """
    by_name = {w.name: w for w in plan.workloads}
    months = list(dict.fromkeys(demand["month"].to_numpy()))
    multiplier = plan.pricing.api_price_multiplier
    per_request = {w.name: usd_per_request_by_month(w, months, multiplier=multiplier) for w in plan.workloads}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for name, month, requests in zip(demand["workload"].to_numpy(), demand["month"].to_numpy(),
                                     demand["requests"].to_numpy()):
        prices = per_request[name]
        out[(name, month)] = {ref: prices[ref][month] * float(requests) for ref in by_name[name].api_models}
    return out


def usd_per_request_by_month(workload, months: list[str], input_tokens: float | None = None,
                             output_tokens: float | None = None, *,
                             multiplier: float = 1.0) -> dict[str, dict[str, float]]:
    """{provider/model: {month: USD for one request}} at the workload's (or the given) mean tokens,
    as paid: cached input share, (1 − discount) and `multiplier` applied (see `api_bill`)."""
    from pricing import api

    tokens_in = round(workload.traffic.input_tokens if input_tokens is None else input_tokens)
    tokens_out = round(workload.traffic.output_tokens if output_tokens is None else output_tokens)
    starts = [month_start(m) for m in months]
    out: dict[str, dict[str, float]] = {}
    for ref in workload.compare_with:
        cached = round(tokens_in * ref.cached_input_share)
        periods = api.price_periods(ref.model, starts)
        first: dict[int, float] = {}
        for on, period in zip(starts, periods):
            if period not in first:
                first[period] = (float(api.usd_per_request(ref.model, tokens_in, tokens_out, on,
                                                           cached_input_tokens=cached))
                                 * (1 - ref.discount) * multiplier)
        out[ref.model] = {m: first[period] for m, period in zip(months, periods)}
    return out
