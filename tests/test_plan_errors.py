"""Bad input never shows a traceback: one line naming the file and the field, exit 2, nothing written."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from planner.cli import run

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "eu-chat-assistant.yaml"


def base() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def _set(data: dict, path: str, value) -> dict:
    data = copy.deepcopy(data)
    node = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return data


_DELETE = object()

# (case id, path to change, new value, field the message must name, words the message must hold)
CASES = [
    ("unknown-field", "constraints.max_spot_shares", 0.2, "constraints.max_spot_shares", "did you mean 'max_spot_share'"),
    ("wrong-type", "horizon_months", "two years", "horizon_months", "integer"),
    ("zero-traffic", "workloads[0].traffic.requests_per_day", 0, "workloads[0].traffic.requests_per_day", "greater than 0"),
    ("negative-traffic", "workloads[0].traffic.requests_per_day", -5, "workloads[0].traffic.requests_per_day", "greater than 0"),
    ("negative-tokens", "workloads[0].traffic.output_tokens", -1, "workloads[0].traffic.output_tokens", "greater than or equal to 1"),
    ("share-above-one", "constraints.max_spot_share", 1.5, "constraints.max_spot_share", "less than or equal to 1"),
    ("share-below-zero", "constraints.headroom", -0.1, "constraints.headroom", "greater than or equal to 0"),
    ("buffer-above-one", "costs.uncertainty_buffer", 1.3, "costs.uncertainty_buffer", "less than or equal to 1"),
    ("horizon-zero", "horizon_months", 0, "horizon_months", "greater than or equal to 1"),
    ("start-not-month", "start", "2027-13", "start", "YYYY-MM"),
    ("start-is-a-date", "start", "2027-01-15", "start", "YYYY-MM"),
    ("unknown-region", "constraints.regions[1]", "eu-nort-1", "constraints.regions[1]", "did you mean 'eu-north-1'"),
    ("unknown-gpu", "constraints.gpus[0]", "H1000", "constraints.gpus[0]", "did you mean 'H100'"),
    ("unknown-model", "workloads[0].model", "llama-3-70b", "workloads[0].model", "'llama-3.1-70b'"),
    ("empty-workloads", "workloads", [], "workloads", "at least 1"),
    ("unknown-api-model", "workloads[0].compare_with[0]", "openai/gpt-4oo", "workloads[0].compare_with[0]", "did you mean 'openai/gpt-4o'"),
    ("unknown-api-provider", "workloads[0].compare_with[1]", "antropic/claude-sonnet-4-5", "workloads[0].compare_with[1]", "did you mean 'anthropic'"),
    ("unknown-purchase", "constraints.purchase[0]", "reserved_2y", "constraints.purchase[0]", "reserved_1y"),
    ("missing-field", "workloads[0].traffic.input_tokens", _DELETE, "workloads[0].traffic.input_tokens", "required"),
    ("both-growth-forms", "workloads[0].traffic.requests_per_day_by_month", {"2027-01": 100}, "workloads[0].traffic", "exactly one of requests_per_day"),
    ("profile-wrong-length", "workloads[0].traffic.hourly_profile", [1, 2, 3], "workloads[0].traffic.hourly_profile", "24"),
]


def _run_bad(tmp_path: Path, capsys, data_or_text) -> tuple[int, str, Path]:
    plan = tmp_path / "plan.yaml"
    plan.write_text(data_or_text if isinstance(data_or_text, str) else yaml.safe_dump(data_or_text, sort_keys=False))
    out = tmp_path / "out"
    code = run(["forecast", str(plan), "--out", str(out)])
    err = capsys.readouterr().err
    return code, err, out


@pytest.mark.parametrize("case,path,value,field,words", CASES, ids=[c[0] for c in CASES])
def test_plan_bad_input_is_one_line_naming_the_field(tmp_path, capsys, case, path, value, field, words):
    code, err, out = _run_bad(tmp_path, capsys, _set(base(), path, value))
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith(f"error: {tmp_path / 'plan.yaml'}"), line
    assert f": {field}: " in line, line
    assert words in line, line
    assert "Traceback" not in err
    assert not out.exists(), "nothing may be written for a bad plan"


def test_plan_duplicate_workload_names(tmp_path, capsys):
    data = base()
    data["workloads"].append(copy.deepcopy(data["workloads"][0]))
    code, err, out = _run_bad(tmp_path, capsys, data)
    assert code == 2
    assert ": workloads[1].name: duplicate workload name 'chat'" in err
    assert not out.exists()


def test_plan_missing_file(tmp_path, capsys):
    out = tmp_path / "out"
    code = run(["forecast", str(tmp_path / "nope.yaml"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == f"error: {tmp_path / 'nope.yaml'}: no such file"
    assert not out.exists()


def test_plan_yaml_syntax_error_names_the_line(tmp_path, capsys):
    text = EXAMPLE.read_text().replace("horizon_months: 24", "horizon_months: [24")
    code, err, out = _run_bad(tmp_path, capsys, text)
    assert code == 2
    assert err.startswith(f"error: {tmp_path / 'plan.yaml'}:"), err
    assert "YAML syntax error" in err
    line_no = int(err.split(":")[2])
    assert 3 <= line_no <= 8, err  # the broken line is line 5 of the example; the parser notices nearby
    assert not out.exists()


def test_plan_error_names_the_yaml_line(tmp_path, capsys):
    data = _set(base(), "workloads[0].model", "llama-3-70b")
    code, err, _ = _run_bad(tmp_path, capsys, data)
    text = (tmp_path / "plan.yaml").read_text().splitlines()
    line_no = int(err.split(":")[2])
    assert "llama-3-70b" in text[line_no - 1]


def test_validate_prints_summary(capsys):
    assert run(["validate", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "support-assistant" in out and "valid" in out
    assert "llama-3.1-70b" in out
    assert "2027-01 .. 2028-12" in out


def test_validate_bad_plan_exits_2(tmp_path, capsys):
    code, err, _ = _run_bad(tmp_path, capsys, _set(base(), "constraints.regions", []))
    assert code == 2 and "constraints.regions" in err


def test_plan_regions_offering_none_of_the_gpus_are_rejected(tmp_path, capsys):
    data = _set(base(), "constraints.regions", ["eu-west-1"])  # offers g5 and p4d only
    data["constraints"]["gpus"] = ["H100"]
    code, err, out = _run_bad(tmp_path, capsys, data)
    assert code == 2
    line = err.strip()
    assert len(line.splitlines()) == 1
    assert ": constraints.regions: none of the allowed regions (eu-west-1) offers any of H100" in line
    assert "eu-north-1 (p5.48xlarge)" in line  # names a region that does
    assert not out.exists()
