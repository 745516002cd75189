"""forecast.json follows planner/data/forecast.schema.json (draft 2020-12), generated from the typed Forecast.

The committed schema equals `planner.forecast.schema.render()`; the fixture and every bundled example's
real output validate against it; broken forecasts are rejected, including unknown keys anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from planner.forecast import schema as schema_mod

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


def fixture() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_forecast_schema_committed_equals_generated():
    """Regenerate with: .venv/bin/python -m planner.forecast.schema > planner/data/forecast.schema.json"""
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_mod.render()


def test_forecast_schema_accepts_the_fixture(validator):
    assert errors(validator, fixture()) == []


@pytest.mark.parametrize("breakage", [
    lambda f: f.pop("totals"),
    lambda f: f.__setitem__("schema_version", 1),
    lambda f: f.__setitem__("hours_per_month", 720),
    lambda f: f.__setitem__("surprise", True),
    lambda f: f["price_sources"][0].pop("date"),
    lambda f: f["months"][0].__setitem__("month", "2027-13"),
    lambda f: f["months"][0]["workloads"][0].pop("peak_requests_per_s"),
    lambda f: f["months"][0]["workloads"][0].pop("storage_gib_per_instance"),
    lambda f: f["months"][0]["workloads"][0]["platform_usd"].pop("flow_logs"),
    lambda f: f["months"][0]["workloads"][0]["platform_usd"].__setitem__("lcu", 1.0),
    lambda f: f["months"][0]["workloads"][0]["fleet"][0].__setitem__("purchase", "savings_plan"),
    lambda f: f["months"][0]["self_hosted_usd"].pop("buffer"),
    lambda f: f["recommendation"].__setitem__("decision", "maybe"),
    lambda f: f["recommendation"]["workloads"][0].__setitem__("reason", "spend threshold"),
    lambda f: f["recommendation"]["triggers"][0].__setitem__("kind", "vibes"),
    lambda f: f["break_even"]["openai/gpt-4o"].__setitem__("month", "soon"),
    lambda f: f["break_even"]["openai/gpt-4o"].__setitem__("crossing", "later"),
    lambda f: f["warnings"].append({"code": "spot_share", "workload": "chat"}),
    lambda f: f["warnings"].append("a sentence instead of a code"),
    lambda f: f["scenarios"][0]["fleet_choice"][0].pop("instance_type"),
    lambda f: f["sensitivity"][0].__setitem__("parameter", "weather"),
], ids=["no-totals", "schema-1", "hours-720", "unknown-top-level-key", "source-without-date", "bad-month",
        "no-peak", "no-storage", "platform-item-missing", "platform-item-unknown", "bad-purchase", "no-buffer",
        "bad-decision", "reason-not-a-code", "bad-trigger-kind", "bad-break-even", "bad-crossing",
        "warning-without-numbers", "warning-as-text", "scenario-fleet-without-type", "bad-parameter"])
def test_forecast_schema_rejects_broken_forecasts(validator, breakage):
    f = fixture()
    assert errors(validator, f) == []
    breakage(f)
    assert errors(validator, f)


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_forecast_schema_accepts_each_example_output(validator, example, example_outputs):
    data = json.loads((example_outputs[example.stem] / "forecast.json").read_text(encoding="utf-8"))
    assert errors(validator, data) == []
