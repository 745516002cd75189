"""`planner diff`: totals, break-even, recommendation and fleet between two forecasts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from planner import cli
from planner.fleet.model import FleetLine
from planner.forecast import serialize
from planner.forecast.model import WorkloadDecision
from planner.report import diff as diff_mod

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_small.json"
PLAN = Path(__file__).parent / "fixtures" / "small-chat" / "plan.yaml"


def small():
    return serialize.load(FIXTURE)


def _with_workload_renamed(f, old: str, new: str):
    """The same forecast with workload `old` called `new` (as if one were removed and one added)."""
    months = [m.model_copy(update={"workloads": [w.model_copy(update={"name": new}) if w.name == old else w
                                                 for w in m.workloads]}) for m in f.months]
    plan = f.plan.model_copy(update={"workloads": [w.model_copy(update={"name": new}) if w.name == old else w
                                                   for w in f.plan.workloads]})
    rec = f.recommendation.model_copy(update={"workloads": [
        d.model_copy(update={"name": new}) if d.name == old else d for d in f.recommendation.workloads]})
    choice = [c.model_copy(update={"workload": new}) if c.workload == old else c for c in f.fleet_choice]
    return f.model_copy(update={"months": months, "plan": plan, "recommendation": rec, "fleet_choice": choice})


def test_diff_of_a_forecast_with_itself_changes_nothing():
    d = diff_mod.diff(small(), small())
    assert all(c.change_usd == 0 for c in d.totals)
    assert not any(c.changed for c in d.decisions + d.fleet_choice)
    assert d.fleet == [] and d.workloads_added == [] and d.workloads_removed == []
    assert "**Fleet per month:** unchanged." in diff_mod.to_markdown(d)


def test_diff_names_added_and_removed_workloads():
    base = small()
    head = _with_workload_renamed(base, "chat", "support")
    d = diff_mod.diff(base, head)
    assert d.workloads_added == ["support"] and d.workloads_removed == ["chat"]
    md = diff_mod.to_markdown(d)
    assert "**Workloads:** added `support`; removed `chat`." in md
    assert "| support | — | g6e.xlarge (1 × L40S, TP1) in eu-central-1 |" in md
    assert "| chat | g6e.xlarge (1 × L40S, TP1) in eu-central-1 | — |" in md
    # every month's fleet moves from one name to the other
    assert {(c.workload, c.base == "—", c.head == "—") for c in d.fleet} == {("chat", False, True),
                                                                             ("support", True, False)}


def test_diff_shows_a_changed_fleet_per_month_and_a_switch():
    base = small()
    m = base.months[1]
    w = m.workloads[0]
    bigger = FleetLine(**{**w.fleet[0].model_dump(), "instance_type": "g6e.2xlarge", "count": 2})
    months = list(base.months)
    months[1] = m.model_copy(update={"workloads": [w.model_copy(update={"fleet": [bigger, *w.fleet[1:]]})]})
    choice = [base.fleet_choice[0].model_copy(update={"instance_type": "g6e.2xlarge"})]
    head = base.model_copy(update={"months": months, "fleet_choice": choice})
    d = diff_mod.diff(base, head)
    # the fixture's 2027-02 runs 3 g6e.xlarge on demand, nothing reserved (test_quotas_cli has the arithmetic:
    # ceil(11.87 requests/s × 1.2 / 4.987) = 3; a whole 1-year term costs more than four months on demand)
    assert [(c.month, c.workload) for c in d.fleet] == [("2027-02", "chat")]
    assert d.fleet[0].base == "3 × g6e.xlarge on-demand"
    assert d.fleet[0].head == "2 × g6e.2xlarge on-demand"
    md = diff_mod.to_markdown(d)
    assert "g6e.2xlarge (1 × L40S, TP1) in eu-central-1 (switch) |" in md
    assert "| 2027-02 | chat | 3 × g6e.xlarge on-demand | 2 × g6e.2xlarge on-demand |" in md


def test_diff_recommendation_and_break_even_changes_are_flagged():
    base = small()
    d0 = base.recommendation.workloads[0]
    rec = base.recommendation.model_copy(update={"decision": "api", "workloads": [
        WorkloadDecision(**{**d0.model_dump(), "decision": "api"})]})
    be = base.break_even["openai/gpt-4o"].model_copy(update={"month": None})
    head = base.model_copy(update={"recommendation": rec, "break_even": {"openai/gpt-4o": be}})
    md = diff_mod.to_markdown(diff_mod.diff(base, head))
    assert "| Recommendation | self-host | API | changed |" in md
    assert "| Decision for chat | self-host (cost) | API (cost) | changed |" in md
    assert "| Break-even vs openai/gpt-4o | 2027-04 | none (monthly lines cross 2027-03) | changed |" in md


def test_diff_cli_on_a_base_and_a_one_and_a_half_times_traffic_forecast(tmp_path, capsys):
    """The issue's check: a 1.5× traffic forecast against the base names both self-hosted totals."""
    high = tmp_path / "high.yaml"
    text = PLAN.read_text(encoding="utf-8").replace("requests_per_day: 263013.698630137",
                                                   f"requests_per_day: {263013.698630137 * 1.5!r}")
    assert text != PLAN.read_text(encoding="utf-8")
    high.write_text(text.replace("snapshot: prices.csv", f"snapshot: {PLAN.parent / 'prices.csv'}"), encoding="utf-8")
    assert cli.run(["forecast", str(high), "--out", str(tmp_path / "head")]) == 0
    capsys.readouterr()
    head = serialize.load(tmp_path / "head" / "forecast.json")
    base = small()
    assert cli.run(["diff", str(FIXTURE), str(tmp_path / "head" / "forecast.json")]) == 0
    md = capsys.readouterr().out
    b, h = base.totals.horizon.self_hosted_usd, head.totals.horizon.self_hosted_usd
    line = next(l for l in md.splitlines() if l.startswith("| Self-hosted, horizon"))
    assert f"${round(b):,}" in line and f"${round(h):,}" in line
    # the token bill scales with traffic: 1.5 × the base's
    api = next(l for l in md.splitlines() if l.startswith("| API path openai/gpt-4o, horizon"))
    tokens = base.totals.horizon.api_usd["openai/gpt-4o"]
    fixed = base.totals.horizon.api_path_usd["openai/gpt-4o"] - tokens
    assert f"${round(1.5 * tokens + fixed):,}" in api
    assert cli.run(["diff", str(FIXTURE), str(tmp_path / "head" / "forecast.json"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"][0]["base_usd"] == pytest.approx(b) and data["totals"][0]["head_usd"] == pytest.approx(h)


def test_diff_of_a_file_that_is_not_a_forecast_is_one_line(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("[]")
    assert cli.run(["diff", str(bad), str(FIXTURE)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {bad}: not a forecast.json") and "\n" not in err


def test_diff_compares_the_obligation_signed():
    """committed-chat signs one 1-year term at $0.50/h: 0.50 × 730 × 12 = $4,380, 0.50 × 730 × 8 = $2,920 of it
    after its 4-month horizon; small-chat signs none."""
    head = serialize.load(Path(__file__).parent / "fixtures" / "forecast_committed.json")
    md = diff_mod.to_markdown(diff_mod.diff(small(), head))
    assert f"| Obligation signed (reservations, whole terms) | $0 | ${0.50 * 730 * 12:,.0f} | +$4,380 |" in md
    assert f"| Obligation after the horizon | $0 | ${0.50 * 730 * 8:,.0f} | +$2,920 |" in md
    back = diff_mod.to_markdown(diff_mod.diff(head, small()))
    assert "| Obligation signed (reservations, whole terms) | $4,380 | $0 | -$4,380 (-100.0%) |" in back
