"""The array kernels behind the exact purchase mix, checked bit for bit against the plain loops they
replace (written out here): a faster kernel must return the very same numbers, not merely close ones,
so a forecast stays byte-identical."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.fleet import mix
from pricing.terms import DAYS_PER_MONTH, TERM_MONTHS, Purchase


def reference_top_up_tables(B, od_rate, spot_rate, cap_max, spot_overhead, d_max):
    """The top-up table as first written: a loop over the spot count, a strictly cheaper count wins."""
    spots = np.arange(0, (cap_max if spot_rate is not None else 0) + 1)
    effective = np.floor(spots / (1 + spot_overhead) + 1e-9)
    d = np.arange(d_max + 1)
    o = np.maximum(d[None, :] - effective[:, None], 0)
    spot_usd = (np.zeros(B) if spot_rate is None else spot_rate)[:, None, None] * spots[None, :, None]
    if od_rate is None:
        cost = np.where(o[None] == 0, spot_usd, np.inf)
    else:
        cost = od_rate[:, None, None] * o[None] + spot_usd
    best = np.empty((B, len(spots), d_max + 1))
    arg = np.zeros((B, len(spots), d_max + 1), dtype=int)
    best[:, 0] = cost[:, 0]
    for s in range(1, len(spots)):
        better = cost[:, s] < best[:, s - 1]
        best[:, s] = np.where(better, cost[:, s], best[:, s - 1])
        arg[:, s] = np.where(better, s, arg[:, s - 1])
    if cap_max >= len(spots):
        pad = cap_max + 1 - len(spots)
        best = np.concatenate([best, np.repeat(best[:, -1:], pad, axis=1)], axis=1)
        arg = np.concatenate([arg, np.repeat(arg[:, -1:], pad, axis=1)], axis=1)
    on_demand = o[arg, d[None, None, :]].astype(int)
    return best, arg, on_demand


def reference_cost_tables(need, floor, weights, od_rate, spot_rate, max_spot_share, spot_overhead, a_max,
                          counts=None):
    """c[b, m, a] as first written: one dense gather over every count, month and hour level."""
    need = np.asarray(need, dtype=int)
    floor = np.asarray(floor, dtype=int)
    caps = mix.spot_cap(need, max_spot_share)
    best, spot, on_demand = reference_top_up_tables(need.shape[0], od_rate, spot_rate, int(caps.max(initial=0)),
                                                    spot_overhead, int(max(need.max(), 0)))
    a = np.arange(a_max + 1) if counts is None else np.asarray(counts, dtype=int)
    covered = np.maximum(a[None, :], floor[:, None])
    deficit = np.maximum(need[:, :, None, :] - covered[None, :, :, None], 0)
    flat = (np.arange(need.shape[0])[:, None, None] * best.shape[1] + caps)[:, :, None, :] * best.shape[2] + deficit
    per_hour = best.reshape(-1).take(flat)
    short = np.maximum(floor[:, None] - a[None, :], 0)[None, :, :, None]
    if od_rate is None:
        per_hour = np.where(short > 0, np.inf, per_hour)
    else:
        per_hour = per_hour + od_rate[:, None, None, None] * short
    month_usd = (per_hour * weights[None, None, None, :]).sum(axis=3) * DAYS_PER_MONTH
    return month_usd, spot, on_demand


def same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    x, y = np.asarray(x), np.asarray(y)
    return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()


def random_rates(rng, B, *, on_demand=True, spot=True):
    od = rng.uniform(0.5, 40.0, B) if on_demand else None
    if not spot:
        return od, None
    ratio = rng.choice([rng.uniform(0.05, 1.5), 0.5, 0.25, 1.0 / 3.0, 1.0])  # exact ratios too: ties
    base = od if od is not None else rng.uniform(0.5, 40.0, B)
    sp = base * ratio * rng.choice([1.0, 1.0, 1.1], B)
    return od, sp


CASES = [(seed, on_demand, spot) for seed in range(40) for on_demand, spot in
         ((True, True), (True, False), (False, True))]


@pytest.mark.parametrize("seed, on_demand, spot", CASES)
def test_top_up_tables_match_the_loop(seed, on_demand, spot):
    rng = np.random.default_rng(seed)
    B = int(rng.integers(1, 6))
    od, sp = random_rates(rng, B, on_demand=on_demand, spot=spot)
    cap_max, d_max = int(rng.integers(0, 40)), int(rng.integers(0, 120))
    overhead = float(rng.choice([0.0, 0.1, 0.25, 1.0]))
    want = reference_top_up_tables(B, od, sp, cap_max, overhead, d_max)
    got = mix._top_up_tables(B, od, sp, cap_max, overhead, d_max)
    assert all(same_bits(x, y) for x, y in zip(want, got))
    assert same_bits(mix._top_up_best(B, od, sp, cap_max, overhead, d_max), want[0])


@pytest.mark.parametrize("seed, on_demand, spot", CASES)
def test_cost_tables_match_the_dense_gather(seed, on_demand, spot):
    rng = np.random.default_rng(1000 + seed)
    B, M, H = int(rng.integers(1, 7)), int(rng.integers(1, 40)), int(rng.choice([1, 3, 8, 13, 24]))
    floor = rng.integers(0, 4, M)
    if not on_demand:
        floor[:] = 0
    shape = rng.choice(["grow", "fall", "flat", "random"])
    peak = float(rng.uniform(0, 150))
    trend = {"grow": np.linspace(0.1, 1, M), "fall": np.linspace(1, 0.1, M), "flat": np.ones(M),
             "random": rng.uniform(0, 1, M)}[shape]
    need = np.ceil(peak * trend[None, :, None] * rng.uniform(0.2, 1, (B, M, H))).astype(int)
    need = np.maximum(need, floor[None, :, None])
    weights = rng.dirichlet(np.ones(H)) * 24
    od, sp = random_rates(rng, B, on_demand=on_demand, spot=spot)
    share, overhead = float(rng.choice([0.0, 0.3, 0.5, 1.0])), float(rng.choice([0.0, 0.1, 0.2]))
    a_max = int(need.max()) + int(rng.integers(0, 3))
    counts = None
    if rng.random() < 0.3:
        counts = np.unique(rng.integers(0, a_max + 1, int(rng.integers(1, 9))))
        if rng.random() < 0.3:  # out of order: the table computes every count
            counts = rng.permutation(counts)
    month_usd, spot_ref, od_ref = reference_cost_tables(need, floor, weights, od, sp, share, overhead, a_max, counts)
    tables = mix.cost_tables(need, floor, weights, od, sp, share, overhead, a_max, counts=counts)
    assert same_bits(tables.month_usd, month_usd)
    for b in range(B):  # a problem's own table reads the same spot and on-demand counts
        t = tables.table(b, [])
        d_max, c_max = int(need[b].max()), int(tables.caps[b].max(initial=0))
        assert same_bits(t._spot[:c_max + 1, :d_max + 1], spot_ref[b, :c_max + 1, :d_max + 1])
        assert same_bits(t._on_demand[:c_max + 1, :d_max + 1], od_ref[b, :c_max + 1, :d_max + 1])


def reference_block_schedules(month_usd: np.ndarray, usd_per_hour: dict, options_r,
                    scale: np.ndarray, terms=TERM_MONTHS):
    """`mix.block_schedules` as first written: a back-pointer for every state of every month."""
    B, M, A1 = month_usd.shape
    long, short = mix._split(options_r, M, terms)
    if len(short) != 1:
        return [None] * B
    option, term = short[0], terms[short[0]]
    hold = (mix._long_hold(mix._key(usd_per_hour, long, terms), M) if long else np.full(M, math.inf))[None, :] \
        * scale[:, None]
    block_usd = mix.commitment_usd(usd_per_hour[option], option, terms=terms)
    a = np.arange(A1)
    sizes = a[None, :, None]  # block sizes y: [1, y, 1]
    best = np.full((B, A1), math.inf)
    best[:, 0] = 0.0
    index = np.minimum(a[None, :] + a[:, None], A1 - 1)  # [y, x]: the total count with a block of y
    record = []
    for s in range(0, M, term):
        f = np.repeat(best[:, None, :], A1, axis=1)  # [b, y, long count]
        backs = []
        for m in range(s, min(M, s + term)):
            h = hold[:, m][:, None, None]
            if np.isfinite(hold[:, m]).all():  # buy more long commitments this month
                g = f - h * a[None, None, :]
                low = np.minimum.accumulate(g, axis=2)
                new = np.ones_like(g, dtype=bool)
                new[:, :, 1:] = g[:, :, 1:] < low[:, :, :-1]
                backs.append(np.maximum.accumulate(np.where(new, a[None, None, :], 0), axis=2))
                f = low + h * a[None, None, :]
            else:
                backs.append(np.broadcast_to(a[None, None, :], f.shape))
            f = f + month_usd[:, m][:, index]
        total = f + sizes * (block_usd * scale)[:, None, None]
        pick = np.argmin(total, axis=1)  # [b, long count]
        best = np.take_along_axis(total, pick[:, None, :], axis=1)[:, 0, :]
        record.append((s, pick, backs))
    cheapest_long = mix._cheapest(usd_per_hour, long, terms) if long else None
    out = []
    for b in range(B):
        x = np.zeros(M, dtype=int)
        bought = {o: [0] * M for o in options_r}
        end = int(np.argmin(best[b]))
        for s, pick, backs in reversed(record):
            y = int(pick[b, end])
            bought[option][s] += y
            for j in range(len(backs) - 1, -1, -1):
                x[s + j] = end
                end = int(backs[j][b, y, end])
        prev = 0
        for s in range(M):
            if x[s] > prev:
                bought[cheapest_long][s] += int(x[s] - prev)
            prev = int(x[s])
        out.append(bought)
    return out


@pytest.mark.parametrize("seed", range(60))
def test_block_schedules_match_the_back_pointers(seed):
    rng = np.random.default_rng(5000 + seed)
    short_term = int(rng.integers(1, 6))
    M = int(rng.integers(short_term + 1, 4 * short_term + 3))
    terms = {Purchase.RESERVED_1Y: short_term, Purchase.RESERVED_3Y: int(rng.choice([M, M + 3]))}
    options_r = [Purchase.RESERVED_1Y] + ([Purchase.RESERVED_3Y] if rng.random() < 0.8 else [])
    B, H = int(rng.integers(1, 5)), int(rng.choice([1, 3, 8]))
    shape = rng.choice(["grow", "fall", "random"])
    trend = {"grow": np.linspace(0.2, 1, M), "fall": np.linspace(1, 0.2, M), "random": rng.uniform(0, 1, M)}[shape]
    need = np.ceil(float(rng.uniform(1, 40)) * trend[None, :, None] * rng.uniform(0.3, 1, (B, M, H))).astype(int)
    floor = np.minimum(rng.integers(0, 3, M), need.min(axis=(0, 2)))
    od = rng.uniform(1, 10, B)
    sp = od * rng.uniform(0.2, 1.2) if rng.random() < 0.7 else None
    weights = rng.dirichlet(np.ones(H)) * 24
    month_usd = mix.cost_tables(need, floor, weights, od, sp, 0.3, 0.1, int(need.max())).month_usd
    if rng.random() < 0.2:  # ties: integer costs
        month_usd = np.round(month_usd / 50.0)
    usd = {Purchase.RESERVED_1Y: float(rng.uniform(0.3, 0.9)) / (24 * 30),
           Purchase.RESERVED_3Y: float(rng.uniform(0.2, 0.8)) / (24 * 30)}
    if rng.random() < 0.2:
        usd[Purchase.RESERVED_3Y] = usd[Purchase.RESERVED_1Y]  # equal rates: more ties
    scale = rng.choice([1.0, 0.9, 1.3], B)
    want = reference_block_schedules(month_usd, usd, options_r, scale, terms)
    assert mix.block_schedules(month_usd, usd, options_r, scale, terms) == want


@pytest.mark.parametrize("seed", range(30))
def test_search_units_match_the_entrywise_arithmetic(seed):
    from planner.fleet import batch
    from planner.fleet.size import MAX_INSTANCES

    rng = np.random.default_rng(9000 + seed)
    B, G, M, H = (int(rng.integers(1, n)) for n in (6, 5, 30, 14))
    g_floor = rng.integers(1, 4, G)
    needs = np.maximum(rng.integers(0, MAX_INSTANCES + 2, (B, G, M, H)) // int(rng.choice([1, 10, 100])),
                       g_floor[None, :, None, None])
    hours = rng.dirichlet(np.ones(H)) * 24 * DAYS_PER_MONTH
    share, overhead = float(rng.choice([0.0, 0.3, 0.5, 1.0])), float(rng.choice([0.0, 0.1, 0.25]))
    caps = mix.spot_cap(needs, share)
    spot_units = np.floor(caps / (1 + overhead) + 1e-9)
    want = ((caps > 0).any(axis=(0, 2, 3)), (needs * hours).sum(axis=(2, 3)),
            (np.maximum(needs - spot_units, g_floor[None, :, None, None]) * hours).sum(axis=(2, 3)))
    got = batch._units(needs, g_floor, hours, share, overhead)
    assert all(same_bits(x, y) for x, y in zip(got, want))


@pytest.mark.parametrize("seed", range(20))
def test_cost_tables_reuse_a_larger_top_up_table(seed):
    """A subset of problems, given the top-up table computed for the whole batch (larger caps and
    deficits), gets the very table it would compute itself."""
    rng = np.random.default_rng(7000 + seed)
    B, M, H = int(rng.integers(2, 7)), int(rng.integers(1, 30)), int(rng.choice([3, 8, 13]))
    floor = rng.integers(1, 3, M)
    need = np.maximum(np.ceil(float(rng.uniform(5, 120)) * rng.uniform(0.1, 1, (B, M, H))).astype(int),
                      floor[None, :, None])
    weights = rng.dirichlet(np.ones(H)) * 24
    od, sp = random_rates(rng, B, spot=rng.random() < 0.8)
    grid = np.unique(np.linspace(0, need.max(), 8).astype(int))
    whole = mix.cost_tables(need, floor, weights, od, sp, 0.3, 0.1, int(need.max()), counts=grid)
    keep = np.sort(rng.choice(B, int(rng.integers(1, B + 1)), replace=False))
    sub = (need[keep], floor, weights, od[keep], None if sp is None else sp[keep], 0.3, 0.1, int(need[keep].max()))
    assert same_bits(mix.cost_tables(*sub, top_up=whole.top_up_usd[keep]).month_usd, mix.cost_tables(*sub).month_usd)


@pytest.mark.parametrize("seed, on_demand, spot", CASES)
def test_coarse_bound_is_a_lower_bound_and_no_weaker(seed, on_demand, spot):
    """The batched search's bound from a coarse table (`batch.coarse_bound`) never exceeds what the
    full table gives, Σ_m min_a (c[m, a] + λ[m] a), and is never below the plain bound
    c[a_j+1] + λ a_j it tightens (rates with ties, floors, spot or not, λ above and below the
    on-demand step)."""
    from planner.fleet import batch

    rng = np.random.default_rng(9000 + seed)
    B, M, H = int(rng.integers(1, 7)), int(rng.integers(1, 40)), int(rng.choice([1, 3, 8, 13, 24]))
    floor = rng.integers(0, 4, M) if on_demand else np.zeros(M, dtype=int)
    peak = float(rng.uniform(1, 150))
    trend = rng.choice([np.linspace(0.1, 1, M), np.linspace(1, 0.1, M), rng.uniform(0, 1, M)])
    need = np.maximum(np.ceil(peak * trend[None, :, None] * rng.uniform(0.2, 1, (B, M, H))).astype(int),
                      floor[None, :, None])
    weights = rng.dirichlet(np.ones(H)) * 24
    od, sp = random_rates(rng, B, on_demand=on_demand, spot=spot)
    share, overhead = float(rng.choice([0.0, 0.3, 0.5, 1.0])), float(rng.choice([0.0, 0.1, 0.2]))
    a_max = int(need.max())
    full = mix.cost_tables(need, floor, weights, od, sp, share, overhead, a_max).month_usd
    points = int(rng.choice([2, 3, 8, 16]))
    grid = np.unique(np.append(np.arange(0, a_max + 1, -(-(a_max + 1) // points)), a_max))
    coarse = mix.cost_tables(need, floor, weights, od, sp, share, overhead, a_max, counts=grid).month_usd
    scale = (od if od is not None else sp) * 730
    lam = rng.choice([0.0, 0.3, 0.9, 1.0, 1.5, 4.0]) * scale[:, None] * rng.uniform(0.5, 1.5, (B, M))
    exact = (full + lam[:, :, None] * np.arange(a_max + 1)[None, None, :]).min(axis=2).sum(axis=1)
    plain = (coarse[:, :, 1:] + lam[:, :, None] * grid[None, None, :-1]).min(axis=2).sum(axis=1)
    step = None if od is None else od * weights.sum() * DAYS_PER_MONTH
    got = batch.coarse_bound(coarse, grid, lam, step)
    finite = np.isfinite(exact)
    assert (got[finite] <= exact[finite]).all()
    assert ((got >= plain) | (np.isinf(plain) & np.isinf(got))).all()
    assert same_bits(batch.coarse_bound(coarse, grid, lam, None), plain)
