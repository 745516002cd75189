"""planner.report.charts: drawn from the view model; title, axis labels with units, a legend outside the
data; both tornado bars drawn and labelled; a clipped axis when an API line dwarfs the self-hosted cost;
deterministic, inline-safe SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from planner.forecast import serialize
from planner.report import charts, view

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_small.json"


def data() -> view.ChartData:
    return view.chart_data(serialize.load(FIXTURE))


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # well-formed XML without namespaces
    return ["".join(el.itertext()).strip() for el in root.iter("text")]


# The tornado's base: savings over the horizon = API path − self-hosted.
#   API path: gpt-4o tokens $40,000 × (1 + 1.3 + 1.3² + 1.3³) plus $500 a month of its own data/eval = $249,480.
#   Self-hosted: 1.3 (the buffer) × (compute + platform + people $40,000 + data/eval $100 + compliance $50 a
#   month). Compute is on demand only ($2.00/h; no reservation, no spot: test_quotas_cli has why) at the
#   fixture's billed hours: 3 × 365, 3 × 385.28, 4 × 357.40, 5 × 340.67 instance-hours; platform as itemised.
API_PATH_USD = 40_000 * (1 + 1.3 + 1.3 ** 2 + 1.3 ** 3) + 4 * 500
COMPUTE_USD = 2.00 * (3 * 365 + 3 * 385.2777777777778 + 4 * 357.39583333333337 + 5 * 340.6666666666667)
PLATFORM_USD = 292.84 + 298.63 + 340.52 + 382.41
BASE_SAVINGS_USD = API_PATH_USD - 1.3 * (COMPUTE_USD + PLATFORM_USD + 4 * (40_000 + 100 + 50))
assert round(API_PATH_USD, 2) == 249_480 and round(COMPUTE_USD, 2) == 10_767.50
assert round(BASE_SAVINGS_USD) == 24_994  # 249,480 − 1.3 × 172,681.90 = 249,480 − 224,486.47

EXPECTED = {
    "cost_by_category": ("Monthly cost: self-hosted by category vs API", "Month", "USD per month",
                         ["API path: openai/gpt-4o", "self-hosted: compute", "self-hosted: buffer"]),
    "cumulative": ("Cumulative cost and break-even", "Month", "USD, cumulative",
                   ["self-hosted (total)", "API path: openai/gpt-4o", "break-even vs openai/gpt-4o: 2027-04"]),
    "fleet_composition": ("Fleet composition", "Month", "instances",
                          ["g6e.xlarge (on-demand)"]),
    "demand_vs_capacity": ("Peak demand vs provisioned capacity", "Month", "requests/s",
                           ["chat: peak demand", "chat: provisioned capacity"]),
    "tornado": ("Sensitivity of horizon savings vs openai/gpt-4o",
                "savings over the horizon, USD (API path − self-hosted)", None,
                ["parameter at its low value", "parameter at its high value", "base: $24,994"]),
}


@pytest.mark.parametrize("style", charts.STYLES, ids=[s.name for s in charts.STYLES])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_charts_have_title_axis_labels_with_units_and_legend(name, style):
    svg = getattr(charts, name)(data(), style)
    title, xlabel, ylabel, legend = EXPECTED[name]
    found = texts(svg)
    flat = " ".join(found)
    assert title.replace("\n", " ") in flat.replace("\n", " ") or title in found, found
    if name == "tornado" and style is charts.NARROW:  # two lines, two <text> elements
        assert "horizon savings, USD" in found and "(API path − self-hosted)" in found, found
        xlabel = "horizon savings, USD"
    assert xlabel in found and (ylabel is None or ylabel in found), found
    for entry in legend:
        assert entry in found, (entry, found)
    assert re.search(r'id="[a-z]+-[a-z]+-legend_1"', svg), "no legend group"
    assert "<title id=" in svg


def _legend_below_axes(svg: str) -> bool:
    """The legend group's y is below the axes' patch (the legend sits outside the data)."""
    root = ET.fromstring(svg)
    ys = {}
    for g in root.iter("g"):
        gid = g.get("id", "")
        if gid.endswith("legend_1") or gid.endswith("patch_2"):
            path = next(g.iter("path"), None)
            if path is not None:
                nums = [float(n) for n in re.findall(r"-?\d+\.?\d*", path.get("d", ""))]
                ys["legend" if gid.endswith("legend_1") else "axes"] = (min(nums[1::2]), max(nums[1::2]))
    return ys["legend"][0] >= ys["axes"][1] - 1  # svg y grows downwards


@pytest.mark.parametrize("name", ["cost_by_category", "cumulative", "demand_vs_capacity"])
def test_charts_legend_sits_outside_the_data(name):
    svg = getattr(charts, name)(data(), charts.WIDE)
    assert _legend_below_axes(svg)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_charts_svg_is_deterministic_and_inline_safe(name):
    a = getattr(charts, name)(data())
    b = getattr(charts, name)(data())
    assert a == b
    assert "<?xml" not in a and "DOCTYPE" not in a and "http" not in a and "<metadata" not in a
    assert a.lstrip().startswith("<svg")


def test_charts_ids_do_not_collide_between_charts():
    ids: list[str] = []
    for chart in charts.all_charts(data()).values():
        for key in ("wide", "narrow"):
            svg = chart[key]
            own = set(re.findall(r'\sid="([^"]+)"', svg))
            ids += list(own)
            for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', svg):
                assert ref in own, ref
    assert len(ids) == len(set(ids))


def _bars(svg: str, color: str) -> int:
    return len(re.findall(rf"fill:\s*{color}", svg, re.I))


def test_charts_tornado_draws_both_ends_even_when_they_move_the_same_way():
    d = data()
    base = d.tornado_base_usd
    # both ends of "Traffic" above the base, both of "Buffer" below it: each end is its own bar
    bars = [view.TornadoBar("Traffic", "×0.7", "×1.5", base + 1_000_000, base + 1_200_000),
            view.TornadoBar("Buffer", "15%", "45%", base - 300_000, base - 200_000)]
    svg = charts.tornado(replace(d, tornado=bars))
    # one bar per parameter and end, plus the legend's swatch
    assert _bars(svg, charts.LOW_COLOR) == 3 and _bars(svg, charts.HIGH_COLOR) == 3
    found = texts(svg)
    for bar in bars:
        assert f"{bar.low_label}: {charts.usd_short(bar.low_usd)}" in found, found
        assert f"{bar.high_label}: {charts.usd_short(bar.high_usd)}" in found, found


def test_charts_clip_an_api_line_that_dwarfs_the_self_hosted_cost():
    d = data()
    months = d.months
    huge = view.Line("API path: anthropic/claude-haiku-4-5", [5_000_000.0 * (k + 1) for k in range(len(months))])
    d = replace(d, api_lines=[*d.api_lines, huge], break_even={**d.break_even, huge.label: None})
    svg = charts.cost_by_category(d)
    found = texts(svg)
    assert "API path: anthropic/claude-haiku-4-5 (off scale, up to $20.0M)" in found, found
    assert f"↑ $20.0M in {months[-1]}" in found
    # the axis stops near the self-hosted cost, not at $20M: no tick label in the millions
    assert not any(re.fullmatch(r"\$\d+(\.\d)?M", t) for t in found), found


def test_charts_without_sensitivity_have_no_tornado():
    d = replace(data(), tornado=[], tornado_base_usd=None)
    assert charts.tornado(d) == ""
    assert set(charts.all_charts(d)) == {"cost", "cumulative", "fleet", "demand"}


def test_charts_tornado_has_the_api_prices_bar():
    """API prices × 0.5 and × 1.2 move only the API path: (247,480 × m + 4 × 500) − 224,486.47."""
    d = data()
    bar = next(b for b in d.tornado if b.label == "API prices")
    low, high = 247_480 * 0.5 + 2_000 - 224_486.47, 247_480 * 1.2 + 2_000 - 224_486.47
    assert (bar.low_label, bar.high_label) == ("×0.5", "×1.2")
    assert (bar.low_usd, bar.high_usd) == (pytest.approx(low), pytest.approx(high))
    found = texts(charts.tornado(d))
    assert "API prices" in found
    assert f"×0.5: {charts.usd_short(low)}" in found and f"×1.2: {charts.usd_short(high)}" in found  # -$99k, $74k


def test_charts_stack_the_obligation_after_the_horizon_in_the_month_signed():
    """committed-chat signs a 1-year term in 2027-01 whose last 8 months ($2,920) fall after the horizon."""
    d = view.chart_data(serialize.load(Path(__file__).parent / "fixtures" / "forecast_committed.json"))
    line = dict(d.categories)["committed_after_horizon"]
    assert line.values == [0.50 * 730 * 8, 0.0, 0.0, 0.0]
    assert line.label == "self-hosted: committed after horizon (charged when signed)"
    assert line.label in texts(charts.cost_by_category(d))
    assert line.label not in texts(charts.cost_by_category(data()))  # nothing to stack: not in the legend
