"""forecast.json follows planner/data/forecast.schema.json (draft 2020-12).

The fixture is validated always. Every bundled example's real output is validated through the CLI;
that part skips only while planner/commands/forecast.py does not exist — it must become
unconditional once the command lands.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from planner import report

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_FILE = ROOT / "planner" / "data" / "forecast.schema.json"
FIXTURE = Path(__file__).parent / "fixtures" / "forecast_small.json"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator, data) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def test_forecast_schema_accepts_the_fixture_as_written(validator):
    f = json.loads(FIXTURE.read_text(encoding="utf-8"))
    assert errors(validator, json.loads(report.to_json(f))) == []


@pytest.mark.parametrize("breakage", [
    lambda f: f.pop("totals"),
    lambda f: f.__setitem__("hours_per_month", 720),
    lambda f: f["price_sources"][0].pop("date"),
    lambda f: f["months"][0].__setitem__("month", "2027-13"),
    lambda f: f["months"][0]["workloads"][0].pop("peak_requests_per_s"),
    lambda f: f["months"][0]["workloads"][0]["fleet"][0].__setitem__("purchase", "savings_plan"),
    lambda f: f["months"][0]["self_hosted_usd"].pop("buffer"),
    lambda f: f["recommendation"].__setitem__("decision", "maybe"),
    lambda f: f["break_even"]["openai/gpt-4o"].__setitem__("month", "soon"),
    lambda f: f["sensitivity"][0].__setitem__("parameter", "weather"),
], ids=["no-totals", "hours-720", "source-without-date", "bad-month", "no-peak", "bad-purchase",
        "no-buffer", "bad-decision", "bad-break-even", "bad-parameter"])
def test_forecast_schema_rejects_broken_forecasts(validator, breakage):
    f = json.loads(FIXTURE.read_text(encoding="utf-8"))
    breakage(f)
    assert errors(validator, f)


def test_forecast_schema_accepts_an_api_only_forecast(validator):
    f = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for key in ("break_even", "recommendation", "scenarios", "sensitivity", "assumptions", "warnings"):
        f.pop(key)
    for m in f["months"]:
        m.pop("self_hosted_usd"), m.pop("api_path_usd")
        for w in m["workloads"]:
            w.pop("fleet")
    for t in f["totals"].values():
        t.pop("self_hosted_usd"), t.pop("api_path_usd")
    assert errors(validator, f) == []


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_forecast_schema_accepts_each_example_output(validator, example, tmp_path):
    from planner import cli

    assert cli.run(["forecast", str(example), "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "forecast.json").read_text(encoding="utf-8"))
    assert errors(validator, data) == []
