"""charts.py: every chart has a title, axis labels with units and a legend; SVG is deterministic and inline-safe."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from planner import charts

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_small.json"


def small() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # well-formed XML without namespaces
    return ["".join(el.itertext()).strip() for el in root.iter("text")]


EXPECTED = {
    "cost_by_category": ("Monthly cost: self-hosted by category vs API", "Month", "USD/month",
                         ["API path: openai/gpt-4o", "self-hosted: compute", "self-hosted: buffer"]),
    "cumulative": ("Cumulative cost and break-even", "Month", "USD (cumulative)",
                   ["self-hosted (total)", "API path: openai/gpt-4o", "break-even vs openai/gpt-4o: 2027-03"]),
    "fleet_composition": ("Fleet composition", "Month", "instances",
                          ["g6e.12xlarge (reserved 1y)", "g6e.12xlarge (spot)"]),
    "demand_vs_capacity": ("Peak demand vs provisioned capacity", "Month", "requests/s",
                           ["chat: peak demand", "chat: provisioned capacity"]),
    "tornado": ("Sensitivity of horizon savings vs openai/gpt-4o",
                "savings over the horizon, USD (API path − self-hosted)", "parameter",
                ["parameter at low value", "parameter at high value", "base: $902"]),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_charts_have_title_axis_labels_with_units_and_legend(name):
    svg = getattr(charts, name)(small())
    title, xlabel, ylabel, legend = EXPECTED[name]
    found = texts(svg)
    assert title in found and xlabel in found and ylabel in found, found
    for entry in legend:
        assert entry in found, (entry, found)
    assert re.search(r'id="[a-z]+-legend_1"', svg), "no legend group"
    assert "<title id=" in svg and title.replace("−", "−") in svg


@pytest.mark.parametrize("name", list(EXPECTED))
def test_charts_svg_is_deterministic_and_inline_safe(name):
    a = getattr(charts, name)(small())
    b = getattr(charts, name)(small())
    assert a == b
    assert "<?xml" not in a and "DOCTYPE" not in a and "http" not in a and "<metadata" not in a
    assert a.lstrip().startswith("<svg")


def test_charts_ids_do_not_collide_between_charts():
    ids: list[str] = []
    for chart in charts.all_charts(small()).values():
        ids += re.findall(r'\sid="([^"]+)"', chart["svg"])
        # every internal reference points at an id of the same chart
        own = set(re.findall(r'\sid="([^"]+)"', chart["svg"]))
        for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', chart["svg"]):
            assert ref in own, ref
    assert len(ids) == len(set(ids))


def test_charts_without_self_hosted_side_still_draw_what_exists():
    f = small()
    for m in f["months"]:
        del m["self_hosted_usd"], m["api_path_usd"]
        for w in m["workloads"]:
            del w["fleet"], w["capacity_requests_per_s"]
    del f["break_even"], f["sensitivity"]
    assert charts.fleet_composition(f) == ""
    assert charts.tornado(f) == ""
    cost = texts(charts.cost_by_category(f))
    assert "Monthly API bill (self-hosted side not computed)" in cost and "API: openai/gpt-4o" in cost
    assert "Peak demand (capacity: self-hosted side not computed)" in texts(charts.demand_vs_capacity(f))
    assert set(charts.all_charts(f)) == {"cost", "cumulative", "demand"}
    assert charts.all_charts({"months": []}) == {}
