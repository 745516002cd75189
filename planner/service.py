"""The programmatic API behind the commands: each function takes paths/values and returns a result.

The CLI prints these results; tests and the Pulumi stacks call them directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from planner.plan import Plan, load


@dataclass
class ValidateSummary:
    plan: Plan
    workloads: list[tuple]
    notes: list[str] = field(default_factory=list)


def validate(plan_file: str | Path) -> ValidateSummary:
    from planner import demand, fleet

    plan = load(plan_file)
    price_table, _ = fleet.load_offers(plan)  # rejects regions that offer none of the allowed GPUs
    table = demand.build(plan)
    rows = []
    for w in plan.workloads:
        wt = table[table["workload"] == w.name]
        first, last = wt.iloc[0], wt.iloc[-1]
        slo = ", ".join(f"{k} {v:g}" for k, v in (("TTFT ms", w.slo.ttft_ms), ("TPOT ms", w.slo.tpot_ms)) if v) or "none"
        rows.append((w.name, w.model, w.precision,
                     f"{first.requests_per_day:,.0f} → {last.requests_per_day:,.0f}",
                     f"{first.peak_requests_per_s:,.2f} → {last.peak_requests_per_s:,.2f}",
                     f"{w.traffic.input_tokens:g} / {w.traffic.output_tokens:g}",
                     slo, ", ".join(w.compare_with)))
    notes = []
    stale = _staleness(price_table)
    if stale:
        notes.append(stale)
    for w in plan.workloads:
        if w.traffic.hourly_profile is None:
            notes.append(f"{w.name}: daily shape assumed from peak_to_average {w.traffic.peak_to_average:g} "
                         f"(one smooth peak at 14:00 UTC); give hourly_profile for a measured shape")
    return ValidateSummary(plan=plan, workloads=rows, notes=notes)


@dataclass
class ForecastResult:
    forecast: dict[str, Any]
    out_dir: Path
    files: list[Path]
    answer: list[str]
    warnings: list[str]


def build_forecast(plan: Plan) -> dict[str, Any]:
    from planner import forecast

    return forecast.build(plan)


def forecast(plan_file: str | Path, out_dir: str | Path | None = None,
             generated_at: str | None = None) -> ForecastResult:
    from planner import forecast as forecast_mod, outdir, report, scenarios

    plan = load(plan_file)
    out = Path(out_dir).expanduser() if out_dir else Path(f"forecast-{plan.name}")
    outdir.check_target(out, report.FILES)  # a bad --out fails now, not after the whole forecast
    result = build_forecast(plan)
    result.update(scenarios.run(plan, forecast_mod.build, base=result))

    generated_at = generated_at or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    files = report.write(result, out, generated_at=generated_at)
    answer = report.answer_lines(result)
    from planner import fleet

    stale = _staleness(fleet.price_table(plan))
    return ForecastResult(forecast=result, out_dir=out, files=files, answer=answer,
                          warnings=list(result.get("warnings", [])) + ([stale] if stale else []))


def _staleness(price_table) -> str | None:
    """The snapshot's age against today: said on the terminal, never in forecast.json (which must
    not depend on the day it is run)."""
    from pricing.snapshot import staleness_warning

    return staleness_warning(price_table, dt.date.today())


def size(plan_file: str | Path, month: str | None = None) -> dict[str, Any]:
    """The fleet per month and workload, as plain data (`planner size --json`)."""
    from planner import demand, fleet
    from planner.errors import UserError

    plan = load(plan_file)
    months = plan.months()
    if month is not None and month not in months:
        raise UserError(f"month {month!r} is outside the forecast ({months[0]} .. {months[-1]})",
                        field="--month")
    table = demand.build(plan)
    fp = fleet.build(plan, table)
    out_months = []
    for k, m in enumerate(months):
        if month is not None and m != month:
            continue
        rows = table[table["month"] == m]
        workloads = []
        for wf, row in zip(fp.workloads, rows.itertuples(index=False)):
            mf = wf.months[k]
            workloads.append({"name": wf.workload, "peak_requests_per_s": float(row.peak_requests_per_s),
                              "capacity_requests_per_s": mf.capacity_requests_per_s,
                              "instances": mf.instances_peak, "replicas": mf.replicas_peak,
                              "fleet": [line.__dict__.copy() for line in mf.lines],
                              "compute_usd": mf.compute_usd,
                              "unused_committed_usd": mf.unused_committed_usd})
        out_months.append({"month": m, "workloads": workloads})
    from planner.forecast import fleet_choice

    return {"plan": plan.name, "hours_per_month": fleet.HOURS_PER_MONTH,
            "choices": [fleet_choice(plan, wf) for wf in fp.workloads], "months": out_months,
            "solve_seconds": fp.solve_seconds}
