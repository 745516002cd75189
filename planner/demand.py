"""Monthly demand per workload: requests, tokens, mean and peak rates, and the shape of a day.

Months are 730 hours (the AWS/Infracost convention used for every cost), so a month holds
730 / 24 = 30.42 days of traffic. Growth compounds monthly from the start month; an explicit
`requests_per_day_by_month` series is interpolated linearly between the months it names and held
flat after the last one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from planner.plan import Plan, Traffic, Workload
from pricing.terms import DAYS_PER_MONTH, HOURS_PER_MONTH
DEFAULT_PEAK_HOUR_UTC = 14  # the assumed busiest hour when only peak_to_average is given

COLUMNS = ["workload", "month", "requests_per_day", "requests", "input_tokens", "output_tokens",
           "mean_requests_per_s", "peak_requests_per_s", "mean_input_tokens_per_s",
           "mean_output_tokens_per_s", "peak_input_tokens_per_s", "peak_output_tokens_per_s"]


def requests_per_day(traffic: Traffic, months: list[str]) -> list[float]:
    """Requests per day in each month."""
    if traffic.requests_per_day is not None:
        return [traffic.requests_per_day * (1 + traffic.monthly_growth) ** k for k in range(len(months))]
    series = traffic.requests_per_day_by_month or {}
    index = {m: k for k, m in enumerate(months)}
    known_k = [index[m] for m in series]
    known_v = list(series.values())
    return [float(v) for v in np.interp(range(len(months)), known_k, known_v)]


@lru_cache(maxsize=64)
def _cosine_profile(peak_to_average: float, peak_hour: int = DEFAULT_PEAK_HOUR_UTC) -> tuple[float, ...]:
    """24 hourly factors (mean 1) shaped (1 + cos)^n with max/mean = peak_to_average.

    Used when a plan gives only a peak-to-average ratio: the daily curve is then an assumption
    (one smooth peak at 14:00 UTC), stated in the report.
    """
    hours = np.arange(24)
    base = 1 + np.cos(2 * np.pi * (hours - peak_hour) / 24)  # in [0, 2], peak 2 at peak_hour

    def ratio(n: float) -> float:
        shape = base ** n
        return float(shape.max() / shape.mean())

    if peak_to_average <= 1.0:
        return tuple([1.0] * 24)
    lo, hi = 0.0, 1.0
    while ratio(hi) < peak_to_average:
        hi *= 2
        if hi > 1e4:
            break
    for _ in range(100):
        mid = (lo + hi) / 2
        if ratio(mid) < peak_to_average:
            lo = mid
        else:
            hi = mid
    shape = base ** hi
    return tuple(float(x) for x in shape / shape.mean())


def hourly_factors(traffic: Traffic) -> np.ndarray:
    """Load in each hour of the day relative to the daily mean (mean 1, length 24)."""
    if traffic.hourly_profile is not None:
        w = np.asarray(traffic.hourly_profile, dtype=float)
        return w / w.mean()
    return np.asarray(_cosine_profile(float(traffic.peak_to_average)))


def peak_to_average(traffic: Traffic) -> float:
    if traffic.peak_to_average is not None:
        return float(traffic.peak_to_average)
    return float(hourly_factors(traffic).max())


def workload_table(workload: Workload, months: list[str]):
    import pandas as pd

    t = workload.traffic
    rpd = np.asarray(requests_per_day(t, months))
    mean_rps = rpd / 86400.0
    peak_rps = mean_rps * peak_to_average(t)
    return pd.DataFrame({
        "workload": workload.name,
        "month": months,
        "requests_per_day": rpd,
        "requests": rpd * DAYS_PER_MONTH,
        "input_tokens": rpd * DAYS_PER_MONTH * t.input_tokens,
        "output_tokens": rpd * DAYS_PER_MONTH * t.output_tokens,
        "mean_requests_per_s": mean_rps,
        "peak_requests_per_s": peak_rps,
        "mean_input_tokens_per_s": mean_rps * t.input_tokens,
        "mean_output_tokens_per_s": mean_rps * t.output_tokens,
        "peak_input_tokens_per_s": peak_rps * t.input_tokens,
        "peak_output_tokens_per_s": peak_rps * t.output_tokens,
    }, columns=COLUMNS)


def build(plan: Plan):
    """Demand for every workload and month, one row each (a pandas DataFrame with COLUMNS)."""
    import pandas as pd

    months = plan.months()
    return pd.concat([workload_table(w, months) for w in plan.workloads], ignore_index=True)
