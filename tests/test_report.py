"""planner.report: Markdown (golden), self-contained HTML, the answer, CSV, write(), from a typed Forecast.

The fixture tests/fixtures/forecast_small.json is the real forecast of tests/fixtures/small-chat/plan.yaml
(regenerate as that file says). Numbers are checked against arithmetic written out here, from the
plan's inputs and the fixture's own line items; the golden file checks the rendering only.
"""

from __future__ import annotations

import ast
import csv
import math
import io
import json
import os
import re
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from planner import report
from planner.forecast import serialize
from planner.forecast.model import (BreakEven, FleetChange, FleetChoice, QuotasNotCheckedWarning, SpotShareWarning,
                                    ThreeYearTermWarning, UnusedCommitmentsWarning)
from planner.plan import ApiModelRef
from planner.report import view

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = Path(__file__).parent / "fixtures" / "forecast_small.json"
# tests/fixtures/committed-chat/plan.yaml: the small plan with cheap reservations (a 1-year term runs past the
# horizon), up to 70 % spot, and gpt-4o at a 20 % discount with half the input tokens cached
COMMITTED = Path(__file__).parent / "fixtures" / "forecast_committed.json"
GOLDEN = Path(__file__).parent / "golden" / "report_small.md"
GENERATED_AT = "2027-01-15 09:00 UTC"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
MODEL = "openai/gpt-4o"


def small():
    return serialize.load(FIXTURE)


def committed():
    return serialize.load(COMMITTED)


def _whole(x: float) -> int:
    return int(Decimal(repr(x)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _dollars(text: str) -> int:
    return int(text.replace("$", "").replace(",", ""))


# --- external references in HTML ---------------------------------------------------------------

FETCH_ATTRS = {"src", "href", "xlink:href", "srcset", "action", "poster", "data", "background",
               "formaction", "manifest", "ping", "codebase", "cite", "longdesc"}


class _Scan(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.problems: list[str] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag in ("script", "link", "iframe", "object", "embed", "img", "base", "frame", "audio", "video"):
            self.problems.append(f"<{tag}> element")
        if tag == "meta" and any(k == "http-equiv" and (v or "").lower() == "refresh" for k, v in attrs):
            self.problems.append("meta refresh")
        for name, value in attrs:
            value = value or ""
            if name in FETCH_ATTRS and value and not value.startswith("#"):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if re.search(r"(https?:)?//", value):
                self.problems.append(f"URL in <{tag} {name}={value[:60]!r}>")
            if name == "style":
                self.styles.append(value)
            if name.startswith("on"):
                self.problems.append(f"event handler <{tag} {name}>")
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)


def external_references(html: str) -> list[str]:
    """What in `html` would make a browser fetch something (or run code); [] for a self-contained page."""
    scan = _Scan()
    scan.feed(html)
    scan.close()
    problems = list(scan.problems)
    for css in scan.styles:
        if "@import" in css:
            problems.append("@import in CSS")
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]*)", css):
            if not ref.startswith("#"):
                problems.append(f"url({ref}) in CSS")
    return problems


def test_external_references_catches_fetches():
    bad = ('<html><head><link rel="stylesheet" href="https://x.test/a.css"><style>@import "b.css";'
           'body{background:url(http://x.test/i.png)}</style></head><body><img src="a.png">'
           '<svg><image href="//x.test/y.png"/></svg><script src="s.js"></script></body></html>')
    found = external_references(bad)
    assert len(found) >= 6, found
    assert external_references('<html><body><a href="#fleet">x</a><p>see https://aws.amazon.com</p></body></html>') == []


# --- the numbers, by hand ----------------------------------------------------------------------

def test_report_fixture_numbers_follow_from_the_plan_by_hand():
    """tests/fixtures/small-chat: 8,000,000 requests in 2027-01, growing 30 % a month; 1,000 in / 250 out.

    API (gpt-4o at $2.50 / $10 per million tokens): 8e6 × (1,000 × 2.5e-6 + 250 × 10e-6) = $40,000;
      × 1.3 = $52,000, $67,600, $87,880; 4-month tokens $247,480; the API path adds $500 data/eval a
      month: $249,480.
    Compute: the reserved_1y instance at $1.40 × 730 h = $1,022 a month; on-demand at $2.00/h for its
      billed hours. People: 2 × $20,000; data/eval $100; compliance $50; buffer 30 % of the rest.
    """
    f = small()
    requests = [8e6 * 1.3 ** k for k in range(4)]
    api = [r * (1000 * 2.5e-6 + 250 * 10e-6) for r in requests]
    assert [round(a, 2) for a in api] == [40000.0, 52000.0, 67600.0, 87880.0]
    for m, a in zip(f.months, api):
        w = m.workloads[0]
        assert w.api_usd[MODEL] == pytest.approx(a)
        assert m.api_path_usd[MODEL] == pytest.approx(a + 500)
        assert w.requests == pytest.approx(requests[f.months.index(m)])
        compute = 0.0
        for line in w.fleet:
            rate = {"reserved_1y": 1.40, "on_demand": 2.00, "spot": 1.00}[line.purchase]
            assert line.usd_per_hour == pytest.approx(rate)
            if line.purchase == "reserved_1y":
                assert line.hours == 730
            compute += line.count * rate * line.hours
        s = m.self_hosted_usd
        assert s.compute == pytest.approx(compute, abs=0.01)
        assert s.platform == pytest.approx(w.platform_usd.total, abs=0.05)  # each item rounded to the cent
        assert (s.people, s.data_eval, s.compliance, s.retraining) == (40000.0, 100.0, 50.0, 0.0)
        before = compute + s.platform + 40000 + 100 + 50
        assert s.buffer == pytest.approx(0.3 * before, abs=0.05)
        assert s.total == pytest.approx(1.3 * before, abs=0.05)
    assert sum(api) == pytest.approx(247480.0)
    assert f.totals.horizon.api_path_usd[MODEL] == pytest.approx(249480.0)
    # where the monthly lines cross: API path minus self-hosted changes sign between two months,
    # interpolated linearly in requests
    diffs = [m.api_path_usd[MODEL] - m.self_hosted_usd.total for m in f.months]
    k = next(i for i, d in enumerate(diffs) if d >= 0)
    volume = requests[k - 1] + (-diffs[k - 1]) / (diffs[k] - diffs[k - 1]) * (requests[k] - requests[k - 1])
    be = f.break_even[MODEL]
    assert be.crossing == "in_horizon" and be.crossing_month == f.months[k].month == "2027-03"
    assert be.monthly_requests == pytest.approx(volume)
    cum_s = cum_a = 0.0
    first = None
    for m in f.months:
        cum_s += m.self_hosted_usd.total
        cum_a += m.api_path_usd[MODEL]
        first = first or (m.month if cum_s <= cum_a else None)
    assert be.month == first == "2027-04"


# --- Markdown: golden file and the answer --------------------------------------------------------

def test_report_markdown_matches_golden():
    """report.md of the fixture. Regenerate with UPDATE_GOLDEN=1 only after checking the diff by hand."""
    text = report.render_markdown(small(), generated_at=GENERATED_AT)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def _answer(md: str) -> dict[str, str]:
    section = md.split("## The answer", 1)[1].split("\n## ", 1)[0]
    out = {}
    for line in section.splitlines():
        mo = re.match(r"- \*\*(\w[\w -]*):\*\* (.*)$", line)
        if mo:
            out[mo.group(1)] = mo.group(2)
    return out


def check_answer_against_json(md: str, data: dict) -> int:
    """Every dollar figure and volume in the answer equals the matching figure in forecast.json; returns how many."""
    lines = _answer(md)
    assert list(lines)[:4] == ["Recommendation", "Break-even", "Totals", "Obligation"] and list(lines)[-1] == "Data"
    checked = 0
    obligation = lines["Obligation"]
    signed = sum(c["usd_total"] for c in data["commitments"])
    after = sum(c["usd_after_horizon"] for c in data["commitments"])
    if not data["commitments"]:
        assert obligation.startswith("none: ") and "$" not in obligation, obligation
    else:
        figures = [_dollars(x) for x in re.findall(r"\$[\d,]+", obligation)]
        buffered = after * (1 + data["plan"]["costs"]["uncertainty_buffer"])
        assert figures == ([_whole(signed)] + ([_whole(after), _whole(buffered)] if after > 0 else [])), obligation
        checked += len(figures)
    continued = data["if_demand_continues"]
    if continued["months_after_horizon"] == 0:
        assert "If demand continues" not in lines
    else:
        text = lines["If demand continues"]
        assert f"through {continued['through_month']}" in text
        assert _dollars(re.search(r"self-hosted (\$[\d,]+)", text).group(1)) == _whole(continued["self_hosted_usd"])
        found = dict(re.findall(r"API path (\S+) (\$[\d,]+)", text))
        assert {m: _dollars(v) for m, v in found.items()} == {
            m: _whole(v) for m, v in continued["api_path_usd"].items()}
        checked += 1 + len(found)
    periods = lines["Totals"].split(" · ")
    keys = ["first_12_months", "horizon"] if len(data["months"]) > 12 else ["horizon"]
    assert len(periods) == len(keys)
    for key, part in zip(keys, periods):
        t = data["totals"][key]
        assert _dollars(re.search(r"self-hosted (\$[\d,]+)", part).group(1)) == _whole(t["self_hosted_usd"])
        found = re.findall(r"API path (\S+) (\$[\d,]+) \(tokens (\$[\d,]+)\)", part)
        assert {m for m, _, _ in found} == set(t["api_usd"])
        for model, path_usd, tok_usd in found:
            assert _dollars(path_usd) == _whole(t["api_path_usd"][model])
            assert _dollars(tok_usd) == _whole(t["api_usd"][model])
        assert len(re.findall(r"\$[\d,]+", part)) == 1 + 2 * len(found), part
        checked += 1 + 2 * len(found)
    be = lines["Break-even"]
    for model, entry in data["break_even"].items():
        mine = re.search(rf"vs {re.escape(model)}: ([^;]*); ([^;]*)", be)
        assert mine, (model, be)
        cross, cum = mine.groups()
        if entry["crossing"] == "in_horizon":
            mo = re.fullmatch(r"the monthly lines cross in (\d{4}-\d\d)(?: at ([\d,]+) requests/month)?", cross)
            assert mo and mo.group(1) == entry["crossing_month"], cross
            if entry["monthly_requests"] is not None:
                assert int(mo.group(2).replace(",", "")) == _whole(entry["monthly_requests"])
                checked += 1
        elif entry["crossing"] == "at_start":
            assert cross == "self-hosting is cheaper from the first month"
        else:
            assert cross.startswith("the monthly lines do not cross")
        if entry["month"]:
            assert cum == f"cumulative break-even in {entry['month']}"
        else:
            assert cum.startswith("no cumulative break-even within")
    rec = data["recommendation"]
    assert lines["Recommendation"].startswith(view.DECISION_LABELS[rec["decision"]] + " — ")
    for w in rec["workloads"]:
        assert f"{w['name']}: {view.DECISION_LABELS[w['decision']]} ({w['reason']}:" in lines["Recommendation"]
    return checked


@pytest.mark.parametrize("load, figures", [(small, 4), (committed, 4 + 3 + 2)], ids=["small", "committed"])
def test_report_answer_numbers_equal_forecast_json(load, figures):
    f = load()
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    assert check_answer_against_json(md, json.loads(serialize.to_json(f))) == figures
    # the terminal lines say the same
    assert [l.split(": ", 1)[1] for l in report.answer_lines(f, generated_at=GENERATED_AT)] == list(_answer(md).values())


def test_report_answer_says_where_the_monthly_lines_cross():
    f = small()
    text = report.answer_lines(f, generated_at=GENERATED_AT)[1]
    # API path minus self-hosted (the months' totals: 1.3 × (on-demand compute + platform + $40,150)):
    #   2027-02: 52,500 − 1.3 × (3 × 2.00 × 385.28 + 298.63 + 40,150) = 52,500 − 55,588.39 = −3,088.39
    #   2027-03: 68,100 − 1.3 × (4 × 2.00 × 357.40 + 340.52 + 40,150) = 68,100 − 56,354.59 = +11,745.41
    # the lines cross in 2027-03, at 10.4M + 3,088.39 / (3,088.39 + 11,745.41) × (13.52M − 10.4M) requests
    feb = 52_500 - 1.3 * (3 * 2.00 * 385.2777777777778 + 298.63 + 40_150)
    mar = 68_100 - 1.3 * (4 * 2.00 * 357.39583333333337 + 340.52 + 40_150)
    volume = 10.4e6 + -feb / (mar - feb) * (13.52e6 - 10.4e6)
    assert _whole(volume) == 11_049_582
    assert text == ("Break-even: vs openai/gpt-4o: the monthly lines cross in 2027-03 at 11,049,582 requests/month; "
                    "cumulative break-even in 2027-04")
    cases = {
        BreakEven(month=None, crossing="in_horizon", crossing_month="2027-04", monthly_requests=17e6):
            "the monthly lines cross in 2027-04 at 17,000,000 requests/month; no cumulative break-even within the "
            "4-month horizon",
        BreakEven(month="2027-01", crossing="at_start", crossing_month="2027-01", monthly_requests=None):
            "self-hosting is cheaper from the first month; cumulative break-even in 2027-01",
        BreakEven(month=None, crossing="none", crossing_month=None, monthly_requests=None):
            "the monthly lines do not cross (self-hosting costs more every month); no cumulative break-even within "
            "the 4-month horizon",
    }
    for be, expected in cases.items():
        g = f.model_copy(update={"break_even": {MODEL: be}})
        assert report.answer_lines(g, generated_at=GENERATED_AT)[1] == f"Break-even: vs {MODEL}: {expected}"


def test_report_answer_gives_the_reason_that_decided():
    f = small()
    rec = report.answer_lines(f, generated_at=GENERATED_AT)[0]
    # one workload: everything each path costs over the horizon
    assert rec == ("Recommendation: self-host — chat: self-host (cost: over the 4-month horizon self-hosting "
                   f"${_whole(f.totals.horizon.self_hosted_usd):,} all in (people, platform and the 30% buffer "
                   f"included), the API path on openai/gpt-4o ${_whole(f.recommendation.all_api_horizon_usd):,})")
    d = f.recommendation.workloads[0]
    for reason, words in (("residency", "api_allowed: false"), ("latency", "api_meets_slo: false")):
        g = f.model_copy(update={"recommendation": f.recommendation.model_copy(
            update={"workloads": [d.model_copy(update={"reason": reason})]})})
        assert f"(self-host ({reason}: " in report.answer_lines(g, generated_at=GENERATED_AT)[0].replace(
            "chat: self-host (", "(self-host (")
        assert words in report.answer_lines(g, generated_at=GENERATED_AT)[0]


def test_report_answer_states_the_data_age_against_the_generation_date():
    f = small()
    data = report.answer_lines(f, generated_at=GENERATED_AT)[-1]
    # the snapshot is dated 2026-07 (counted from 2026-07-01): 2027-01-15 is 184 + 14 = 198 days later
    days = (31 + 31 + 30 + 31 + 30 + 31) + 14
    assert days == 198
    assert f"AWS instance prices dated 2026-07, {days} days old on 2027-01-15 (older than 90 days" in data
    assert "marked “verify”" in data  # the platform prices are read from general knowledge
    assert "API token prices from genai-prices" in data and "priced for 2027-01-01." in data
    early = report.answer_lines(f, generated_at="2026-08-01 00:00 UTC")[-1]
    assert "31 days old on 2026-08-01;" in early and "older than" not in early.split(";")[0]
    assert "after the generation date" in early  # API prices for the plan's first month, in the future
    # forecast.json does not depend on the day: the age lives in the report only
    assert "days old" not in serialize.to_json(f)


def test_report_answer_states_the_obligation_signed():
    """The obligation the self-hosted fleet signs, between the totals and the data's age.

    small-chat buys no reservation (a whole 1-year term, 1.40 × 730 × 12 = $12,264, costs more than one instance on
    demand all four months, 2.00 × 730 × 4 = $5,840). committed-chat's 1-year term at $0.50/h costs
    0.50 × 730 × 12 = $4,380, less than those $5,840, so one is bought in 2027-01: 0.50 × 730 × 4 = $1,460 falls
    in the horizon, 0.50 × 730 × 8 = $2,920 after it, charged in 2027-01 with the 30 % buffer: $3,796.
    """
    lines = report.answer_lines(small(), generated_at=GENERATED_AT)
    assert lines[3] == "Obligation: none: the self-hosted fleet signs no reservation, so nothing is owed after 2027-04"
    assert not any(line.startswith("If demand continues") for line in lines)
    assert 1.40 * 730 * 12 > 2.00 * 730 * 4 > 0.50 * 730 * 12
    signed, inside, after = 0.50 * 730 * 12, 0.50 * 730 * 4, 0.50 * 730 * 8
    assert (signed, inside, after, round(after * 1.3, 2)) == (4380, 1460, 2920, 3796)
    lines = report.answer_lines(committed(), generated_at=GENERATED_AT)
    assert lines[3] == (
        "Obligation: the self-hosted fleet signs $4,380 of reservations over their whole terms (1 instance in "
        "1 reservation, reserved 1y, ending 2027-12); $2,920 of it falls after the horizon and is charged in the "
        "month signed ($3,796 with the 30% buffer), so the totals include it. The cumulative break-even counts it "
        "from signing; the monthly crossing compares running costs without it")
    assert committed().months[0].self_hosted_usd.committed_after_horizon == after
    # several reservations, all inside the horizon: counted, and nothing after it
    c = committed().commitments[0]
    both = [c.model_copy(update={"count": 2, "usd_total": 8760.0, "usd_in_horizon": 8760.0, "usd_after_horizon": 0.0}),
            c.model_copy(update={"purchase": "reserved_3y", "start_month": "2027-02", "end_month": "2030-01",
                                 "usd_total": 0.40 * 730 * 36, "usd_in_horizon": 0.40 * 730 * 36,
                                 "usd_after_horizon": 0.0})]
    g = committed().model_copy(update={"commitments": both})
    assert view._obligation_line(g).text == (
        f"the self-hosted fleet signs ${8760 + 10512:,} of reservations over their whole terms (3 instances in "
        "2 reservations, reserved 3y and reserved 1y, the last ending 2030-01); all of it is paid inside the 4-month "
        "horizon")


def test_report_if_demand_continues_next_to_the_horizon():
    """committed-chat's reservation runs to 2027-12, 8 months past the horizon: 2027-04 is held until then.

    API path: gpt-4o at $2.50 (input), $1.25 (cached input), $10 (output) per million tokens, half the input
    cached, 20 % off: 8e6 × (1,000 × (0.5 × 2.50 + 0.5 × 1.25) + 250 × 10) / 1e6 × 0.8 = $28,000 in 2027-01;
    2027-04: 28,000 × 1.3³ + $500 = $62,016 a month, so 8 more months are $496,128 and the horizon
    28,000 × (1 + 1.3 + 1.3² + 1.3³) + 4 × 500 = $175,236. Self-hosted: the horizon without the obligation after
    it ($2,920 × 1.3) plus 8 months at 2027-04's cost (the reservation still runs; the fixture's month total).
    """
    f = committed()
    tokens = 8e6 * (1000 * (0.5 * 2.50 + 0.5 * 1.25) + 250 * 10) / 1e6 * 0.8
    assert round(tokens, 2) == 28_000
    month4 = tokens * 1.3 ** 3 + 500
    horizon_api = tokens * (1 + 1.3 + 1.3 ** 2 + 1.3 ** 3) + 4 * 500
    assert (round(month4, 2), round(8 * month4, 2), round(horizon_api, 2)) == (62_016, 496_128, 175_236)
    c = f.if_demand_continues
    assert (c.months_after_horizon, c.through_month) == (8, "2027-12")
    assert c.api_path_after_horizon_usd[MODEL] == pytest.approx(8 * month4)
    assert c.self_hosted_after_horizon_usd == pytest.approx(8 * f.months[-1].self_hosted_usd.total, abs=0.1)
    assert c.self_hosted_usd == pytest.approx(f.totals.horizon.self_hosted_usd - 2920 * 1.3
                                              + c.self_hosted_after_horizon_usd, abs=0.01)
    lines = report.answer_lines(f, generated_at=GENERATED_AT)
    assert lines[4] == (f"If demand continues: 2027-04's demand and fleet held for 8 more months, through 2027-12 "
                        f"when the last reservation ends (12 months in all): self-hosted "
                        f"${_whole(c.self_hosted_usd):,}, API path openai/gpt-4o ${_whole(horizon_api + 8 * month4):,}")
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    assert "| Path | Horizon, 4 months | After it, 8 months | If demand continues, 12 months |" in md
    assert (f"| Self-hosted | {_whole(f.totals.horizon.self_hosted_usd):,} | "
            f"{_whole(c.self_hosted_after_horizon_usd):,} | {_whole(c.self_hosted_usd):,} |") in md
    assert "| API path: openai/gpt-4o | 175,236 | 496,128 | 671,364 |" in md
    assert "($3,796 with the buffer)" in md
    assert ("**The horizon and if demand continues (USD):** no reservation runs past 2027-04, so if demand continues "
            "nothing more is owed and the totals are the horizon's.") in report.render_markdown(
        small(), generated_at=GENERATED_AT)


def test_report_commitments_table_and_the_category_charged_when_signed():
    md = report.render_markdown(committed(), generated_at=GENERATED_AT)
    assert ("| Instance type | Purchase | Instances | First month | Last month | USD/hour | Total (USD) | "
            "In horizon (USD) | After horizon (USD) |") in md
    # 0.50 × 730 × 12 = 4,380 = 1,460 in the horizon (4 months) + 2,920 after it (8 months)
    assert "| g6e.xlarge | reserved 1y | 1 | 2027-01 | 2027-12 | 0.50 | 4,380 | 1,460 | 2,920 |" in md
    # the self-hosted table carries the $2,920 in 2027-01, the month signed, and buffers it
    header = ("| Month | Compute | Platform | People | Data & eval | Compliance | Retraining | "
              "Committed after horizon | Buffer | Total |")
    assert header in md
    jan = committed().months[0].self_hosted_usd
    row = next(line for line in md.splitlines() if line.startswith("| 2027-01 | 1,095 |"))
    assert row.split(" | ")[7] == "2,920"
    assert jan.buffer == pytest.approx(0.3 * (jan.compute + jan.platform + 40_150 + 2920), abs=0.05)
    assert "charged in the month it is signed" in md
    assert ("**Reservations signed:** the fleet buys none; it runs on demand (and on spot where the plan allows it), "
            "month by month.") in report.render_markdown(small(), generated_at=GENERATED_AT)
    # a second workload and region get their columns, and several reservations a total row
    f = committed()
    c = f.commitments[0]
    g = f.model_copy(update={"commitments": [c, c.model_copy(update={"region": "eu-west-1", "count": 2,
                                                                        "usd_total": 8760.0, "usd_in_horizon": 2920.0,
                                                                        "usd_after_horizon": 5840.0})]})
    t = view._commitments_table(g)
    assert t.headers[:2] == ["Region", "Instance type"]
    assert t.rows[-1] == ["", "Total", "", "3", "", "", "", "13,140", "4,380", "8,760"]


def test_report_spot_prices_one_line_each():
    """committed-chat runs spot in 2027-04 only: 3 instances × $1.00 (the snapshot's dearest zone,
    spot_max_usd_per_hour) × 152.08 h each = $456; the cheapest zone quotes the same $1.00."""
    f = committed()
    assert view.spot_lines(f) == [
        "chat, g6e.xlarge in eu-central-1: spot at $1.00/h, the dearest zone's price; zones from $1.00/h (cheapest) "
        f"to $1.00/h (dearest); on-demand $2.00/h; spot over the horizon ${_whole(3 * 1.00 * 152.0833333):,} at this "
        "rate, $456 at the cheapest zone's."]
    assert view.spot_lines(small())[0].endswith("on-demand $2.00/h; the fleet runs no spot at this rate.")
    # a snapshot that knows only the cheapest zone: 0.6 × on-demand, the dearest zone unknown
    s = f.spot_prices[0].model_copy(update={
        "basis": "on_demand_fraction", "on_demand_fraction": 0.6, "usd_per_hour": 1.2, "lowest_zone_usd_per_hour": 0.8,
        "highest_zone_usd_per_hour": None, "spot_usd": 1200.0, "spot_usd_at_lowest_zone": 800.0})
    assert view.spot_lines(f.model_copy(update={"spot_prices": [s]})) == [
        "chat, g6e.xlarge in eu-central-1: spot at $1.20/h, 0.6 × on-demand (the snapshot knows only the cheapest "
        "zone); zones from $0.80/h (cheapest) to unknown (dearest); on-demand $2.00/h; spot over the horizon $1,200 "
        "at this rate, $800 at the cheapest zone's."]
    # the cheapest zone's quote: the only zone known and dearer than 0.6 × on-demand, or asked for by the plan
    cheapest = s.model_copy(update={"basis": "lowest_zone", "on_demand_fraction": None, "usd_per_hour": 1.5,
                                    "lowest_zone_usd_per_hour": 1.5})
    g = f.model_copy(update={"spot_prices": [cheapest]})
    assert "spot at $1.50/h, the cheapest zone's quote (the only zone known, dearer than 0.6 × on-demand);" in \
        view.spot_lines(g)[0]
    asked = g.model_copy(update={"plan": g.plan.model_copy(update={
        "pricing": g.plan.pricing.model_copy(update={"spot_basis": "lowest_zone"})})})
    assert "the cheapest zone's quote (the plan asks for it: pricing.spot_basis: lowest_zone);" in \
        view.spot_lines(asked)[0]
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    assert "**Spot prices**\n\n- chat, g6e.xlarge in eu-central-1: spot at $1.00/h" in md


def test_report_risks_name_spot_unavailable_and_the_obligation_after_the_horizon():
    """Spot gone for all of 2027-04: its 3 spot instances (10 % overhead: floor(3 / 1.1) = 2 instances of capacity)
    are replaced by 2 on demand, 2 × $2.00 − 3 × $1.00 = $1.00 more for each of their 152.08 hours: $152."""
    risks = view.risks(committed())
    assert math.floor(3 / 1.1) == 2 and _whole((2 * 2.00 - 3 * 1.00) * 152.0833333) == 152
    assert ("Spot unavailable: if chat could get no spot capacity for all of 2027-04, on-demand instances replacing "
            "its 3 spot instances would add $152 to that month's compute (before the buffer; reservations unchanged); "
            "spot runs in 1 of the horizon's 4 months.") in risks
    assert ("Commitment: $2,920 of reservations is owed after 2027-04 (through 2027-12) whatever demand does then; if "
            "traffic falls or moves to the API, it pays for idle instances.") in risks
    assert not any(r.startswith(("Spot unavailable", "Commitment")) for r in view.risks(small()))


# --- sentences from codes ------------------------------------------------------------------------

def test_report_every_warning_code_becomes_a_sentence():
    f = small().model_copy(update={"warnings": [
        SpotShareWarning(workload="chat", share=0.4737, month="2027-03"),
        ThreeYearTermWarning(horizon_months=4, term_months=36, instances_bought=1, usd_after_horizon=8176.4),
        UnusedCommitmentsWarning(workload="chat", usd=1234.5),
        QuotasNotCheckedWarning()]})
    assert report.warning_lines(f) == [
        "chat: spot carries up to 47% of peak instances (2027-03); an interruption wave falls back to on-demand at "
        "list price",
        "the plan allows 36-month (3-year) reservations but looks only 4 months ahead: such a term is paid in full, "
        "and counted in full in the totals, whatever demand does after the horizon; this forecast buys 1 instance on "
        "such terms, $8,176 of it due after the horizon",
        "chat: $1,235 of committed (reserved) hours go unused off-peak over the horizon; they are still paid",
        view.QUOTAS_NOT_CHECKED]
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    for line in report.warning_lines(f):
        assert f"- {line}" in md
    # allowed, not bought (committed-chat: a 3-year term at 0.40 × 730 × 36 = $10,512 costs more than the 1-year one)
    assert ("the plan allows 36-month (3-year) reservations but looks only 4 months ahead: such a term is paid in "
            "full, and counted in full in the totals, whatever demand does after the horizon; this forecast buys "
            "none") in report.warning_lines(committed())


def test_report_renders_nothing_of_the_removed_commitments_past_horizon():
    for f in (small(), committed()):
        for text in (report.render_markdown(f, generated_at=GENERATED_AT),
                     report.render_html(f, generated_at=GENERATED_AT), report.to_csv(f)):
            assert "commitments_past_horizon" not in text and "run past the horizon:" not in text


def test_report_triggers_become_sentences():
    f = small()
    rec = f.recommendation
    lines = [view.trigger_sentence(t, f) for t in rec.triggers]
    volume = next(t for t in rec.triggers if t.kind == "volume")
    saving = volume.api_usd - volume.self_hosted_usd
    assert (f"Volume: chat on openai/gpt-4o costs ${_whole(volume.api_usd):,} over the 4-month horizon, its own "
            f"fleet and platform ${_whole(volume.self_hosted_usd):,} with the buffer (saves ${_whole(saving):,} "
            "before shared people and compliance costs).") in lines
    assert "Spend threshold: chat on openai/gpt-4o passes $10,000/month in 2027-01." in lines


def test_report_risks_read_the_forecasts_own_figures():
    f = small().model_copy(update={
        "warnings": [SpotShareWarning(workload="chat", share=0.25, month="2027-02")],
        "quota_needs_vcpus": {"eu-central-1": {"on_demand_g": 20.0, "spot_g": 8.0}}})
    risks = view.risks(f)
    assert ("Spot exposure: chat runs up to 25% of its busiest-hour instances on spot (2027-02); an interruption "
            "removes that capacity until on-demand replaces it.") in risks
    assert ("Quota: eu-central-1 must allow 20 vCPUs of Running On-Demand G and VT instances (L-DB2E81BA) at the "
            "busiest month (prod + staging + dev, largest launchable type); check the account's quota before "
            "provisioning.") in risks
    assert any(r.startswith("Quota: eu-central-1 must allow 8 vCPUs of All G and VT Spot Instance Requests") for r in risks)
    assert not any(r.startswith("Spot exposure") for r in view.risks(small()))  # the fixture's fleet has no spot


def test_report_scenario_rows_show_the_fleet_and_call_out_a_switch():
    """Fleet changes come from the forecast's `fleet_changes` (scenarios and sensitivity sides), at peak instances."""
    f = small()
    base = f.fleet_choice[0]
    other = FleetChoice(**{**base.model_dump(), "instance_type": "g6e.12xlarge", "gpus_per_instance": 4, "tp": 4,
                           "peak_instances": 2, "peak_month": "2027-03"})
    low_change = FleetChange(source="scenario", name="low", side="low", workload="chat",
                             changed=["instance_type", "tp"], base=base, other=other)
    traffic_change = low_change.model_copy(update={"source": "sensitivity", "name": "traffic"})
    low = f.scenarios[0].model_copy(update={"fleet_choice": [other], "fleet_changes": [low_change]})
    traffic = f.sensitivity[0].model_copy(update={"fleet_changes": [traffic_change]})
    g = f.model_copy(update={"scenarios": [low, *f.scenarios[1:]], "sensitivity": [traffic, *f.sensitivity[1:]]})
    md = report.render_markdown(g, generated_at=GENERATED_AT)
    assert "| low | chat 15% | 2 × g6e.12xlarge (4 × L40S, TP4), instead of 5 × g6e.xlarge (1 × L40S, TP1) |" in md
    assert "| base | chat 30% | 5 × g6e.xlarge (1 × L40S, TP1) |" in md  # base.peak_instances: 5 in 2027-04
    said = ("In the low scenario, chat runs 2 × g6e.12xlarge (4 × L40S, TP4) instead of 5 × g6e.xlarge "
            "(1 × L40S, TP1).")
    assert said in view._scenario_tables(g)[1].note
    sens = ("In the sensitivity's traffic ×0.7, chat runs 2 × g6e.12xlarge (4 × L40S, TP4) instead of "
            "5 × g6e.xlarge (1 × L40S, TP1).")
    assert sens in view._sensitivity_table(g).note
    assert view.fleet_switches(g) == [said, sens]
    assert f"Fleet change: i{said[1:]}" in view.risks(g)
    # a region change names both regions
    moved = low_change.model_copy(update={"changed": ["regions"], "other": base.model_copy(
        update={"regions": ["eu-west-1"], "peak_instances": 6})})
    assert view.fleet_change_sentence(moved, g) == (
        "In the low scenario, chat runs 6 × g6e.xlarge (1 × L40S, TP1) in eu-west-1 instead of 5 × g6e.xlarge "
        "(1 × L40S, TP1) in eu-central-1.")
    assert "Every scenario runs on the base fleet's instance type." in report.render_markdown(
        f, generated_at=GENERATED_AT)


def test_report_scenarios_show_the_api_price_multiplier():
    md = report.render_markdown(committed(), generated_at=GENERATED_AT)
    assert "| Scenario | Traffic | Spot prices | API prices | Self-hosted, horizon (USD) |" in md
    # committed-chat: scenarios.api_price_low 0.8, api_price_high 1.2
    assert "| low | ×0.7 | ×0.8 | ×0.8 |" in md and "| base | ×1 | ×1 | ×1 |" in md
    assert "| high | ×1.5 | ×1.5 | ×1.2 |" in md
    assert "| API prices | ×0.5 | ×1.2 |" in md  # the sensitivity's row


def test_report_names_each_models_discount_and_cached_share():
    f = committed()
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    assert "Compared API models: openai/gpt-4o (20% discount, 50% of input tokens cached)" in md
    assert ("Tokens only, as paid: openai/gpt-4o (20% discount, 50% of input tokens cached). Cached input tokens are "
            "priced at the provider's cached-input rate (genai-prices); a discount scales the whole bill.") in md
    assert "Compared API models: openai/gpt-4o  " in report.render_markdown(small(), generated_at=GENERATED_AT)
    # per workload when two workloads pay differently; the plan's multiplier said in the note
    w = f.plan.workloads[0]
    other = w.model_copy(update={"name": "batch", "compare_with": [ApiModelRef(model=MODEL)]})
    g = f.model_copy(update={"plan": f.plan.model_copy(update={
        "workloads": [w, other], "pricing": f.plan.pricing.model_copy(update={"api_price_multiplier": 1.1})})})
    assert view.model_label(g, MODEL) == (
        "openai/gpt-4o (chat: 20% discount, 50% of input tokens cached; batch: list price)")
    assert view._api_table(f.model_copy(update={"plan": g.plan})).note.startswith(
        "Tokens only, as paid: openai/gpt-4o (chat: 20% discount, 50% of input tokens cached; batch: list price); "
        "every bill × 1.1 (pricing.api_price_multiplier).")


def test_report_same_content_in_markdown_and_html():
    f = small()
    md = report.render_markdown(f, generated_at=GENERATED_AT)
    html = report.render_html(f, generated_at=GENERATED_AT)
    import html as htmllib

    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", html))
    for a in view.answer(f, generated_at=GENERATED_AT):
        assert a.text in text
    for figure in set(re.findall(r"-?\$?\d[\d,]*\.?\d*", md)):
        assert figure in text, figure


# --- HTML ----------------------------------------------------------------------------------------

def test_report_html_is_self_contained_and_prints():
    html = report.render_html(small(), generated_at=GENERATED_AT)
    assert external_references(html) == []
    assert html.startswith("<!DOCTYPE html>")
    assert "@media print" in html and "size: A4 landscape" in html
    assert html.count("<svg") == 10  # cost, cumulative, fleet, demand, tornado: wide and narrow each
    assert html.index('id="answer"') < html.index("<svg")  # the answer comes first
    assert GENERATED_AT in html
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1][:5]


def test_report_html_is_deterministic():
    assert report.render_html(small(), generated_at=GENERATED_AT) == report.render_html(small(),
                                                                                        generated_at=GENERATED_AT)


def test_report_html_without_scenarios_says_so():
    f = small().model_copy(update={"scenarios": [], "sensitivity": []})
    html = report.render_html(f, generated_at=GENERATED_AT)
    assert "Not computed in this forecast: scenarios, sensitivity." in html
    assert html.count("<svg") == 8  # no tornado
    assert external_references(html) == []


# --- CSV -----------------------------------------------------------------------------------------

def test_report_to_csv_is_tidy_and_sums_to_the_totals():
    f = small()
    text = report.to_csv(f)
    assert text == report.to_csv(small())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["month", "workload", "category", "item", "quantity", "unit", "usd"]
    keys = [(r["month"], r["workload"], r["category"], r["item"]) for r in rows]
    assert len(keys) == len(set(keys))  # one row per month × workload × line item
    assert all(re.fullmatch(r"-?\d+\.\d\d", r["usd"]) for r in rows)
    for m in f.months:
        mine = [r for r in rows if r["month"] == m.month]
        cents = Decimal("0.01")
        own = sum(Decimal(r["usd"]) for r in mine if r["category"] in ("compute", "platform", "self_hosted"))
        assert abs(own - Decimal(repr(m.self_hosted_usd.total)).quantize(cents)) <= Decimal("0.05")
        path = sum(Decimal(r["usd"]) for r in mine if r["category"] in ("api_tokens", "api_path"))
        assert path == Decimal(repr(m.api_path_usd[MODEL])).quantize(cents)
    jan = [r for r in rows if r["month"] == "2027-01" and r["category"] == "compute"]
    # 2027-01 runs 3 g6e.xlarge on demand only (no reservation, no spot: test_quotas_cli has why), each for
    # 365 of the month's 730 hours: 1,095 instance-hours × $2.00
    assert [r["item"] for r in jan] == ["eu-central-1/g6e.xlarge/on_demand"]
    assert (jan[0]["quantity"], jan[0]["unit"], jan[0]["usd"]) == ("1095", "instance_hours", "2190.00")
    assert {r["item"] for r in rows if r["workload"] == "*" and r["category"] == "self_hosted"} == {
        "people", "data_eval", "compliance", "retraining", "committed_after_horizon", "buffer"}


# --- write ---------------------------------------------------------------------------------------

def test_report_write_puts_four_files_in_place(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("old")
    paths = report.write(small(), out, generated_at=GENERATED_AT)
    assert [p.name for p in paths] == ["report.md", "report.html", "forecast.csv", "forecast.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(report.FILES)
    assert (out / "report.md").read_text(encoding="utf-8") == report.render_markdown(small(), generated_at=GENERATED_AT)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left behind
    assert serialize.load(out / "forecast.json") == small()  # JSON is the forecast's own serialisation


def test_report_write_refuses_a_folder_holding_other_files(tmp_path):
    from planner.errors import UserError

    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="keep.txt"):
        report.write(small(), out, generated_at=GENERATED_AT)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_report_write_leaves_nothing_half_written(tmp_path, monkeypatch):
    import importlib

    write_mod = importlib.import_module("planner.report.write")  # the module (the package's `write` is the function)
    out = tmp_path / "out"
    report.write(small(), out, generated_at="first")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def boom(*_a, **_k):
        raise RuntimeError("chart failed")

    monkeypatch.setattr(write_mod.export, "to_csv", boom)
    with pytest.raises(RuntimeError):
        report.write(small(), out, generated_at="second")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    new = tmp_path / "new"
    with pytest.raises(RuntimeError):
        report.write(small(), new, generated_at="second")
    assert not new.exists()


def test_report_json_and_csv_do_not_depend_on_generation_time(tmp_path):
    a = report.write(small(), tmp_path / "a", generated_at="2027-01-01 00:00 UTC")
    b = report.write(small(), tmp_path / "b", generated_at="2030-12-31 23:59 UTC")
    for pa, pb in zip(a, b):
        if pa.name.startswith("forecast."):
            assert pa.read_bytes() == pb.read_bytes()


# --- the package's shape -------------------------------------------------------------------------

REPORT_DIR = ROOT / "planner" / "report"


def _imports(path: Path) -> set[str]:
    """planner.report modules `path` imports, lazily or not."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("planner.report"):
            found |= {f"{node.module}.{a.name}" if node.module == "planner.report" else node.module for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("planner.report")}
    return found


def test_report_package_has_no_import_cycle_and_charts_read_only_the_view():
    graph = {f"planner.report.{p.stem}": _imports(p) for p in REPORT_DIR.glob("*.py") if p.stem != "__init__"}
    assert _imports(REPORT_DIR / "charts.py") <= {"planner.report.view", "planner.report.format"}

    def reaches(start: str, target: str, seen=()) -> bool:
        return any(n == target or (n not in seen and reaches(n, target, (*seen, n))) for n in graph.get(start, ()))

    for module in graph:
        assert not reaches(module, module), f"{module} imports itself through others"
        assert "planner.report" not in graph[module], f"{module} imports the package's __init__"


def test_report_reads_the_forecast_by_attribute_only():
    for path in REPORT_DIR.glob("*.py"):
        assert ".get(" not in path.read_text(encoding="utf-8"), path.name


# --- the bundled examples, end to end ------------------------------------------------------------

@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_report_of_each_example_is_self_contained_and_deterministic(example, tmp_path, example_outputs):
    from planner import cli

    first = example_outputs[example.stem]  # this session's first forecast of the example
    assert cli.run(["forecast", str(example), "--out", str(tmp_path)]) == 0
    html = (first / "report.html").read_text(encoding="utf-8")
    assert external_references(html) == []
    assert "<svg" in html and "@media print" in html
    for name in ("forecast.json", "forecast.csv"):
        assert (first / name).read_bytes() == (tmp_path / name).read_bytes(), name
    md = (first / "report.md").read_text(encoding="utf-8")
    check_answer_against_json(md, json.loads((first / "forecast.json").read_text(encoding="utf-8")))


# --- a bad output folder -------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["file", "missing-parent"])
def test_report_bad_out_is_one_line_and_writes_nothing(tmp_path, capsys, case):
    from planner import cli

    plan = ROOT / "tests" / "fixtures" / "small-chat" / "plan.yaml"
    if case == "file":
        out = tmp_path / "report.txt"
        out.write_text("mine")
    else:
        out = tmp_path / "nope" / "deeper" / "out"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert cli.run(["forecast", str(plan), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {out}: ") and "\n" not in err and "Traceback" not in err, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    if case == "file":
        assert out.read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_report_read_only_out_is_one_line(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    out.chmod(0o555)
    from planner.errors import UserError

    try:
        with pytest.raises(UserError, match="permission denied"):
            report.check_out_dir(out)
    finally:
        out.chmod(0o755)


def test_report_write_failure_is_a_user_error_and_leaves_the_folder(tmp_path, monkeypatch):
    import importlib

    from planner.errors import UserError

    write_mod = importlib.import_module("planner.report.write")
    out = tmp_path / "out"

    def denied(*_a, **_k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(write_mod, "write_files", denied)
    with pytest.raises(UserError, match="cannot write the report: Permission denied"):
        report.write(small(), out, generated_at=GENERATED_AT)
    assert not out.exists()
