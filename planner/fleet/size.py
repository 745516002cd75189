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
from dataclasses import dataclass

import numpy as np

from planner import demand as demand_mod
from planner.catalog import GpuSpec, ModelSpec
from planner.fleet.memo import CandidateArrays, Memo
from planner.fleet.mix import (MixSolution, commitment_usd, committed_active, effective_reserved_usd_per_hour,
                               spot_cap, top_up_usd)
from planner.fleet.model import (Candidate, Commitment, FleetLine, FleetPlan, HourlyInstances,
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


def exact_instances(mean_rps, levels: np.ndarray, headroom: float, instance_rps) -> np.ndarray:
    """Instances needed at each hour level before rounding up: demand with headroom over what one
    instance serves. `mean_rps` may be one month's mean rate (gives [level]) or every month's
    (gives [month, level]); `instance_rps` a number or an array broadcast against the result.

    Never a NaN or an overflow passed on: a non-finite count is an error (the plan's bounds rule
    it out, so it is a bug)."""
    exact = np.multiply.outer(mean_rps, levels) * (1 + headroom) / instance_rps
    if not np.isfinite(exact).all():
        raise ArithmeticError(f"instances needed is not a finite number ({np.max(mean_rps)!r} req/s, "
                              f"{np.min(instance_rps)!r} req/s per instance)")
    return exact


def instances_needed(mean_rps, levels: np.ndarray, headroom: float, instance_rps: float, floor: int) -> np.ndarray:
    """Instances needed at each hour level: demand with headroom over what one instance serves.

    `mean_rps` may be one month's mean rate (gives [level]) or every month's (gives [month, level]).
    More than MAX_INSTANCES in some hour is `FleetTooLarge`.
    """
    exact = exact_instances(mean_rps, levels, headroom, instance_rps)
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


def spot_unavailable_usd(plan: Plan, cand: Candidate, need, floors, weights, sol: MixSolution) -> np.ndarray:
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
        out[m] = without - top_up_usd(need[m], int(floors[m]), a, weights, cand.usd_per_hour, c.max_spot_share,
                                      c.spot_interruption_overhead)
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

    In every hour level, instances that are not spot must cover the floor and whatever spot cannot
    (at most the level's spot cap, `spot_cap`, each spot instance worth 1 / (1 + overhead) of one,
    rounded down), each at no less than the cheaper of the on-demand rate and the effective
    reserved rate (a commitment's whole price spread over the most months of the horizon it can
    cover: `planner.fleet.mix.effective_reserved_usd_per_hour`); the rest costs no less than the
    cheaper of that rate and the spot rate × (1 + overhead). Valid under whole commitments, as
    `planner.fleet.mix.lower_bound_usd`, which it computes for every candidate at once.
    Candidates with the same capacity per instance and floor share a need array. A group needing
    more than MAX_INSTANCES instances in some hour is too large: its bound is inf.
    Returns (bound [c], group of each candidate [c], needs [g, m, h], floors [g], exact peak [g]).
    """
    c = constraints
    f = price_factors or {}
    group, g_rps, g_floor = arrays.groups(floor_of)
    M = len(mean_rps)
    exact = exact_instances(mean_rps, levels, c.headroom, (g_rps * capacity_factor)[:, None, None])  # [g, m, h]
    peak = exact.max(axis=(1, 2), initial=0.0)
    too_large = peak > MAX_INSTANCES
    needs = np.maximum(np.ceil(np.minimum(exact, MAX_INSTANCES + 1) - 1e-9).astype(int), g_floor[:, None, None])
    spot_units = np.floor(spot_cap(needs, c.max_spot_share) / (1 + c.spot_interruption_overhead) + 1e-9)
    hours = weights * DAYS_PER_MONTH
    all_units = (needs * hours).sum(axis=(1, 2))
    not_spot = (np.maximum(needs - spot_units, g_floor[:, None, None]) * hours).sum(axis=(1, 2))
    # the least an instance-hour that is not spot can cost: on demand, or committed (whole term)
    effective = {o: effective_reserved_usd_per_hour({o: 1.0}, [o], M) for o in RESERVED}
    r_ns = np.min([arrays.rates[Purchase.ON_DEMAND] * f.get(Purchase.ON_DEMAND, 1.0)]
                  + [arrays.rates[o] * f.get(o, 1.0) * effective[o] for o in RESERVED], axis=0)
    r_spot = arrays.rates[Purchase.SPOT] * f.get(Purchase.SPOT, 1.0) * (1 + c.spot_interruption_overhead)
    has_spot = np.isfinite(r_spot)
    rest = np.minimum(r_ns, r_spot)
    with np.errstate(invalid="ignore"):
        bound = np.where(has_spot, r_ns * not_spot[group] + rest * (all_units - not_spot)[group],
                         r_ns * all_units[group])
    bound = np.where(too_large[group], np.inf, bound)
    return bound, group, needs, g_floor, peak


class NoCandidateFits(Exception):
    """Every candidate needs more than MAX_INSTANCES instances in some hour (`fewest`: the fewest
    any candidate needs at its peak hour, `candidate` that one)."""

    def __init__(self, fewest: float, candidate: Candidate):
        super().__init__(f"{fewest:,.0f} instances of {candidate.instance_type}")
        self.fewest, self.candidate = fewest, candidate


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
    candidate needing more than MAX_INSTANCES instances in some hour is left out; when every one
    does, `NoCandidateFits`. A Monte Carlo draw passes `capacity_factor` (the throughput model's
    error) and `price_factors` (price drift per purchase option).
    """
    c = constraints
    k = c.regions_per_workload
    share, overhead = c.max_spot_share, c.spot_interruption_overhead
    arrays = memo.arrays(cands)
    bound, group, needs, g_floor, peak = quick_bounds(c, arrays, mean_rps, levels, weights, floor_of,
                                                      capacity_factor=capacity_factor, price_factors=price_factors)
    if (peak > MAX_INSTANCES).all():
        i = int(np.argmin(peak[group]))
        raise NoCandidateFits(float(peak[group[i]]), cands[i])
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
        if not math.isfinite(bound[i]):
            break  # sorted by bound: the rest are too large (or priced at no allowed option)
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
    try:
        chosen = search(c, cands, mean_rps, levels, weights, lambda rpi: floor_instances(plan, rpi, k), memo)
    except NoCandidateFits as exc:
        i = plan.workloads.index(workload)
        raise UserError(f"needs {exc.fewest:,.0f} instances of {exc.candidate.instance_type} at its peak hour (the "
                        f"fewest of any candidate), more than the {MAX_INSTANCES} per region the planner sizes; "
                        "spread it over more regions (constraints.regions_per_workload), split it into several "
                        "workloads, or lower its traffic", file=plan.file, field=f"workloads[{i}].traffic") from None
    months: list[MonthFleet] = []
    signed: list[Commitment] = []
    after: list[float] = []
    names = plan.months()
    months_after = max((months_signed_after_horizon(ch.solution, len(names)) for ch in chosen), default=0)
    for ch in chosen:
        cand, need, floors, sol = ch.candidate, ch.need, ch.floors, ch.solution
        risk = spot_unavailable_usd(plan, cand, need, floors, weights, sol)
        mf = _month_fleets(plan, cand, mean_rps, peak_rps, levels, weights, hour_level, need, floors, sol, risk)
        months = mf if not months else [_merge(a, b) for a, b in zip(months, mf)]
        signed += commitments(workload.name, cand, sol, names)
        more = after_horizon_compute_usd(plan, cand, need, floors, weights, sol, months_after + 1)
        after = [x + y for x, y in itertools.zip_longest(after, more, fillvalue=0.0)]
    return WorkloadFleet(workload=workload.name, candidates=tuple(ch.candidate for ch in chosen), months=tuple(months),
                         considered=len(cands), commitments=tuple(sorted(signed, key=lambda x: x.start_month)),
                         after_horizon_compute_usd=tuple(after[:months_after]),
                         steady_compute_usd=after[months_after])


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
    fleets = tuple(size_workload(plan, w, demand, priced, workload_model_spec(w, models), gpus, factors, memo=memo)
                   for w in plan.workloads)
    return FleetPlan(workloads=fleets, solve_seconds=time.perf_counter() - started)
