"""The purchase mix over time, as an exact mixed-integer program (HiGHS through scipy.optimize.milp).

Given how many instances each month needs at each hour level of the day, `solve_mix` finds the
cheapest mix of reserved 1- and 3-year commitments (bought in the month they start), on-demand and
spot instances (paid only for the hours they run).

- **Whole commitments.** A commitment is paid for every hour of its term, also the months after the
  horizon: buying a 3-year reservation in the last month of a 12-month plan costs 36 months. The
  objective is therefore the whole obligation signed plus the on-demand and spot hours inside the
  horizon; `committed_past_horizon_usd` is the part of it that falls after the horizon.
- **Spot** never carries the redundancy floor, needs `1 + spot_overhead` instances per instance of
  capacity (rounded down: two spot instances at 10 % overhead are one instance of capacity), and is
  capped in every hour level at `max_spot_share` of the instances that level needs (`spot_cap`).
  A cap per level keeps the optimum monotone in demand: a busier peak never lets the quiet hours
  run more spot than before, so more traffic never costs less over the horizon.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from pricing.errors import UserError
from pricing.terms import DAYS_PER_MONTH, HOURS_PER_MONTH, RESERVED, TERM_MONTHS, Purchase


@dataclass
class MixSolution:
    cost_usd: float
    reserved_bought: dict[Purchase, list[int]]  # option -> instances bought in each month
    on_demand: np.ndarray  # [month, level] instances above the committed ones
    spot: np.ndarray  # [month, level] instances


def _flexible_costs(need: np.ndarray, floor: int, committed: np.ndarray, weights: np.ndarray,
                    usd_per_hour: dict[Purchase, float], spot_caps: np.ndarray, spot_overhead: float):
    """Cheapest on-demand and spot instances for one month, for every committed count at once.

    `need[h]` instances per hour level, `committed[a]` candidate counts of committed instances,
    `spot_caps[h]` the spot instances level h may run. Enumerates the spot count (0..cap) for each
    (committed, level): exact for integer instances. Returns (USD for the month per committed
    count, inf where infeasible; on-demand [a, h]; spot [a, h]).
    """
    od_rate = usd_per_hour.get(Purchase.ON_DEMAND)
    spot_rate = usd_per_hour.get(Purchase.SPOT)
    caps = np.broadcast_to(np.asarray(spot_caps, dtype=int), need.shape) if spot_rate is not None \
        else np.zeros(need.shape, dtype=int)
    spots = np.arange(0, int(caps.max(initial=0)) + 1)
    # spot instances count for 1 / (1 + overhead) of an instance of capacity; never for the floor
    effective = np.floor(spots / (1 + spot_overhead) + 1e-9)
    a = committed[:, None, None]
    o = np.maximum(np.maximum(need[None, :, None] - a - effective[None, None, :], floor - a), 0)
    if od_rate is None:
        cost = np.where(o == 0, (spot_rate or 0.0) * spots[None, None, :], np.inf)
    else:
        cost = od_rate * o + (spot_rate or 0.0) * spots[None, None, :]
    cost = np.where(spots[None, None, :] <= caps[None, :, None], cost, np.inf)  # over the level's cap
    k = np.argmin(cost, axis=2)  # ties go to fewer spot instances
    best = np.take_along_axis(cost, k[..., None], axis=2)[..., 0]
    on_demand = np.take_along_axis(o, k[..., None], axis=2)[..., 0].astype(int)
    month = (best * weights[None, :]).sum(axis=1) * DAYS_PER_MONTH
    return month, on_demand, spots[k].astype(int)


@dataclass
class CostTable:
    """Per month, the exact on-demand/spot cost for every possible count of committed instances."""

    options_r: list[Purchase]
    a_max: int
    month_usd: np.ndarray  # [m, a], inf where infeasible
    on_demand: np.ndarray  # [m, a, h]
    spot: np.ndarray  # [m, a, h]

    def lower_bound_usd(self, usd_per_hour: dict[Purchase, float]) -> float:
        """No mix costs less: each active commitment pays at least its effective reserved rate.

        Valid under whole commitments: a commitment's whole term, spread over the months of the
        horizon it covers (at most min(term, horizon)), costs at least rate × term / min(term,
        horizon) per active month (`effective_reserved_usd_per_hour`); the on-demand and spot top-up
        of each month is exact. Summed over months this never exceeds the objective.
        """
        if not self.options_r:  # nothing can be committed: a = 0 in every month
            return float(self.month_usd[:, 0].sum())
        rate = effective_reserved_usd_per_hour(usd_per_hour, self.options_r, len(self.month_usd)) * HOURS_PER_MONTH
        per_a = self.month_usd + rate * np.arange(self.a_max + 1)[None, :]
        return float(per_a.min(axis=1).sum())


def effective_reserved_usd_per_hour(usd_per_hour: dict[Purchase, float], options, months: int) -> float:
    """The least a committed instance-hour inside a `months`-month horizon can cost: a term longer than
    the horizon is paid in full for at most `months` months of use (inf when none is allowed)."""
    return min((usd_per_hour[o] * TERM_MONTHS[o] / min(TERM_MONTHS[o], months) for o in options), default=math.inf)


def spot_cap(need, max_spot_share: float):
    """Spot instances an hour level may run: `max_spot_share` of the instances it needs, rounded down.

    `need` is a count or an array of counts (one per hour level). Per level, not per month: a cap
    taken from the month's peak would let a busier peak hour put more spot into the quiet hours,
    and more traffic could then cost less. Per level the cap grows by at most one instance per
    instance of need (share <= 1), and each extra spot instance replaces at most one on-demand
    instance, so a level's cheapest cost never falls when its need rises.
    """
    if np.ndim(need) == 0:
        return math.floor(max_spot_share * int(need) + 1e-9)
    return np.floor(max_spot_share * np.asarray(need, dtype=float) + 1e-9).astype(int)


def top_up_usd(need: np.ndarray, floor: int, committed: int, weights: np.ndarray,
               usd_per_hour: dict[Purchase, float], max_spot_share: float, spot_overhead: float) -> float:
    """One month's cheapest on-demand and spot cost above `committed` instances (`need[h]` per hour
    level): what a month costs besides its commitments (inf when no allowed option meets it)."""
    month, _, _ = _flexible_costs(np.asarray(need), int(floor), np.array([int(committed)]), weights, usd_per_hour,
                                  spot_cap(np.asarray(need), max_spot_share), spot_overhead)
    return float(month[0])


def cost_table(need: np.ndarray, floor: np.ndarray, weights: np.ndarray, usd_per_hour: dict[Purchase, float],
               max_spot_share: float, spot_overhead: float) -> CostTable:
    """Per month, the exact on-demand and spot cost for every count of committed instances (0..a_max)."""
    M, H = need.shape
    options_r = [o for o in (Purchase.RESERVED_1Y, Purchase.RESERVED_3Y) if o in usd_per_hour]
    a_max = int(need.max()) if options_r else 0
    A_vals = np.arange(a_max + 1)
    c = np.full((M, a_max + 1), np.inf)
    flex_od = np.zeros((M, a_max + 1, H), dtype=int)
    flex_spot = np.zeros((M, a_max + 1, H), dtype=int)
    for m in range(M):
        c[m], flex_od[m], flex_spot[m] = _flexible_costs(need[m], int(floor[m]), A_vals, weights, usd_per_hour,
                                                         spot_cap(need[m], max_spot_share), spot_overhead)
    return CostTable(options_r=options_r, a_max=a_max, month_usd=c, on_demand=flex_od, spot=flex_spot)


def solve_mix(need: np.ndarray, floor: np.ndarray, weights: np.ndarray, usd_per_hour: dict[Purchase, float],
              max_spot_share: float, spot_overhead: float, table: CostTable | None = None, *,
              terms: Mapping[Purchase, int] = TERM_MONTHS) -> MixSolution:
    """Cheapest purchase mix meeting `need[m, h]` instances in every month m and hour level h.

    `weights[h]` is the number of hours of the day at level h; `usd_per_hour` holds the allowed
    options only; `terms` the months each commitment lasts (AWS's by default; tests use short
    terms to prove exactness against brute force over a few months). Exact, as an integer program
    solved by HiGHS: integer commitments bought each month (`R[option, s]`, each paid for its whole
    term: rate × 730 × term months, also where the term runs past the horizon), and for each month
    a one-hot choice `z[m, a]` of how many committed instances are active, whose on-demand and spot
    top-up cost `c[m, a]` is computed exactly by enumeration (`cost_table`). Active commitments
    must equal the sum of purchases still in their term. `cost_usd` is the objective: the whole
    obligation signed plus the on-demand and spot hours inside the horizon.
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
    # what one more committed instance can save in each month: the largest drop in the month's
    # on-demand and spot cost from one committed instance more (inf where one less is infeasible)
    with np.errstate(invalid="ignore"):
        saving = np.max(c[:, :-1] - c[:, 1:], axis=1, initial=0.0) if a_max else np.zeros(M)
    saving = np.where(np.isnan(saving), np.inf, saving)
    for k, opt in enumerate(options_r):
        for s in range(M):
            whole = usd_per_hour[opt] * HOURS_PER_MONTH * terms[opt]  # the whole term
            cost[k * M + s] = whole
            # a purchase whose whole term costs more than it could ever save is never optimal
            # (dropping it would lower the objective): leave it out, the optimum is unchanged
            upper[k * M + s] = a_max if whole <= saving[s:s + terms[opt]].sum() + 1e-9 else 0
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
            for s in range(max(0, m - terms[opt] + 1), m + 1):
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


def commitment_usd(usd_per_hour: float, option: Purchase, count: int = 1) -> float:
    """What `count` commitments of `option` cost over their whole term (730 hours × term months)."""
    return count * usd_per_hour * HOURS_PER_MONTH * TERM_MONTHS[option]


def committed_active(reserved_bought: dict[Purchase, list[int]], option: Purchase, m: int) -> int:
    """Instances of `option` whose term covers month m."""
    bought = reserved_bought.get(option)
    if not bought:
        return 0
    term = TERM_MONTHS[option]
    return sum(bought[s] for s in range(max(0, m - term + 1), m + 1))


def committed_past_horizon_usd(reserved_bought: dict[Purchase, list[int]], usd_per_hour: dict[Purchase, float],
                               months: int) -> float:
    """What the commitments bought inside the horizon still cost after its last month."""
    past = 0.0
    for option, bought in reserved_bought.items():
        term = TERM_MONTHS[option]
        for s, count in enumerate(bought):
            past += count * usd_per_hour[option] * HOURS_PER_MONTH * max(0, s + term - months)
    return past


def lower_bound_usd(need: np.ndarray, weights: np.ndarray, usd_per_hour: dict[Purchase, float],
                    spot_overhead: float, *, max_spot_share: float = 1.0, floor: np.ndarray | None = None) -> float:
    """No mix pays less than its cheapest effective rate on every instance-hour it needs.

    In each month and hour level, non-spot capacity (on-demand, or committed at its effective
    reserved rate, `effective_reserved_usd_per_hour`) carries the floor and whatever spot cannot: spot carries at most
    floor(spot_cap / (1 + overhead)) instances of capacity (`max_spot_share`, as the mix caps it),
    each at spot rate × (1 + overhead) or more (capacity is rounded down). Valid under whole
    commitments: a committed instance pays at least its rate in every hour of the horizon it is
    active, and the months of its term after the horizon only add to the objective.
    """
    r_ns = min(usd_per_hour.get(Purchase.ON_DEMAND, math.inf),
               effective_reserved_usd_per_hour(usd_per_hour, [o for o in RESERVED if o in usd_per_hour], len(need)))
    if Purchase.SPOT not in usd_per_hour:
        return r_ns * float((need * weights).sum()) * DAYS_PER_MONTH
    r_s = usd_per_hour[Purchase.SPOT] * (1 + spot_overhead)
    if r_s >= r_ns:
        return r_ns * float((need * weights).sum()) * DAYS_PER_MONTH
    fl = np.zeros((need.shape[0], 1)) if floor is None else np.asarray(floor, dtype=float).reshape(-1, 1)
    spot_capacity = np.floor(spot_cap(need, max_spot_share) / (1 + spot_overhead) + 1e-9)
    by_spot = np.clip(np.minimum(spot_capacity, need - fl), 0, None)
    per_hour = (need - by_spot) * (r_ns if math.isfinite(r_ns) else r_s) + by_spot * r_s
    return float((per_hour * weights).sum()) * DAYS_PER_MONTH
