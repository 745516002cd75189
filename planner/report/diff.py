"""What changed between two forecasts: totals, break-even, recommendation, fleet per workload and month.

`diff(base, head)` is a pure function over two typed `Forecast`s (its totals include the obligation the
self-hosted fleet signs, and the part of it after the horizon); `to_markdown` renders it as a pull-request
comment and `to_data` as JSON. `planner diff BASE.json HEAD.json` prints either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from planner.forecast.model import BreakEven, Forecast, MonthForecast
from planner.report.format import MISSING, usd_signed, usd_whole
from planner.report.view import DECISION_LABELS, PURCHASE_LABELS


@dataclass(frozen=True)
class MoneyChange:
    label: str
    base_usd: float | None  # None: not in that forecast
    head_usd: float | None

    @property
    def change_usd(self) -> float | None:
        if self.base_usd is None or self.head_usd is None:
            return None
        return self.head_usd - self.base_usd


@dataclass(frozen=True)
class TextChange:
    label: str
    base: str
    head: str

    @property
    def changed(self) -> bool:
        return self.base != self.head


@dataclass(frozen=True)
class FleetChange:
    month: str
    workload: str
    base: str  # the month's fleet lines in words ("—": the workload or month is not in that forecast)
    head: str


@dataclass(frozen=True)
class ForecastDiff:
    base_name: str
    head_name: str
    totals: list[MoneyChange]
    decisions: list[TextChange]  # the recommendation, each workload's decision, each break-even
    workloads_added: list[str]
    workloads_removed: list[str]
    fleet_choice: list[TextChange]  # per workload: the instance type it runs on
    fleet: list[FleetChange] = field(default_factory=list)  # months whose fleet changed


def _maybe(mapping: dict, key):
    """mapping[key], or None when one forecast has the key and the other does not (the report reads
    the forecast by attribute and key, never with `.get`: tests/test_report.py)."""
    return mapping[key] if key in mapping else None


def _period(f: Forecast, key: str):
    if key == "first_12_months" and len(f.months) <= 12:
        return None
    return getattr(f.totals, key)


def _break_even_text(be: BreakEven | None) -> str:
    if be is None:
        return MISSING
    if be.month:
        return f"{be.month}"
    if be.crossing == "in_horizon":
        return f"none (monthly lines cross {be.crossing_month})"
    return "none in horizon"


def fleet_text(m: MonthForecast | None, workload: str) -> str:
    """A month's fleet of one workload in words: '2 × p5.48xlarge reserved 1y + 1 × ... on-demand'."""
    if m is None:
        return MISSING
    w = next((w for w in m.workloads if w.name == workload), None)
    if w is None:
        return MISSING
    parts = [f"{line.count} × {line.instance_type} {PURCHASE_LABELS[line.purchase]}"
             + (f" ({line.region})" if len(w.fleet) > 1 and len({x.region for x in w.fleet}) > 1 else "")
             for line in w.fleet]
    return " + ".join(parts) or "none"


def _choice_text(f: Forecast, workload: str) -> str:
    c = next((c for c in f.fleet_choice if c.workload == workload), None)
    if c is None:
        return MISSING
    return f"{c.instance_type} ({c.gpus_per_instance} × {c.gpu}, TP{c.tp}) in {', '.join(c.regions)}"


def diff(base: Forecast, head: Forecast) -> ForecastDiff:
    totals: list[MoneyChange] = []
    for key in ("horizon", "first_12_months"):
        b, h = _period(base, key), _period(head, key)
        if b is None and h is None:
            continue
        label = "horizon" if key == "horizon" else "first 12 months"
        if key == "horizon" and len(base.months) != len(head.months):
            label += f" ({len(base.months)} → {len(head.months)} months)"
        elif key == "horizon":
            label += f" ({len(base.months)} months)"
        totals.append(MoneyChange(f"Self-hosted, {label}", b.self_hosted_usd if b else None,
                                  h.self_hosted_usd if h else None))
        for model in dict.fromkeys([*base.models, *head.models]):
            totals.append(MoneyChange(f"API path {model}, {label}",
                                      _maybe(b.api_path_usd, model) if b else None,  # a model may be in one only
                                      _maybe(h.api_path_usd, model) if h else None))
    # what the self-hosted fleet signs: reservations over their whole terms, and the part after the horizon
    totals.append(MoneyChange("Obligation signed (reservations, whole terms)", base.obligation_signed_usd,
                              head.obligation_signed_usd))
    totals.append(MoneyChange("Obligation after the horizon", base.obligation_after_horizon_usd,
                              head.obligation_after_horizon_usd))
    decisions = [TextChange("Recommendation", DECISION_LABELS[base.recommendation.decision],
                            DECISION_LABELS[head.recommendation.decision])]
    bw = {d.name: d for d in base.recommendation.workloads}
    hw = {d.name: d for d in head.recommendation.workloads}
    for name in dict.fromkeys([*bw, *hw]):
        def text(d):
            return MISSING if d is None else f"{DECISION_LABELS[d.decision]} ({d.reason})"
        decisions.append(TextChange(f"Decision for {name}", text(_maybe(bw, name)), text(_maybe(hw, name))))
    for model in dict.fromkeys([*base.break_even, *head.break_even]):
        decisions.append(TextChange(f"Break-even vs {model}", _break_even_text(_maybe(base.break_even, model)),
                                    _break_even_text(_maybe(head.break_even, model))))
    names_b, names_h = base.workload_names, head.workload_names
    names = list(dict.fromkeys([*names_b, *names_h]))
    choice = [TextChange(n, _choice_text(base, n), _choice_text(head, n)) for n in names]
    bm = {m.month: m for m in base.months}
    hm = {m.month: m for m in head.months}
    fleet = []
    for month in sorted(set(bm) | set(hm)):
        for n in names:
            b, h = fleet_text(_maybe(bm, month), n), fleet_text(_maybe(hm, month), n)
            if b != h:
                fleet.append(FleetChange(month, n, b, h))
    return ForecastDiff(base_name=base.plan.name, head_name=head.plan.name, totals=totals, decisions=decisions,
                        workloads_added=[n for n in names_h if n not in names_b],
                        workloads_removed=[n for n in names_b if n not in names_h],
                        fleet_choice=choice, fleet=fleet)


def _change_text(c: MoneyChange) -> str:
    if c.change_usd is None:
        return "added" if c.base_usd is None else "removed"
    text = usd_signed(c.change_usd)
    if c.base_usd:
        text += f" ({c.change_usd / c.base_usd * 100:+.1f}%)"
    return text


def _cell(x: str) -> str:
    return x.replace("|", "\\|")


def to_markdown(d: ForecastDiff, *, max_fleet_rows: int = 36) -> str:
    """A Markdown comment for a pull request: totals first, then decisions, workloads and the fleet."""
    name = d.head_name if d.base_name == d.head_name else f"{d.base_name} → {d.head_name}"
    out = [f"### Forecast diff: {name}", "", "| | Base | Head | Change |", "| --- | ---: | ---: | ---: |"]
    for c in d.totals:
        out.append(f"| {_cell(c.label)} | {usd_whole(c.base_usd) if c.base_usd is not None else MISSING} | "
                   f"{usd_whole(c.head_usd) if c.head_usd is not None else MISSING} | {_change_text(c)} |")
    for c in d.decisions:
        out.append(f"| {_cell(c.label)} | {_cell(c.base)} | {_cell(c.head)} | {'changed' if c.changed else 'same'} |")
    out.append("")
    if d.workloads_added or d.workloads_removed:
        parts = []
        if d.workloads_added:
            parts.append("added " + ", ".join(f"`{n}`" for n in d.workloads_added))
        if d.workloads_removed:
            parts.append("removed " + ", ".join(f"`{n}`" for n in d.workloads_removed))
        out += [f"**Workloads:** {'; '.join(parts)}.", ""]
    out += ["**Instance type per workload**", "", "| Workload | Base | Head |", "| --- | --- | --- |"]
    for c in d.fleet_choice:
        mark = " (switch)" if c.changed and MISSING not in (c.base, c.head) else ""
        out.append(f"| {_cell(c.label)} | {_cell(c.base)} | {_cell(c.head)}{mark} |")
    out.append("")
    if d.fleet:
        out += [f"**Fleet per month** ({len(d.fleet)} month × workload change(s))", "",
                "| Month | Workload | Base | Head |", "| --- | --- | --- | --- |"]
        for c in d.fleet[:max_fleet_rows]:
            out.append(f"| {c.month} | {_cell(c.workload)} | {_cell(c.base)} | {_cell(c.head)} |")
        if len(d.fleet) > max_fleet_rows:
            out.append(f"| … | | {len(d.fleet) - max_fleet_rows} more | |")
    else:
        out.append("**Fleet per month:** unchanged.")
    return "\n".join(out) + "\n"


def to_data(d: ForecastDiff) -> dict:
    data = asdict(d)
    for c, row in zip(d.totals, data["totals"]):
        row["change_usd"] = c.change_usd
    for c, row in zip(d.decisions + d.fleet_choice, data["decisions"] + data["fleet_choice"]):
        row["changed"] = c.changed
    return data
