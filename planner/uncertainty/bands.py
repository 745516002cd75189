"""Monte Carlo bands: every draw re-sizes the fleet and re-costs both paths, month by month.

A draw (`planner.uncertainty.draws`) scales each workload's traffic and shifts its monthly growth,
scales its tokens per request (input and output alike) and what one replica sustains (the
throughput model's own error), and moves on-demand/reserved and spot prices and each API model's
token prices (compounded per year). For that draw:

- demand: requests per day as `planner.demand` computes them, from the drawn level and growth
  (a workload with an explicit monthly series keeps its shape and takes the level only);
- the fleet: the same exact search as the forecast (`planner.fleet.size.search`) over the
  candidates at the drawn token counts, with the drawn capacity and price factors; it shares the
  forecast's `Memo`, so draws that meet the same purchase-mix problem solve it once;
- self-hosted cost: compute from the purchase mix as the fleet lines price it, and each
  commitment's whole obligation after the horizon in the month it is signed (as the forecast's
  `committed_after_horizon`); platform from the same `planner.forecast.tco.region_platform_usd`
  (affine in instance-hours, launches, scaling groups and egress, so evaluated once per region at
  unit inputs); people, data/eval, compliance and retraining (each workload's GPU-hours at its own
  serving GPU's on-demand price, or the plan's `costs.retraining_gpu`) from `tco.shared_costs`;
  the plan's buffer on top;
- the API path: each request priced by genai-prices at the drawn token counts and the month's
  price, as paid (cached input share, discount, `pricing.api_price_multiplier`), times the drawn
  price trend, plus the API path's own costs (`tco.api_path_fixed`).

Draws are split between processes (`os.fork`, where available); each draw is computed from its own
pre-drawn values only, so the bands do not depend on how many processes ran them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from planner.environments import Environment, network_shape
from planner.fleet.memo import Memo
from planner.fleet.batch import search_many
from planner.fleet.size import MAX_INSTANCES, NoCandidateFits, floor_instances, hour_levels
from planner.forecast import tco
from planner.forecast.bill import usd_per_request_by_month
from planner.forecast.build import root_volume
from planner.forecast.model import Assumption, Bands, BandMonth, BreakEvenPercentiles, UsdPercentiles
from planner.inputs import Inputs
from planner.plan import Plan, workload_model_spec
from planner.plan.schema import MAX_REQUESTS_PER_DAY
from planner.progress import Progress, silent
from planner.uncertainty.draws import MIN_MONTHLY_GROWTH, Draws, sample, throughput_error_sd
from pricing import platform as platform_mod
from pricing.terms import DAYS_PER_MONTH, HOURS_PER_MONTH, TERM_MONTHS, Purchase

PERCENTILES = (10, 50, 90)
MIN_DRAWS_PER_PROCESS = 50  # fewer draws than this run in the calling process


@dataclass
class _Context:
    plan: Plan
    inputs: Inputs
    memo: Memo
    draws: Draws
    priced: list
    models: list[str]  # API models, in the order the plan names them
    rpd: np.ndarray  # [draw, workload, month] requests per day
    levels: list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # per workload: levels, weights, hour of day -> level
    platform: dict  # (workload, region) -> affine coefficients of the platform total
    shared_fixed: np.ndarray  # [month] people, data/eval, compliance (retraining at 0 USD per GPU-hour)
    shared_per_gpu_hour: np.ndarray  # [month] retraining GPU-hours of one workload
    retraining_gpu_hour_usd: float | None  # the plan's costs.retraining_gpu priced (None: each workload's own GPU)
    api_fixed: np.ndarray  # [month] the API path's own costs
    per_request: dict = field(default_factory=dict)  # (workload, tokens in, tokens out) -> {model: USD [month]}
    size_hint: dict = field(default_factory=dict)  # workload index -> its base fleet's instances (work order only)


def _requests_per_day(plan: Plan, draws: Draws) -> np.ndarray:
    """[draw, workload, month] requests per day under each draw's traffic level and growth."""
    from planner import demand as demand_mod

    months = plan.months()
    k = np.arange(len(months))
    out = np.empty((draws.count, len(plan.workloads), len(months)))
    for i, w in enumerate(plan.workloads):
        t = w.traffic
        level = draws.traffic[:, i][:, None]
        if t.requests_per_day is not None:
            growth = np.maximum(t.monthly_growth + draws.growth[:, i], MIN_MONTHLY_GROWTH)[:, None]
            out[:, i, :] = t.requests_per_day * level * (1 + growth) ** k[None, :]
        else:  # an explicit series keeps its shape
            out[:, i, :] = np.asarray(demand_mod.requests_per_day(t, months))[None, :] * level
    return out


def _affine_platform(plan: Plan, inputs: Inputs, workload, region: str) -> tuple[float, float, float, float, float]:
    """The platform total of one region-month as a0 + a1 · instance-hours + a2 · launches +
    a3 · scaling groups + a4 · egress GB (`tco.region_platform_usd`, evaluated at unit inputs)."""
    shape = network_shape(Environment.PROD, plan.constraints.availability_zones)
    prices = platform_mod.for_region(inputs.platform_prices, region)
    volume = root_volume(plan, workload, inputs)

    def total(ih=0.0, launches=0.0, groups=0, egress=0.0) -> float:
        return tco.region_platform_usd(shape, prices, instance_hours=ih, launches=launches, scaling_groups=groups,
                                       volume=volume, egress_gb_month=egress).total

    a0 = total()
    return (a0, total(ih=1.0) - a0, total(launches=1.0) - a0, total(groups=1) - a0, total(egress=1.0) - a0)


def _context(plan: Plan, inputs: Inputs, memo: Memo, draws: Draws) -> _Context:
    from planner.forecast.build import retraining_gpu_hour_usd

    months = plan.months()
    shared = [tco.shared_costs(plan, m, {}) for m in range(len(months))]
    with_gpu = [tco.shared_costs(plan, m, {"one": 1.0}) for m in range(len(months))]
    retraining = None
    if plan.costs.retraining_gpu is not None:  # one price for every workload (it needs no fleet)
        retraining = next(iter(retraining_gpu_hour_usd(plan, None, inputs).values()))
    return _Context(
        plan=plan, inputs=inputs, memo=memo, draws=draws, priced=memo.offers(plan, inputs.price_table),
        models=plan.api_models,
        rpd=_requests_per_day(plan, draws), levels=[hour_levels(w) for w in plan.workloads], platform={},
        shared_fixed=np.array([sum(s.values()) for s in shared]),
        shared_per_gpu_hour=np.array([b["retraining"] - a["retraining"] for a, b in zip(shared, with_gpu)]),
        retraining_gpu_hour_usd=retraining,
        api_fixed=np.array([tco.api_path_fixed(plan, m) for m in range(len(months))]))


def _month_costs(ctx: _Context, i: int, chosen: list[list], rpd: np.ndarray, tokens_out: float):
    """(compute USD [draw, month], platform USD [draw, month], obligation after the horizon signed
    in each month [draw, month]) of workload i's chosen fleets, one list of chosen regions per draw
    (rpd [draw, month] its requests per day)."""
    plan, w = ctx.plan, ctx.plan.workloads[i]
    levels, weights, hour_level = ctx.levels[i]
    D, M = rpd.shape
    requests = rpd * DAYS_PER_MONTH
    if plan.costs.egress_gb_per_million_requests is not None:
        egress = plan.costs.egress_gb_per_million_requests * requests / 1e6
    else:
        egress = requests * tokens_out * tco.EGRESS_BYTES_PER_OUTPUT_TOKEN / 1e9
    compute = np.zeros((D, M))
    platform = np.zeros((D, M))
    after = np.zeros((D, M))
    for j in range(max(len(picks) for picks in chosen)):
        rows = [n for n, picks in enumerate(chosen) if len(picks) > j]
        picks = [chosen[n][j] for n in rows]
        share = np.array([len(chosen[n]) for n in rows], dtype=float)
        committed = np.zeros((len(rows), M))

        for option in (Purchase.RESERVED_3Y, Purchase.RESERVED_1Y):
            bought = np.array([p.solution.reserved_bought.get(option, [0] * M) for p in picks], dtype=float)
            active = np.stack([np.convolve(row, np.ones(TERM_MONTHS[option]))[:M] for row in bought])
            rate = np.array([p.usd_per_hour.get(option, 0.0) for p in picks])
            committed += active
            compute[rows] += active * rate[:, None] * float(HOURS_PER_MONTH)
            # the whole term is signed: the months after the horizon fall in the month it is bought
            past = np.maximum(0, np.arange(M) + TERM_MONTHS[option] - M)
            after[rows] += bought * rate[:, None] * HOURS_PER_MONTH * past[None, :]
        on_demand = np.stack([p.solution.on_demand for p in picks])
        spot = np.stack([p.solution.spot for p in picks])
        instance_hours = committed * HOURS_PER_MONTH
        for option, grid in ((Purchase.ON_DEMAND, on_demand), (Purchase.SPOT, spot)):
            hours = (grid * weights).sum(axis=2) * DAYS_PER_MONTH
            rate = np.array([p.usd_per_hour.get(option, 0.0) for p in picks])
            compute[rows] += rate[:, None] * hours
            instance_hours = instance_hours + hours
        od_by_hour = committed[:, :, None] + on_demand[:, :, hour_level]
        spot_by_hour = spot[:, :, hour_level]
        totals = od_by_hour + spot_by_hour
        launches = np.maximum(totals - np.roll(totals, 1, axis=2), 0).sum(axis=2) * DAYS_PER_MONTH
        groups = (od_by_hour.max(axis=2) != od_by_hour.min(axis=2)).astype(float)
        groups += (spot_by_hour.max(axis=2) > 0) & (spot_by_hour.max(axis=2) != spot_by_hour.min(axis=2))
        coefficients = []
        for p in picks:
            key = (i, p.candidate.region)
            if key not in ctx.platform:
                ctx.platform[key] = _affine_platform(plan, ctx.inputs, w, p.candidate.region)
            coefficients.append(ctx.platform[key])
        a0, a_ih, a_launch, a_group, a_egress = (np.array(col)[:, None] for col in zip(*coefficients))
        platform[rows] += (a0 + a_ih * instance_hours + a_launch * launches + a_group * groups
                           + a_egress * (egress[rows] / share[:, None]))
    return compute, platform, after


@dataclass
class _WorkloadDraws:
    """One workload over every draw: its fleet's compute and platform USD and its API bills."""

    compute: np.ndarray  # [draw, month]
    platform: np.ndarray  # [draw, month]
    after: np.ndarray  # [draw, month] obligation after the horizon, in the month it is signed
    gpu_hour_usd: np.ndarray  # [draw] on-demand USD per retraining GPU-hour (its first chosen candidate's GPU)
    bills: dict[str, np.ndarray]  # API model -> [draw, month] token bill


def _evaluate_workload(ctx: _Context, i: int) -> _WorkloadDraws:
    """Workload i in every draw. Draws with the same token counts share a candidate list and are
    sized together (`planner.fleet.batch.search_many`: each draw gets its own exact answer)."""
    plan, d = ctx.plan, ctx.draws
    c = plan.constraints
    k = c.regions_per_workload
    w = plan.workloads[i]
    t = w.traffic
    D, M = d.count, len(plan.months())
    out = _WorkloadDraws(compute=np.zeros((D, M)), platform=np.zeros((D, M)), after=np.zeros((D, M)),
                         gpu_hour_usd=np.zeros(D), bills={ref: np.zeros((D, M)) for ref in w.api_models})
    price_factors = {Purchase.ON_DEMAND: d.on_demand_price, Purchase.RESERVED_1Y: d.on_demand_price,
                     Purchase.RESERVED_3Y: d.on_demand_price, Purchase.SPOT: d.spot_price}
    model = workload_model_spec(w, ctx.inputs.models)
    levels, weights, _ = ctx.levels[i]
    tokens = d.tokens[:, i]
    for value in np.unique(tokens):
        at = np.nonzero(tokens == value)[0]
        tokens_in, tokens_out = t.input_tokens * value, t.output_tokens * value
        cands, _reasons = ctx.memo.candidates(plan, w, ctx.priced, model, ctx.inputs.gpus, ctx.inputs.perf_factors,
                                              input_tokens=tokens_in, output_tokens=tokens_out)
        if not cands:
            raise _unservable(plan, i, value)
        rpd = ctx.rpd[at, i]
        if rpd.max(initial=0.0) > MAX_REQUESTS_PER_DAY:
            raise _too_much_traffic(plan, i, float(rpd.max()))
        try:
            chosen = search_many(c, cands, rpd / 86400.0 * (1.0 / k), levels, weights,
                                 lambda rpi: floor_instances(plan, rpi, k), ctx.memo,
                                 capacity_factor=d.throughput[at, i],
                                 price_factors={o: f[at] for o, f in price_factors.items()})
        except NoCandidateFits as exc:
            raise _too_large(plan, i, exc) from None
        out.compute[at], out.platform[at], out.after[at] = _month_costs(ctx, i, chosen, rpd, tokens_out)
        if ctx.retraining_gpu_hour_usd is None:
            out.gpu_hour_usd[at] = [picks[0].candidate.on_demand_usd_per_gpu_hour for picks in chosen]
        else:
            out.gpu_hour_usd[at] = ctx.retraining_gpu_hour_usd
        out.gpu_hour_usd[at] *= d.on_demand_price[at]
        requests = rpd * DAYS_PER_MONTH
        for ref, usd in _per_request(ctx, i, tokens_in, tokens_out).items():
            out.bills[ref][at] = usd[None, :] * requests
    return out


def _combine(ctx: _Context, parts: list[_WorkloadDraws]) -> tuple[np.ndarray, np.ndarray]:
    """Self-hosted USD [draw, month] and API path USD [draw, model, month] from every workload."""
    plan, d = ctx.plan, ctx.draws
    D, M = d.count, len(plan.months())
    compute_sum = np.zeros((D, M))
    platform_sum = np.zeros((D, M))
    after_sum = np.zeros((D, M))
    gpu_hour_usd = np.zeros(D)  # retraining: each workload's GPU-hours at its own price
    for part in parts:
        compute_sum += part.compute
        platform_sum += part.platform
        after_sum += part.after
        gpu_hour_usd += part.gpu_hour_usd
    subtotal = compute_sum + platform_sum + (ctx.shared_fixed[None, :] + ctx.shared_per_gpu_hour[None, :]
                                             * gpu_hour_usd[:, None]) + after_sum
    self_usd = subtotal + plan.costs.uncertainty_buffer * subtotal
    years = np.arange(M) / 12.0
    trend = {ref: d.api_price[:, j][:, None] ** years[None, :] for j, ref in enumerate(ctx.models)}
    api_usd = np.zeros((D, len(ctx.models), M))
    for j, ref in enumerate(ctx.models):
        total = np.repeat(ctx.api_fixed[None, :], D, axis=0)
        for w, part in zip(plan.workloads, parts):
            used = ref if ref in part.bills else w.api_models[0]
            total += part.bills[used] * trend[used]
        api_usd[:, j] = total
    return self_usd, api_usd


def _per_request(ctx: _Context, i: int, tokens_in: float, tokens_out: float) -> dict[str, np.ndarray]:
    """USD of one request of workload i per API model and month, at the given token counts."""
    key = (i, round(tokens_in), round(tokens_out))
    if key not in ctx.per_request:
        months = ctx.plan.months()
        by_month = usd_per_request_by_month(ctx.plan.workloads[i], months, tokens_in, tokens_out,
                                            multiplier=ctx.plan.pricing.api_price_multiplier)
        ctx.per_request[key] = {ref: np.array([prices[m] for m in months]) for ref, prices in by_month.items()}
    return ctx.per_request[key]


def _unservable(plan: Plan, i: int, factor: float):
    from planner.errors import UserError

    return UserError(f"workloads[{i}] cannot be served at {factor:.2f}× its tokens per request, which this "
                     "section draws: narrow it, or relax the workload's SLO", file=plan.file,
                     field="uncertainty.tokens")


def _too_much_traffic(plan: Plan, i: int, rpd: float):
    from planner.errors import UserError

    return UserError(f"draws take workloads[{i}] to {rpd:.3g} requests/day, more than the "
                     f"{MAX_REQUESTS_PER_DAY:g} the planner sizes: narrow the traffic or growth spread",
                     file=plan.file, field="uncertainty.traffic")


def _too_large(plan: Plan, i: int, exc: NoCandidateFits):
    from planner.errors import UserError

    return UserError(f"in some draw workloads[{i}] needs {exc.fewest:,.0f} instances of "
                     f"{exc.candidate.instance_type} at its peak hour, more than the {MAX_INSTANCES} per region "
                     "the planner sizes: narrow the traffic, growth or throughput spread", file=plan.file,
                     field="uncertainty.traffic")


_FORKED: _Context | None = None  # the context a forked worker inherits (set only around the pool)


def _evaluate_forked(i: int) -> tuple[int, _WorkloadDraws]:
    return i, _evaluate_workload(_FORKED, i)


def _run_draws(ctx: _Context, workers: int | None, progress: Progress | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every draw, workload by workload; the workloads are shared out between processes. `progress`
    hears "draws: k of W workloads" as each workload's draws finish."""
    global _FORKED
    W = len(ctx.plan.workloads)
    say = progress or silent
    if workers is None:
        workers = min(os.cpu_count() or 1, 4)
    workers = max(1, min(workers, W, ctx.draws.count // MIN_DRAWS_PER_PROCESS))
    if workers == 1 or "fork" not in _start_methods():
        parts = []
        say(f"{ctx.draws.count:,} Monte Carlo draws: 0 of {W} workloads done")
        for i in range(W):
            parts.append(_evaluate_workload(ctx, i))
            say(f"{ctx.draws.count:,} Monte Carlo draws: {i + 1} of {W} workloads done")
        return _combine(ctx, parts)
    import multiprocessing

    # the largest fleets first (their cost tables are the largest), so no process is left with one at the end
    order = sorted(range(W), key=lambda i: -ctx.size_hint.get(i, 0))
    _FORKED = ctx
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = {}
            say(f"{ctx.draws.count:,} Monte Carlo draws: 0 of {W} workloads done")
            for i, part in pool.imap_unordered(_evaluate_forked, order, chunksize=1):
                parts[i] = part
                say(f"{ctx.draws.count:,} Monte Carlo draws: {len(parts)} of {W} workloads done")
    finally:
        _FORKED = None
    return _combine(ctx, [parts[i] for i in range(W)])


def _start_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _usd(values: np.ndarray) -> UsdPercentiles:
    p10, p50, p90 = (float(x) for x in np.percentile(values, PERCENTILES))
    return UsdPercentiles(p10=p10, p50=p50, p90=p90)


def assumptions(plan: Plan, inputs: Inputs) -> list[Assumption]:
    """What the bands assume that the plan does not say: the throughput model's error spread."""
    spec = plan.uncertainty
    if spec is None or spec.throughput.sd is not None or spec.throughput.distribution not in ("lognormal", "normal"):
        return []
    engines = sorted({w.engine for w in plan.workloads})
    found = {engine: throughput_error_sd(inputs.perf_fit, engine) for engine in engines}
    return [Assumption(name="uncertainty.throughput.sd", value={engine: sd for engine, (sd, _) in found.items()},
                       is_assumption=False,
                       source="planner/data/perf_calibration.yaml, per engine the larger leave-one-source-out median "
                              "error of throughput (operating point, maximum): "
                              + "; ".join(where for _, where in found.values()) + "; sd = ln(1 + median) / 0.6745")]


def run(plan: Plan, inputs: Inputs, memo: Memo, *, workers: int | None = None, base=None,
        progress: Progress | None = None) -> Bands | None:
    """The bands of `plan` (None when it has no `uncertainty` section or asks for no draws).

    `memo` is the forecast's (the draws reuse its candidates and mixes); `base`, its base `Forecast`,
    only orders the work between processes (largest fleets first); `workers`: processes (default:
    up to the machine's cores); `progress`: told how far the draws are. None changes a number."""
    spec = plan.uncertainty
    if spec is None or spec.draws == 0:
        return None
    models = plan.api_models
    draws = sample(spec, [w.engine for w in plan.workloads], len(models), inputs.perf_fit)
    ctx = _context(plan, inputs, memo, draws)
    if base is not None:
        ctx.size_hint = {i: wm.instances for i, wm in enumerate(base.months[-1].workloads)}
    self_usd, api_usd = _run_draws(ctx, workers, progress)
    months = plan.months()
    cum_self = np.cumsum(self_usd, axis=1)
    cum_api = np.cumsum(api_usd, axis=2)
    cheaper = cum_self[:, None, :] <= cum_api  # [draw, model, month]
    band_months = [BandMonth(month=month, self_hosted_usd=_usd(self_usd[:, m]),
                             api_path_usd={ref: _usd(api_usd[:, j, m]) for j, ref in enumerate(models)},
                             p_cumulative_self_host_cheaper={ref: float(cheaper[:, j, m].mean())
                                                             for j, ref in enumerate(models)})
                   for m, month in enumerate(months)]
    break_even = {}
    for j, ref in enumerate(models):
        first = np.where(cheaper[:, j, :].any(axis=1), cheaper[:, j, :].argmax(axis=1), len(months)).astype(float)
        first[first == len(months)] = math.inf  # never inside the horizon: later than any month
        at = np.percentile(first, PERCENTILES, method="inverted_cdf")
        break_even[ref] = BreakEvenPercentiles(**{f"p{p}": (months[int(x)] if math.isfinite(x) else None)
                                                  for p, x in zip(PERCENTILES, at)})
    return Bands(draws=spec.draws, seed=spec.seed, months=band_months, break_even=break_even)
