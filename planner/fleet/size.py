"""Sizing: the cheapest fleet that meets a workload's demand, month by month.

1. **Instances needed, hour by hour.** The day's shape (hourly profile or the assumed curve behind
   peak_to_average) times the month's mean rate, plus headroom, divided by what one instance
   serves, rounded up; never below the redundancy floor (`min_replicas`, spread over at least
   `availability_zones` instances when there are that many replicas).
2. **Purchase mix over time** (`planner.fleet.mix`), exact.
3. The cheapest candidate wins per region; a workload spread over k regions takes the k cheapest
   regions, each carrying 1/k of the demand. Two lower bounds prune candidates that cannot win.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from planner import demand as demand_mod
from planner.catalog import GpuSpec, ModelSpec
from planner.fleet.candidates import candidates as find_candidates
from planner.fleet.mix import (CostTable, MixSolution, commitment_usd, committed_active, cost_table,
                               lower_bound_usd, solve_mix, top_up_usd)
from planner.fleet.model import (HOURS_OF_DAY, Candidate, Commitment, FleetLine, FleetPlan, HourlyInstances,
                                 MonthFleet, WorkloadFleet, month_offset)
from planner.perf import PerfFactors
from planner.plan import Plan, Workload, workload_model_spec
from pricing import PricedOffer
from pricing.errors import UserError
from pricing.terms import DAYS_PER_MONTH, HOURS_PER_MONTH, RESERVED, TERM_MONTHS, Purchase

# --- the daily shape -------------------------------------------------------------------------


def hour_levels(workload: Workload) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct hourly load factors (relative to the daily mean, highest first), how many hours
    have each, and the level of each hour of the day (0..23 UTC)."""
    factors = np.round(demand_mod.hourly_factors(workload.traffic), 9)
    levels, inverse, counts = np.unique(factors, return_inverse=True, return_counts=True)
    order = np.argsort(-levels)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return levels[order], counts[order].astype(float), rank[inverse]


# Most instances of one candidate a workload may need in one region and hour. The exact purchase
# mix enumerates committed × spot counts per month, so its work grows with the square of this;
# 500 instances (4,000 GPUs of 8-GPU instances) keeps one candidate's sizing within seconds.
MAX_INSTANCES = 500


class FleetTooLarge(Exception):
    """A candidate would need more than MAX_INSTANCES instances in some hour."""

    def __init__(self, instances: float):
        super().__init__(f"{instances:,.0f} instances")
        self.instances = instances


def instances_needed(mean_rps: float, levels: np.ndarray, headroom: float, instance_rps: float,
                     floor: int) -> np.ndarray:
    """Instances needed at each hour level: demand with headroom over what one instance serves.

    Never a NaN or an overflow cast silently to an integer: a non-finite count is an error (the
    plan's bounds rule it out, so it is a bug), and more than MAX_INSTANCES is `FleetTooLarge`.
    """
    exact = mean_rps * levels * (1 + headroom) / instance_rps
    if not np.isfinite(exact).all():
        raise ArithmeticError(f"instances needed is not a finite number ({mean_rps!r} req/s, "
                              f"{instance_rps!r} req/s per instance)")
    peak = float(exact.max(initial=0.0))
    if peak > MAX_INSTANCES:
        raise FleetTooLarge(peak)
    need = np.ceil(exact - 1e-9).astype(int)
    return np.maximum(need, floor)


def floor_instances(plan: Plan, replicas_per_instance: int, regions: int = 1) -> int:
    """The redundancy floor of one region: `min_replicas` (shared between regions), and at least
    one instance per availability zone while there are replicas for it."""
    c = plan.constraints
    replicas = max(1, math.ceil(c.min_replicas / regions))
    instances = math.ceil(replicas / replicas_per_instance)
    return max(instances, min(c.availability_zones, replicas))


# --- from a solution to fleet lines ----------------------------------------------------------

def _month_fleets(plan: Plan, cand: Candidate, mean_rps: np.ndarray, peak_rps: np.ndarray, levels, weights,
                  hour_level, need, floors, sol: MixSolution, spot_unavailable: np.ndarray) -> list[MonthFleet]:
    overhead = plan.constraints.spot_interruption_overhead
    out = []
    for m, month in enumerate(plan.months()):
        lines: list[FleetLine] = []

        def line(purchase: Purchase, count: int, hours: float) -> None:
            if count <= 0:
                return
            rate = cand.usd_per_hour[purchase]
            lines.append(FleetLine(region=cand.region, instance_type=cand.instance_type, gpu=cand.gpu,
                                   gpus_per_instance=cand.gpus_per_instance, tp=cand.tp,
                                   replicas=count * cand.replicas_per_instance, count=count,
                                   purchase=purchase, usd_per_hour=rate, hours=hours,
                                   usd=count * rate * hours))

        committed = 0
        committed_usd_per_hour = 0.0
        for option in (Purchase.RESERVED_3Y, Purchase.RESERVED_1Y):
            active = committed_active(sol.reserved_bought, option, m)
            committed += active
            if active:
                committed_usd_per_hour += active * cand.usd_per_hour[option]
            line(option, active, float(HOURS_PER_MONTH))
        for purchase, grid in ((Purchase.ON_DEMAND, sol.on_demand), (Purchase.SPOT, sol.spot)):
            counts = grid[m]
            peak_count = int(counts.max()) if counts.size else 0
            if peak_count:
                instance_hours = float((counts * weights).sum() * DAYS_PER_MONTH)
                line(purchase, peak_count, instance_hours / peak_count)
        # committed instances idle in hours when fewer are needed are still paid
        used = np.minimum(committed, need[m])
        unused_hours = float(((committed - used) * weights).sum() * DAYS_PER_MONTH)
        committed_rate = committed_usd_per_hour / committed if committed else 0.0
        peak_h = 0  # levels are sorted high to low
        at_peak = committed + int(sol.on_demand[m, peak_h]) + int(sol.spot[m, peak_h])
        cap_instances = committed + sol.on_demand[m, peak_h] + sol.spot[m, peak_h] / (1 + overhead)
        hourly = HourlyInstances(
            committed=committed,
            on_demand=tuple(int(sol.on_demand[m, hour_level[h]]) for h in range(HOURS_OF_DAY)),
            spot=tuple(int(sol.spot[m, hour_level[h]]) for h in range(HOURS_OF_DAY)),
            floor=int(floors[m]))
        out.append(MonthFleet(
            month=month, lines=tuple(lines),
            instances_peak=at_peak,
            replicas_peak=at_peak * cand.replicas_per_instance,
            capacity_requests_per_s=float(cap_instances * cand.requests_per_s),
            demand_peak_requests_per_s=float(peak_rps[m]),
            committed_instances=committed,
            unused_committed_hours=unused_hours,
            unused_committed_usd=unused_hours * committed_rate,
            hourly={cand.region: hourly},
            spot_unavailable_usd=float(spot_unavailable[m]),
        ))
    return out


def _merge(a: MonthFleet, b: MonthFleet) -> MonthFleet:
    return MonthFleet(month=a.month, lines=a.lines + b.lines, instances_peak=a.instances_peak + b.instances_peak,
                      replicas_peak=a.replicas_peak + b.replicas_peak,
                      capacity_requests_per_s=a.capacity_requests_per_s + b.capacity_requests_per_s,
                      demand_peak_requests_per_s=a.demand_peak_requests_per_s + b.demand_peak_requests_per_s,
                      committed_instances=a.committed_instances + b.committed_instances,
                      unused_committed_hours=a.unused_committed_hours + b.unused_committed_hours,
                      unused_committed_usd=a.unused_committed_usd + b.unused_committed_usd,
                      hourly={**a.hourly, **b.hourly},
                      spot_unavailable_usd=a.spot_unavailable_usd + b.spot_unavailable_usd)


# --- what a solution signs and risks ---------------------------------------------------------------

def commitments(workload: str, cand: Candidate, sol: MixSolution, months: list[str]) -> list[Commitment]:
    """The reservations a solution buys, each with its whole term's cost split at the horizon's end."""
    out = []
    for option in RESERVED:
        for s, count in enumerate(sol.reserved_bought.get(option, ())):
            if count <= 0:
                continue
            term = TERM_MONTHS[option]
            rate = cand.usd_per_hour[option]
            inside = min(term, len(months) - s)
            per_month = count * rate * HOURS_PER_MONTH
            out.append(Commitment(workload=workload, region=cand.region, instance_type=cand.instance_type,
                                  purchase=option, count=count, start_month=months[s],
                                  end_month=month_offset(months[s], term - 1), usd_per_hour=rate,
                                  usd_total=commitment_usd(rate, option, count), usd_in_horizon=per_month * inside,
                                  usd_after_horizon=per_month * (term - inside)))
    return sorted(out, key=lambda c: (c.start_month, c.region, list(RESERVED).index(c.purchase)))


def _committed_by_month(sol: MixSolution, months: int) -> np.ndarray:
    return np.array([sum(committed_active(sol.reserved_bought, o, m) for o in RESERVED) for m in range(months)])


def _with_on_demand(cand: Candidate, usd_per_hour: dict[Purchase, float]) -> dict[Purchase, float]:
    """The rates, with on-demand at its list rate even where the plan does not buy it (the fallback
    when spot is unavailable or a commitment has ended)."""
    return {**usd_per_hour, Purchase.ON_DEMAND: usd_per_hour.get(Purchase.ON_DEMAND, cand.on_demand_usd_per_hour)}


def spot_unavailable_usd(plan: Plan, cand: Candidate, need, floors, weights, sol: MixSolution,
                         table: CostTable) -> np.ndarray:
    """Per month: what compute rises by if spot capacity is unavailable all month and on-demand
    instances replace the spot ones (the month's commitments unchanged)."""
    c = plan.constraints
    committed = _committed_by_month(sol, len(need))
    no_spot = {o: r for o, r in _with_on_demand(cand, cand.usd_per_hour).items() if o != Purchase.SPOT}
    out = np.zeros(len(need))
    for m in range(len(need)):
        if not sol.spot[m].any():
            continue
        a = int(committed[m])
        without = top_up_usd(need[m], int(floors[m]), a, weights, no_spot, 0.0, c.spot_interruption_overhead)
        out[m] = without - float(table.month_usd[m, a])
    return out


def months_signed_after_horizon(sol: MixSolution, months: int) -> int:
    """Months after the horizon's last that some commitment of `sol` still covers."""
    ends = [s + TERM_MONTHS[option] for option, bought in sol.reserved_bought.items()
            for s, count in enumerate(bought) if count > 0]
    return max([0, *(end - months for end in ends)])


def after_horizon_compute_usd(plan: Plan, cand: Candidate, need, floors, weights, sol: MixSolution,
                              months_after: int) -> list[float]:
    """"If demand continues": compute in each of `months_after` months after the horizon, with
    demand held at the horizon's last month. The commitments still in their term are paid; the rest
    of the last month's need runs on demand and spot (no new commitment is bought; on-demand at its
    list rate where the plan allows neither)."""
    c = plan.constraints
    months = len(need)
    spans = [(s, s + TERM_MONTHS[option] - 1, count, cand.usd_per_hour[option])
             for option, bought in sol.reserved_bought.items() for s, count in enumerate(bought) if count > 0]
    out = []
    for k in range(months, months + months_after):
        running = [(count, rate) for start, end, count, rate in spans if start <= k <= end]
        active = sum(count for count, _ in running)
        reserved = sum(count * rate * HOURS_PER_MONTH for count, rate in running)
        top = top_up_usd(need[-1], int(floors[-1]), active, weights, cand.usd_per_hour, c.max_spot_share,
                         c.spot_interruption_overhead)
        if not math.isfinite(top):
            top = top_up_usd(need[-1], int(floors[-1]), active, weights, _with_on_demand(cand, cand.usd_per_hour),
                             c.max_spot_share, c.spot_interruption_overhead)
        out.append(reserved + top)
    return out


# --- one workload --------------------------------------------------------------------------------

def size_workload(plan: Plan, workload: Workload, demand, priced: list[PricedOffer], model: ModelSpec,
                  gpus: dict[str, GpuSpec], factors: PerfFactors) -> WorkloadFleet:
    """The cheapest fleet for one workload (its rows of the demand table) over the horizon."""
    cands, reasons = find_candidates(plan, workload, priced, model, gpus, factors)
    if not cands:
        why = "; ".join(reasons[:3]) if reasons else "no priced instance type carries an allowed GPU"
        i = plan.workloads.index(workload)
        raise UserError(f"cannot be served in {', '.join(plan.constraints.regions)} with "
                        f"{', '.join(plan.constraints.gpus or ['any GPU'])}: {why}. Relax: allow more GPU "
                        "kinds or regions, a lower precision, or a looser SLO",
                        file=plan.file, field=f"workloads[{i}]")
    c = plan.constraints
    k = c.regions_per_workload
    share = 1.0 / k
    wt = demand[demand["workload"] == workload.name]
    levels, weights, hour_level = hour_levels(workload)
    mean_rps = wt["mean_requests_per_s"].to_numpy() * share
    peak_rps = wt["peak_requests_per_s"].to_numpy() * share
    best_per_region: dict[str, tuple[float, Candidate, np.ndarray, np.ndarray, MixSolution, CostTable]] = {}
    prepared = []
    too_large: list[tuple[float, Candidate]] = []
    for cand in cands:
        floor = floor_instances(plan, cand.replicas_per_instance, k)
        try:
            need = np.stack([instances_needed(r, levels, c.headroom, cand.requests_per_s, floor) for r in mean_rps])
        except FleetTooLarge as exc:
            too_large.append((exc.instances, cand))
            continue
        floors = np.full(len(mean_rps), floor)
        quick = lower_bound_usd(need, weights, cand.usd_per_hour, c.spot_interruption_overhead,
                                max_spot_share=c.max_spot_share, floor=floors)
        prepared.append((quick, cand, need, floors))
    if not prepared:
        fewest, cand = min(too_large, key=lambda t: t[0])
        i = plan.workloads.index(workload)
        raise UserError(f"needs {fewest:,.0f} instances of {cand.instance_type} at its peak hour (the fewest of "
                        f"any candidate), more than the {MAX_INSTANCES} per region the planner sizes; spread it "
                        "over more regions (constraints.regions_per_workload), split it into several "
                        "workloads, or lower its traffic", file=plan.file, field=f"workloads[{i}].traffic")
    # cheapest bound first; among equals, the candidate that serves most per instance. Two bounds
    # prune: a quick one (cheapest rate on every needed instance-hour), then the exact per-month
    # cost table's (every commitment pays at least the cheapest reserved rate).
    prepared.sort(key=lambda p: (p[0], -p[1].requests_per_s, p[1].region, p[1].instance_type, p[1].tp))

    def bar(region: str) -> float:
        """A candidate matters only below its region's best and the k-th best region so far."""
        own = best_per_region[region][0] if region in best_per_region else math.inf
        bests = sorted(b[0] for b in best_per_region.values())
        kth = bests[k - 1] if len(bests) >= k else math.inf
        return min(own, kth) + 1e-6

    for quick, cand, need, floors in prepared:
        incumbent = best_per_region.get(cand.region)
        if quick > bar(cand.region):
            continue
        ct = cost_table(need, floors, weights, cand.usd_per_hour, c.max_spot_share, c.spot_interruption_overhead)
        if ct.lower_bound_usd(cand.usd_per_hour) > bar(cand.region):
            continue
        sol = solve_mix(need, floors, weights, cand.usd_per_hour, c.max_spot_share,
                        c.spot_interruption_overhead, table=ct)
        if (incumbent is None or sol.cost_usd < incumbent[0] - 1e-6
                or (sol.cost_usd <= incumbent[0] + 1e-6 and cand.requests_per_s > incumbent[1].requests_per_s)):
            best_per_region[cand.region] = (sol.cost_usd, cand, need, floors, sol, ct)
    chosen = sorted(best_per_region.values(), key=lambda b: (b[0], b[1].region))[:k]
    months: list[MonthFleet] = []
    signed: list[Commitment] = []
    after: list[float] = []
    names = plan.months()
    months_after = max((months_signed_after_horizon(ch[4], len(names)) for ch in chosen), default=0)
    for _cost, cand, need, floors, sol, ct in chosen:
        risk = spot_unavailable_usd(plan, cand, need, floors, weights, sol, ct)
        mf = _month_fleets(plan, cand, mean_rps, peak_rps, levels, weights, hour_level, need, floors, sol, risk)
        months = mf if not months else [_merge(a, b) for a, b in zip(months, mf)]
        signed += commitments(workload.name, cand, sol, names)
        more = after_horizon_compute_usd(plan, cand, need, floors, weights, sol, months_after + 1)
        after = [x + y for x, y in itertools.zip_longest(after, more, fillvalue=0.0)]
    return WorkloadFleet(workload=workload.name, candidates=tuple(ch[1] for ch in chosen), months=tuple(months),
                         considered=len(cands), commitments=tuple(sorted(signed, key=lambda x: x.start_month)),
                         after_horizon_compute_usd=tuple(after[:months_after]),
                         steady_compute_usd=after[months_after])


def build(plan: Plan, demand, priced: list[PricedOffer], models: dict[str, ModelSpec],
          gpus: dict[str, GpuSpec], factors: PerfFactors) -> FleetPlan:
    """Size every workload of `plan` (the cheapest fleet meeting peak demand with headroom).

    `demand` is `planner.demand.build(plan)`; `priced` the offers the plan may buy
    (`planner.fleet.offers`); `models`, `gpus` and `factors` the catalogs and the throughput model's
    calibration. Nothing is read from disk here.
    """
    started = time.perf_counter()
    fleets = tuple(size_workload(plan, w, demand, priced, workload_model_spec(w, models), gpus, factors)
                   for w in plan.workloads)
    return FleetPlan(workloads=fleets, solve_seconds=time.perf_counter() - started)
