"""Monthly demand per workload: requests, tokens, mean and peak rates, and the shape of a day.

Months are 730 hours (the AWS/Infracost convention used for every cost), so a month holds
730 / 24 = 30.42 days of traffic. Growth compounds monthly from the start month; an explicit
`requests_per_day_by_month` series is interpolated linearly between the months it names and held
flat after the last one.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from planner.errors import UserError
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

    Computed in log space, as ((1 + cos) / 2)^n = exp(n · log((1 + cos) / 2)): every term is in
    [0, 1] for any n, so nothing overflows. max/mean grows with n from 1 (n = 0) towards 24 (the
    whole day in the peak hour, reached in floating point for large n), so every ratio the plan
    allows (1..24) has a shape; the bisection keeps the upper end, whose ratio is >= the one asked
    for (the fleet never sizes for less than the stated peak).
    """
    if peak_to_average <= 1.0:
        return tuple([1.0] * 24)
    hours = np.arange(24)
    with np.errstate(divide="ignore"):
        log_base = np.log1p(np.cos(2 * np.pi * (hours - peak_hour) / 24)) - np.log(2.0)  # <= 0, -inf at the trough

    def shape(n: float) -> np.ndarray:
        return np.exp(n * log_base)  # n > 0: in [0, 1], exactly 1 at peak_hour

    def ratio(n: float) -> float:
        return float(24.0 / shape(n).sum())

    lo, hi = 0.0, 1.0
    while ratio(hi) < peak_to_average and hi < 1e6:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if ratio(mid) < peak_to_average:
            lo = mid
        else:
            hi = mid
    s = shape(hi)
    factors = s * (24.0 / s.sum())
    if not np.isfinite(factors).all():  # cannot happen for 1 <= peak_to_average <= 24: never a NaN shape
        raise ArithmeticError(f"daily shape for peak_to_average {peak_to_average!r} is not finite")
    return tuple(float(x) for x in factors)


def hourly_factors(traffic: Traffic) -> np.ndarray:
    """Load in each hour of the day relative to the daily mean (mean 1, length 24)."""
    if traffic.hourly_profile is not None:
        w = np.asarray(traffic.hourly_profile, dtype=float)
        w = w / w.max()  # scaled to [0, 1] first: the sum of any finite weights cannot overflow
        return w / w.mean()
    return np.asarray(_cosine_profile(float(traffic.peak_to_average)))


def peak_to_average(traffic: Traffic) -> float:
    if traffic.peak_to_average is not None:
        return float(traffic.peak_to_average)
    return float(hourly_factors(traffic).max())


def workload_columns(workload: Workload, months: list[str]) -> dict[str, np.ndarray]:
    """One workload's rows of the demand table, as columns."""
    t = workload.traffic
    rpd = np.asarray(requests_per_day(t, months))
    mean_rps = rpd / 86400.0
    peak_rps = mean_rps * peak_to_average(t)
    return {
        "workload": np.array([workload.name] * len(months), dtype=object),
        "month": np.array(months, dtype=object),
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
    }


def build(plan: Plan):
    """Demand for every workload and month, one row each (a pandas DataFrame with COLUMNS).

    Every figure is finite: a non-finite one (which the plan's bounds rule out) is a UserError
    naming the workload's traffic, never a number passed on.
    """
    import pandas as pd

    months = plan.months()
    tables = []
    for i, w in enumerate(plan.workloads):
        table = workload_columns(w, months)
        numbers = np.stack([table[name] for name in COLUMNS[2:]], axis=1)
        if not np.isfinite(numbers).all():
            row, col = np.argwhere(~np.isfinite(numbers))[0]
            raise UserError(f"{COLUMNS[2 + col]} in {months[row]} is not a finite number; lower the "
                            "traffic, growth or token counts", file=plan.file, field=f"workloads[{i}].traffic")
        tables.append(table)
    return pd.DataFrame({name: np.concatenate([t[name] for t in tables]) for name in COLUMNS}, columns=COLUMNS)
