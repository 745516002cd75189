"""The report's Monte Carlo section (forecast.json `bands`): drawn only when the forecast has bands; the
fan chart, the probability curve and report.md's tables carry the numbers forecast.json holds.

The fixture tests/fixtures/forecast_bands.json is the real forecast of tests/fixtures/bands-chat/plan.yaml
(200 draws, seed 7); the forecasts without bands are tests/fixtures/forecast_small.json's."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from planner.forecast import schema, serialize
from planner.forecast.model import BandMonth, UsdPercentiles
from planner.report import charts, render_html, render_markdown, view

FIXTURES = Path(__file__).parent / "fixtures"
WHEN = "2027-01-15 09:00 UTC"


@pytest.fixture(scope="module")
def banded():
    return serialize.load(FIXTURES / "forecast_bands.json")


@pytest.fixture(scope="module")
def plain():
    return serialize.load(FIXTURES / "forecast_small.json")


def texts(svg: str) -> list[str]:
    return ["".join(el.itertext()).strip() for el in ET.fromstring(svg).iter("text")]


def test_report_bands_fixture_follows_the_generated_schema(banded):
    import jsonschema

    jsonschema.validate(serialize.to_data(banded), schema.json_schema())
    assert banded.bands.draws == 200 and banded.bands.seed == 7 and banded.plan.uncertainty.draws == 200


def test_report_without_bands_has_no_monte_carlo_section(plain):
    assert plain.bands is None
    assert view.build(plain, generated_at=WHEN).bands is None
    assert view.chart_data(plain).bands is None
    d = view.chart_data(plain)
    assert charts.fan(d) == "" and charts.probability(d) == ""
    assert "fan" not in charts.all_charts(d) and "probability" not in charts.all_charts(d)
    md = render_markdown(plain, generated_at=WHEN)
    html = render_html(plain, generated_at=WHEN)
    assert "Monte Carlo" not in md and "Monte Carlo" not in html and 'href="#bands"' not in html


def test_report_bands_table_rows_are_forecast_json_numbers(banded):
    b = banded.bands
    v = view.bands_view(banded)
    t = v.months
    assert t.headers[:7] == ["Month", "Self-hosted p10", "Self-hosted p50", "Self-hosted p90", "API path p10",
                             "API path p50", "API path p90"]
    assert t.headers[7:] == [f"P(cheaper by then) vs {m}" for m in ("openai/gpt-4o", "openai/gpt-4o-mini")]
    assert "openai/gpt-4o" in t.caption and "200 draws" in t.caption
    assert len(t.rows) == 18  # 18 months: every month
    for row, m in zip(t.rows, b.months):
        s, a = m.self_hosted_usd, m.api_path_usd["openai/gpt-4o"]
        assert row[:7] == [m.month] + [f"{round(x):,}" for x in (s.p10, s.p50, s.p90, a.p10, a.p50, a.p90)]
        assert row[7:] == [f"{Decimal(100 * m.p_cumulative_self_host_cheaper[k]).quantize(1, ROUND_HALF_UP)}%"
                           for k in ("openai/gpt-4o", "openai/gpt-4o-mini")]  # 6.5 % of 200 draws: 7%
    # 2028-06: self-hosted p10..p90 15,168..17,438; P(cheaper by then) vs gpt-4o 93 % (fixture values)
    assert t.rows[-1][:4] == ["2028-06", "15,168", "15,891", "17,438"] and t.rows[-1][7] == "93%"
    be = v.break_even
    assert be.rows == [["openai/gpt-4o", "2027-03", "2027-10", "2028-05", "2027-09"],
                       ["openai/gpt-4o-mini"] + [view.NO_BREAK_EVEN] * 4]
    assert [r[-1] for r in v.sampled.rows] == ["default"] * 7
    assert "vllm 0.292" in v.sampled.rows[-1][2]  # ln(1 + 21.8 %) / 0.6745, the vLLM calibration's spread
    assert v.summary.startswith("200 draws, seed 7. In 2028-06 self-hosting costs $15,168 to $17,438 a month")


def test_report_bands_long_horizon_shows_each_quarters_last_month(banded):
    months = [f"{2027 + k // 12}-{k % 12 + 1:02d}" for k in range(30)]
    usd = UsdPercentiles(p10=1.0, p50=2.0, p90=3.0)
    long = banded.bands.model_copy(update={"months": [
        BandMonth(month=m, self_hosted_usd=usd, api_path_usd={"openai/gpt-4o": usd, "openai/gpt-4o-mini": usd},
                  p_cumulative_self_host_cheaper={"openai/gpt-4o": 0.5, "openai/gpt-4o-mini": 0.0}) for m in months]})
    v = view.bands_view(banded.model_copy(update={"bands": long}))
    assert [r[0] for r in v.months.rows] == [months[i] for i in (2, 5, 8, 11, 14, 17, 20, 23, 26, 29)]
    assert v.months.note.startswith("The last month of each quarter")


def test_report_bands_fan_chart_draws_both_bands_and_the_base_lines(banded):
    d = view.chart_data(banded)
    b = d.bands
    assert b.self_hosted.base == [m.self_hosted_usd.total for m in banded.months]
    assert b.api.base == [m.api_path_usd["openai/gpt-4o"] for m in banded.months]
    assert b.self_hosted.p90 == [m.self_hosted_usd.p90 for m in banded.bands.months]
    for style in charts.STYLES:
        svg = charts.fan(d, style)
        found = " ".join(texts(svg)).replace("\n", " ")
        assert "Monthly cost over the draws" in found and "200 draws, seed 7" in found, found
        for label in ("self-hosted: p10–p90", "self-hosted: median (p50)", "self-hosted: base forecast",
                      "API path: openai/gpt-4o: p10–p90", "API path: openai/gpt-4o: base forecast"):
            assert label in found, (label, found)
        assert svg.count("<path") >= 6  # two filled bands, four lines (besides axes)
        assert svg == charts.fan(d, style)  # deterministic


def test_report_bands_probability_curve_marks_break_even_percentiles_and_even_odds(banded):
    d = view.chart_data(banded)
    assert [line.label for line in d.bands.probability] == ["vs openai/gpt-4o", "vs openai/gpt-4o-mini"]
    assert d.bands.probability[0].values == [m.p_cumulative_self_host_cheaper["openai/gpt-4o"]
                                             for m in banded.bands.months]
    wide = texts(charts.probability(d, charts.WIDE))
    assert "even odds (0.5)" in wide
    assert {"p10 2027-03", "p50 2027-10", "p90 2028-05"} <= set(wide)
    assert "vs openai/gpt-4o: break-even p10 2027-03, p50 2027-10, p90 2028-05" in wide
    assert not any("gpt-4o-mini: break-even" in t for t in wide)  # none in the horizon: nothing to mark
    narrow = texts(charts.probability(d, charts.NARROW))
    assert {"p10", "p50", "p90"} <= set(narrow)


def test_report_bands_section_in_markdown_and_html(banded):
    md = render_markdown(banded, generated_at=WHEN)
    section = md[md.index("## Uncertainty: Monte Carlo bands"):md.index("## Scenarios and sensitivity")]
    for caption in ("**Break-even month over the draws**", "**Monthly cost over 200 draws (USD; API path: "
                    "openai/gpt-4o)**", "**What each draw samples**"):
        assert caption in section
    assert "| 2028-06 | 15,168 | 15,891 | 17,438 |" in section
    assert "| openai/gpt-4o | 2027-03 | 2027-10 | 2028-05 | 2027-09 |" in section
    assert "| Traffic level (requests per day) | per workload | lognormal, median 1, sd of the log 0.3 | default |" \
        in section
    html = render_html(banded, generated_at=WHEN)
    assert 'href="#bands"' in html and '<section id="bands">' in html
    for key in ("fan", "probability"):
        assert html.count(f'id="chart-{key}"') == 1
    assert re.search(r'id="bands-months".*id="bands-sampled"', html, re.S)
    assert html == render_html(banded, generated_at=WHEN)
