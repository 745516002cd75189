"""The JSON Schema of forecast.json, generated from the typed `Forecast` (never written by hand).

`json_schema()` is what planner/data/forecast.schema.json holds; tests/test_forecast_schema.py
fails when the committed file and the generated schema differ. Regenerate with

    .venv/bin/python -m planner.forecast.schema > planner/data/forecast.schema.json

Strict: every object with named properties forbids others (`additionalProperties: false`), at the
top level and in every nested object; maps keyed by model or region keep typed values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from planner.forecast.model import SCHEMA_VERSION, Forecast

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "forecast.schema.json"


def _strict(node: Any) -> None:
    if isinstance(node, dict):
        if "properties" in node:
            node["additionalProperties"] = False
        for value in node.values():
            _strict(value)
    elif isinstance(node, list):
        for value in node:
            _strict(value)


def json_schema() -> dict[str, Any]:
    schema = Forecast.model_json_schema(mode="serialization")
    _strict(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"urn:llm-capacity-planner:forecast:{SCHEMA_VERSION}",
            "title": f"forecast.json (schema_version {SCHEMA_VERSION})",
            "description": ("Output of `planner forecast`; see docs/forecast-json.md. Money in USD, rounded to the "
                            "cent. Generated from planner.forecast.model.Forecast."),
            **{k: v for k, v in schema.items() if k != "title"}}


def render() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(render(), end="")
