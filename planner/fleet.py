"""The cheapest fleet that meets demand, month by month, with its purchase mix (`planner.fleet`).

For each workload:

1. **Candidates.** Every (allowed region × instance type carrying an allowed GPU × tensor-parallel
   degree) that the throughput model says fits and meets the SLO. Instance types with the same
   GPU and GPU count in a region are equivalent; the cheapest leads and the others are kept as
   alternatives (the Auto Scaling group may launch any of them).
2. **Instances needed, hour by hour.** The day's shape (hourly profile or the assumed curve behind
   peak_to_average) times the month's mean rate, plus headroom, divided by what one instance
   serves, rounded up; never below the redundancy floor (`min_replicas`, spread over at least
   `availability_zones` instances when there are that many replicas).
3. **Purchase mix over time, as a mixed-integer program** (HiGHS through scipy.optimize.milp):
   reserved 1- and 3-year commitments bought in the month they start and paid every hour of
   their term; on-demand and spot paid only for the hours they run (autoscaling). Spot is capped
   at `max_spot_share` of the month's peak instances, never carries the redundancy floor, and
   needs `1 + spot_interruption_overhead` instances per instance of capacity. Commitments are
   costed for the months inside the forecast horizon; the report says what runs past it.
4. The cheapest candidate wins (a lower bound prunes candidates that cannot beat the best).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from planner import demand as demand_mod
from planner.errors import UserError
from planner.plan import Plan, Workload
from planner.provision import FleetLine

HOURS_PER_MONTH = demand_mod.HOURS_PER_MONTH
TERMS_MONTHS = {"reserved_1y": 12, "reserved_3y": 36}
TP_DEGREES = (1, 2, 4, 8)


@dataclass(frozen=True)
class Candidate:
    region: str
    instance_type: str
    gpu: str
    gpus_per_instance: int
    vcpus: int
    tp: int
    replicas_per_instance: int
    replica_requests_per_s: float
    usd_per_hour: dict  # purchase option -> $/instance-hour (multipliers applied), allowed options only
    assumed: frozenset
    source: str
    date: str
    on_demand_usd_per_gpu_hour: float = 0.0  # list price per GPU (prices retraining GPU-hours)
    equivalents: tuple[str, ...] = ()  # other instance types with the same GPUs in this region

    @property
    def requests_per_s(self) -> float:
        return self.replicas_per_instance * self.replica_requests_per_s


@dataclass
class MonthFleet:
    month: str
    lines: list[FleetLine]
    instances_peak: int
    replicas_peak: int
    capacity_requests_per_s: float  # at the peak hour, spot counted net of its interruption overhead
    demand_peak_requests_per_s: float
    committed_instances: int
    unused_committed_hours: float
    unused_committed_usd: float

    @property
    def compute_usd(self) -> float:
        return sum(line.usd for line in self.lines)


@dataclass
class WorkloadFleet:
    workload: str
    candidates: list[Candidate]  # the chosen one per region (one region unless the plan asks for more)
    months: list[MonthFleet]
    considered: int  # candidates that fit and met the SLO
    commitments_past_horizon_usd: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def candidate(self) -> Candidate:
        return self.candidates[0]


@dataclass
class FleetPlan:
    workloads: list[WorkloadFleet]
    solve_seconds: float = 0.0

    def workload(self, name: str) -> WorkloadFleet:
        for w in self.workloads:
            if w.workload == name:
                return w
        raise KeyError(name)


# --- the daily shape -------------------------------------------------------------------------

def hour_levels(workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Distinct hourly load factors (relative to the daily mean) and how many hours have each."""
    factors = np.round(demand_mod.hourly_factors(workload.traffic), 9)
    levels, counts = np.unique(factors, return_counts=True)
    order = np.argsort(-levels)
    return levels[order], counts[order].astype(float)


def instances_needed(mean_rps: float, levels: np.ndarray, headroom: float, instance_rps: float,
                     floor: int) -> np.ndarray:
    need = np.ceil(mean_rps * levels * (1 + headroom) / instance_rps - 1e-9).astype(int)
    return np.maximum(need, floor)


def floor_instances(plan: Plan, replicas_per_instance: int, regions: int = 1) -> int:
    c = plan.constraints
    replicas = max(1, math.ceil(c.min_replicas / regions))
    instances = math.ceil(replicas / replicas_per_instance)
    # spread the redundancy floor over AZs: at least one instance per AZ while there are replicas for it
    return max(instances, min(c.availability_zones, replicas))


# --- the mixed-integer program ---------------------------------------------------------------

@dataclass
class MixSolution:
    cost_usd: float
    reserved_bought: dict[str, list[int]]  # option -> instances bought in each month
    on_demand: np.ndarray  # [month, level] instances
    spot: np.ndarray  # [month, level] instances


def _flexible_costs(need: np.ndarray, floor: int, committed: np.ndarray, weights: np.ndarray,
                    usd_per_hour: dict[str, float], spot_cap: int, spot_overhead: float):
    """Cheapest on-demand and spot instances for one month, for every committed count at once.

    `need[h]` instances per hour level, `committed[a]` candidate counts of committed instances.
    Enumerates the spot count (0..spot_cap) for each (committed, level): exact for integer
    instances. Returns (USD for the month per committed count, inf where infeasible; on-demand
    [a, h]; spot [a, h]).
    """
    days = HOURS_PER_MONTH / 24
    od_rate = usd_per_hour.get("on_demand")
    spot_rate = usd_per_hour.get("spot")
    spots = np.arange(0, (spot_cap if spot_rate is not None else 0) + 1)
    # spot instances count for 1 / (1 + overhead) of an instance of capacity; never for the floor
    effective = np.floor(spots / (1 + spot_overhead) + 1e-9)
    a = committed[:, None, None]
    o = np.maximum(np.maximum(need[None, :, None] - a - effective[None, None, :], floor - a), 0)
    if od_rate is None:
        cost = np.where(o == 0, (spot_rate or 0.0) * spots[None, None, :], np.inf)
    else:
        cost = od_rate * o + (spot_rate or 0.0) * spots[None, None, :]
    k = np.argmin(cost, axis=2)  # ties go to fewer spot instances
    best = np.take_along_axis(cost, k[..., None], axis=2)[..., 0]
    on_demand = np.take_along_axis(o, k[..., None], axis=2)[..., 0].astype(int)
    month = (best * weights[None, :]).sum(axis=1) * days
    return month, on_demand, spots[k].astype(int)


@dataclass
class CostTable:
    """Per month, the exact on-demand/spot cost for every possible count of committed instances."""

    options_r: list[str]
    a_max: int
    month_usd: np.ndarray  # [m, a], inf where infeasible
    on_demand: np.ndarray  # [m, a, h]
    spot: np.ndarray  # [m, a, h]

    def lower_bound_usd(self, usd_per_hour: dict[str, float]) -> float:
        """No mix costs less: each active commitment pays at least the cheapest reserved rate."""
        rate = min((usd_per_hour[o] for o in self.options_r), default=0.0) * HOURS_PER_MONTH
        per_a = self.month_usd + rate * np.arange(self.a_max + 1)[None, :]
        return float(per_a.min(axis=1).sum())


def cost_table(need: np.ndarray, floor: np.ndarray, weights: np.ndarray, usd_per_hour: dict[str, float],
               max_spot_share: float, spot_overhead: float) -> CostTable:
    M, H = need.shape
    options_r = [o for o in ("reserved_1y", "reserved_3y") if o in usd_per_hour]
    peak = need.max(axis=1)
    a_max = int(need.max()) if options_r else 0
    A_vals = np.arange(a_max + 1)
    c = np.full((M, a_max + 1), np.inf)
    flex_od = np.zeros((M, a_max + 1, H), dtype=int)
    flex_spot = np.zeros((M, a_max + 1, H), dtype=int)
    for m in range(M):
        cap = math.floor(max_spot_share * peak[m] + 1e-9)
        c[m], flex_od[m], flex_spot[m] = _flexible_costs(need[m], int(floor[m]), A_vals, weights,
                                                         usd_per_hour, cap, spot_overhead)
    return CostTable(options_r=options_r, a_max=a_max, month_usd=c, on_demand=flex_od, spot=flex_spot)


def solve_mix(need: np.ndarray, floor: np.ndarray, weights: np.ndarray, usd_per_hour: dict[str, float],
              max_spot_share: float, spot_overhead: float, table: CostTable | None = None) -> MixSolution:
    """Cheapest purchase mix meeting `need[m, h]` instances in every month m and hour level h.

    `weights[h]` is the number of hours of the day at level h; `usd_per_hour` holds the allowed
    options only. Exact, as an integer program solved by HiGHS: integer commitments bought each
    month (`R[option, s]`), and for each month a one-hot choice `z[m, a]` of how many committed
    instances are active, whose on-demand and spot top-up cost `c[m, a]` is computed exactly by
    enumeration (`cost_table`). Active commitments must equal the sum of purchases still in
    their term.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    M, H = need.shape
    t = table or cost_table(need, floor, weights, usd_per_hour, max_spot_share, spot_overhead)
    options_r, a_max, c = t.options_r, t.a_max, t.month_usd
    A_vals = np.arange(a_max + 1)
    n_r = len(options_r) * M
    n_z = M * (a_max + 1)
    n = n_r + n_z
    cost = np.zeros(n)
    upper = np.ones(n)
    for k, opt in enumerate(options_r):
        for s in range(M):
            cost[k * M + s] = usd_per_hour[opt] * HOURS_PER_MONTH * min(TERMS_MONTHS[opt], M - s)
            upper[k * M + s] = a_max
    for m in range(M):
        for a in A_vals:
            j = n_r + m * (a_max + 1) + a
            if np.isfinite(c[m, a]):
                cost[j] = c[m, a]
            else:
                upper[j] = 0
    r_i: list[int] = []
    c_i: list[int] = []
    vals: list[float] = []
    for m in range(M):
        base = n_r + m * (a_max + 1)
        cols = list(range(base, base + a_max + 1))
        r_i += [m] * len(cols) + [M + m] * len(cols)  # one active count per month; its value
        c_i += cols + cols
        vals += [1.0] * len(cols) + [float(a) for a in A_vals]
        for k, opt in enumerate(options_r):
            for s in range(max(0, m - TERMS_MONTHS[opt] + 1), m + 1):
                r_i.append(M + m)  # active = purchases still in their term
                c_i.append(k * M + s)
                vals.append(-1.0)
    rows = coo_matrix((vals, (r_i, c_i)), shape=(2 * M, n))
    lo = np.concatenate([np.ones(M), np.zeros(M)])
    hi = lo.copy()
    if not np.isfinite(c).any(axis=1).all():
        raise UserError("no purchase mix meets demand under the constraints; allow on_demand or a "
                        "reserved option in constraints.purchase", field="constraints.purchase")
    res = milp(cost, constraints=LinearConstraint(rows.tocsr(), lo, hi), integrality=np.ones(n),
               bounds=Bounds(np.zeros(n), upper), options={"presolve": True, "mip_rel_gap": 0.0})
    if res.status != 0 or res.x is None:
        raise UserError(f"no purchase mix meets demand under the constraints ({res.message}); allow "
                        "on_demand or a reserved option in constraints.purchase", field="constraints.purchase")
    x = np.round(res.x).astype(int)
    reserved = {opt: [int(x[k * M + s]) for s in range(M)] for k, opt in enumerate(options_r)}
    on_demand = np.zeros((M, H), dtype=int)
    spot = np.zeros((M, H), dtype=int)
    total = float(sum(cost[:n_r] * x[:n_r]))
    for m in range(M):
        a = int(np.argmax(x[n_r + m * (a_max + 1): n_r + (m + 1) * (a_max + 1)]))
        on_demand[m], spot[m] = t.on_demand[m, a], t.spot[m, a]
        total += float(c[m, a])
    return MixSolution(cost_usd=total, reserved_bought=reserved, on_demand=on_demand, spot=spot)


def committed_active(reserved_bought: dict[str, list[int]], option: str, m: int) -> int:
    bought = reserved_bought.get(option)
    if not bought:
        return 0
    term = TERMS_MONTHS[option]
    return sum(bought[s] for s in range(max(0, m - term + 1), m + 1))


def lower_bound_usd(need: np.ndarray, weights: np.ndarray, usd_per_hour: dict[str, float],
                    spot_overhead: float) -> float:
    """No mix pays less than its cheapest effective rate on every instance-hour it needs."""
    rates = [usd_per_hour[o] for o in ("on_demand", "reserved_1y", "reserved_3y") if o in usd_per_hour]
    if "spot" in usd_per_hour:
        rates.append(usd_per_hour["spot"] * (1 + spot_overhead))
    return min(rates) * float((need * weights).sum()) * HOURS_PER_MONTH / 24


# --- candidates ------------------------------------------------------------------------------

def candidates(plan: Plan, workload: Workload, offers) -> tuple[list[Candidate], list[str]]:
    """Every (region, instance type, TP) that fits and meets the SLO, and why the rest do not."""
    from planner import catalog, perf
    from planner.plan import workload_model_spec

    model_spec = workload_model_spec(workload, catalog.load_models())
    gpus = catalog.load_gpus()
    factors = perf.load_factors()
    allowed = set(plan.constraints.purchase)
    mult = plan.pricing.compute_price_multiplier
    spot_mult = plan.pricing.spot_price_multiplier
    t = workload.traffic
    found: dict[tuple, list[Candidate]] = {}
    reasons: list[str] = []
    for po in offers:
        o = po.offer
        for tp in TP_DEGREES:
            if tp > o.gpu_count or o.gpu_count % tp:
                continue
            try:
                cap = perf.capacity(model_spec, gpus[o.gpu], precision=workload.precision, tp=tp,
                                    input_tokens=round(t.input_tokens), output_tokens=round(t.output_tokens),
                                    ttft_ms=workload.slo.ttft_ms, tpot_ms=workload.slo.tpot_ms,
                                    percentile=workload.slo.percentile, engine=workload.engine,
                                    kv_precision=workload.kv_precision, factors=factors)
            except UserError as exc:  # e.g. fp8 on a GPU without FP8: this GPU is not a candidate
                reasons.append(f"{o.gpu}: {exc.message}")
                break
            if not (cap.fits and cap.meets_slo) or cap.requests_per_s <= 0:
                if cap.reason:
                    reasons.append(f"{o.gpu} tp {tp}: {cap.reason}")
                continue
            usd = {}
            for option, rate in po.usd_per_hour.items():
                if option in allowed:
                    usd[option] = rate * mult * (spot_mult if option == "spot" else 1.0)
            if not ({"on_demand", "reserved_1y", "reserved_3y"} & set(usd)):
                continue
            c = Candidate(region=o.region, instance_type=o.instance_type, gpu=o.gpu,
                          gpus_per_instance=o.gpu_count, vcpus=o.vcpus, tp=tp,
                          replicas_per_instance=o.gpu_count // tp,
                          replica_requests_per_s=cap.requests_per_s, usd_per_hour=usd,
                          assumed=po.assumed, source=po.source, date=po.date,
                          on_demand_usd_per_gpu_hour=po.usd_per_hour["on_demand"] * mult / o.gpu_count)
            found.setdefault((o.region, o.gpu, o.gpu_count, tp), []).append(c)
    out = []
    for key in sorted(found):
        group = sorted(found[key], key=lambda c: (c.usd_per_hour.get("on_demand", math.inf), c.instance_type))
        lead = group[0]
        out.append(Candidate(**{**lead.__dict__, "equivalents": tuple(c.instance_type for c in group[1:])}))
    return out, list(dict.fromkeys(reasons))


# --- sizing ----------------------------------------------------------------------------------

def _month_fleets(plan: Plan, cand: Candidate, table, levels, weights, need, sol: MixSolution,
                  share: float) -> list[MonthFleet]:
    months = plan.months()
    days = HOURS_PER_MONTH / 24
    overhead = plan.constraints.spot_interruption_overhead
    out = []
    for m, month in enumerate(months):
        lines: list[FleetLine] = []

        def line(purchase: str, count: int, hours: float) -> None:
            if count <= 0:
                return
            rate = cand.usd_per_hour[purchase]
            lines.append(FleetLine(region=cand.region, instance_type=cand.instance_type, gpu=cand.gpu,
                                   gpus_per_instance=cand.gpus_per_instance, tp=cand.tp,
                                   replicas=count * cand.replicas_per_instance, count=count,
                                   purchase=purchase, usd_per_hour=rate, hours=hours,
                                   usd=count * rate * hours))

        committed = 0
        for option in ("reserved_3y", "reserved_1y"):
            active = committed_active(sol.reserved_bought, option, m)
            committed += active
            line(option, active, float(HOURS_PER_MONTH))
        for purchase, grid in (("on_demand", sol.on_demand), ("spot", sol.spot)):
            counts = grid[m]
            peak_count = int(counts.max()) if counts.size else 0
            if peak_count:
                instance_hours = float((counts * weights).sum() * days)
                line(purchase, peak_count, instance_hours / peak_count)
        # committed instances idle in hours when fewer are needed are still paid
        used = np.minimum(committed, need[m])
        unused_hours = float(((committed - used) * weights).sum() * days)
        committed_rate = (sum(cand.usd_per_hour[o] * committed_active(sol.reserved_bought, o, m)
                              for o in ("reserved_1y", "reserved_3y") if o in cand.usd_per_hour)
                          / committed) if committed else 0.0
        peak_h = 0  # levels are sorted high to low
        cap_instances = committed + sol.on_demand[m, peak_h] + sol.spot[m, peak_h] / (1 + overhead)
        rows = table[table["month"] == month]
        out.append(MonthFleet(
            month=month, lines=lines,
            instances_peak=int(committed + sol.on_demand[m, peak_h] + sol.spot[m, peak_h]),
            replicas_peak=int((committed + sol.on_demand[m, peak_h] + sol.spot[m, peak_h])
                              * cand.replicas_per_instance),
            capacity_requests_per_s=float(cap_instances * cand.requests_per_s),
            demand_peak_requests_per_s=float(rows["peak_requests_per_s"].iloc[0]) * share,
            committed_instances=committed,
            unused_committed_hours=unused_hours,
            unused_committed_usd=unused_hours * committed_rate,
        ))
    return out


def size_workload(plan: Plan, workload: Workload, offers, table) -> WorkloadFleet:
    cands, reasons = candidates(plan, workload, offers)
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
    wt = table[table["workload"] == workload.name]
    levels, weights = hour_levels(workload)
    mean_rps = wt["mean_requests_per_s"].to_numpy() * share
    best_per_region: dict[str, tuple[float, Candidate, np.ndarray, MixSolution]] = {}
    prepared = []
    for cand in cands:
        floor = floor_instances(plan, cand.replicas_per_instance, k)
        need = np.stack([instances_needed(r, levels, c.headroom, cand.requests_per_s, floor) for r in mean_rps])
        quick = lower_bound_usd(need, weights, cand.usd_per_hour, c.spot_interruption_overhead)
        prepared.append((quick, cand, need, np.full(len(mean_rps), floor)))
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
            best_per_region[cand.region] = (sol.cost_usd, cand, need, sol)
    chosen = sorted(best_per_region.values(), key=lambda b: (b[0], b[1].region))[:k]
    months: list[MonthFleet] = []
    past = 0.0
    for cost, cand, need, sol in chosen:
        mf = _month_fleets(plan, cand, wt, levels, weights, need, sol, share)
        if not months:
            months = mf
        else:
            months = [_merge(a, b) for a, b in zip(months, mf)]
        M = len(mf)
        for option, bought in sol.reserved_bought.items():
            term = TERMS_MONTHS[option]
            for s, count in enumerate(bought):
                past += count * cand.usd_per_hour[option] * HOURS_PER_MONTH * max(0, s + term - M)
    notes = []
    if k == 1:
        notes.append(f"{workload.name} runs in one region ({chosen[0][1].region}); set "
                     "constraints.regions_per_workload to spread it over more")
    return WorkloadFleet(workload=workload.name, candidates=[ch[1] for ch in chosen], months=months,
                         considered=len(cands), commitments_past_horizon_usd=past, notes=notes)


def _merge(a: MonthFleet, b: MonthFleet) -> MonthFleet:
    total_committed = a.committed_instances + b.committed_instances
    return MonthFleet(month=a.month, lines=a.lines + b.lines, instances_peak=a.instances_peak + b.instances_peak,
                      replicas_peak=a.replicas_peak + b.replicas_peak,
                      capacity_requests_per_s=a.capacity_requests_per_s + b.capacity_requests_per_s,
                      demand_peak_requests_per_s=a.demand_peak_requests_per_s + b.demand_peak_requests_per_s,
                      committed_instances=total_committed,
                      unused_committed_hours=a.unused_committed_hours + b.unused_committed_hours,
                      unused_committed_usd=a.unused_committed_usd + b.unused_committed_usd)


@lru_cache(maxsize=8)
def _price_table(path: str, mtime_ns: int):
    """A snapshot read once per file version (scenario runs rebuild the forecast a dozen times)."""
    from pricing import snapshot

    return snapshot.load(path)


def price_table(plan: Plan):
    """The plan's price snapshot (its own file or the shipped one), read once per file version."""
    from pathlib import Path

    from pricing import snapshot

    path = Path(plan.resolve_path(plan.pricing.snapshot) if plan.pricing.snapshot else snapshot.SHIPPED_SNAPSHOT)
    if not path.is_file():
        snapshot.load(path)  # raises the loader's own error naming the file
    return _price_table(str(path), path.stat().st_mtime_ns)


def load_offers(plan: Plan):
    """The priced offers the plan may buy (its regions and GPU kinds), and the price table."""
    import pricing
    from pricing.availability import check_plan_regions

    table = price_table(plan)
    check_plan_regions(table, plan.constraints.regions, plan.constraints.gpus, file=plan.file)
    r1 = plan.pricing.reserved_1y_discount
    r3 = plan.pricing.reserved_3y_discount
    offers = pricing.offers_for(
        table, plan.constraints.regions, plan.constraints.gpus,
        reserved_1y_discount=pricing.DEFAULT_RESERVED_1Y_DISCOUNT if r1 is None else r1,
        reserved_3y_discount=pricing.DEFAULT_RESERVED_3Y_DISCOUNT if r3 is None else r3)
    return table, offers


def build(plan: Plan, demand_table=None, offers=None) -> FleetPlan:
    """Size every workload of `plan` (the cheapest fleet meeting peak demand with headroom)."""
    import time

    started = time.perf_counter()
    table = demand_table if demand_table is not None else demand_mod.build(plan)
    if offers is None:
        _, offers = load_offers(plan)
    fleets = [size_workload(plan, w, offers, table) for w in plan.workloads]
    return FleetPlan(workloads=fleets, solve_seconds=time.perf_counter() - started)
