"""Break-even and the recommendation: API, self-host or hybrid per workload, with what decided it.

Values only: the report turns them into sentences.
"""

from __future__ import annotations

import itertools

from planner.forecast.model import (BreakEven, PolicyTrigger, Recommendation, SpendThresholdTrigger, Trigger,
                                    VolumeTrigger, WorkloadDecision)
from planner.plan import Plan

MAX_WORKLOADS_FOR_EXACT_HYBRID = 12


def break_even(months: list[str], self_usd: list[float], api_usd: list[float], requests: list[float], *,
               running_self_usd: list[float] | None = None) -> BreakEven:
    """First month cumulative self-hosted ≤ cumulative API, and where the monthly lines cross.

    `self_usd` is what each month charges, the obligation after the horizon of the commitments
    signed in it included: the cumulative comparison counts an obligation from the month it is
    signed. `running_self_usd` (default `self_usd`) is each month's running cost without that
    obligation: the monthly lines, and the volume where they cross, compare running costs.
    """
    cum_s = cum_a = 0.0
    month = None
    for m, s, a in zip(months, self_usd, api_usd):
        cum_s += s
        cum_a += a
        if month is None and cum_s <= cum_a:
            month = m
    running = self_usd if running_self_usd is None else running_self_usd
    diffs = [a - s for s, a in zip(running, api_usd)]  # >= 0: self-hosting is cheaper that month
    for k, d in enumerate(diffs):
        if d >= 0:
            if k == 0:
                return BreakEven(month=month, crossing="at_start", crossing_month=months[0], monthly_requests=None)
            d0 = diffs[k - 1]
            frac = -d0 / (d - d0) if d != d0 else 0.0
            volume = requests[k - 1] + frac * (requests[k] - requests[k - 1])
            return BreakEven(month=month, crossing="in_horizon", crossing_month=months[k], monthly_requests=volume)
    return BreakEven(month=month, crossing="none", crossing_month=None, monthly_requests=None)


def best_split(names: list[str], ws_cost: dict[str, float], api_cost: dict[str, float], shared_total: float,
               api_fixed_total: float, buffer: float, forced: set[str]) -> tuple[set[str], float]:
    """Which workloads to self-host (exact over subsets): the lowest horizon total."""
    free = [n for n in names if n not in forced]
    best: tuple[float, int, set[str]] | None = None
    if len(free) > MAX_WORKLOADS_FOR_EXACT_HYBRID:  # too many subsets: decide each on its own
        subsets = [set(forced) | {n for n in free if ws_cost[n] * (1 + buffer) < api_cost[n]}]
    else:
        subsets = [set(forced) | set(combo) for r in range(len(free) + 1)
                   for combo in itertools.combinations(free, r)]
    for hosted in subsets:
        total = 0.0
        if hosted:
            total += (sum(ws_cost[n] for n in hosted) + shared_total) * (1 + buffer)
        if len(hosted) < len(names):
            total += sum(api_cost[n] for n in names if n not in hosted) + api_fixed_total
        key = (round(total, 6), -len(hosted))
        if best is None or key < (round(best[0], 6), -len(best[2])):
            best = (total, len(hosted), hosted)
    assert best is not None
    return best[2], best[0]


def recommend(plan: Plan, ws_cost: dict[str, float], api_cost: dict[str, float], shared_total: float,
              api_fixed_total: float, api_monthly: dict[str, list[tuple[str, float]]]) -> Recommendation:
    """API, self-host or hybrid per workload, with what decided it and the triggers that fired.

    `ws_cost` is each workload's own fleet, platform, retraining and obligation after the horizon
    (before the buffer); `shared_total` the people, data/eval and compliance the self-hosted path
    needs for any workload;
    `api_cost` its token bill on its first compared model, `api_monthly` that bill month by month.
    """
    buffer = plan.costs.uncertainty_buffer
    forced: dict[str, str] = {}
    for w in plan.workloads:
        if not w.api_allowed:
            forced[w.name] = "residency"
        elif not w.api_meets_slo:
            forced[w.name] = "latency"
    names = [w.name for w in plan.workloads]
    hosted, total = best_split(names, ws_cost, api_cost, shared_total, api_fixed_total, buffer, set(forced))
    threshold = plan.recommendation_spend_threshold_usd_month
    decisions: list[WorkloadDecision] = []
    triggers: list[Trigger] = []
    for w in plan.workloads:
        incumbent = w.api_models[0]
        peak_month, peak_spend = max(api_monthly[w.name], key=lambda x: x[1])
        if w.name in forced:
            triggers.append(PolicyTrigger(kind=forced[w.name], workload=w.name))
        else:
            triggers.append(VolumeTrigger(workload=w.name, model=incumbent, api_usd=api_cost[w.name],
                                          self_hosted_usd=ws_cost[w.name] * (1 + buffer)))
        if peak_spend >= threshold:
            first = next(m for m, usd in api_monthly[w.name] if usd >= threshold)
            triggers.append(SpendThresholdTrigger(workload=w.name, model=incumbent, threshold_usd_month=threshold,
                                                  first_month=first))
        decisions.append(WorkloadDecision(
            name=w.name, decision="self-host" if w.name in hosted else "api",
            reason=forced.get(w.name, "cost"), compared_with=incumbent,
            self_hosted_usd=ws_cost[w.name] * (1 + buffer), api_usd=api_cost[w.name],
            peak_api_usd_month=peak_spend, peak_api_month=peak_month))
    decision = "self-host" if len(hosted) == len(names) else "api" if not hosted else "hybrid"
    return Recommendation(decision=decision, workloads=decisions, triggers=triggers, horizon_total_usd=total,
                          all_api_horizon_usd=sum(api_cost.values()) + api_fixed_total)
