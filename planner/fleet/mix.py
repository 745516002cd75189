"""The purchase mix over time, as an exact mixed-integer program (HiGHS through scipy.optimize.milp).

Given how many instances each month needs at each hour level of the day, `solve_mix` finds the
cheapest mix of reserved 1- and 3-year commitments (bought in the month they start), on-demand and
spot instances (paid only for the hours they run).

- **Whole commitments.** A commitment is paid for every hour of its term, also the months after the
  horizon: buying a 3-year reservation in the last month of a 12-month plan costs 36 months
  (`commitment_usd`: the one place the objective prices a commitment; every bound below derives
  from it). The objective is therefore the whole obligation signed plus the on-demand and spot
  hours inside the horizon; `committed_past_horizon_usd` is the part of it that falls after the
  horizon.
- **Spot** never carries the redundancy floor, needs `1 + spot_overhead` instances per instance of
  capacity (rounded down: two spot instances at 10 % overhead are one instance of capacity), and is
  capped in every hour level at `max_spot_share` of the instances that level needs (`spot_cap`).
  A cap per level keeps the optimum monotone in demand: a busier peak never lets the quiet hours
  run more spot than before, so more traffic never costs less over the horizon.

The program: integer commitments bought each month (`R[option, s]`), and for each month a one-hot
choice `z[m, a]` of how many committed instances are active, whose on-demand and spot top-up cost
`c[m, a]` is exact (`cost_table`). Active commitments equal the purchases still in their term.

It is solved exactly, cheapest way first:

1. **No commitment allowed**: each month pays its top-up at a = 0.
2. **A monotone dynamic program** over the active count (commitments bought and held to the end of
   the horizon, renewed when their term ends): exact whenever every allowed term lasts at least
   the horizon (then a commitment, once bought, is active to the end, active counts can only grow,
   and each one costs its whole term whenever it is bought), and otherwise a feasible schedule, the
   incumbent.
3. **Lower bounds**: price each committed instance-month at λ[m], the cheapest per-month price of
   any commitment covering month m (`commitment_usd` spread over the months it covers, so Σ λ over
   a commitment's months never exceeds its price: the bound stays valid for any commitment
   pricing); each month then picks its best active count on its own. A tighter one keeps the
   structure of commitments that outlast the horizon and relaxes only the others (`_relaxed`),
   and its schedule, when it is a real one, is a second incumbent; a third buys the shorter
   option in yearly blocks (`_blocks`: what falling demand wants). When the cheapest incumbent
   costs no more than a bound it is optimal, and no solver runs.
4. **A dual certificate**: otherwise, look for prices λ[m] under which the incumbent is optimal
   (linear-programming duality): each month's active count must be a cheapest choice at λ[m]
   (an interval of λ[m], from the cost table), no commitment may cost less than Σ λ over its
   months, and each one bought must cost exactly that. With prefix sums of λ these are difference
   constraints, feasible exactly when their graph has no negative cycle (Bellman-Ford on M + 1
   nodes). Feasible: the incumbent's cost equals a lower bound, so it is optimal.
5. **Otherwise the MILP**, reduced by the bound of step 3: any optimal solution costs the bound plus
   a non-negative reduced cost for each month's active count and each commitment, so active counts
   and purchases whose reduced cost alone exceeds the incumbent's gap are fixed out (exact).

6. **Ties**: among schedules of the same cost, the proofs above may find different ones; the one
   returned signs as late as it can at no cost (`_defer`), whichever proof found it.

Every step takes `terms` (months per commitment option; AWS's by default): tests use short terms
to prove exactness against brute force over a few months.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from pricing.errors import UserError
from pricing.terms import DAYS_PER_MONTH, HOURS_PER_MONTH, RESERVED, TERM_MONTHS, Purchase

COMMITMENTS = (Purchase.RESERVED_1Y, Purchase.RESERVED_3Y)  # the order of `R` in the program
_CERTIFY_REL = 1e-9  # an incumbent within this fraction of the lower bound is optimal


@dataclass
class MixSolution:
    cost_usd: float
    reserved_bought: dict[Purchase, list[int]]  # option -> instances bought in each month
    on_demand: np.ndarray  # [month, level] instances above the committed ones
    spot: np.ndarray  # [month, level] instances
    method: str = "milp"  # how it was proven optimal: "none", "monotone", "bound", "dual" or "milp"


def commitment_usd(usd_per_hour: float, option: Purchase, count: int = 1, *,
                   terms: Mapping[Purchase, int] = TERM_MONTHS) -> float:
    """What `count` commitments of `option` at `usd_per_hour` each cost over their whole term (730
    hours × term months, also the months after the horizon), whenever they are bought.

    The one place the objective prices a commitment: the program's costs, the incumbents'
    schedules, the commitment prices per month λ behind every lower bound and the dual certificate
    all call it, so a change of pricing here changes every one of them together.
    """
    return count * usd_per_hour * HOURS_PER_MONTH * terms[option]


def effective_reserved_usd_per_hour(usd_per_hour: dict[Purchase, float], options, months: int, *,
                                    terms: Mapping[Purchase, int] = TERM_MONTHS) -> float:
    """The least a committed instance-hour inside a `months`-month horizon can cost: a commitment's
    whole price (`commitment_usd`) spread over the most months of the horizon it can cover,
    min(term, months) (inf when no option is allowed)."""
    return min((commitment_usd(usd_per_hour[o], o, terms=terms) / HOURS_PER_MONTH / min(terms[o], months)
                for o in options), default=math.inf)


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


# --- the exact on-demand and spot top-up ----------------------------------------------------------

def _top_up_costs(B: int, od_rate: np.ndarray | None, spot_rate: np.ndarray | None, cap_max: int,
                  spot_overhead: float, d_max: int):
    """(spot counts [s], on-demand instances [s, d], USD per hour [b, s, d] of exactly s spot instances)."""
    spots = np.arange(0, (cap_max if spot_rate is not None else 0) + 1)
    effective = np.floor(spots / (1 + spot_overhead) + 1e-9)
    d = np.arange(d_max + 1)
    o = np.maximum(d[None, :] - effective[:, None], 0)  # [s, d] on-demand instances left to run
    spot_usd = (np.zeros(B) if spot_rate is None else spot_rate)[:, None, None] * spots[None, :, None]
    if od_rate is None:
        cost = np.where(o[None] == 0, spot_usd, np.inf)
    else:
        cost = od_rate[:, None, None] * o[None] + spot_usd
    return spots, o, cost


def _pad_caps(table: np.ndarray, cap_max: int) -> np.ndarray:
    """No spot price: every cap behaves as cap 0 (the table's one row, repeated up to cap_max)."""
    if cap_max >= table.shape[1]:
        return np.concatenate([table, np.repeat(table[:, -1:], cap_max + 1 - table.shape[1], axis=1)], axis=1)
    return table


def _top_up_best(B: int, od_rate: np.ndarray | None, spot_rate: np.ndarray | None, cap_max: int,
                 spot_overhead: float, d_max: int) -> np.ndarray:
    """The USD per hour of `_top_up_tables` alone (the same numbers, without the counts behind them):
    the best with at most s spot instances is the running minimum over s."""
    _spots, _o, cost = _top_up_costs(B, od_rate, spot_rate, cap_max, spot_overhead, d_max)
    return _pad_caps(np.minimum.accumulate(cost, axis=1), cap_max)


def _top_up_tables(B: int, od_rate: np.ndarray | None, spot_rate: np.ndarray | None, cap_max: int,
                   spot_overhead: float, d_max: int):
    """The cheapest on-demand + spot cover of a deficit of d instances above the floor, for B problems'
    rates (od_rate[b], spot_rate[b]; None: not allowed), every spot cap 0..cap_max and deficit 0..d_max:
    (USD per hour, spot, on-demand), each [b, cap, d]. Enumerates the spot count: exact for integer
    instances; ties go to fewer spot instances. Spot instances count for 1 / (1 + overhead) of an
    instance of capacity."""
    spots, o, cost = _top_up_costs(B, od_rate, spot_rate, cap_max, spot_overhead, d_max)
    # best with at most s spot instances: a strictly cheaper s wins (ties go to fewer spot instances)
    best = np.minimum.accumulate(cost, axis=1)
    new = np.zeros(cost.shape, dtype=bool)
    np.less(cost[:, 1:], best[:, :-1], out=new[:, 1:])
    arg = np.maximum.accumulate(np.where(new, spots[None, :, None], 0), axis=1)
    best, arg = _pad_caps(best, cap_max), _pad_caps(arg, cap_max)
    on_demand = o[arg, np.arange(d_max + 1)[None, None, :]].astype(int)
    return best, arg, on_demand


@dataclass
class CostTable:
    """Per month, the exact on-demand/spot cost for every possible count of committed instances."""

    options_r: list[Purchase]
    a_max: int
    month_usd: np.ndarray  # [m, a], inf where infeasible
    need: np.ndarray = field(repr=False, default=None)  # [m, h]
    floor: np.ndarray = field(repr=False, default=None)  # [m]
    caps: np.ndarray = field(repr=False, default=None)  # [m, h] spot cap of each hour level
    _spot: np.ndarray = field(repr=False, default=None)  # [cap, d] spot instances of the best cover
    _on_demand: np.ndarray = field(repr=False, default=None)  # [cap, d] on-demand instances of it
    _prices: tuple | None = field(repr=False, default=None)  # (key, λ) last computed

    def top_up(self, m, a) -> tuple[np.ndarray, np.ndarray]:
        """On-demand and spot instances per hour level in month(s) m above `a` committed instances
        (m and a: one month, or arrays of months and counts: one row each)."""
        floor = self.floor[m]
        d = np.maximum(self.need[m] - np.maximum(a, floor)[..., None], 0)
        cap = self.caps[m]
        return np.maximum(floor - a, 0)[..., None] + self._on_demand[cap, d], self._spot[cap, d]

    def commitment_prices(self, usd_per_hour: dict[Purchase, float], terms: Mapping[Purchase, int] = TERM_MONTHS
                          ) -> np.ndarray:
        """λ[m]: the cheapest price per month of any commitment covering month m (its
        `commitment_usd` over the months of the horizon it covers). Σ λ over any commitment's
        months ≤ its price."""
        M = self.month_usd.shape[0]
        key = (M, _key(usd_per_hour, self.options_r, terms))
        if self._prices is None or self._prices[0] != key:
            self._prices = (key, commitment_prices(usd_per_hour, self.options_r, M, terms))
        return self._prices[1]

    def month_bounds(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each month's best active count priced at λ: (its cost h[m], reduced cost [m, a] ≥ 0)."""
        priced = self.month_usd + lam[:, None] * np.arange(self.a_max + 1)[None, :]
        h = priced.min(axis=1)
        return h, priced - h[:, None]

    def lower_bound_usd(self, usd_per_hour: dict[Purchase, float], terms: Mapping[Purchase, int] = TERM_MONTHS
                        ) -> float:
        """No mix costs less: each active commitment pays at least λ[m] in month m.

        Valid under whole commitments: λ[m] is a commitment's whole price spread over the months of
        the horizon it covers (never more than it costs), and each month's top-up is exact."""
        if not self.options_r:
            return float(self.month_usd[:, 0].sum())
        h, _ = self.month_bounds(self.commitment_prices(usd_per_hour, terms))
        return float(h.sum())


def commitment_prices(usd_per_hour: dict[Purchase, float], options: list[Purchase], months: int,
                      terms: Mapping[Purchase, int] = TERM_MONTHS) -> np.ndarray:
    """λ[m] for every month (see `CostTable.commitment_prices`); cached by value, read-only."""
    return _commitment_prices(_key(usd_per_hour, options, terms), months)


def _key(usd_per_hour: dict[Purchase, float], options, terms: Mapping[Purchase, int] = TERM_MONTHS) -> tuple:
    """The values a commitment price depends on: each option's rate and term."""
    return tuple((o, usd_per_hour[o], terms[o]) for o in options)


def _price(key_item: tuple) -> float:
    """`commitment_usd` of one (option, rate, term) entry of a `_key`."""
    option, rate, term = key_item
    return commitment_usd(rate, option, terms={option: term})


@functools.lru_cache(maxsize=4096)
def _commitment_prices(key: tuple, months: int) -> np.ndarray:
    lam = np.full(months, np.inf)
    for item in key:
        _option, _rate, term = item
        price = _price(item)
        # bought in month s, it covers min(term, months − s) months of the horizon
        per_month = np.array([price / min(term, months - s) for s in range(months)])
        # the cheapest commitment bought in (m − term, m], i.e. covering month m
        padded = np.concatenate([np.full(term - 1, np.inf), per_month])
        windows = np.lib.stride_tricks.sliding_window_view(padded, term)
        lam = np.minimum(lam, windows.min(axis=1))
    lam.setflags(write=False)
    return lam


def cost_table(need: np.ndarray, floor: np.ndarray, weights: np.ndarray, usd_per_hour: dict[Purchase, float],
               max_spot_share: float, spot_overhead: float) -> CostTable:
    """c[m, a] for every month and committed count a (0 .. the most instances any hour needs).

    An hour needing `need` instances with `a` committed and a floor `f` runs (f − a)⁺ on-demand
    instances for the floor, and covers the rest, need − max(a, f), with the cheapest on-demand +
    spot mix under that hour level's spot cap (`spot_cap` of its need; `_top_up_tables`, looked up
    for all a, m and h at once).
    """
    need = np.asarray(need, dtype=int)
    options_r = [o for o in COMMITMENTS if o in usd_per_hour]
    od, spot = usd_per_hour.get(Purchase.ON_DEMAND), usd_per_hour.get(Purchase.SPOT)
    tables = cost_tables(need[None], floor, weights, None if od is None else np.array([od]),
                         None if spot is None else np.array([spot]), max_spot_share, spot_overhead,
                         int(need.max()) if options_r else 0)
    return tables.table(0, options_r)


@dataclass
class CostTables:
    """`cost_table` for a batch of problems sharing floors, hour weights, spot share and overhead and
    the allowed options (need[b] and the on-demand and spot rates differ)."""

    month_usd: np.ndarray  # [b, m, a]
    need: np.ndarray  # [b, m, h]
    floor: np.ndarray  # [m]
    caps: np.ndarray  # [b, m, h] spot cap of each hour level
    od_rate: np.ndarray | None  # [b] (None: on-demand not allowed)
    spot_rate: np.ndarray | None  # [b] (None: spot not allowed)
    spot_overhead: float
    top_up_usd: np.ndarray | None = field(repr=False, default=None)  # [b, cap, d] `_top_up_best`

    def table(self, b: int, options_r: list[Purchase]) -> CostTable:
        """Problem b's own table (committed counts 0 .. its own most needed instances), with the
        on-demand and spot counts behind its top-up costs (`_top_up_tables`, for this problem only:
        only the tables a solution is read from need them)."""
        a_max = int(self.need[b].max()) if options_r else 0
        one = slice(b, b + 1)
        _best, spot, on_demand = _top_up_tables(
            1, None if self.od_rate is None else self.od_rate[one], None if self.spot_rate is None else
            self.spot_rate[one], int(self.caps[b].max(initial=0)), self.spot_overhead, int(max(self.need[b].max(), 0)))
        return CostTable(options_r=options_r, a_max=a_max, month_usd=self.month_usd[b, :, :a_max + 1],
                         need=self.need[b], floor=self.floor, caps=self.caps[b], _spot=spot[0],
                         _on_demand=on_demand[0])


MONTH_GROUPS = 4  # at most this many groups of months per cost-table build (see `_month_groups`)
GROUP_RATIO = 0.6  # a group takes the months needing at least this share of its widest month's counts


def _month_groups(columns: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Months grouped by how many committed counts each needs computed (`columns[m]`): (the months,
    the counts the group computes: its widest month's). Widest first; a group takes every month
    needing at least GROUP_RATIO of its first, the last group the rest; months needing none are left
    out."""
    order = np.argsort(-columns, kind="stable")
    neg = -columns[order]  # ascending
    groups: list[tuple[np.ndarray, int]] = []
    start, M = 0, len(columns)
    while start < M and neg[start] < 0:
        width = -int(neg[start])
        end = M if len(groups) == MONTH_GROUPS - 1 else int(np.searchsorted(neg, -GROUP_RATIO * width, side="right"))
        groups.append((np.sort(order[start:end]), width))
        start = end
    return groups


def cost_tables(need: np.ndarray, floor: np.ndarray, weights: np.ndarray, od_rate: np.ndarray | None,
                spot_rate: np.ndarray | None, max_spot_share: float, spot_overhead: float, a_max: int,
                counts: np.ndarray | None = None, top_up: np.ndarray | None = None) -> CostTables:
    """c[b, m, a] for a batch of problems (see `cost_table`), committed counts 0 .. a_max (or only
    the given `counts`: then month_usd[b, m, j] is the cost at counts[j]). `top_up`: these problems'
    `_top_up_best` table when already computed (by an earlier call for the same rates, at caps and
    deficits at least as large: a table's entries do not depend on its size).

    With `a` committed and a floor `f`, an hour needing `need` runs the top-up of its deficit
    need − max(a, f) (`_top_up_best` looked up at its spot cap) and (f − a)⁺ floor instances on
    demand. From the first count at or above every hour's need and the floor of a month (over the
    batch) on, both are 0 and the month costs exactly 0 (rates finite and ≥ 0): only the counts
    below it are looked up, in a few groups of months of similar width (`_month_groups`); each
    computed entry is the same arithmetic as over the whole table."""
    need = np.asarray(need, dtype=int)
    floor = np.asarray(floor, dtype=int)
    caps = spot_cap(need, max_spot_share)  # [b, m, h]: per hour level
    if top_up is None or top_up.shape[0] != need.shape[0] or top_up.shape[1] <= caps.max(initial=0) \
            or top_up.shape[2] <= need.max():
        top_up = _top_up_best(need.shape[0], od_rate, spot_rate, int(caps.max(initial=0)), spot_overhead,
                              int(max(need.max(), 0)))
    best = top_up
    a = np.arange(a_max + 1) if counts is None else np.asarray(counts, dtype=int)
    B, M, _H = need.shape
    row = (np.arange(B)[:, None, None] * best.shape[1] + caps) * best.shape[2]  # [b, m, h]: the row of its cap
    flat_best = best.reshape(-1)
    zero_past_need = (all(r is None or bool((np.isfinite(r) & (r >= 0)).all()) for r in (od_rate, spot_rate))
                      and bool((a[1:] > a[:-1]).all()))
    if zero_past_need:
        top = np.maximum(need.max(axis=(0, 2), initial=0), floor)  # [m]
        groups = _month_groups(np.searchsorted(a, top, side="left"))  # counts below top[m]
    else:
        groups = [(np.arange(M), len(a))]
    month_usd = np.zeros((B, M, len(a)))
    for months, width in groups:
        whole = len(months) == M
        n, r, f = (need, row, floor) if whole else (need[:, months], row[:, months], floor[months])
        counts_here = a[:width]
        covered = np.maximum(counts_here[None, :], f[:, None])  # [m, a]: instances the floor or commitments give
        # row + the deficit need − covered, at least 0
        flat = np.maximum((r + n)[:, :, None, :] - covered[None, :, :, None], r[:, :, None, :])  # [b, m, a, h]
        per_hour = flat_best.take(flat)
        below = int(np.searchsorted(counts_here, f.max(initial=0), side="left"))  # counts below some floor
        if below:  # floor instances bought on demand
            short = np.maximum(f[:, None] - counts_here[None, :below], 0)[None, :, :, None]
            if od_rate is None:
                per_hour[:, :, :below] = np.where(short > 0, np.inf, per_hour[:, :, :below])
            else:
                per_hour[:, :, :below] = per_hour[:, :, :below] + od_rate[:, None, None, None] * short
        usd = (per_hour * weights[None, None, None, :]).sum(axis=3) * DAYS_PER_MONTH
        if whole and width == len(a):
            month_usd = usd
        elif whole:
            month_usd[:, :, :width] = usd
        else:
            month_usd[:, months, :width] = usd
    return CostTables(month_usd=month_usd, need=need, floor=floor, caps=caps, od_rate=od_rate, spot_rate=spot_rate,
                      spot_overhead=spot_overhead, top_up_usd=best)


# --- the exact solve -----------------------------------------------------------------------------

# --- the exact solve -----------------------------------------------------------------------------

Terms = Mapping[Purchase, int]


def top_up_usd(need: np.ndarray, floor: int, committed: int, weights: np.ndarray,
               usd_per_hour: dict[Purchase, float], max_spot_share: float, spot_overhead: float) -> float:
    """One month's cheapest on-demand and spot cost above `committed` instances (`need[h]` per hour
    level): what a month costs besides its commitments (inf when no allowed option meets it)."""
    od, spot = usd_per_hour.get(Purchase.ON_DEMAND), usd_per_hour.get(Purchase.SPOT)
    tables = cost_tables(np.asarray(need, dtype=int)[None, None, :], np.array([int(floor)]), weights,
                         None if od is None else np.array([od]), None if spot is None else np.array([spot]),
                         max_spot_share, spot_overhead, int(committed), counts=np.array([int(committed)]))
    return float(tables.month_usd[0, 0, 0])


def _hold_to_end(usd_per_hour: dict[Purchase, float], options: list[Purchase], M: int, terms: Terms = TERM_MONTHS):
    """Cheapest way to hold one committed instance from month s to the end of the horizon (renewing
    a commitment when its term ends): (USD [s], the options bought in turn from s). Cached by value."""
    return _hold_cached(_key(usd_per_hour, options, terms), M)


@functools.lru_cache(maxsize=4096)
def _hold_cached(key: tuple, M: int):
    hold = np.zeros(M + 1)
    first: list[Purchase | None] = [None] * (M + 1)
    for s in range(M - 1, -1, -1):
        best, pick = math.inf, None
        for item in key:
            option, _rate, term = item
            usd = _price(item) + hold[min(M, s + term)]
            if usd < best:
                best, pick = usd, option
        hold[s], first[s] = best, pick
    hold.setflags(write=False)
    return hold, tuple(first)


def _monotone_dp(month_usd: np.ndarray, hold: np.ndarray) -> tuple[float, np.ndarray]:
    """min over non-decreasing x of Σ month_usd[m, x_m] + Σ hold[m] · (x_m − x_{m−1}) (x_{−1} = 0):
    dynamic programming over the count, in O(months × counts). Returns (cost, x)."""
    cost, x = monotone_dp(month_usd[None], np.asarray(hold)[None])
    return float(cost[0]), x[0]


def monotone_dp(month_usd: np.ndarray, hold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`_monotone_dp` for a batch: month_usd[b, m, x], hold[b, m] -> (cost [b], x [b, m])."""
    B, M, A1 = month_usd.shape
    a = np.arange(A1)[None, :]
    f = month_usd[:, 0] + hold[:, 0, None] * a
    back = np.zeros((B, M, A1), dtype=int)
    new = np.empty((B, A1), dtype=bool)
    new[:, 0] = True
    for m in range(1, M):
        g = f - hold[:, m, None] * a  # arriving with x' in month m, before buying up to x
        low = np.minimum.accumulate(g, axis=1)
        new[:, 1:] = g[:, 1:] < low[:, :-1]
        back[:, m] = np.maximum.accumulate(np.where(new, a, 0), axis=1)
        f = month_usd[:, m] + hold[:, m, None] * a + low
    x = np.zeros((B, M), dtype=int)
    x[:, -1] = np.argmin(f, axis=1)
    rows = np.arange(B)
    cost = f[rows, x[:, -1]]
    for m in range(M - 1, 0, -1):
        x[:, m - 1] = back[rows, m, x[:, m]]
    return cost, x


def _monotone(t: CostTable, usd_per_hour: dict[Purchase, float], terms: Terms = TERM_MONTHS):
    """The cheapest schedule whose active commitments never fall (each bought and held to the end,
    renewed when its term ends). Returns (USD, active [m], bought {option: [s]})."""
    M = t.month_usd.shape[0]
    hold, first = _hold_to_end(usd_per_hour, t.options_r, M, terms)
    cost, active = _monotone_dp(t.month_usd, hold)
    return cost, active, held_to_end(active, first, t.options_r, terms)


def held_to_end(active: np.ndarray, first, options: list[Purchase], terms: Terms = TERM_MONTHS
                ) -> dict[Purchase, list[int]]:
    """The purchases behind a non-decreasing active count whose commitments are held to the end:
    each month's increase bought with `first[month]` (`_hold_to_end`), renewed at each term's end."""
    M = len(active)
    bought = {o: [0] * M for o in options}
    prev = 0
    for s in range(M):
        more = int(active[s]) - prev
        prev = int(active[s])
        start = s
        while more > 0 and start < M:  # buy, then renew each term until the horizon ends
            option = first[start]
            bought[option][start] += more
            start += terms[option]
    return bought


def schedule_usd(t: CostTable, usd_per_hour: dict[Purchase, float], bought: dict[Purchase, list[int]],
                 terms: Terms = TERM_MONTHS):
    """(USD, active [m]) of a purchase schedule: its commitments (`commitment_usd`) plus each month's top-up."""
    M = t.month_usd.shape[0]
    active = np.zeros(M, dtype=int)
    usd = 0.0
    for option, counts in bought.items():
        term = terms[option]
        for s, n in enumerate(counts):
            if n:
                usd += commitment_usd(usd_per_hour[option], option, n, terms=terms)
                active[s:s + term] += n
    return usd + float(t.month_usd[np.arange(M), np.minimum(active, t.a_max)].sum()), active


def _split(options: list[Purchase], M: int, terms: Terms) -> tuple[list[Purchase], list[Purchase]]:
    """(long, short): the options whose term lasts the whole horizon (bought in any month, active to
    its end) and the others."""
    return [o for o in options if terms[o] >= M], [o for o in options if terms[o] < M]


def _relaxed(t: CostTable, usd_per_hour: dict[Purchase, float], terms: Terms = TERM_MONTHS):
    """A lower bound at least as tight as Σ_m min_a (c[m, a] + λ[m] a), and the schedule behind it.

    Commitments whose term lasts the horizon ("long") keep their exact structure: bought in a
    month, active to the end, so their count never falls, each at its whole price. The others
    ("short") may be active in any month at λ_short[m] (their cheapest price per covered month),
    as if they could end at will. Every real schedule is one of these, at no lower cost. Solved
    exactly by the monotone dynamic program over the long count x, each month adding short ones:
    min over A ≥ x of c[m, A] + λ_short[m] (A − x). Returns (bound, {option: bought} when that
    schedule is a real one with one short option, else None).
    """
    c = t.month_usd
    M, A1 = c.shape
    long, short = _split(t.options_r, M, terms)
    bounds, xs, priced_all = relaxed_bounds(c[None], usd_per_hour, t.options_r, np.ones(1), terms)
    if not long:
        return -math.inf, None  # the per-month bound says the same
    bound, x = float(bounds[0]), xs[0]
    if len(short) != 1:
        return bound, None
    # the total each month chose (the smallest best A ≥ x), and the short part as purchases
    priced = priced_all[0]
    totals = np.array([x[m] + int(np.argmin(priced[m, x[m]:])) for m in range(M)])
    option = short[0]
    term = terms[option]
    extra = totals - x
    bought_short = [0] * M
    for m in range(M):
        still = sum(bought_short[max(0, m - term + 1):m])
        if extra[m] < still:
            return bound, None  # short commitments would have to end early: not a real schedule
        bought_short[m] = int(extra[m] - still)
    bought = {o: [0] * M for o in t.options_r}
    bought[option] = bought_short
    cheapest_long = _cheapest(usd_per_hour, long, terms)
    prev = 0
    for s in range(M):
        if x[s] > prev:
            bought[cheapest_long][s] += int(x[s] - prev)
        prev = int(x[s])
    return bound, bought


def forced_bounds(t: CostTable, usd_per_hour: dict[Purchase, float], terms: Terms = TERM_MONTHS) -> np.ndarray | None:
    """[m, a]: a lower bound on every schedule whose month m has `a` committed instances active: the
    relaxation of `_relaxed` (long commitments exact, short ones at λ_short per covered month) with
    month m's total held at a. None without a long option.

    The relaxation is a dynamic program over the long count x; forward values F[m, x] (months before
    m, and the long purchases up to m) and backward values B[m, x] (months after m) give, for month
    m with total a, min over x ≤ a of F[m, x] + B[m, x] + c[m, a] + λ_short[m] (a − x) (with no short
    option, x = a). Every real schedule with a_m = a is one of these at no lower cost (as `_relaxed`),
    so a count whose bound exceeds the incumbent is never optimal: the program leaves it out."""
    c = t.month_usd
    M, A1 = c.shape
    long, short = _split(t.options_r, M, terms)
    if not long:
        return None
    hold = _long_hold(_key(usd_per_hour, long, terms), M)
    a = np.arange(A1, dtype=float)
    if short:
        lam = commitment_prices(usd_per_hour, short, M, terms)
        priced = c + lam[:, None] * a[None, :]
        g = np.minimum.accumulate(priced[:, ::-1], axis=1)[:, ::-1] - lam[:, None] * a[None, :]  # best A ≥ x
    else:
        lam = np.zeros(M)
        g = c
    with np.errstate(invalid="ignore"):
        forward = np.empty((M, A1))
        forward[0] = hold[0] * a
        for m in range(1, M):  # x non-decreasing: arriving with x' ≤ x, buying x − x' long ones in month m
            forward[m] = np.minimum.accumulate(forward[m - 1] + g[m - 1] - hold[m] * a) + hold[m] * a
        backward = np.zeros((M, A1))
        for m in range(M - 2, -1, -1):  # leaving with x'' ≥ x
            later = g[m + 1] + hold[m + 1] * a + backward[m + 1]
            backward[m] = np.minimum.accumulate(later[::-1])[::-1] - hold[m + 1] * a
        through = forward + backward  # [m, x], month m's own cost left out
        if short:
            best = np.minimum.accumulate(through - lam[:, None] * a[None, :], axis=1)  # min over x ≤ a
            return best + priced
        return through + c


def _cheapest(usd_per_hour: dict[Purchase, float], options: list[Purchase], terms: Terms) -> Purchase:
    """The option whose commitment costs least (`commitment_usd`; the same in every month)."""
    return min(options, key=lambda o: commitment_usd(usd_per_hour[o], o, terms=terms))


def relaxed_bounds(month_usd: np.ndarray, usd_per_hour: dict[Purchase, float], options_r: list[Purchase],
                   scale: np.ndarray, terms: Terms = TERM_MONTHS):
    """`_relaxed`'s bound for a batch: month_usd[b, m, a], the commitment rates of `usd_per_hour`
    times scale[b]. Returns (bound [b] (−inf without a long option), long count x [b, m], the
    short-priced table [b, m, a] or None)."""
    B, M, A1 = month_usd.shape
    long, short = _split(options_r, M, terms)
    if not long:
        return np.full(B, -math.inf), np.zeros((B, M), dtype=int), None
    hold = _long_hold(_key(usd_per_hour, long, terms), M)[None, :] * scale[:, None]
    a = np.arange(A1)[None, None, :]
    priced = None
    if short:
        lam = (commitment_prices(usd_per_hour, short, M, terms)[None, :] * scale[:, None])[:, :, None]
        priced = month_usd + lam * a
        suffix = np.minimum.accumulate(priced[:, :, ::-1], axis=2)[:, :, ::-1]  # best A ≥ x
        g = suffix - lam * a
    else:
        g = month_usd
    bound, x = monotone_dp(g, hold)
    return bound, x, priced


@functools.lru_cache(maxsize=4096)
def _long_hold(key: tuple, M: int) -> np.ndarray:
    """The cheapest commitment bought in month s that lasts to the end of the horizon, per s."""
    hold = np.full(M, min(_price(item) for item in key))
    hold.setflags(write=False)
    return hold


def _blocks(t: CostTable, usd_per_hour: dict[Purchase, float], terms: Terms = TERM_MONTHS):
    """The cheapest schedule in which commitments lasting the horizon ("long") are bought and
    held, and the one shorter option is bought only in whole blocks starting at months 0, T, 2T, …
    (its term T): what falling demand wants (a block per year, sized to that year). Dynamic
    programming over the long count, with every block size at once. Returns {option: bought} or
    None when the plan does not have exactly one short option."""
    return block_schedules(t.month_usd[None], usd_per_hour, t.options_r, np.ones(1), terms)[0]


def block_schedules(month_usd: np.ndarray, usd_per_hour: dict[Purchase, float], options_r: list[Purchase],
                    scale: np.ndarray, terms: Terms = TERM_MONTHS) -> list[dict[Purchase, list[int]] | None]:
    """`_blocks` for a batch: month_usd[b, m, a], commitment rates of `usd_per_hour` times scale[b].

    f[b, y, x]: the least cost so far with a block of y in the current block period and x long
    commitments. The forward pass keeps each month's arriving f (no copy: each month makes a new
    array) instead of back-pointers for every state; the one path wanted is read back from them:
    arriving in month m at long count x, the count it came from is the first of least cost up to x,
    which is what a back-pointer of the strict running minimum records."""
    B, M, A1 = month_usd.shape
    long, short = _split(options_r, M, terms)
    if len(short) != 1:
        return [None] * B
    option, term = short[0], terms[short[0]]
    hold = (_long_hold(_key(usd_per_hour, long, terms), M) if long else np.full(M, math.inf))[None, :] \
        * scale[:, None]
    buys = np.isfinite(hold).all(axis=0)  # [m]: may the month buy more long commitments
    block_usd = commitment_usd(usd_per_hour[option], option, terms=terms)
    a = np.arange(A1)
    sizes = a[None, :, None]  # block sizes y: [1, y, 1]
    # each month's cost at the total count min(x + y, A1 - 1), as a [b, m, y, x] view (no copy)
    padded = np.concatenate([month_usd, np.repeat(month_usd[:, :, -1:], A1 - 1, axis=2)], axis=2)
    shifted = np.lib.stride_tricks.sliding_window_view(padded, A1, axis=2)
    best = np.full((B, A1), math.inf)
    best[:, 0] = 0.0
    arriving = []  # per month: f [b, y, long count] before its purchases
    picks = []
    for s in range(0, M, term):
        f = np.repeat(best[:, None, :], A1, axis=1)  # [b, y, long count]
        for m in range(s, min(M, s + term)):
            arriving.append(f)
            if buys[m]:  # buy more long commitments this month
                h = hold[:, m][:, None, None]
                f = np.minimum.accumulate(f - h * a[None, None, :], axis=2) + h * a[None, None, :]
            f = f + shifted[:, m]
        total = f + sizes * (block_usd * scale)[:, None, None]
        pick = np.argmin(total, axis=1)  # [b, long count]
        best = np.take_along_axis(total, pick[:, None, :], axis=1)[:, 0, :]
        picks.append(pick)
    cheapest_long = _cheapest(usd_per_hour, long, terms) if long else None
    out = []
    for b in range(B):
        x = np.zeros(M, dtype=int)
        bought = {o: [0] * M for o in options_r}
        end = int(np.argmin(best[b]))
        for k in range(len(picks) - 1, -1, -1):
            s = k * term
            y = int(picks[k][b, end])
            bought[option][s] += y
            for m in range(min(M, s + term) - 1, s - 1, -1):
                x[m] = end
                if buys[m]:  # the count it arrived with: the first of least cost up to `end`
                    end = int(np.argmin(arriving[m][b, y, :end + 1] - hold[b, m] * a[:end + 1]))
        prev = 0
        for s in range(M):
            if x[s] > prev:
                bought[cheapest_long][s] += int(x[s] - prev)
            prev = int(x[s])
        out.append(bought)
    return out


def _defer(t: CostTable, active: np.ndarray, bought: dict[Purchase, list[int]], terms: Terms, tolerance: float
           ) -> tuple[np.ndarray, dict[Purchase, list[int]]]:
    """Among equally cheap schedules, the one that signs later: a commitment bought in month s moves
    to s + 1 while that costs nothing (month s loses it, month s + term gains it; its whole price is
    the same whenever it is bought). A schedule's cost never rises by more than `tolerance` per move,
    so an optimal one stays optimal; exact ties (which the proofs above do not order) are broken the
    same way whichever proof found the schedule: keep the option open as long as it is free."""
    c = t.month_usd
    M = c.shape[0]
    active = np.array(active, dtype=int)
    bought = {o: list(v) for o, v in bought.items()}
    moved = True
    while moved:
        moved = False
        for s in range(M - 1):
            for option in COMMITMENTS:
                counts = bought.get(option)
                while counts and counts[s] > 0 and active[s] > 0:
                    e = s + terms[option]  # the month the moved commitment covers in addition
                    lose = c[s, active[s] - 1] - c[s, active[s]]
                    gain = 0.0 if e >= M else (c[e, active[e] + 1] - c[e, active[e]] if active[e] < t.a_max
                                               else math.inf)
                    with np.errstate(invalid="ignore"):
                        if not lose + gain <= tolerance:
                            break
                    counts[s] -= 1
                    counts[s + 1] += 1
                    active[s] -= 1
                    if e < M:
                        active[e] += 1
                    moved = True
    return active, bought


def _solution(t: CostTable, cost: float, active: np.ndarray, bought: dict, method: str,
              terms: Terms = TERM_MONTHS) -> MixSolution:
    if bought and any(any(v) for v in bought.values()):
        active, bought = _defer(t, active, bought, terms, _CERTIFY_REL * max(1.0, abs(cost)) / t.month_usd.shape[0])
    on_demand, spot = t.top_up(np.arange(t.need.shape[0]), np.asarray(active, dtype=int))
    return MixSolution(cost_usd=cost, reserved_bought=bought, on_demand=on_demand.astype(int),
                       spot=spot.astype(int), method=method)


def _infeasible(detail: str = "") -> UserError:
    return UserError(f"no purchase mix meets demand under the constraints{detail}; allow on_demand or a "
                     "reserved option in constraints.purchase", field="constraints.purchase")


def solve_mix(need: np.ndarray, floor: np.ndarray, weights: np.ndarray, usd_per_hour: dict[Purchase, float],
              max_spot_share: float, spot_overhead: float, table: CostTable | None = None, *,
              terms: Terms = TERM_MONTHS) -> MixSolution:
    """Cheapest purchase mix meeting `need[m, h]` instances in every month m and hour level h.

    `weights[h]` is the number of hours of the day at level h; `usd_per_hour` holds the allowed
    options only; `terms` the months each commitment lasts (AWS's by default; tests use short
    terms to prove exactness against brute force over a few months). Each commitment is paid for
    its whole term (`commitment_usd`), also where the term runs past the horizon; `cost_usd` is the
    objective: the whole obligation signed plus the on-demand and spot hours inside the horizon.
    Exact (see the module doc for the order of the proofs).
    """
    t = table or cost_table(need, floor, weights, usd_per_hour, max_spot_share, spot_overhead)
    c = t.month_usd
    M = c.shape[0]
    if not np.isfinite(c).any(axis=1).all():
        raise _infeasible()
    if not t.options_r:
        return _solution(t, float(c[:, 0].sum()), np.zeros(M, dtype=int), {}, "none")
    cost, active, bought = _monotone(t, usd_per_hour, terms)
    if min(terms[o] for o in t.options_r) >= M:  # nothing expires: active counts only grow
        return _solution(t, cost, active, bought, "monotone", terms)
    lam = t.commitment_prices(usd_per_hour, terms)
    h, reduced = t.month_bounds(lam)
    if cost - float(h.sum()) <= _CERTIFY_REL * max(1.0, abs(cost)):
        return _solution(t, cost, active, bought, "bound", terms)
    bound, relaxed = _relaxed(t, usd_per_hour, terms)
    for other in (relaxed, _blocks(t, usd_per_hour, terms)):
        if other is not None:
            other_cost, other_active = schedule_usd(t, usd_per_hour, other, terms)
            if other_cost < cost:
                cost, active, bought = other_cost, other_active, other
        if cost - max(bound, float(h.sum())) <= _CERTIFY_REL * max(1.0, abs(cost)):
            return _solution(t, cost, active, bought, "bound", terms)
    if _dual_certificate(t, usd_per_hour, active, bought, terms):
        return _solution(t, cost, active, bought, "dual", terms)
    tolerance = _CERTIFY_REL * max(1.0, abs(cost))
    return _milp(t, usd_per_hour, lam, reduced, cost - float(h.sum()) + tolerance, incumbent=(cost, active, bought),
                 terms=terms)


def _dual_certificate(t: CostTable, usd_per_hour: dict[Purchase, float], active: np.ndarray,
                      bought: dict[Purchase, list[int]], terms: Terms = TERM_MONTHS) -> bool:
    """True when some prices λ[m] prove `active`/`bought` optimal (see step 4 of the module doc).

    λ[m] = S[m+1] − S[m]. Month m's count a* is a cheapest choice of c[m, a] + λ a iff
    lo[m] ≤ λ[m] ≤ hi[m], lo = max over a > a* of (c[a*] − c[a]) / (a − a*), hi = min over a < a*
    of the same ratio. A commitment (s → e, e the end of its term or of the horizon) needs
    S[e] − S[s] ≤ its whole price (`commitment_usd`), = when bought.
    """
    c = t.month_usd
    M, A1 = c.shape
    a = np.arange(A1)
    here = c[np.arange(M), active]
    if not np.isfinite(here).all():
        return False
    steps = a[None, :] - active[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (here[:, None] - c) / steps
    lo = np.where(steps > 0, ratio, -np.inf).max(axis=1)
    hi = np.where((steps < 0) & np.isfinite(c), ratio, np.inf).min(axis=1)
    scale = float(np.abs(c[np.isfinite(c)]).max(initial=1.0))
    tol = 1e-11 * scale
    if (lo > hi + tol).any():  # a month's count is not on its cost's lower convex hull
        return False
    edges: list[tuple[int, int, float]] = []
    for m in range(M):
        if np.isfinite(hi[m]):
            edges.append((m, m + 1, float(hi[m]) + tol))
        if np.isfinite(lo[m]):
            edges.append((m + 1, m, -float(lo[m]) + tol))
    for option in t.options_r:
        term = terms[option]
        price = commitment_usd(usd_per_hour[option], option, terms=terms)
        for s in range(M):
            e = min(M, s + term)
            edges.append((s, e, price + tol))
            if bought[option][s] > 0:
                edges.append((e, s, -price + tol))
    dist = [0.0] * (M + 1)
    for _ in range(M + 2):  # Bellman-Ford from a virtual source joined to every node
        changed = False
        for u, v, w in edges:
            if dist[u] + w < dist[v]:
                dist[v] = dist[u] + w
                changed = True
        if not changed:
            return True
    return False


def _milp(t: CostTable, usd_per_hour: dict[Purchase, float], lam: np.ndarray, reduced: np.ndarray, gap: float,
          incumbent, terms: Terms = TERM_MONTHS) -> MixSolution:
    """The integer program, with every variable whose reduced cost alone exceeds `gap` fixed at 0, and
    every month's count whose `forced_bounds` exceeds the incumbent left out."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    options_r, a_max, c = t.options_r, t.a_max, t.month_usd
    M = c.shape[0]
    A_vals = np.arange(a_max + 1)
    n_r = len(options_r) * M
    n_z = M * (a_max + 1)
    n = n_r + n_z
    cost = np.zeros(n)
    upper = np.ones(n)
    for k, opt in enumerate(options_r):
        term = terms[opt]
        whole = commitment_usd(usd_per_hour[opt], opt, terms=terms)  # the whole term, past the horizon too
        for s in range(M):
            j = k * M + s
            cost[j] = whole
            slack = whole - float(lam[s:s + term].sum())  # ≥ 0: what each such commitment adds to the bound
            upper[j] = a_max if slack <= 0 else min(a_max, math.floor(gap / slack))
    z = slice(n_r, n)
    cost[z] = np.where(np.isfinite(c), c, 0.0).ravel()
    keep = np.isfinite(c) & (reduced <= gap)
    forced = forced_bounds(t, usd_per_hour, terms)
    if forced is not None:  # a month's count whose every schedule costs more than the incumbent
        best_cost = incumbent[0]
        with np.errstate(invalid="ignore"):
            keep &= ~(forced > best_cost + _CERTIFY_REL * max(1.0, abs(best_cost)))
    upper[z] = keep.ravel()
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
    res = milp(cost, constraints=LinearConstraint(rows.tocsr(), lo, lo.copy()), integrality=np.ones(n),
               bounds=Bounds(np.zeros(n), upper), options={"presolve": True, "mip_rel_gap": 0.0})
    best_cost, best_active, best_bought = incumbent
    if res.status != 0 or res.x is None:
        if res.status == 2:  # infeasible once reduced: nothing beats the incumbent
            return _solution(t, best_cost, best_active, best_bought, "milp", terms)
        raise _infeasible(f" ({res.message})")
    x = np.round(res.x).astype(int)
    total = float(sum(cost[:n_r] * x[:n_r]))
    active = np.array([int(np.argmax(x[n_r + m * (a_max + 1): n_r + (m + 1) * (a_max + 1)])) for m in range(M)])
    total += float(sum(c[m, active[m]] for m in range(M)))
    if total >= best_cost:
        return _solution(t, best_cost, best_active, best_bought, "milp", terms)
    reserved = {opt: [int(x[k * M + s]) for s in range(M)] for k, opt in enumerate(options_r)}
    return _solution(t, total, active, reserved, "milp", terms)


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
    reserved rate, `effective_reserved_usd_per_hour`) carries the floor and whatever spot cannot:
    spot carries at most floor(spot_cap / (1 + overhead)) instances of capacity (`max_spot_share`,
    as the mix caps it), each at spot rate × (1 + overhead) or more (capacity is rounded down).
    Valid under whole commitments: a committed instance pays at least its effective rate in every
    hour of the horizon it is active, and the months of its term after the horizon only add to the
    objective.
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
