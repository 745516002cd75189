"""The fleet search for many problems at once: the Monte Carlo draws of one workload that share a
candidate list (the same token counts), each with its own demand, capacity factor and prices.

Each draw gets exactly the answer `planner.fleet.size.search` gives it alone: the same bounds, the
same exact purchase mix (`planner.fleet.mix`), the same tie rule (`Chosen.loses_to`, which does not
depend on the order candidates are tried in). What is shared is the arithmetic: need arrays, bounds,
cost tables and the monotone dynamic program run as array operations over the draws, so a
thousand draws cost little more than a few dozen single searches. A draw the bounds cannot settle
goes through `solve_mix` on its own cost table (the dual certificate, then the MILP).

Commitment prices per month (λ) and hold-to-end prices are linear in the commitment rates, so a
draw's are the candidate's own times the draw's factor on reserved rates (one factor for both
terms, as the draws move on-demand and reserved prices together).

Before a large cost table (many committed counts), a coarse one at a few counts bounds it: the
top-up cost never rises with more commitments, and one more commitment saves at most one
on-demand instance an hour, so between counts a_j < a_j+1 a month costs at least c[a_j+1] + λ a_j
plus what the count must rise before c can fall that far (`coarse_bound`). Cost tables are built a
few draws at a time, small enough for the cache; the dynamic programs run only on the draws the
bounds leave open.
"""

from __future__ import annotations

import math

import numpy as np

from planner.fleet.memo import Memo
from planner.fleet.mix import (COMMITMENTS, _CERTIFY_REL, _dual_certificate, _hold_to_end, _solution, block_schedules,
                               commitment_prices, cost_tables, effective_reserved_usd_per_hour, held_to_end,
                               monotone_dp, relaxed_bounds, schedule_usd, solve_mix, spot_cap)
from planner.fleet.model import Candidate
from planner.fleet.size import MAX_INSTANCES, Chosen, NoCandidateFits
from pricing.terms import DAYS_PER_MONTH, RESERVED, TERM_MONTHS, Purchase

MAX_BATCH = 128  # draws per array operation (bounds memory: draws × need groups × months × levels)
TABLE_ELEMENTS = 250_000  # draws × months × committed counts × hour levels per cost-table operation
COARSE_FROM = 24  # from this many committed counts on, bound from a coarse table before building the full one
COARSE_POINTS = 8
# Draws whose cost is known to exceed their bar are not solved further: a candidate at the very
# prices of one that had no cost under a bar at least as high, and draws whose tighter bound
# exceeds the bar (False: solve them as before; tests compare both ways bit for bit)
SKIP_PAST_BAR = True


def search_many(constraints, cands: list[Candidate], mean_rps: np.ndarray, levels: np.ndarray, weights: np.ndarray,
                floor_of, memo: Memo, *, capacity_factor: np.ndarray,
                price_factors: dict[Purchase, np.ndarray]) -> list[list[Chosen]]:
    """`search` for each row of `mean_rps` [draw, month], with capacity_factor [draw] and
    price_factors {option: [draw]}: the chosen candidates per draw (k regions, cheapest first)."""
    out: list[list[Chosen]] = []
    for start in range(0, mean_rps.shape[0], MAX_BATCH):
        part = slice(start, start + MAX_BATCH)
        out += _search_batch(constraints, cands, mean_rps[part], levels, weights, floor_of, memo,
                             capacity_factor[part], {o: f[part] for o, f in price_factors.items()})
    return out


def _search_batch(constraints, cands, mean_rps, levels, weights, floor_of, memo, capacity_factor, price_factors):
    c = constraints
    k = c.regions_per_workload
    share, overhead = c.max_spot_share, c.spot_interruption_overhead
    B, M = mean_rps.shape
    arrays = memo.arrays(cands)
    group, g_rps, g_floor = arrays.groups(floor_of)
    options = list(Purchase)
    rates = np.stack([arrays.rates[o] for o in options], axis=1)  # [c, option], inf where not offered
    offered = np.isfinite(rates)
    factor = np.stack([price_factors.get(o, np.ones(B)) for o in options], axis=1)  # [draw, option]

    # needs [draw, group, month, level] and the quick bound [draw, candidate] (as `quick_bounds`)
    base = (mean_rps[:, :, None] * levels[None, None, :]) * (1 + c.headroom)
    per_instance = g_rps[None, :] * capacity_factor[:, None]
    exact = base[:, None] / per_instance[:, :, None, None]
    if not np.isfinite(exact).all():
        raise ArithmeticError("instances needed is not a finite number in some draw")
    too_large = exact.max(axis=(2, 3), initial=0.0) > MAX_INSTANCES  # [draw, group]
    needs = np.maximum(np.ceil(np.minimum(exact, MAX_INSTANCES + 1) - 1e-9).astype(int),
                       g_floor[None, :, None, None])
    spot_usable, all_units, not_spot = _units(needs, g_floor, weights * DAYS_PER_MONTH, share, overhead)
    effective = np.array([1.0 if o == Purchase.ON_DEMAND else effective_reserved_usd_per_hour({o: 1.0}, [o], M)
                          for o in (Purchase.ON_DEMAND, *RESERVED)])
    scaled = rates[None] * factor[:, None, :]  # [draw, candidate, option]
    non_spot = [options.index(o) for o in (Purchase.ON_DEMAND, *RESERVED)]
    r_ns = (scaled[:, :, non_spot] * effective[None, None, :]).min(axis=2)
    r_spot = scaled[:, :, options.index(Purchase.SPOT)] * (1 + overhead)
    with np.errstate(invalid="ignore"):
        bound = np.where(np.isfinite(r_spot), r_ns * not_spot[:, group] + np.minimum(r_ns, r_spot)
                         * (all_units - not_spot)[:, group], r_ns * all_units[:, group])
    bound = np.where(too_large[:, group], np.inf, bound)
    if too_large.all(axis=1).any():
        b = int(np.nonzero(too_large.all(axis=1))[0][0])
        peaks = exact[b].max(axis=(1, 2))
        i = int(np.argmin(peaks[group]))
        raise NoCandidateFits(float(peaks[group[i]]), cands[i])

    regions = sorted(set(arrays.regions))
    region_of = np.array([regions.index(r) for r in arrays.regions])
    best_cost = np.full((B, len(regions)), math.inf)
    best: dict[tuple[int, int], tuple] = {}  # (draw, region) -> (candidate, rps, rank, solution maker)
    solved: dict[int, list[tuple[int, np.ndarray, list]]] = {}  # group -> (candidate, cost and mix per draw)
    rps_all = arrays.requests_per_s[None, :] * capacity_factor[:, None]

    kth = np.full(B, math.inf)
    # the candidate most draws would try first goes first (its costs set tight bars early)
    order = np.lexsort((arrays.order, np.median(bound, axis=0)))
    later = np.minimum.accumulate(bound.min(axis=0)[order][::-1])[::-1]  # smallest bound from here on
    for pos, i in enumerate(order):
        col = bound[:, i]
        if later[pos] > kth.max() + 1e-6:
            break  # no candidate from here on can enter any draw's k best
        if not (np.isfinite(col) & (col <= kth + 1e-6)).any():
            continue
        r = region_of[i]
        bar = np.minimum(best_cost[:, r], kth) + 1e-6
        active = np.isfinite(col) & (col <= bar)  # an infinite bound: too large in that draw
        g = group[i]
        cost_all = np.full(B, math.inf)
        maker_all: list = [None] * B
        relevant = np.ones(len(options), dtype=bool)
        if not spot_usable[g]:  # no spot cap above 0: the spot rate changes nothing
            relevant[options.index(Purchase.SPOT)] = False
        for j, cost_j, maker_j, bar_j in solved.get(g, ()):
            if (offered[i][relevant] == offered[j][relevant]).all() and \
                    (rates[i][relevant & offered[i]] == rates[j][relevant & offered[j]]).all():
                # the very same problem (another region at the same prices): the same mixes; where
                # it had no cost, its cost exceeded the bar it had then (or it was never feasible)
                same = active & np.isfinite(cost_j)
                cost_all[same] = cost_j[same]
                for b in np.nonzero(same)[0]:
                    maker_all[b] = maker_j[b]
                active &= ~same
                if SKIP_PAST_BAR:
                    active &= ~(np.isinf(cost_j) & (bar <= bar_j))
            elif (offered[i][relevant] == offered[j][relevant]).all():  # rates no lower, option for option
                use = relevant & offered[i]
                ratio = float(np.min(rates[i][use] / rates[j][use]))
                with np.errstate(invalid="ignore"):
                    active &= ~(np.isfinite(cost_j) & (ratio * cost_j > bar))
        if active.any():
            idx = np.nonzero(active)[0]
            costs, makers = _solve_batch(cands[i], needs[idx, g], int(g_floor[g]), weights, factor[idx], options,
                                         bar[idx], share, overhead)
            cost_all[idx] = costs
            for b, maker in zip(idx, makers):
                maker_all[b] = maker
        idx = np.nonzero(np.isfinite(cost_all))[0]
        if not len(idx):
            continue
        costs, makers = cost_all[idx], [maker_all[b] for b in idx]
        solved.setdefault(g, []).append((i, cost_all, maker_all, bar))
        for n, b in enumerate(idx):  # finite costs only: the others were pruned by their table's bound
            held = best.get((b, r))
            rps, rank = float(rps_all[b, i]), int(arrays.order[i])
            if held is None or _loses(best_cost[b, r], held[1], held[2], costs[n], rps, rank):
                best_cost[b, r] = costs[n]
                best[(b, r)] = (i, rps, rank, makers[n], needs[b, g])
        if len(regions) >= k:
            kth = np.partition(best_cost, k - 1, axis=1)[:, k - 1]
    out = []
    for b in range(B):
        picks = sorted(((best_cost[b, r], regions[r], r) for r in range(len(regions)) if (b, r) in best))[:k]
        chosen = []
        for cost, _name, r in picks:
            i, rps, rank, make, need = best[(b, r)]
            sol, usd = make()
            chosen.append(Chosen(float(cost), cands[i], need, np.full(M, int(g_floor[group[i]])), usd, sol, rps, rank))
        out.append(chosen)
    return out


def _units(needs: np.ndarray, g_floor: np.ndarray, hours: np.ndarray, share: float, overhead: float):
    """For needs [draw, group, month, level] (counts 0 .. MAX_INSTANCES + 1 or the floor): (may any draw
    run spot in any hour [group], instance-hours [draw, group], instance-hours spot cannot carry
    [draw, group]). The spot cap and the spot instances' capacity are looked up per count (the same
    numbers as computing them on every entry; the cap never falls as the need grows)."""
    count = np.arange(max(MAX_INSTANCES + 1, int(g_floor.max(initial=0))) + 1)
    cap_of = spot_cap(count, share)
    spot_units_of = np.floor(cap_of / (1 + overhead) + 1e-9)
    spot_usable = cap_of[needs.max(axis=(0, 2, 3))] > 0
    all_units = (needs * hours).sum(axis=(2, 3))
    not_spot = (np.maximum((count - spot_units_of)[needs], g_floor[None, :, None, None]) * hours).sum(axis=(2, 3))
    return spot_usable, all_units, not_spot


def _loses(held_cost: float, held_rps: float, held_rank: int, cost: float, rps: float, rank: int) -> bool:
    """`Chosen.loses_to` on plain values."""
    if abs(cost - held_cost) > 1e-6:
        return cost < held_cost
    return (-rps, rank) < (-held_rps, held_rank)


def _solve_batch(cand: Candidate, need: np.ndarray, floor: int, weights: np.ndarray, factor: np.ndarray,
                 options: list[Purchase], bar: np.ndarray, share: float, overhead: float):
    """Exact costs of one candidate for a batch of draws (inf where its cost table's bound already
    exceeds `bar`), and for each a function building its `MixSolution` and rates. Cost tables are
    built a few draws at a time, so that each stays small enough to sit in the CPU cache."""
    B, M, H = need.shape
    per = max(1, TABLE_ELEMENTS // (M * (int(need.max()) + 1) * H))
    if B <= per:
        return _solve_chunk(cand, need, floor, weights, factor, options, bar, share, overhead)
    costs, makers = [], []
    for start in range(0, B, per):
        part = slice(start, start + per)
        c, m = _solve_chunk(cand, need[part], floor, weights, factor[part], options, bar[part], share, overhead)
        costs.append(c)
        makers += m
    return np.concatenate(costs), makers


def _solve_chunk(cand: Candidate, need: np.ndarray, floor: int, weights: np.ndarray, factor: np.ndarray,
                 options: list[Purchase], bar: np.ndarray, share: float, overhead: float, coarse_first: bool = True,
                 top_up: np.ndarray | None = None):
    B, M, _ = need.shape
    usd = cand.usd_per_hour
    f = {o: factor[:, options.index(o)] for o in options}
    od = usd[Purchase.ON_DEMAND] * f[Purchase.ON_DEMAND] if Purchase.ON_DEMAND in usd else None
    spot = usd[Purchase.SPOT] * f[Purchase.SPOT] if Purchase.SPOT in usd else None
    options_r = [o for o in COMMITMENTS if o in usd]
    floors = np.full(M, floor)
    a_max = int(need.max()) if options_r else 0
    if coarse_first and options_r and a_max >= COARSE_FROM:
        # a cheap bound first, from a few committed counts: the top-up cost never rises with more
        # commitments, so between counts a_j < a_j+1 it is at least c[a_j+1] + λ a_j
        grid = np.unique(np.append(np.arange(0, a_max + 1, -(-(a_max + 1) // COARSE_POINTS)), a_max))
        coarse_tables = cost_tables(need, floors, weights, od, spot, share, overhead, a_max, counts=grid)
        coarse, top_up = coarse_tables.month_usd, coarse_tables.top_up_usd  # the full table reuses its top-up
        lam = commitment_prices(usd, options_r, M)[None, :] * f[options_r[0]][:, None]
        low = coarse_bound(coarse, grid, lam, None if od is None else od * weights.sum() * DAYS_PER_MONTH)
        if not (low <= bar).all():
            keep = np.nonzero(low <= bar)[0]
            costs = np.full(B, math.inf)
            makers: list = [None] * B
            if len(keep):
                sub_costs, sub_makers = _solve_chunk(cand, need[keep], floor, weights, factor[keep], options,
                                                     bar[keep], share, overhead, coarse_first=False,
                                                     top_up=top_up[keep])
                costs[keep] = sub_costs
                for n, maker in zip(keep, sub_makers):
                    makers[n] = maker
            return costs, makers
    tables = cost_tables(need, floors, weights, od, spot, share, overhead, a_max, top_up=top_up)
    c = tables.month_usd

    def rates_of(n: int) -> dict[Purchase, float]:
        return {o: r * float(f[o][n]) for o, r in usd.items()}

    costs = np.full(B, math.inf)
    makers: list = [None] * B
    if not options_r:
        totals = c[:, :, 0].sum(axis=1)
        for n in range(B):
            if totals[n] <= bar[n] and math.isfinite(totals[n]):
                costs[n] = totals[n]
                makers[n] = _maker(tables, n, options_r, float(totals[n]), np.zeros(M, dtype=int), {}, "none",
                                   rates_of(n))
        return costs, makers
    reserved = f[options_r[0]]
    if any((f[o] != reserved).any() for o in options_r):
        raise ValueError("draws must move every commitment's rate by one factor")
    lam = commitment_prices(usd, options_r, M)[None, :] * reserved[:, None]  # linear in the rates
    h = (c + lam[:, :, None] * np.arange(c.shape[2])[None, None, :]).min(axis=2).sum(axis=1)
    keep = h <= bar
    if not keep.any():
        return costs, makers
    hold, first = _hold_to_end(usd, options_r, M)
    dp_cost = np.full(B, math.inf)
    x = np.zeros((B, M), dtype=int)
    kept = np.nonzero(keep)[0]  # only the draws the bound did not rule out
    dp_cost[kept], x[kept] = monotone_dp(c[kept], hold[None, :M] * reserved[kept, None])
    exact_monotone = min(TERM_MONTHS[o] for o in options_r) >= M
    with np.errstate(invalid="ignore"):
        tolerance = _CERTIFY_REL * np.maximum(1.0, np.abs(dp_cost))
        certified = keep & (exact_monotone | (dp_cost - h <= tolerance))
    bound = h.copy()
    open_ = np.nonzero(keep & ~certified)[0]
    if len(open_):  # the tighter bound, for the draws the first did not settle
        relaxed, _x, _priced = relaxed_bounds(c[open_], usd, options_r, reserved[open_])
        bound[open_] = np.maximum(h[open_], relaxed)
        certified[open_] |= dp_cost[open_] - bound[open_] <= tolerance[open_]
    for n in np.nonzero(keep & certified)[0]:
        costs[n] = dp_cost[n]
        makers[n] = _maker(tables, n, options_r, float(dp_cost[n]), x[n], (x[n], first),
                           "monotone" if exact_monotone else "bound", rates_of(n))
    # the draws left need an exact proof, unless the tighter bound already exceeds their bar (their
    # cost does too: inf, as for the draws the first bound ruled out)
    rest = np.nonzero(keep & ~certified & ((bound <= bar) | (not SKIP_PAST_BAR)))[0]
    if len(rest):  # a second incumbent (yearly blocks of the shorter term), then the dual certificate
        blocks = block_schedules(c[rest], usd, options_r, reserved[rest])
        for n, bought_blocks in zip(rest, blocks):
            table, rates_n = tables.table(n, options_r), rates_of(n)
            best = (float(dp_cost[n]), x[n], held_to_end(x[n], first, options_r))
            if bought_blocks is not None:
                other_cost, other_active = schedule_usd(table, rates_n, bought_blocks)
                if other_cost < best[0]:
                    best = (other_cost, other_active, bought_blocks)
            cost_n, active_n, bought_n = best
            if cost_n - bound[n] <= _CERTIFY_REL * max(1.0, abs(cost_n)):
                method = "bound"
            elif _dual_certificate(table, rates_n, active_n, bought_n):
                method = "dual"
            else:  # everything solve_mix tries, then the program
                sol = solve_mix(tables.need[n], floors, weights, rates_n, share, overhead, table=table)
                costs[n] = sol.cost_usd
                makers[n] = (lambda sol=sol, rates_n=rates_n: (sol, rates_n))
                continue
            costs[n] = cost_n
            makers[n] = _maker(tables, n, options_r, cost_n, active_n, bought_n, method, rates_n)
    return costs, makers


def coarse_bound(coarse: np.ndarray, grid: np.ndarray, lam: np.ndarray, step: np.ndarray | None) -> np.ndarray:
    """A lower bound [b] on Σ_m min_a (c[b, m, a] + λ[b, m] a) from c at the counts `grid` alone
    (coarse[b, m, j] = c[b, m, grid[j]], grid rising from 0 to the largest count).

    Between counts a_j < a_j+1 = a_j + Δ, with t = a − a_j: c never rises with more commitments,
    so c[a] ≥ c[a_j+1]; and one more committed instance saves at most `step[b]` a month (one
    on-demand instance in every hour: the floor's, or the top-up's last; None: no on-demand rate,
    no such limit), so c[a] ≥ c[a_j] − step · t. Hence c[a] + λ a ≥ c[a_j+1] + λ a_j +
    min(λ, step) · min(t*, Δ), t* = (c[a_j] − c[a_j+1]) / step (the least of the larger of the two
    lines plus λ t over real t in [0, Δ]). Without `step` (or where c is infinite) that extra term
    is 0: the bound c[a_j+1] + λ a_j. The extra term is shrunk by a relative 1e-9 against rounding."""
    base = coarse[:, :, 1:] + lam[:, :, None] * grid[None, None, :-1]
    if step is not None:
        delta = np.diff(grid).astype(float)[None, None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            gap = coarse[:, :, :-1] - coarse[:, :, 1:]
            t = np.minimum(gap / step[:, None, None], delta)
            extra = np.minimum(lam, step[:, None])[:, :, None] * t * (1 - 1e-9)
        extra = np.where(np.isfinite(extra) & (extra > 0), extra, 0.0)
        base = base + extra
    return base.min(axis=2).sum(axis=1)


def _maker(tables, n: int, options_r, cost: float, active: np.ndarray, bought, method: str, rates: dict):
    """A deferred `MixSolution` (built only for the draws' winners); `bought` may be a (path, first
    options) pair still to be turned into purchases."""
    def make():
        purchases = held_to_end(bought[0], bought[1], options_r) if isinstance(bought, tuple) else bought
        return _solution(tables.table(n, options_r), cost, active, purchases, method), rates
    return make
