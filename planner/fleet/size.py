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

import math
import time
from dataclasses import dataclass

import numpy as np

from planner import demand as demand_mod
from planner.catalog import GpuSpec, ModelSpec
from planner.fleet.memo import CandidateArrays, Memo
from planner.fleet.mix import MixSolution, committed_active, committed_past_horizon_usd, spot_cap
from planner.fleet.model import (Candidate, FleetLine, FleetPlan, HourlyInstances, MonthFleet,
                                 WorkloadFleet)
from planner.perf import PerfFactors
from planner.plan import Plan, Workload
from pricing import PricedOffer
from pricing.errors import UserError
from pricing.terms import DAYS_PER_MONTH, HOURS_PER_MONTH, RESERVED, Purchase

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


def instances_needed(mean_rps, levels: np.ndarray, headroom: float, instance_rps: float, floor: int) -> np.ndarray:
    """Instances needed at each hour level: demand with headroom over what one instance serves.

    `mean_rps` may be one month's mean rate (gives [level]) or every month's (gives [month, level]).
    """
    need = np.ceil(np.multiply.outer(mean_rps, levels) * (1 + headroom) / instance_rps - 1e-9).astype(int)
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
                  hour_level, need, floors, sol: MixSolution) -> list[MonthFleet]:
    overhead = plan.constraints.spot_interruption_overhead
    od_by_hour = sol.on_demand[:, hour_level].tolist()  # [month][hour of day]
    spot_by_hour = sol.spot[:, hour_level].tolist()
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
        hourly = HourlyInstances(committed=committed, on_demand=tuple(od_by_hour[m]), spot=tuple(spot_by_hour[m]),
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
                      hourly={**a.hourly, **b.hourly})


# --- one workload --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chosen:
    """The cheapest candidate in one region, with the problem it was sized on and its exact mix."""

    cost_usd: float
    candidate: Candidate
    need: np.ndarray  # [month, level] instances
    floors: np.ndarray  # [month]
    usd_per_hour: dict[Purchase, float]  # the rates the mix was costed at
    solution: MixSolution
    requests_per_s: float = 0.0  # what one instance serves (the throughput factor applied)
    rank: int = 0  # the candidate's place in (region, instance type, TP) order

    def loses_to(self, cost_usd: float, requests_per_s: float, rank: int) -> bool:
        """Whether another candidate of the region replaces this one: cheaper by more than 1e-6
        USD; at the same cost, one that serves more per instance, then the first in (region,
        instance type, TP) order. The same answer whatever order candidates are tried in."""
        if abs(cost_usd - self.cost_usd) > 1e-6:
            return cost_usd < self.cost_usd
        return (-requests_per_s, rank) < (-self.requests_per_s, self.rank)


def quick_bounds(constraints, arrays: CandidateArrays, mean_rps: np.ndarray, levels: np.ndarray,
                 weights: np.ndarray, floor_of, *, capacity_factor: float = 1.0,
                 price_factors: dict[Purchase, float] | None = None):
    """A lower bound on every candidate's cost at once, and the need arrays behind it.

    In every hour, instances that are not spot must cover the floor and whatever spot cannot
    (at most the month's spot cap, each spot instance worth 1 / (1 + overhead) of one), each at no
    less than the cheapest on-demand or reserved rate; the rest costs no less than the cheaper of
    that rate and the spot rate × (1 + overhead). Candidates with the same capacity per instance
    and floor share a need array. Returns (bound [c], group of each candidate [c], needs [g, m, h],
    floors [g]).
    """
    c = constraints
    f = price_factors or {}
    group, g_rps, g_floor = arrays.groups(floor_of)
    base = np.multiply.outer(mean_rps, levels) * (1 + c.headroom)
    needs = np.maximum(np.ceil(base[None] / (g_rps * capacity_factor)[:, None, None] - 1e-9).astype(int),
                       g_floor[:, None, None])
    peaks = needs.max(axis=2)
    caps = np.array([spot_cap(p, c.max_spot_share) for p in range(int(peaks.max()) + 1)])
    spot_units = np.floor(caps[peaks] / (1 + c.spot_interruption_overhead) + 1e-9)
    hours = weights * DAYS_PER_MONTH
    all_units = (needs * hours).sum(axis=(1, 2))
    not_spot = (np.maximum(needs - spot_units[:, :, None], g_floor[:, None, None]) * hours).sum(axis=(1, 2))
    r_ns = np.min([arrays.rates[o] * f.get(o, 1.0) for o in (Purchase.ON_DEMAND, *RESERVED)], axis=0)
    r_spot = arrays.rates[Purchase.SPOT] * f.get(Purchase.SPOT, 1.0) * (1 + c.spot_interruption_overhead)
    has_spot = np.isfinite(r_spot)
    rest = np.minimum(r_ns, r_spot)
    with np.errstate(invalid="ignore"):
        bound = np.where(has_spot, r_ns * not_spot[group] + rest * (all_units - not_spot)[group],
                         r_ns * all_units[group])
    return bound, group, needs, g_floor


def search(constraints, cands: list[Candidate], mean_rps: np.ndarray, levels: np.ndarray, weights: np.ndarray,
           floor_of, memo: Memo, *, capacity_factor: float = 1.0,
           price_factors: dict[Purchase, float] | None = None) -> list[Chosen]:
    """The cheapest candidate per region for a workload's monthly mean rates (its share of them when
    it is spread over regions), the k cheapest regions first.

    Three lower bounds prune: `quick_bounds` for every candidate at once; a solved candidate with the
    same need array and options at rates no higher (a mix's cost is linear in the rates, so the
    other costs at least that cost × the smallest ratio of rates); then the exact cost table's
    (`Memo.mix`). Candidates are tried cheapest bound first (among equals, the one that serves most
    per instance); once a bound exceeds the k-th best region found, none after it can enter. A
    Monte Carlo draw passes `capacity_factor` (the throughput model's error) and `price_factors`
    (price drift per purchase option).
    """
    c = constraints
    k = c.regions_per_workload
    share, overhead = c.max_spot_share, c.spot_interruption_overhead
    arrays = memo.arrays(cands)
    bound, group, needs, g_floor = quick_bounds(c, arrays, mean_rps, levels, weights, floor_of,
                                                capacity_factor=capacity_factor, price_factors=price_factors)
    rps = arrays.requests_per_s * capacity_factor
    f = price_factors or {}
    rates = np.stack([arrays.rates[o] * f.get(o, 1.0) for o in Purchase], axis=1)  # [c, option]
    offered = np.isfinite(rates)
    solved: dict[int, list[tuple[np.ndarray, float]]] = {}  # group -> (rates, exact cost) of candidates solved
    best_per_region: dict[str, Chosen] = {}
    bests: list[float] = []  # the best cost per region, sorted

    def kth() -> float:
        return bests[k - 1] if len(bests) >= k else math.inf

    for i in np.lexsort((arrays.order, -rps, bound)):
        region = arrays.regions[i]
        if bound[i] > kth() + 1e-6:
            break  # sorted by bound: no later candidate can enter the k best
        incumbent = best_per_region.get(region)
        bar = min(incumbent.cost_usd if incumbent else math.inf, kth()) + 1e-6
        if bound[i] > bar:
            continue
        g = group[i]
        # the same problem at rates no lower than a solved one's, option for option, costs no less than
        # that one's cost × the smallest ratio of rates (a mix's cost is linear in the rates)
        for r, usd_solved in solved.get(g, ()):
            if (offered[i] == np.isfinite(r)).all():
                ratio = float(np.min(rates[i][offered[i]] / r[offered[i]]))
                if ratio * usd_solved > bar:
                    break
        else:
            r = None
        if r is not None:
            continue
        cand = cands[i]
        usd = cand.usd_per_hour if price_factors is None else {
            o: r * price_factors.get(o, 1.0) for o, r in cand.usd_per_hour.items()}
        need, floor = needs[g], int(g_floor[g])
        floors = np.full(len(mean_rps), floor)
        mix = memo.mix(need, floors, weights, usd, share, overhead)
        if mix.bound_usd > bar:
            continue
        sol = memo.solve(mix)
        solved.setdefault(g, []).append((rates[i], sol.cost_usd))
        if incumbent is None or incumbent.loses_to(sol.cost_usd, float(rps[i]), int(arrays.order[i])):
            best_per_region[region] = Chosen(sol.cost_usd, cand, need, floors, usd, sol, float(rps[i]),
                                             int(arrays.order[i]))
            bests = sorted(b.cost_usd for b in best_per_region.values())
    return sorted(best_per_region.values(), key=lambda b: (b.cost_usd, b.candidate.region))[:k]


def size_workload(plan: Plan, workload: Workload, demand, priced: list[PricedOffer], model: ModelSpec,
                  gpus: dict[str, GpuSpec], factors: PerfFactors, *, memo: Memo | None = None) -> WorkloadFleet:
    """The cheapest fleet for one workload (its rows of the demand table) over the horizon."""
    memo = memo if memo is not None else Memo()
    cands, reasons = memo.candidates(plan, workload, priced, model, gpus, factors)
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
    chosen = search(c, cands, mean_rps, levels, weights, lambda rpi: floor_instances(plan, rpi, k), memo)
    months: list[MonthFleet] = []
    past = 0.0
    for ch in chosen:
        mf = _month_fleets(plan, ch.candidate, mean_rps, peak_rps, levels, weights, hour_level, ch.need, ch.floors,
                           ch.solution)
        months = mf if not months else [_merge(a, b) for a, b in zip(months, mf)]
        past += committed_past_horizon_usd(ch.solution.reserved_bought, ch.candidate.usd_per_hour, len(mf))
    return WorkloadFleet(workload=workload.name, candidates=tuple(ch.candidate for ch in chosen), months=tuple(months),
                         considered=len(cands), commitments_past_horizon_usd=past)


def build(plan: Plan, demand, priced: list[PricedOffer], models: dict[str, ModelSpec],
          gpus: dict[str, GpuSpec], factors: PerfFactors, *, memo: Memo | None = None) -> FleetPlan:
    """Size every workload of `plan` (the cheapest fleet meeting peak demand with headroom).

    `demand` is `planner.demand.build(plan)`; `priced` the offers the plan may buy
    (`planner.fleet.offers`); `models`, `gpus` and `factors` the catalogs and the throughput model's
    calibration. Nothing is read from disk here. `memo` shares candidates and exact mixes with
    other sizings of the same forecast (a fresh one when omitted).
    """
    started = time.perf_counter()
    memo = memo if memo is not None else Memo()
    fleets = tuple(size_workload(plan, w, demand, priced, models[w.model], gpus, factors, memo=memo)
                   for w in plan.workloads)
    return FleetPlan(workloads=fleets, solve_seconds=time.perf_counter() - started)
