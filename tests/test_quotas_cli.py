"""`planner quotas`: reads a typed forecast.json, takes regions from it, and says bad input in one line."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from planner import cli
from planner.commands import quotas as quotas_cmd
from planner.forecast import serialize

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_small.json"


def test_quotas_reads_fleet_lines_from_a_typed_forecast():
    f = serialize.load(FIXTURE)
    lines = quotas_cmd.fleet_lines(f)
    # the busiest month of the fixture is 2027-04, all on demand. Instances = ceil(peak × 1.2 headroom /
    # 4.987 requests/s per g6e.xlarge), peak = requests / 730 h × 3 (peak/average) / 3600:
    #   2027-01: 8e6 / 730 × 3 / 3600 = 9.13/s -> 10.96 / 4.987 = 2.2 -> 3;  2027-04: × 1.3³ = 20.06/s -> 4.83 -> 5.
    # No reservation: a 1-year term costs 1.40 × 730 × 12 = $12,264, more than one instance on demand all
    # four months (2.00 × 730 × 4 = $5,840). No spot: the cap is floor(0.5 × 5) = 2 instances, which at 10 %
    # interruption overhead carry floor(2 / 1.1) = 1 instance of capacity for 2 × $1.00 (the dearest zone)
    # = $2.00/h, the on-demand price; the tie goes to fewer spot instances.
    peak = [8e6 * 1.3 ** k / 730 * 3 / 3600 * 1.2 / 4.987372469775141 for k in (0, 3)]
    assert [math.ceil(x) for x in peak] == [3, 5]
    assert 1.40 * 730 * 12 > 2.00 * 730 * 4
    assert math.floor(math.floor(0.5 * 5) / 1.1) * 2.00 == 2 * 1.00
    assert sorted((line.purchase, line.count) for line in lines) == [("on_demand", 5)]
    assert [(line.purchase, line.count) for line in quotas_cmd.fleet_lines(f, "2027-01")] == [("on_demand", 3)]
    # without --month: the forecast's own figures, prod + staging + dev at the busiest month (g6e.xlarge has
    # 4 vCPUs and no equivalents): prod 5 on demand = 20 vCPUs; staging max(1 zone, ceil(5 / 4)) = 2 and dev 1,
    # both on spot (the plan allows it): 3 × 4 = 12 vCPUs
    staging = max(min(1, 5), math.ceil(5 * 0.25))
    assert quotas_cmd.needed_vcpus(f, None, "f.json") == {
        "eu-central-1": {"on_demand_g": 5 * 4.0, "spot_g": (staging + 1) * 4.0}} == {
        "eu-central-1": {"on_demand_g": 20.0, "spot_g": 12.0}}


@pytest.mark.parametrize("content, words", [
    ("{not json", "not a forecast.json of this planner"),
    ('{"schema_version": 1, "months": []}', "not a forecast.json of this planner"),
])
def test_quotas_malformed_forecast_is_one_line(tmp_path, capsys, content, words):
    bad = tmp_path / "forecast.json"
    bad.write_text(content)
    assert cli.run(["quotas", "--forecast", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"error: {bad}: ") and words in err, err


def test_quotas_missing_forecast_is_one_line(tmp_path, capsys):
    assert cli.run(["quotas", "--forecast", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot read forecast JSON" in err


def test_quotas_month_is_checked_for_its_form(capsys):
    assert cli.run(["quotas", "--forecast", str(FIXTURE), "--month", "2027-6"]) == 2
    assert capsys.readouterr().err.strip() == "error: --month: '2027-6' is not a month: write YYYY-MM, e.g. 2027-06"
    assert cli.run(["quotas", "--forecast", str(FIXTURE), "--month", "2030-01"]) == 2
    assert "no month 2030-01 in the forecast (2027-01 to 2027-04)" in capsys.readouterr().err


def test_quotas_takes_regions_from_the_forecast(monkeypatch, capsys):
    from pricing import quotas as q

    asked = []

    def fetch(regions, session=None):
        asked.extend(regions)
        return {r: {k: 100.0 for k in q.QUOTA_CODES} for r in regions}

    monkeypatch.setattr(q, "fetch", fetch)
    assert cli.run(["quotas", "--forecast", str(FIXTURE)]) == 0
    assert asked == ["eu-central-1"]
    assert "fleet needs 20" in capsys.readouterr().out


def test_quotas_without_regions_or_forecast_says_what_to_give(capsys):
    assert cli.run(["quotas"]) == 2
    assert "give --regions R1,R2 or --forecast forecast.json" in capsys.readouterr().err
