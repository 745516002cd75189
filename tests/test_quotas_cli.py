"""`planner quotas`: reads a typed forecast.json, takes regions from it, and says bad input in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner import cli
from planner.commands import quotas as quotas_cmd
from planner.forecast import serialize

FIXTURE = Path(__file__).parent / "fixtures" / "forecast_small.json"


def test_quotas_reads_fleet_lines_from_a_typed_forecast():
    f = serialize.load(FIXTURE)
    lines = quotas_cmd.fleet_lines(f)
    # the busiest month of the fixture is 2027-04: 1 reserved + 4 on-demand g6e.xlarge
    assert sorted((line.purchase, line.count) for line in lines) == [("on_demand", 4), ("reserved_1y", 1)]
    assert [line.count for line in quotas_cmd.fleet_lines(f, "2027-01")] == [1, 2]
    # without --month: the forecast's own figures; g6e.xlarge has 4 vCPUs, 5 instances at the peak
    assert quotas_cmd.needed_vcpus(f, None, "f.json") == {"eu-central-1": {"on_demand_g": 20.0}}


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
