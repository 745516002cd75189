"""CLI manners: --version, -h, tables that are never cut (plain aligned text when piped), --format
table|csv|json, format errors for --month, and what validate reports that forecast would reject."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from planner import cli
from planner.commands import _output, size as size_cmd

ROOT = Path(__file__).resolve().parents[1]
EU = ROOT / "examples" / "eu-chat-assistant.yaml"
SMALL = ROOT / "tests" / "fixtures" / "small-chat" / "plan.yaml"


def test_cli_version_and_short_help(capsys):
    from importlib.metadata import version

    assert cli.run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"planner {version('llm-capacity-planner')}"
    assert cli.run(["-h"]) == 0
    assert "Usage: planner" in capsys.readouterr().out
    assert cli.run(["forecast", "-h"]) == 0
    assert "Usage: planner forecast" in capsys.readouterr().out


def test_cli_plain_table_keeps_every_cell_whole():
    columns = [_output.Column("a", "name"), _output.Column("n", "count", numeric=True)]
    rows = [{"a": "a-very-long-value-that-a-narrow-terminal-would-cut", "n": 3}, {"a": "b", "n": 12345}]
    text = _output.plain_table(columns, rows, "title")
    lines = text.splitlines()
    assert lines[0] == "title"
    assert "a-very-long-value-that-a-narrow-terminal-would-cut" in text and "…" not in text
    # the numbers are right-aligned in one column
    assert lines[3].endswith("    3") and lines[4].endswith("12345")
    assert len({len(l) for l in lines[1:3]}) == 1


def test_cli_prices_piped_is_plain_text_and_formats_parse(capsys):
    assert cli.run(["prices", str(EU)]) == 0  # pytest's stdout is not a terminal
    out = capsys.readouterr().out
    assert "│" not in out and "…" not in out
    header = out.splitlines()[1]
    assert header.split()[:3] == ["region", "instance", "type"]
    assert cli.run(["prices", str(EU), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows and {"region", "instance_type", "on_demand_usd_per_hour"} <= set(rows[0])
    assert cli.run(["prices", str(EU), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["instance_type"] for r in data] == [r["instance_type"] for r in rows]


def test_cli_perf_formats(capsys):
    args = ["perf", "--model", "llama-3.1-8b", "--gpu", "L40S", "--precision", "bf16", "--input-tokens", "1000",
            "--output-tokens", "250", "--tpot-ms", "50"]
    assert cli.run(args) == 0
    table = capsys.readouterr().out
    assert "← chosen" in table and "│" not in table
    assert cli.run([*args, "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["tp"] for r in rows] == ["1", "2", "4", "8"] and sum(r["chosen"] == "True" for r in rows) == 1
    assert cli.run([*args, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["tp"] == int(next(r["tp"] for r in rows if r["chosen"] == "True"))


def test_cli_size_output_layer_takes_the_rows_the_command_produces(capsys):
    """`planner size` is being rebuilt: its printer only flattens whatever fleet lines it gets."""
    line = {"region": "eu-central-1", "instance_type": "g6e.xlarge", "purchase": "reserved_1y", "count": 1,
            "hours": 730.0, "usd_per_hour": 1.4, "usd": 1022.0}
    result = {"plan": "small-chat", "solve_seconds": 0.01, "choices": [],
              "months": [{"month": "2027-01", "workloads": [{"name": "chat", "peak_requests_per_s": 9.13,
                                                             "capacity_requests_per_s": 14.96, "fleet": [line]}]}]}
    size_cmd._print(result, _output.Format.table)
    out = capsys.readouterr().out
    assert "reserved_1y" in out and "1,022" in out and "│" not in out
    size_cmd._print(result, _output.Format.csv)
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert rows == [{"month": "2027-01", "workload": "chat", "region": "eu-central-1", "instance_type": "g6e.xlarge",
                     "purchase": "reserved_1y", "count": "1", "hours": "730.0", "usd_per_hour": "1.4",
                     "usd": "1022.0", "peak_requests_per_s": "9.13", "capacity_requests_per_s": "14.96"}]


@pytest.mark.parametrize("argv", [["size", str(SMALL), "--month", "2027-6"],
                                  ["quotas", "--forecast", str(ROOT / "tests" / "fixtures" / "forecast_small.json"),
                                   "--month", "2027-6"]])
def test_cli_month_has_a_format_error(argv, capsys):
    assert cli.run(argv) == 2
    assert capsys.readouterr().err.strip() == "error: --month: '2027-6' is not a month: write YYYY-MM, e.g. 2027-06"


def test_cli_validate_reports_what_forecast_would_reject(tmp_path, capsys):
    plan = tmp_path / "fp8-on-a100.yaml"
    text = SMALL.read_text(encoding="utf-8")
    text = text.replace("precision: bf16", "precision: fp8").replace("gpus: [L40S]", "gpus: [A100-80GB]")
    text = text.replace("regions: [eu-central-1]", "regions: [us-east-1, eu-central-1]")
    plan.write_text(text.replace("snapshot: prices.csv", "snapshot: null"), encoding="utf-8")
    assert cli.run(["validate", str(plan)]) == 2
    captured = capsys.readouterr()
    assert "1 problem(s) the forecast would reject" in captured.out
    errors = [l for l in captured.err.splitlines() if l.startswith("error:")]
    assert errors == [f"error: {plan}: workloads[0]: chat cannot run here: A100-80GB: A100-80GB has no FP8 tensor "
                      "cores, so fp8 weights are not served on it: use bf16 or int4 on A100-80GB, or a GPU with FP8 "
                      "(Hopper (H100, H200), Blackwell (B200), Ada (L40S, L4))"]
    # the forecast rejects it too
    assert cli.run(["forecast", str(plan), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_cli_validate_names_a_region_without_offers_in_one_line(tmp_path, capsys):
    plan = tmp_path / "region.yaml"
    text = SMALL.read_text(encoding="utf-8").replace("regions: [eu-central-1]", "regions: [eu-central-1, us-west-1]")
    plan.write_text(text.replace("snapshot: prices.csv", f"snapshot: {SMALL.parent / 'prices.csv'}"), encoding="utf-8")
    assert cli.run(["validate", str(plan)]) == 0
    warnings = [l for l in capsys.readouterr().err.splitlines() if "us-west-1" in l]
    assert warnings == ["warning: constraints.regions: us-west-1 offers none of the allowed GPUs (L40S) in the price "
                        "snapshot dated 2026-07: the forecast leaves it out"]


def test_cli_stale_snapshot_is_one_wording_everywhere(capsys):
    """validate, prices and forecast say the snapshot's age with the same words and the same prefix."""
    assert cli.run(["validate", str(EU)]) == 0
    v = [l for l in capsys.readouterr().err.splitlines() if "days old" in l]
    assert cli.run(["prices", str(EU)]) == 0
    p = [l for l in capsys.readouterr().err.splitlines() if "days old" in l]
    assert v and v == p and v[0].startswith("warning: price snapshot ")
