"""The programmatic API behind the commands: each function takes paths/values and returns a result.

The CLI prints these results; tests call them directly. This is where files are read
(`planner.inputs.load`) and the stages are chained: plan → demand → fleet → forecast → scenarios.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from planner.errors import UserError
from planner.fleet.model import Commitment, FleetLine
from planner.forecast.model import FleetChoice, Forecast
from planner.inputs import Inputs
from planner.plan import Plan, load, workload_model_spec
from planner.progress import Progress, silent
from pricing.terms import HOURS_PER_MONTH


@dataclass
class ValidateSummary:
    plan: Plan
    workloads: list[tuple]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # allowed, but worth knowing (e.g. the snapshot's age)
    problems: list[UserError] = field(default_factory=list)  # what `forecast` would reject, one each


def rejections(plan: Plan, inputs: Inputs) -> tuple[list[UserError], list[str]]:
    """What `forecast` would reject (errors), and what it would quietly skip (warnings), one line each:
    allowed regions without any allowed GPU offer, and GPUs the model cannot run on at its precision."""
    from planner.fleet.candidates import candidates, offers as fleet_offers
    from pricing.availability import regions_offering

    problems: list[UserError] = []
    warnings: list[str] = []
    offering = regions_offering(inputs.price_table, plan.constraints.gpus)
    gpus_text = ", ".join(plan.constraints.gpus) if plan.constraints.gpus else "any GPU"
    empty = [r for r in plan.constraints.regions if r not in offering]
    for region in empty:
        text = f"{region} offers none of the allowed GPUs ({gpus_text}) in the price snapshot dated " \
               f"{inputs.price_table.date}"
        if len(empty) == len(plan.constraints.regions):
            problems.append(UserError(text, file=plan.file, field="constraints.regions"))
        else:
            warnings.append(f"constraints.regions: {text}: the forecast leaves it out")
    if problems:
        return problems, warnings
    priced = fleet_offers(plan, inputs.price_table)
    for i, w in enumerate(plan.workloads):
        found, reasons = candidates(plan, w, priced, workload_model_spec(w, inputs.models), inputs.gpus,
                                    inputs.perf_factors)
        if found:
            for reason in reasons:
                if ": " in reason and " tp " not in reason.split(": ", 1)[0]:  # a whole GPU ruled out
                    warnings.append(f"workloads[{i}] {w.name}: {reason}")
            continue
        for reason in reasons or ["no priced instance type carries an allowed GPU"]:
            problems.append(UserError(f"{w.name} cannot run here: {reason}", file=plan.file, field=f"workloads[{i}]"))
    return problems, warnings


def validate(plan_file: str | Path) -> ValidateSummary:
    from planner import demand, inputs as inputs_mod

    plan = load(plan_file)
    inputs = inputs_mod.load(plan)
    problems, warnings = rejections(plan, inputs)
    table = demand.build(plan)
    rows = []
    for w in plan.workloads:
        wt = table[table["workload"] == w.name]
        first, last = wt.iloc[0], wt.iloc[-1]
        slo = ", ".join(f"{k} {v:g}" for k, v in (("TTFT ms", w.slo.ttft_ms), ("TPOT ms", w.slo.tpot_ms)) if v) or "none"
        rows.append((w.name, w.model_id, w.precision,
                     f"{first.requests_per_day:,.0f} → {last.requests_per_day:,.0f}",
                     f"{first.peak_requests_per_s:,.2f} → {last.peak_requests_per_s:,.2f}",
                     f"{w.traffic.input_tokens:g} / {w.traffic.output_tokens:g}",
                     slo, ", ".join(w.api_models)))
    notes = []
    stale = staleness(inputs)
    if stale:
        warnings.append(stale)
    for w in plan.workloads:
        if w.traffic.hourly_profile is None:
            notes.append(f"{w.name}: daily shape assumed from peak_to_average {w.traffic.peak_to_average:g} "
                         f"(one smooth peak at 14:00 UTC); give hourly_profile for a measured shape")
    return ValidateSummary(plan=plan, workloads=rows, notes=notes, warnings=warnings, problems=problems)


@dataclass
class ForecastResult:
    forecast: Forecast
    out_dir: Path
    files: list[Path]
    answer: list[str]
    warnings: list[str]


def fleet_key(plan: Plan) -> str:
    """What sizing a plan's fleet reads of it: the plan without its uncertainty buffer, its API price
    multiplier, its API models and its Monte Carlo section (none of which changes a fleet)."""
    costs = plan.costs.model_copy(update={"uncertainty_buffer": 0.0})
    pricing = plan.pricing.model_copy(update={"api_price_multiplier": 1.0})
    workloads = [w.model_copy(update={"compare_with": []}) for w in plan.workloads]
    return plan.model_copy(update={"costs": costs, "pricing": pricing, "workloads": workloads,
                                   "uncertainty": None}).model_dump_json()


PARALLEL_FROM_CELLS = 1_000  # workloads × months × regions from which the variants are built in parallel
_FORKED: tuple | None = None  # (inputs, memo) a forked process inherits (set only around the pool)


def _build_forked(plans: list[Plan]) -> list[tuple[str, Forecast]]:
    """Variants that share one fleet (they differ only in what sizing does not read): sized once, built each."""
    from planner import forecast

    inputs, memo = _FORKED
    fleet = forecast.size(plans[0], inputs, memo=memo)
    return [(p.model_dump_json(), forecast.build(p, inputs, memo=memo, fleet_plan=fleet)) for p in plans]


def _build_variants(plan: Plan, inputs: Inputs, memo, base_key: str, workers: int | None) -> dict[str, Forecast]:
    """The scenario and sensitivity variants' forecasts, by plan (JSON), built in forked processes (each
    from the base's memo) when the plan is large and the machine has more than one core; {} otherwise
    (`scenarios.run` then builds them one after another). Every forecast is the same either way:
    sizing is exact and deterministic, and the memo only shares exact results."""
    global _FORKED
    import multiprocessing
    import os

    from planner import scenarios

    cells = len(plan.workloads) * plan.horizon_months * len(plan.constraints.regions)
    workers = min(os.cpu_count() or 1, 4) if workers is None else workers
    if workers < 2 or cells < PARALLEL_FROM_CELLS or "fork" not in multiprocessing.get_all_start_methods():
        return {}  # decided before the variants' plans are built: most plans stop here
    groups: dict[str, dict[str, Plan]] = {}  # fleet key -> distinct plans sharing that fleet
    for p in scenarios.variant_plans(plan):
        key = fleet_key(p)
        if key != base_key:  # the base's own fleet is sized already: its variants build in this process
            groups.setdefault(key, {}).setdefault(p.model_dump_json(), p)
    workers = min(workers, len(groups))
    if workers < 2:
        return {}
    _FORKED = (inputs, memo)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            tasks = [list(g.values()) for g in groups.values()]
            return {key: f for part in pool.imap_unordered(_build_forked, tasks, chunksize=1) for key, f in part}
    finally:
        _FORKED = None


def build_forecast(plan: Plan, inputs: Inputs | None = None, *, workers: int | None = None,
                   progress: Progress | None = None) -> Forecast:
    """The full forecast of `plan`: the base case, then its scenarios and sensitivity, and its Monte
    Carlo bands when the plan has an `uncertainty` section (`workers`: processes for the variants'
    fleets of a large plan and for the draws; default: up to the machine's cores; `progress`: told
    each step; no number depends on either)."""
    from planner import forecast, inputs as inputs_mod, scenarios
    from planner.fleet.memo import Memo

    say = progress or silent

    inputs = inputs or inputs_mod.load(plan)
    memo = Memo()  # candidates and exact purchase mixes, shared by every variant below
    fleets: dict[str, object] = {}  # a variant's fleet, by what sizing reads of its plan

    built: dict[str, Forecast] = {}  # variants built in parallel, by plan (JSON)

    def build(p: Plan) -> Forecast:
        done = built.get(p.model_dump_json()) if built else None
        if done is not None:
            return done
        # the buffer and API prices change no fleet: variants that move only them reuse one sizing
        key = fleet_key(p)
        if key not in fleets:
            fleets[key] = forecast.size(p, inputs, memo=memo)
        return forecast.build(p, inputs, memo=memo, fleet_plan=fleets[key])

    say(f"sizing the fleet: {len(plan.workloads)} workload(s) × {plan.horizon_months} months")
    base = build(plan)
    say("scenarios and sensitivity")
    built.update(_build_variants(plan, inputs, memo, fleet_key(plan), workers))
    runs, sensitivity = scenarios.run(plan, build, base=base)
    update = {"scenarios": runs, "sensitivity": sensitivity}
    if plan.uncertainty is not None and plan.uncertainty.draws:
        from planner.uncertainty import bands

        update["bands"] = bands.run(plan, inputs, memo, workers=workers, base=base, progress=progress)
        update["assumptions"] = base.assumptions + bands.assumptions(plan, inputs)
    return base.model_copy(update=update)


def forecast(plan_file: str | Path, out_dir: str | Path | None = None,
             generated_at: str | None = None, progress: Progress | None = None) -> ForecastResult:
    from planner import inputs as inputs_mod, report

    say = progress or silent
    say("reading the plan")
    plan = load(plan_file)
    out = Path(out_dir).expanduser() if out_dir else Path(f"forecast-{plan.name}")
    report.check_out_dir(out)  # a bad --out is said before the forecast runs (planner.outdir.check_target)
    say("reading prices and catalogs")
    inputs = inputs_mod.load(plan)
    result = build_forecast(plan, inputs, progress=progress)
    say("writing the report")
    generated_at = generated_at or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    files = report.write(result, out, generated_at=generated_at)
    stale = staleness(inputs)
    return ForecastResult(forecast=result, out_dir=out, files=files,
                          answer=report.answer_lines(result, generated_at=generated_at),
                          warnings=report.warning_lines(result) + ([stale] if stale else []))


def staleness(inputs: Inputs) -> str | None:
    """The snapshot's age against today: said on the terminal, never in forecast.json (which must
    not depend on the day it is run)."""
    from pricing.snapshot import staleness_warning

    return staleness_warning(inputs.price_table, dt.date.today())


class SizeWorkload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    peak_requests_per_s: float
    capacity_requests_per_s: float
    instances: int
    replicas: int
    fleet: list[FleetLine]
    compute_usd: float
    unused_committed_usd: float


class SizeMonth(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    month: str
    workloads: list[SizeWorkload]


class SizeReport(BaseModel):
    """`planner size`: the fleet per month and workload (`--json` prints this)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan: str
    hours_per_month: int
    choices: list[FleetChoice]
    months: list[SizeMonth]
    commitments: list[Commitment]  # every reservation bought, paid for its whole term
    solve_seconds: float


def _month_option(plan: Plan, month: str | None) -> str | None:
    from planner.errors import UserError
    from planner.plan import MONTH_RE

    if month is None:
        return None
    if not MONTH_RE.match(month):
        raise UserError(f"{month!r} is not a month: write YYYY-MM (e.g. {plan.start})", field="--month")
    months = plan.months()
    if month not in months:
        raise UserError(f"month {month} is outside the forecast ({months[0]} .. {months[-1]})", field="--month")
    return month


def size(plan_file: str | Path, month: str | None = None) -> SizeReport:
    """The fleet per month and workload (`planner size`)."""
    from planner import demand as demand_mod, forecast, inputs as inputs_mod

    plan = load(plan_file)
    month = _month_option(plan, month)
    inputs = inputs_mod.load(plan)
    table = demand_mod.build(plan)
    fp = forecast.size(plan, inputs, table)
    out_months = []
    for k, m in enumerate(plan.months()):
        if month is not None and m != month:
            continue
        workloads = [SizeWorkload(name=wf.workload, peak_requests_per_s=mf.demand_peak_requests_per_s,
                                  capacity_requests_per_s=mf.capacity_requests_per_s, instances=mf.instances_peak,
                                  replicas=mf.replicas_peak, fleet=list(mf.lines), compute_usd=mf.compute_usd,
                                  unused_committed_usd=mf.unused_committed_usd)
                     for wf in fp.workloads for mf in (wf.months[k],)]
        out_months.append(SizeMonth(month=m, workloads=workloads))
    return SizeReport(plan=plan.name, hours_per_month=HOURS_PER_MONTH,
                      choices=[forecast.fleet_choice(wf) for wf in fp.workloads], months=out_months,
                      commitments=[x for wf in fp.workloads for x in wf.commitments], solve_seconds=fp.solve_seconds)


def stack_spec(plan_file: str | Path, environment: str, *, workload: str | None = None, month: str | None = None,
               region: str | None = None):
    """The resolved spec one stack provisions (`planner size --environment ENV`)."""
    from planner import provision

    if month is not None:
        _month_option(load(plan_file), month)
    return provision.load_spec(plan_file, workload, month, environment, region=region)
