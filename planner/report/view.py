"""The view model of a report: what both templates and the charts read, built from a `Forecast`.

This is the one place that writes English about a forecast: the answer, the reasons, triggers and
warnings (codes and numbers in the forecast), the tables' captions, headers and notes, the risks.
Everything here reads the typed forecast by attribute; nothing is recomputed that the forecast
already holds (spot shares, quota needs, break-even).

Money in tables is whole dollars with the unit in the header ("Compute (USD)"); sentences carry
the dollar sign. The generation date is an input (`generated_at`), so the data's age is said in
the report while forecast.json stays independent of the day it is written.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields

from planner.forecast.model import (CATEGORIES, BreakEven, FleetChange, FleetChoice, Forecast, ForecastWarning,
                                    MonthForecast, PlatformUsd, PolicyTrigger, QuotasNotCheckedWarning,
                                    SpendThresholdTrigger, SpotPrice, SpotShareWarning, SpotUnavailableRisk,
                                    ThreeYearTermWarning, Trigger, UnusedCommitmentsWarning, VolumeTrigger,
                                    WorkloadDecision)
from planner.plan import ApiModelRef, Uncertainty
from planner.report.format import (MISSING, millions, multiplier, num, pct, pct_whole, plain_value, usd_rate,
                                   usd_whole)
from pricing import SPOT_ON_DEMAND_FRACTION
from pricing.quotas import QUOTA_CODES, QUOTA_NAMES as QUOTA_NAME
from pricing.snapshot import STALE_AFTER_DAYS

CATEGORY_LABELS = {"compute": "Compute", "platform": "Platform", "people": "People", "data_eval": "Data & eval",
                   "compliance": "Compliance", "retraining": "Retraining",
                   "committed_after_horizon": "Committed after horizon", "buffer": "Buffer", "total": "Total"}
PLATFORM_LABELS = {"nat_gateways": "NAT gateways (hourly)", "nat_data_processed": "Image pulls through NAT",
                   "public_ipv4": "Public IPv4 addresses", "load_balancer": "Load balancer (hourly)",
                   "interface_endpoints": "Interface endpoints (SSM)", "flow_logs": "VPC flow logs",
                   "alarms": "CloudWatch alarms", "ebs": "Root volumes (EBS)",
                   "data_transfer_out": "Data transfer out"}
DECISION_LABELS = {"api": "API", "self-host": "self-host", "hybrid": "hybrid"}
PURCHASE_LABELS = {"reserved_3y": "reserved 3y", "reserved_1y": "reserved 1y", "on_demand": "on-demand",
                   "spot": "spot"}
SENSITIVITY_LABELS = {"traffic": "Traffic (requests)", "input_tokens": "Input tokens per request",
                      "output_tokens": "Output tokens per request", "gpu_prices": "GPU instance prices",
                      "api_prices": "API prices", "uncertainty_buffer": "Uncertainty buffer"}
SHORT_SENSITIVITY_LABELS = {"traffic": "Traffic", "input_tokens": "Input tokens", "output_tokens": "Output tokens",
                            "gpu_prices": "GPU prices", "api_prices": "API prices", "uncertainty_buffer": "Buffer"}
QUOTA_NAMES = {key: f"{QUOTA_NAME[key]} ({QUOTA_CODES[key]})" for key in QUOTA_CODES}
# what forecast.json's quota_needs_vcpus counts (planner.forecast.provenance.quota_needs)
QUOTA_SCOPE = "prod + staging + dev, largest launchable type"
NO_BREAK_EVEN = "none in horizon"
SPOT_BASIS = {"highest_zone": "the dearest zone's price",
              "on_demand_fraction": "{fraction} × on-demand (the snapshot knows only the cheapest zone)",
              "lowest_zone": "the cheapest zone's quote"}
# where a break-even month and a crossing differ (forecast.json: break_even)
BREAK_EVEN_NOTE = ("The cumulative break-even month counts a reservation's obligation after the horizon from the "
                   "month it is signed; where the monthly lines cross, and the volume there, compare running costs, "
                   "without that obligation.")


# --- the view model ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Table:
    key: str  # the HTML id
    caption: str
    headers: list[str]
    rows: list[list[str]]
    numeric: frozenset[int] = frozenset()
    note: str | None = None

    @property
    def compact(self) -> bool:
        """Mostly numbers: on a phone, its cards may show two label/value pairs a line."""
        return 2 * len(self.numeric) > len(self.headers)

    @property
    def align(self) -> list[str]:
        return ["right" if i in self.numeric else "left" for i in range(len(self.headers))]


@dataclass(frozen=True)
class AnswerLine:
    label: str
    text: str


@dataclass(frozen=True)
class Line:
    """One series of a chart: a label and one value per month (None: no value)."""

    label: str
    values: list[float]


@dataclass(frozen=True)
class TornadoBar:
    label: str  # the parameter
    low_label: str  # its low value, as text ("×0.7")
    high_label: str
    low_usd: float  # horizon savings with the parameter at its low value
    high_usd: float


@dataclass(frozen=True)
class BandLine:
    """A Monte Carlo band over the months: its 10th, 50th and 90th percentile, and the base forecast's
    own line for reference."""

    label: str
    p10: list[float]
    p50: list[float]
    p90: list[float]
    base: list[float]


@dataclass(frozen=True)
class BreakEvenMarks:
    """Where a model's probability curve gets its break-even percentiles (None: not in the horizon)."""

    label: str
    p10: str | None
    p50: str | None
    p90: str | None


@dataclass(frozen=True)
class BandsChart:
    """What the fan chart and the probability curve draw (forecast.json `bands`)."""

    title_note: str  # "1,000 draws, seed 7"
    self_hosted: BandLine
    api: BandLine  # the primary model's API path
    probability: list[Line]  # per model: P(cumulative self-hosted ≤ cumulative API path) by each month
    break_even: list[BreakEvenMarks]  # per model, in the same order


@dataclass(frozen=True)
class ChartData:
    """What the charts draw: plain series, labels already in words."""

    months: list[str]
    categories: list[tuple[str, Line]]  # (category key, self-hosted cost per month)
    self_hosted_total: list[float]
    api_lines: list[Line]  # API path per model per month
    break_even: dict[str, str | None]  # the API line's label -> cumulative break-even month
    fleet: list[tuple[str, str, Line]]  # (instance type, purchase, instances per month)
    demand: list[tuple[Line, Line]]  # per workload: peak demand, provisioned capacity (requests/s)
    tornado: list[TornadoBar]
    tornado_base_usd: float | None
    tornado_model: str | None
    bands: BandsChart | None = None


@dataclass(frozen=True)
class ReportView:
    title: str
    meta: list[tuple[str, str]]
    generated_at: str
    answer: list[AnswerLine]
    scenarios: Table | None
    scenario_fleets: Table | None
    sensitivity: Table | None
    fleet_choice: Table
    commitments: Table
    spot: list[str]  # one line per chosen instance type that may run spot
    fleet: Table
    continued: Table
    self_hosted: Table
    api_path: Table
    platform: Table
    api: Table
    demand: Table
    assumptions: Table
    sources: Table
    bands: "BandsView | None"
    risks: list[str]
    warnings: list[str]
    charts: ChartData
    absent: list[str] = field(default_factory=list)

    def context(self) -> dict:
        """The template context: every field by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --- dates and ages ------------------------------------------------------------------------------

def _date(text: str | None) -> dt.date | None:
    """A date from "YYYY-MM-DD..." or "YYYY-MM" (the 1st); None when the text is neither."""
    mo = re.match(r"^(\d{4})-(\d{2})(?:-(\d{2}))?", text or "")
    if not mo:
        return None
    try:
        return dt.date(int(mo.group(1)), int(mo.group(2)), int(mo.group(3) or 1))
    except ValueError:
        return None


def age_days(date: str, generated_at: str) -> int | None:
    """Days between a price source's date and the report's generation date (None when either is unknown)."""
    start, today = _date(date), _date(generated_at)
    if start is None or today is None:
        return None
    return (today - start).days


# --- sentences: reasons, triggers, warnings ------------------------------------------------------

def horizon_phrase(f: Forecast) -> str:
    return f"the {len(f.months)}-month horizon"


def count(n: int, noun: str) -> str:
    """'1 instance', '3 instances'."""
    return f"{num(n)} {noun}{'' if n == 1 else 's'}"


def api_terms(ref: ApiModelRef) -> str | None:
    """How a compared model is paid besides its list price ('50% discount, 40% of input cached'), or None."""
    parts = []
    if ref.discount:
        parts.append(f"{pct(ref.discount)} discount")
    if ref.cached_input_share:
        parts.append(f"{pct(ref.cached_input_share)} of input tokens cached")
    return ", ".join(parts) or None


def model_label(f: Forecast, model: str) -> str:
    """The model id with its discount and cached share where the plan sets them (per workload when they differ)."""
    terms = {w.name: api_terms(ref) for w in f.plan.workloads for ref in w.compare_with if ref.model == model}
    distinct = set(terms.values())
    if distinct == {None}:
        return model
    if len(distinct) == 1:
        return f"{model} ({distinct.pop()})"
    return f"{model} (" + "; ".join(f"{name}: {t or 'list price'}" for name, t in terms.items()) + ")"


def reason_sentence(d: WorkloadDecision, f: Forecast) -> str:
    """Why a workload goes where it goes, in one sentence (from the decision's code and numbers).

    With one workload the decision compares everything each path costs over the horizon; with
    several, each workload's own fleet and platform against its token bill (the split decides the
    shared people and compliance).
    """
    if d.reason == "residency":
        return "residency: its data may not go to a third-party API (api_allowed: false)"
    if d.reason == "latency":
        return "latency: the API cannot meet its latency SLO (api_meets_slo: false)"
    buffer = pct_whole(f.plan.costs.uncertainty_buffer)
    if len(f.recommendation.workloads) == 1:
        own = f"self-hosting {usd_whole(f.totals.horizon.self_hosted_usd)} all in (people, platform and the " \
              f"{buffer} buffer included)"
        api = f"the API path on {d.compared_with} {usd_whole(f.recommendation.all_api_horizon_usd)}"
    else:
        own = f"its own fleet and platform {usd_whole(d.self_hosted_usd)} with the {buffer} buffer"
        api = f"{d.compared_with} {usd_whole(d.api_usd)} in tokens"
    first, second = (own, api) if d.decision == "self-host" else (api, own)
    return f"cost: over {horizon_phrase(f)} {first}, {second}"


def trigger_sentence(t: Trigger, f: Forecast) -> str:
    if isinstance(t, VolumeTrigger):
        saving = t.api_usd - t.self_hosted_usd
        return (f"Volume: {t.workload} on {t.model} costs {usd_whole(t.api_usd)} over {horizon_phrase(f)}, its own "
                f"fleet and platform {usd_whole(t.self_hosted_usd)} with the buffer "
                f"({'saves' if saving >= 0 else 'costs'} {usd_whole(abs(saving))} before shared people and "
                "compliance costs).")
    if isinstance(t, SpendThresholdTrigger):
        return (f"Spend threshold: {t.workload} on {t.model} passes {usd_whole(t.threshold_usd_month)}/month "
                f"in {t.first_month}.")
    if isinstance(t, PolicyTrigger):
        why = ("its data may not go to a third-party API (api_allowed: false)" if t.kind == "residency"
               else "the API cannot meet its latency SLO (api_meets_slo: false)")
        return f"{t.kind.capitalize()}: {t.workload} must be self-hosted: {why}."
    raise TypeError(f"unknown trigger {t!r}")


QUOTAS_NOT_CHECKED = ("GPU quotas were not checked (offline run): run `planner quotas --forecast forecast.json` "
                      "with AWS credentials to compare the fleet's vCPUs with the account's quotas")


def warning_sentence(w: ForecastWarning) -> str:
    if isinstance(w, SpotShareWarning):
        return (f"{w.workload}: spot carries up to {pct_whole(w.share)} of peak instances ({w.month}); an "
                "interruption wave falls back to on-demand at list price")
    if isinstance(w, ThreeYearTermWarning):
        bought = (f"this forecast buys {count(w.instances_bought, 'instance')} on such terms, "
                  f"{usd_whole(w.usd_after_horizon)} of it due after the horizon" if w.instances_bought
                  else "this forecast buys none")
        return (f"the plan allows {w.term_months}-month (3-year) reservations but looks only {w.horizon_months} "
                "months ahead: such a term is paid in full, and counted in full in the totals, whatever demand does "
                f"after the horizon; {bought}")
    if isinstance(w, UnusedCommitmentsWarning):
        return (f"{w.workload}: {usd_whole(w.usd)} of committed (reserved) hours go unused off-peak over the "
                "horizon; they are still paid")
    if isinstance(w, QuotasNotCheckedWarning):
        return QUOTAS_NOT_CHECKED
    raise TypeError(f"unknown warning {w!r}")


def warning_lines(f: Forecast) -> list[str]:
    """The forecast's warnings as sentences (the terminal prints them; the report lists them)."""
    return [warning_sentence(w) for w in f.warnings]


# --- the answer ----------------------------------------------------------------------------------

def _period_label(f: Forecast, key: str) -> str:
    n = len(f.months)
    if key == "first_12_months":
        return f"first {n} months" if n < 12 else "first 12 months"
    return f"horizon of {n} months"


def break_even_sentence(model: str, be: BreakEven, f: Forecast) -> str:
    """Where the monthly lines cross and when the cumulative cost breaks even, against one model."""
    if be.crossing == "at_start":
        cross = "self-hosting is cheaper from the first month"
    elif be.crossing == "in_horizon":
        cross = f"the monthly lines cross in {be.crossing_month}"
        if be.monthly_requests is not None:
            cross += f" at {num(be.monthly_requests)} requests/month"
    else:
        cross = "the monthly lines do not cross (self-hosting costs more every month)"
    if be.month:
        cum = f"cumulative break-even in {be.month}"
    else:
        cum = f"no cumulative break-even within {horizon_phrase(f)}"
    return f"vs {model}: {cross}; {cum}"


def _recommendation_text(f: Forecast) -> str:
    rec = f.recommendation
    parts = [f"{d.name}: {DECISION_LABELS[d.decision]} ({reason_sentence(d, f)})" for d in rec.workloads]
    text = DECISION_LABELS[rec.decision] + " — " + "; ".join(parts)
    if len(rec.workloads) > 1:
        text += (f". This split costs {usd_whole(rec.horizon_total_usd)} over {horizon_phrase(f)}, everything on the "
                 f"API {usd_whole(rec.all_api_horizon_usd)}")
    return text


def _periods(f: Forecast) -> tuple[str, ...]:
    """The totals worth showing: the first 12 months only when the horizon is longer."""
    return ("first_12_months", "horizon") if len(f.months) > 12 else ("horizon",)


def _totals_text(f: Forecast) -> str:
    periods = []
    for key in _periods(f):
        t = getattr(f.totals, key)
        items = [f"self-hosted {usd_whole(t.self_hosted_usd)}"]
        for model in f.models:
            items.append(f"API path {model} {usd_whole(t.api_path_usd[model])} (tokens {usd_whole(t.api_usd[model])})")
        periods.append(f"{_period_label(f, key)}: " + ", ".join(items))
    return " · ".join(periods)


def _data_age_text(f: Forecast, generated_at: str) -> str:
    parts = []
    for s in f.price_sources:
        age = age_days(s.date, generated_at)
        if s.kind == "aws_compute":
            text = f"AWS instance prices dated {s.date}"
            if age is not None and age >= 0:
                text += f", {age} days old on {generated_at[:10]}"
                if age > STALE_AFTER_DAYS:
                    text += f" (older than {STALE_AFTER_DAYS} days: run `planner prices refresh`)"
        elif s.kind == "aws_platform":
            where = f" ({s.region})" if s.region else ""
            text = f"platform prices{where} dated {s.date}"
            if "verify" in s.source:
                text += ", marked “verify”: read from general knowledge, not from a price list"
        else:
            text = f"API token prices from {s.source}"
            if age is not None and age < 0:
                text += f", priced for {s.date} (the plan's first month, after the generation date)"
            else:
                text += f", priced for {s.date}"
        parts.append(text)
    # one line per distinct statement: several platform regions may share their wording
    return "; ".join(dict.fromkeys(parts)) + "."


def _terms_text(f: Forecast) -> str:
    """'reserved 1y', 'reserved 1y and reserved 3y': the terms the commitments were bought on."""
    kinds = [p for p in PURCHASE_LABELS if any(c.purchase == p for c in f.commitments)]
    return " and ".join(PURCHASE_LABELS[p] for p in kinds)


def _obligation_line(f: Forecast) -> AnswerLine:
    """The obligation the fleet signs: every reservation's whole term, and the part of it after the horizon."""
    if not f.commitments:
        return AnswerLine("Obligation", "none: the self-hosted fleet signs no reservation, so nothing is owed "
                                        f"after {f.months[-1].month}")
    after = f.obligation_after_horizon_usd
    text = (f"the self-hosted fleet signs {usd_whole(f.obligation_signed_usd)} of reservations over their whole terms "
            f"({count(sum(c.count for c in f.commitments), 'instance')} in {count(len(f.commitments), 'reservation')}, "
            f"{_terms_text(f)}, {'ending' if len(f.commitments) == 1 else 'the last ending'} "
            f"{max(c.end_month for c in f.commitments)})")
    if after <= 0:
        return AnswerLine("Obligation", text + f"; all of it is paid inside {horizon_phrase(f)}")
    buffer = f.plan.costs.uncertainty_buffer
    text += (f"; {usd_whole(after)} of it falls after the horizon and is charged in the month signed "
             f"({usd_whole(after * (1 + buffer))} with the {pct_whole(buffer)} buffer), so the totals include it. "
             "The cumulative break-even counts it from signing; the monthly crossing compares running costs "
             "without it")
    return AnswerLine("Obligation", text)


def _continued_line(f: Forecast) -> AnswerLine | None:
    """'If demand continues' until the last commitment ends, when one runs past the horizon."""
    c = f.if_demand_continues
    if c.months_after_horizon <= 0:
        return None
    items = [f"self-hosted {usd_whole(c.self_hosted_usd)}"]
    items += [f"API path {model} {usd_whole(c.api_path_usd[model])}" for model in f.models]
    return AnswerLine("If demand continues",
                      f"{f.months[-1].month}'s demand and fleet held for "
                      f"{count(c.months_after_horizon, 'more month')}, through {c.through_month} when the last "
                      "reservation ends "
                      f"({len(f.months) + c.months_after_horizon} months in all): " + ", ".join(items))


def answer(f: Forecast, *, generated_at: str) -> list[AnswerLine]:
    """The answer, truth first: decision and what decided it, where the lines cross, totals, the obligation
    signed (and, when it runs past the horizon, the totals if demand continues), data age."""
    lines = [AnswerLine("Recommendation", _recommendation_text(f)),
             AnswerLine("Break-even", "; ".join(break_even_sentence(m, be, f) for m, be in f.break_even.items())),
             AnswerLine("Totals", _totals_text(f)),
             _obligation_line(f)]
    continued = _continued_line(f)
    if continued is not None:
        lines.append(continued)
    lines.append(AnswerLine("Data", _data_age_text(f, generated_at)))
    return lines


def answer_lines(f: Forecast, *, generated_at: str | None = None) -> list[str]:
    """The answer as plain text lines (for the terminal); the data's age is counted to `generated_at`
    (default: today)."""
    if generated_at is None:
        generated_at = dt.date.today().isoformat()
    return [f"{a.label}: {a.text}" for a in answer(f, generated_at=generated_at)]


# --- tables --------------------------------------------------------------------------------------

def fleet_text(c: FleetChoice, *, regions: bool = False) -> str:
    """'17 × g6e.12xlarge (4 × L40S, TP4)': a fleet at its busiest hour (`peak_instances`)."""
    text = f"{num(c.peak_instances)} × {c.instance_type} ({c.gpus_per_instance} × {c.gpu}, TP{c.tp})"
    return text + (f" in {', '.join(c.regions)}" if regions else "")


def variant_phrase(change: FleetChange, f: Forecast) -> str:
    """'the low scenario', 'the sensitivity's traffic ×0.7': where a fleet change happens."""
    if change.source == "scenario":
        return f"the {change.name} scenario"
    s = next((s for s in f.sensitivity if s.parameter == change.name), None)
    if s is None:
        return f"the sensitivity's {change.name} at its {change.side} value"
    value = s.low_value if change.side == "low" else s.high_value
    return f"the sensitivity's {SHORT_SENSITIVITY_LABELS[s.parameter].lower()} {_sensitivity_value(s.unit, value)}"


def fleet_change_sentence(change: FleetChange, f: Forecast) -> str:
    """'In the low scenario, chat runs 17 × g6e.12xlarge (4 × L40S, TP4) instead of 2 × p5.48xlarge
    (8 × H100, TP2).'"""
    regions = "regions" in change.changed
    return (f"In {variant_phrase(change, f)}, {change.workload} runs {fleet_text(change.other, regions=regions)} "
            f"instead of {fleet_text(change.base, regions=regions)}.")


def fleet_switches(f: Forecast) -> list[str]:
    """A sentence per variant (scenario or sensitivity side) whose fleet differs from the base fleet."""
    return [fleet_change_sentence(c, f) for c in f.fleet_changes]


def _scenario_tables(f: Forecast) -> tuple[Table | None, Table | None]:
    if not f.scenarios:
        return None, None
    model = f.models[0]
    periods = _periods(f)
    headers = ["Scenario", "Traffic", "Spot prices", "API prices"]
    for key in periods:
        label = "first 12 months" if key == "first_12_months" else "horizon"
        headers += [f"Self-hosted, {label} (USD)", f"API path, {label} (USD)"]
    headers.append("Break-even")
    rows = []
    for s in f.scenarios:
        be = s.break_even[model]
        cells = [s.name, multiplier(s.traffic_multiplier), multiplier(s.spot_price_multiplier),
                 multiplier(s.api_price_multiplier)]
        for key in periods:
            t = getattr(s.totals, key)
            cells += [num(t.self_hosted_usd), num(t.api_path_usd[model])]
        rows.append(cells + [be.month or NO_BREAK_EVEN])
    note = (f"API path against {model}: its token bill plus the API path's own people and compliance. Low and high "
            "move traffic, growth, spot prices and API prices together.")
    results = Table("scenarios", "Scenarios", headers, rows, frozenset(range(4, 4 + 2 * len(periods))), note)

    names = f.workload_names
    fleet_headers = ["Scenario", "Growth per month"] + [f"Fleet at peak: {n}" if len(names) > 1 else "Fleet at peak"
                                                        for n in names]
    fleet_rows = []
    for s in f.scenarios:
        growth = ", ".join(f"{k} {pct(v) if v is not None else 'series'}" for k, v in s.growth.items()) or MISSING
        cells = [s.name, growth]
        for n in names:
            c = next((c for c in s.fleet_choice if c.workload == n), None)
            change = next((x for x in s.fleet_changes if x.workload == n), None)
            if c is None:
                cells.append(MISSING)
            elif change is None:
                cells.append(fleet_text(c))
            else:
                regions = "regions" in change.changed
                cells.append(f"{fleet_text(c, regions=regions)}, instead of {fleet_text(change.base, regions=regions)}")
        fleet_rows.append(cells)
    switches = [fleet_change_sentence(c, f) for s in f.scenarios for c in s.fleet_changes]
    note = "Instances at the busiest hour of each scenario's busiest month. "
    note += " ".join(switches) if switches else "Every scenario runs on the base fleet's instance type."
    fleets = Table("scenario-fleets", "Scenario fleets", fleet_headers, fleet_rows, frozenset(), note)
    return results, fleets


def _sensitivity_value(unit: str, x: float) -> str:
    return multiplier(x) if unit == "multiplier" else pct(x)


def _sensitivity_table(f: Forecast) -> Table | None:
    if not f.sensitivity:
        return None
    headers = ["Parameter", "Low", "High", "Break-even (low)", "Break-even (high)", "Horizon savings, low (USD)",
               "Horizon savings, high (USD)"]
    rows = [[SENSITIVITY_LABELS[s.parameter], _sensitivity_value(s.unit, s.low_value),
             _sensitivity_value(s.unit, s.high_value), s.break_even_low or NO_BREAK_EVEN,
             s.break_even_high or NO_BREAK_EVEN, num(s.horizon_savings_low_usd), num(s.horizon_savings_high_usd)]
            for s in f.sensitivity]
    first = f.sensitivity[0]
    note = "One parameter at a time, the others at their base values."
    if first.model:
        note += f" Break-even and savings (API path minus self-hosted, whole horizon) are against {first.model}."
    note += (f" Base: break-even {first.break_even_base or NO_BREAK_EVEN}, "
             f"savings {usd_whole(first.horizon_savings_base_usd)}.")
    for s in f.sensitivity:
        note += "".join(" " + fleet_change_sentence(c, f) for c in s.fleet_changes)
    return Table("sensitivity", "Sensitivity of the break-even month", headers, rows, frozenset({5, 6}), note)


def _fleet_choice_table(f: Forecast) -> Table:
    headers = ["Workload", "Regions", "Instance type", "GPUs", "TP", "Replicas per instance",
               "Requests/s per replica", "Root volume (GiB)", "Equivalent types", "Candidates"]
    disk = {w.name: w.storage_gib_per_instance for w in f.months[0].workloads}
    rows = [[c.workload, ", ".join(c.regions), c.instance_type, f"{c.gpus_per_instance} × {c.gpu}", str(c.tp),
             str(c.replicas_per_instance), num(c.replica_requests_per_s, 2), num(disk[c.workload]),
             ", ".join(c.equivalent_instance_types) or MISSING, str(c.candidates_considered)]
            for c in f.fleet_choice]
    return Table("fleet-choice", "Instance type per workload", headers, rows, frozenset({4, 5, 6, 7, 9}),
                 "Equivalent types have the same GPUs in the same region at a higher price: the stack may launch "
                 "them when the first is short.")


def _commitments_table(f: Forecast) -> Table:
    """Every reservation bought, its whole term's cost split at the horizon (forecast.json `commitments`)."""
    many = len(f.plan.workloads) > 1
    regions = len({c.region for c in f.commitments}) > 1
    headers = (["Workload"] if many else []) + (["Region"] if regions else []) + [
        "Instance type", "Purchase", "Instances", "First month", "Last month", "USD/hour", "Total (USD)",
        "In horizon (USD)", "After horizon (USD)"]
    k = len(headers) - 9
    rows = [([c.workload] if many else []) + ([c.region] if regions else []) + [
        c.instance_type, PURCHASE_LABELS[c.purchase], num(c.count), c.start_month, c.end_month,
        usd_rate(c.usd_per_hour).lstrip("$"), num(c.usd_total), num(c.usd_in_horizon), num(c.usd_after_horizon)]
        for c in f.commitments]
    if len(f.commitments) > 1:
        rows.append((["all"] if many else []) + ([""] if regions else []) + [
            "Total", "", num(sum(c.count for c in f.commitments)), "", "", "", num(f.obligation_signed_usd),
            num(sum(c.usd_in_horizon for c in f.commitments)), num(f.obligation_after_horizon_usd)])
    if not f.commitments:
        note = "the fleet buys none; it runs on demand (and on spot where the plan allows it), month by month."
    else:
        note = ("Each reservation is paid every hour of its term, whatever the fleet needs: instances × USD/hour per "
                "instance × 730 × the term's months. The part in the horizon is in the fleet's reserved lines "
                "(Compute); the part after it is charged in the month signed (Committed after horizon), with the "
                "buffer.")
    return Table("commitments", "Reservations signed", headers, rows,
                 frozenset({k + 2} | set(range(k + 5, k + 9))), note)


def _spot_basis(s: SpotPrice, f: Forecast) -> str:
    text = SPOT_BASIS[s.basis].format(fraction=plain_value(s.on_demand_fraction))
    if s.basis == "lowest_zone" and f.plan.pricing.spot_basis == "lowest_zone":
        text += " (the plan asks for it: pricing.spot_basis: lowest_zone)"
    elif s.basis == "lowest_zone":  # pricing.conservative_spot: the only zone known, dearer than the fraction
        text += f" (the only zone known, dearer than {plain_value(SPOT_ON_DEMAND_FRACTION)} × on-demand)"
    return text


def spot_lines(f: Forecast) -> list[str]:
    """One line per chosen instance type that may run spot: the rate and its basis, the zones' range,
    on-demand, and the horizon's spot spend at the rate used and at the cheapest zone."""
    out = []
    for s in f.spot_prices:
        dearest = f"{usd_rate(s.highest_zone_usd_per_hour)}/h" if s.highest_zone_usd_per_hour is not None \
            else "unknown"
        cheapest = f"{usd_rate(s.lowest_zone_usd_per_hour)}/h" if s.lowest_zone_usd_per_hour is not None \
            else "unknown"
        if s.spot_usd > 0:
            spend = (f"spot over the horizon {usd_whole(s.spot_usd)} at this rate, "
                     f"{usd_whole(s.spot_usd_at_lowest_zone)} at the cheapest zone's")
        else:
            spend = "the fleet runs no spot at this rate"
        out.append(f"{s.workload}, {s.instance_type} in {s.region}: spot at {usd_rate(s.usd_per_hour)}/h, "
                   f"{_spot_basis(s, f)}; zones from {cheapest} (cheapest) to {dearest} (dearest); on-demand "
                   f"{usd_rate(s.on_demand_usd_per_hour)}/h; {spend}.")
    return out


def _fleet_table(f: Forecast) -> Table:
    many = len(f.plan.workloads) > 1
    headers = ["Month"] + (["Workload"] if many else []) + ["Region", "Instance type", "Purchase", "Instances",
                                                            "Replicas", "USD/hour", "Hours", "USD"]
    rows = []
    for m in f.months:
        for w in m.workloads:
            for line in w.fleet:
                rows.append([m.month] + ([w.name] if many else []) + [
                    line.region, line.instance_type, PURCHASE_LABELS[line.purchase], num(line.count), num(line.replicas),
                    usd_rate(line.usd_per_hour).lstrip("$"), num(line.hours), num(line.usd)])
    k = 1 if many else 0
    return Table("fleet", "Fleet per month", headers, rows, frozenset(range(4 + k, 9 + k)),
                 "Instances and replicas at the busiest hour; hours are billed hours per instance (730 all month, "
                 "fewer for part-day instances).")


def _self_hosted_table(f: Forecast) -> Table:
    headers = ["Month"] + [CATEGORY_LABELS[c] for c in CATEGORIES] + ["Total"]
    rows = []
    for m in f.months:
        s = m.self_hosted_usd
        rows.append([m.month] + [num(getattr(s, c)) for c in CATEGORIES] + [num(s.total)])
    unused = sum(m.unused_committed_usd for m in f.months)
    note = (f"USD per month. Committed after horizon: the part of a reservation's term after {f.months[-1].month}, "
            "charged in the month it is signed (the obligation exists from then; no later month of the forecast "
            f"could carry it). Buffer: {pct(f.plan.costs.uncertainty_buffer)} of the other categories, that one "
            "included.")
    if unused > 0:
        note += (f" Committed (reserved) hours left unused off-peak: {usd_whole(unused)} over the horizon, already "
                 "inside Compute: commitments are paid whether used or not.")
    return Table("self-hosted", "Self-hosted cost per month (USD)", headers, rows,
                 frozenset(range(1, len(headers))), note)


def _api_path_table(f: Forecast) -> Table:
    headers = ["Month", "Self-hosted total"] + [f"API path: {m}" for m in f.models]
    rows = [[m.month, num(m.self_hosted_usd.total)] + [num(m.api_path_usd[model]) for model in f.models]
            for m in f.months]
    return Table("api-path", "Self-hosted next to the API path, per month (USD)", headers, rows,
                 frozenset(range(1, len(headers))),
                 "API path = token bill plus the API path's own people, data/eval and compliance "
                 f"({usd_whole(f.months[0].api_path_fixed_usd)} in {f.months[0].month}). " + BREAK_EVEN_NOTE)


def _continued_table(f: Forecast) -> Table:
    """The horizon's totals next to "if demand continues" until the last reservation ends."""
    c, h = f.if_demand_continues, f.totals.horizon
    last = f.months[-1].month
    caption = "The horizon and if demand continues (USD)"
    if c.months_after_horizon <= 0:
        return Table("continued", caption, [], [], frozenset(),
                     f"no reservation runs past {last}, so if demand continues nothing more is owed and the totals "
                     "are the horizon's.")
    headers = ["Path", f"Horizon, {len(f.months)} months", f"After it, {c.months_after_horizon} months",
               f"If demand continues, {len(f.months) + c.months_after_horizon} months"]
    rows = [["Self-hosted", num(h.self_hosted_usd), num(c.self_hosted_after_horizon_usd), num(c.self_hosted_usd)]]
    rows += [[f"API path: {model}", num(h.api_path_usd[model]), num(c.api_path_after_horizon_usd[model]),
              num(c.api_path_usd[model])] for model in f.models]
    buffer = f.plan.costs.uncertainty_buffer
    after = h.self_hosted_by_category_usd.committed_after_horizon
    note = (f"If demand continues: {last}'s demand, fleet, platform, people and API bills held for "
            f"{count(c.months_after_horizon, 'more month')}, through {c.through_month}, when the last reservation "
            "ends; no new reservation is bought (on demand and spot replace one that ends). The horizon charges the "
            f"obligation after it in the month signed ({usd_whole(after * (1 + buffer))} with the buffer); if demand "
            "continues pays it in the months it covers instead, so self-hosted is the horizon without it plus the "
            "months after, not the sum of the two columns.")
    return Table("continued", caption, headers, rows, frozenset({1, 2, 3}), note)


def _platform_table(f: Forecast) -> Table:
    names = f.workload_names
    many = len(names) > 1
    headers = ["Item"] + (names + ["Total"] if many else ["Horizon"])
    rows = []
    for item in PlatformUsd.model_fields:
        per = [sum(getattr(w.platform_usd, item) for m in f.months for w in m.workloads if w.name == n)
               for n in names]
        rows.append([PLATFORM_LABELS[item]] + [num(v) for v in per] + ([num(sum(per))] if many else []))
    totals = [sum(w.platform_usd.total for m in f.months for w in m.workloads if w.name == n) for n in names]
    rows.append(["Total"] + [num(v) for v in totals] + ([num(sum(totals))] if many else []))
    return Table("platform", "Platform costs over the horizon (USD)", headers, rows,
                 frozenset(range(1, len(headers))),
                 "Everything the stack creates besides the instances; LCU charges of the load balancer are not "
                 "included.")


def _api_table(f: Forecast) -> Table:
    many = len(f.plan.workloads) > 1
    headers = ["Month"] + (["Workload"] if many else []) + list(f.models)
    rows = []
    for m in f.months:
        for w in m.workloads:
            rows.append([m.month] + ([w.name] if many else [])
                        + [num(w.api_usd[model]) if model in w.api_usd else "n/a" for model in f.models])
        if many:
            rows.append([m.month, "all"] + [num(m.api_usd[model]) for model in f.models])
    k = 2 if many else 1
    labels = {model: model_label(f, model) for model in f.models}
    scale = f.plan.pricing.api_price_multiplier
    if all(label == model for model, label in labels.items()) and scale == 1:
        note = "Tokens only, at each model's list price."
    else:
        note = ("Tokens only, as paid: "
                + "; ".join(label if label != model else f"{model} at list price" for model, label in labels.items())
                + (f"; every bill × {plain_value(scale)} (pricing.api_price_multiplier)" if scale != 1 else "")
                + ". Cached input tokens are priced at the provider's cached-input rate (genai-prices); a discount "
                  "scales the whole bill.")
    return Table("api", "API token bill per model (USD)", headers, rows, frozenset(range(k, len(headers))), note)


def _demand_table(f: Forecast) -> Table:
    many = len(f.plan.workloads) > 1
    headers = ["Month"] + (["Workload"] if many else []) + [
        "Requests", "Input tokens (M)", "Output tokens (M)", "Peak requests/s", "Capacity requests/s", "Replicas",
        "Instances"]
    rows = []
    for m in f.months:
        for w in m.workloads:
            rows.append([m.month] + ([w.name] if many else []) + [
                num(w.requests), millions(w.input_tokens), millions(w.output_tokens), num(w.peak_requests_per_s, 2),
                num(w.capacity_requests_per_s, 2), num(w.replicas), num(w.instances)])
    k = 2 if many else 1
    return Table("demand", "Demand and capacity", headers, rows, frozenset(range(k, len(headers))),
                 "Capacity at the busiest hour, spot counted net of its interruption overhead.")


def _assumption_table(f: Forecast) -> Table:
    rows = [[a.name, plain_value(a.value), a.source, "yes" if a.is_assumption else "no"] for a in f.assumptions]
    return Table("assumptions-table", "Assumptions", ["Name", "Value", "Source", "Our assumption"], rows, frozenset(),
                 "“Our assumption” marks values the planner chose rather than read from an input.")


def _sources_table(f: Forecast, generated_at: str) -> Table:
    rows = []
    for s in f.price_sources:
        age = age_days(s.date, generated_at)
        status = []
        if "verify" in s.source:
            status.append("verify: read from general knowledge")
        if age is not None and age > STALE_AFTER_DAYS and s.kind != "api_tokens":
            status.append(f"older than {STALE_AFTER_DAYS} days")
        if age is not None and age < 0:
            status.append("dated after generation: the plan's first month")
        rows.append([s.kind, s.region or MISSING, s.date, num(age) if age is not None else MISSING,
                     "; ".join(status) or "ok", s.source, s.version or MISSING, s.file or MISSING])
    return Table("sources", "Price sources", ["Kind", "Region", "Date", "Age (days)", "Status", "Source", "Version",
                                              "File"], rows, frozenset({3}),
                 f"Age counted to the generation date ({generated_at}).")


# --- risks ---------------------------------------------------------------------------------------

def risks(f: Forecast) -> list[str]:
    out = [f"{d.name}: {DECISION_LABELS[d.decision]}, decided by {reason_sentence(d, f)}."
           for d in f.recommendation.workloads]
    out += [trigger_sentence(t, f) for t in f.recommendation.triggers]
    first, last = f.months[0], f.months[-1]
    out.append(f"Spend threshold: self-hosting pays while the monthly API path cost stays above the self-hosted "
               f"monthly running cost ({usd_whole(running_usd(first, f))} in {first.month}, "
               f"{usd_whole(running_usd(last, f))} in {last.month}); re-run the plan when actual traffic or "
               "the API bill leaves the scenario range.")
    out.append("Latency: a tighter TTFT or time-per-token SLO lowers the batch each replica can serve and grows "
               "the fleet; an API that cannot meet the SLO forces self-hosting. Re-run after any SLO change.")
    out.append("Residency and privacy: a new rule that keeps data in-region removes the API option for that "
               "workload; a provider that starts offering compliant in-region processing brings it back.")
    out.append("Vendor change: when a compared API model is deprecated or re-priced, or a new open-weight model "
               "changes the throughput per GPU, refresh the prices and re-run the forecast.")
    out += [f"Fleet change: {text[0].lower()}{text[1:]}" for text in fleet_switches(f)]
    after = [c for c in f.commitments if c.usd_after_horizon > 0]
    if after:
        out.append(f"Commitment: {usd_whole(f.obligation_after_horizon_usd)} of reservations is owed after "
                   f"{f.months[-1].month} (through {max(c.end_month for c in after)}) whatever demand does then; if "
                   "traffic falls or moves to the API, it pays for idle instances.")
    for w in f.warnings:
        if isinstance(w, SpotShareWarning):
            out.append(f"Spot exposure: {w.workload} runs up to {pct_whole(w.share)} of its busiest-hour instances on "
                       f"spot ({w.month}); an interruption removes that capacity until on-demand replaces it.")
    out += [risk_sentence(r, f) for r in f.risks]
    for region, needs in f.quota_needs_vcpus.items():
        for key, vcpus in needs.items():
            out.append(f"Quota: {region} must allow {num(vcpus)} vCPUs of {QUOTA_NAMES[key]} at the busiest month "
                       f"({QUOTA_SCOPE}); check the account's quota before provisioning.")
    return out


def running_usd(m: MonthForecast, f: Forecast) -> float:
    """A month's self-hosted running cost: its total without the obligation after the horizon charged in it
    (and that obligation's buffer), as the monthly crossing compares it (docs/forecast-json.md)."""
    return m.self_hosted_usd.total - m.self_hosted_usd.committed_after_horizon * (1 + f.plan.costs.uncertainty_buffer)


def risk_sentence(r: SpotUnavailableRisk, f: Forecast) -> str:
    """A risk of forecast.json's `risks` in words."""
    if isinstance(r, SpotUnavailableRisk):
        return (f"Spot unavailable: if {r.workload} could get no spot capacity for all of {r.month}, on-demand "
                f"instances replacing its {count(r.spot_instances, 'spot instance')} would add "
                f"{usd_whole(r.extra_usd)} to that month's compute (before the buffer; reservations unchanged); "
                + ("spot runs every month of the horizon." if r.months_with_spot >= len(f.months) else
                   f"spot runs in {r.months_with_spot} of the horizon's {len(f.months)} months."))
    raise TypeError(f"unknown risk {r!r}")


# --- Monte Carlo bands ---------------------------------------------------------------------------

QUANTITY_LABELS = {"traffic": "Traffic level (requests per day)", "growth": "Monthly growth",
                   "tokens": "Tokens per request (input and output alike)",
                   "on_demand_price": "On-demand and reserved prices", "spot_price": "Spot prices",
                   "api_price": "API token prices, per year", "throughput": "Throughput model's error"}
QUANTITY_SCOPE = {"traffic": "per workload", "growth": "per workload", "tokens": "per workload",
                  "on_demand_price": "all instances alike", "spot_price": "all instances alike",
                  "api_price": "per API model", "throughput": "per workload"}
DEFAULT_UNCERTAINTY = Uncertainty()
MAX_BAND_ROWS = 24  # a longer horizon's table shows the last month of each quarter


@dataclass(frozen=True)
class BandsView:
    """The report's Monte Carlo section: what was drawn, the bands by month, break-even percentiles."""

    summary: str  # one sentence: draws, seed, what the bands say at the horizon's end
    months: Table
    break_even: Table
    sampled: Table


def _spread_text(name: str, spread, f: Forecast) -> str:
    """A distribution in words: "lognormal, median 1, sd 0.3" (sd from the calibration where not given)."""
    kind = spread.distribution
    offset = name == "growth"
    if kind == "fixed":
        return "fixed (no spread)"
    if kind == "uniform":
        return f"uniform, {plain_value(spread.low)} to {plain_value(spread.high)}"
    if spread.sd is not None:
        sd = plain_value(spread.sd)
    else:  # the throughput spread from the calibration, per engine (forecast.json assumptions)
        found = next((a.value for a in f.assumptions if a.name == "uncertainty.throughput.sd"), None)
        sd = ("from the calibration: " + ", ".join(f"{e} {v:.3f}" for e, v in found.items())
              if isinstance(found, dict) else "from the calibration")
    if kind == "lognormal":
        centre = f"median {plain_value(spread.median if spread.median is not None else 1.0)}"
        return f"lognormal, {centre}, sd of the log {sd}"
    centre = plain_value(spread.mean if spread.mean is not None else (0.0 if offset else 1.0))
    unit = " (added to the monthly growth rate)" if offset else ""
    return f"normal, mean {centre}, sd {sd}{unit}"


def _band_month_rows(f: Forecast) -> tuple[list, str]:
    """The band months the table shows (every month, or each quarter's last when the horizon is long)."""
    months = f.bands.months
    if len(months) <= MAX_BAND_ROWS:
        return months, "Every month."
    picked = [m for i, m in enumerate(months) if (i + 1) % 3 == 0 or i == len(months) - 1]
    return picked, "The last month of each quarter (every month is in forecast.json `bands`)."


def bands_view(f: Forecast) -> BandsView | None:
    """The Monte Carlo section, or None when the forecast has no bands."""
    b = f.bands
    if b is None:
        return None
    primary = f.models[0]
    models = list(b.break_even)
    rows_src, which = _band_month_rows(f)
    headers = (["Month", "Self-hosted p10", "Self-hosted p50", "Self-hosted p90", "API path p10", "API path p50",
                "API path p90"] + [f"P(cheaper by then) vs {model}" for model in models])
    rows = [[m.month, num(m.self_hosted_usd.p10), num(m.self_hosted_usd.p50), num(m.self_hosted_usd.p90),
             num(m.api_path_usd[primary].p10), num(m.api_path_usd[primary].p50), num(m.api_path_usd[primary].p90)]
            + [pct_whole(m.p_cumulative_self_host_cheaper[model]) for model in models] for m in rows_src]
    months_table = Table(
        "bands-months", f"Monthly cost over {num(b.draws)} draws (USD; API path: {primary})", headers, rows,
        frozenset(range(1, len(headers))),
        f"{which} p10/p50/p90: the 10th, 50th and 90th percentile of the month's cost over the draws (buffer "
        "included, as the forecast's totals); percentiles of different months come from different draws, so they "
        "do not add up. P(cheaper by then): the share of draws whose cumulative self-hosted cost up to "
        "that month is at or below the cumulative API path.")
    be_rows = []
    for model in models:
        p = b.break_even[model]
        base = f.break_even[model].month if model in f.break_even else None
        be_rows.append([model] + [x or NO_BREAK_EVEN for x in (p.p10, p.p50, p.p90)] + [base or NO_BREAK_EVEN])
    break_even_table = Table(
        "bands-break-even", "Break-even month over the draws", ["API model", "p10", "p50", "p90", "Base forecast"],
        be_rows, frozenset(),
        "The month by which 10%, 50% and 90% of the draws have first broken even (cumulative self-hosted at or "
        f"below the cumulative API path); {NO_BREAK_EVEN}: fewer draws than that break even inside the horizon.")
    spec = f.plan.uncertainty
    sampled = [[QUANTITY_LABELS[name], QUANTITY_SCOPE[name], _spread_text(name, getattr(spec, name), f),
                "default" if getattr(spec, name) == getattr(DEFAULT_UNCERTAINTY, name) else "plan"]
               for name in spec.QUANTITIES]
    sampled_table = Table(
        "bands-sampled", "What each draw samples", ["Quantity", "Drawn", "Distribution", "From"], sampled,
        frozenset(),
        "Multipliers on the plan's values (growth: points added to the monthly growth). Every draw re-sizes the "
        "fleet exactly for its demand, tokens and prices, and re-costs both paths. A draw also picks its own "
        "reservations knowing its demand, as if the plan had been made with hindsight: the self-hosted band is "
        "somewhat optimistic where demand would fall short of reservations signed on the base forecast. Defaults "
        "and their sources: README, plan section uncertainty.")
    last = b.months[-1]
    cheaper = last.p_cumulative_self_host_cheaper[primary]
    summary = (f"{num(b.draws)} draws, seed {spec.seed}. In {last.month} self-hosting costs "
               f"{usd_whole(last.self_hosted_usd.p10)} to {usd_whole(last.self_hosted_usd.p90)} a month (p10–p90, "
               f"median {usd_whole(last.self_hosted_usd.p50)}), the API path ({primary}) "
               f"{usd_whole(last.api_path_usd[primary].p10)} to {usd_whole(last.api_path_usd[primary].p90)}"
               + f"; by then self-hosting has cost no more than the API path in {pct_whole(cheaper)} of the draws.")
    return BandsView(summary=summary, months=months_table, break_even=break_even_table, sampled=sampled_table)


def bands_chart(f: Forecast) -> BandsChart | None:
    b = f.bands
    if b is None:
        return None
    primary = f.models[0]
    self_line = BandLine("self-hosted", [m.self_hosted_usd.p10 for m in b.months],
                         [m.self_hosted_usd.p50 for m in b.months], [m.self_hosted_usd.p90 for m in b.months],
                         [float(m.self_hosted_usd.total) for m in f.months])
    api_line = BandLine(f"API path: {primary}", [m.api_path_usd[primary].p10 for m in b.months],
                        [m.api_path_usd[primary].p50 for m in b.months], [m.api_path_usd[primary].p90 for m in b.months],
                        [float(m.api_path_usd[primary]) for m in f.months])
    models = list(b.break_even)
    probability = [Line(f"vs {model}", [m.p_cumulative_self_host_cheaper[model] for m in b.months]) for model in models]
    marks = [BreakEvenMarks(f"vs {model}", b.break_even[model].p10, b.break_even[model].p50, b.break_even[model].p90)
             for model in models]
    return BandsChart(title_note=f"{num(b.draws)} draws, seed {b.seed}", self_hosted=self_line, api=api_line,
                      probability=probability, break_even=marks)


# --- charts' data --------------------------------------------------------------------------------

def chart_data(f: Forecast) -> ChartData:
    months = [m.month for m in f.months]
    categories = [(c, Line(f"self-hosted: {CATEGORY_LABELS[c].lower()}"
                           + (" (charged when signed)" if c == "committed_after_horizon" else ""),
                           [float(getattr(m.self_hosted_usd, c)) for m in f.months])) for c in CATEGORIES]
    api_lines = [Line(f"API path: {model}", [float(m.api_path_usd[model]) for m in f.months]) for model in f.models]
    groups: dict[tuple[str, str], list[float]] = {}
    for i, m in enumerate(f.months):
        for w in m.workloads:
            for line in w.fleet:
                groups.setdefault((line.instance_type, str(line.purchase)), [0.0] * len(months))[i] += line.count
    order = list(PURCHASE_LABELS)
    fleet = [(itype, purchase, Line(f"{itype} ({PURCHASE_LABELS[purchase]})", groups[(itype, purchase)]))
             for itype, purchase in sorted(groups, key=lambda k: (k[0], order.index(k[1])))]
    demand = []
    for name in f.workload_names:
        ws = [next(w for w in m.workloads if w.name == name) for m in f.months]
        demand.append((Line(f"{name}: peak demand", [w.peak_requests_per_s for w in ws]),
                       Line(f"{name}: provisioned capacity", [w.capacity_requests_per_s for w in ws])))
    sens = [s for s in f.sensitivity if s.horizon_savings_low_usd is not None and s.horizon_savings_high_usd is not None]
    bars = [TornadoBar(SHORT_SENSITIVITY_LABELS[s.parameter], _sensitivity_value(s.unit, s.low_value),
                       _sensitivity_value(s.unit, s.high_value), s.horizon_savings_low_usd, s.horizon_savings_high_usd)
            for s in sens]
    base = next((s.horizon_savings_base_usd for s in sens if s.horizon_savings_base_usd is not None), None)
    model = next((s.model for s in sens if s.model), None)
    return ChartData(months=months, categories=categories,
                     self_hosted_total=[float(m.self_hosted_usd.total) for m in f.months], api_lines=api_lines,
                     break_even={line.label: f.break_even[model].month for line, model in zip(api_lines, f.models)},
                     fleet=fleet, demand=demand, tornado=bars, tornado_base_usd=base, tornado_model=model,
                     bands=bands_chart(f))


# --- the whole view ------------------------------------------------------------------------------

def build(f: Forecast, *, generated_at: str) -> ReportView:
    months = [m.month for m in f.months]
    scenarios, scenario_fleets = _scenario_tables(f)
    absent = [what for what, has in (("scenarios", bool(f.scenarios)), ("sensitivity", bool(f.sensitivity)))
              if not has]
    return ReportView(
        title=f"Capacity plan: {f.plan.name}",
        meta=[("Plan file", f.plan.file or MISSING), ("Months", f"{months[0]} to {months[-1]} ({len(months)})"),
              ("Workloads", ", ".join(f.workload_names)),
              ("Compared API models", ", ".join(model_label(f, model) for model in f.models)),
              ("Generated", generated_at)],
        generated_at=generated_at,
        answer=answer(f, generated_at=generated_at),
        scenarios=scenarios,
        scenario_fleets=scenario_fleets,
        sensitivity=_sensitivity_table(f),
        fleet_choice=_fleet_choice_table(f),
        commitments=_commitments_table(f),
        spot=spot_lines(f),
        fleet=_fleet_table(f),
        continued=_continued_table(f),
        self_hosted=_self_hosted_table(f),
        api_path=_api_path_table(f),
        platform=_platform_table(f),
        api=_api_table(f),
        demand=_demand_table(f),
        assumptions=_assumption_table(f),
        sources=_sources_table(f, generated_at),
        bands=bands_view(f),
        risks=risks(f),
        warnings=warning_lines(f),
        charts=chart_data(f),
        absent=absent,
    )
