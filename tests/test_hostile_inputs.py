"""Every hostile or careless input of issue 15 ends with exit 2 and one line naming the file (and the
line and field where there is one), with nothing written, without large allocations.

Each test is one class of case. Memory is checked with tracemalloc where a case used to allocate
gigabytes; no test reads a clock. Cases are cheap: most are refused while reading or validating
the plan, before any forecasting.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
import yaml

from planner.cli import run
from planner.plan import parse
from planner.plan.schema import MAX_PLAN_CELLS, MAX_WORKLOADS
from planner.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "internal-tool.yaml"
SHIPPED = ROOT / "pricing" / "data" / "aws_gpu_prices_2026-07.csv"
MIB = 1024 * 1024


def base() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def with_value(path: str, value, data: dict | None = None) -> dict:
    data = copy.deepcopy(data or base())
    node = data
    parts = path.replace("[", ".").replace("]", "").split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    node[int(parts[-1]) if parts[-1].isdigit() else parts[-1]] = value
    return data


def refused(tmp_path: Path, capsys, content, *, name: str = "plan.yaml", command: str = "forecast",
            max_alloc_mib: float | None = None, names: Path | None = None) -> str:
    """Run `planner COMMAND FILE` on `content` (dict, text or bytes); assert the one-line refusal
    naming the file (`names`, default the plan)."""
    plan = tmp_path / name
    if isinstance(content, dict):
        content = yaml.safe_dump(content, sort_keys=False)
    if isinstance(content, str):
        content = content.encode("utf-8")
    plan.write_bytes(content)
    out = tmp_path / "out"
    argv = [command, str(plan)] + (["--out", str(out)] if command == "forecast" else [])
    if max_alloc_mib is not None:
        tracemalloc.start()
    try:
        code = run(argv)
        if max_alloc_mib is not None:
            peak = tracemalloc.get_traced_memory()[1] / MIB
    finally:
        if max_alloc_mib is not None:
            tracemalloc.stop()
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"error: {names or plan}"), lines[0]
    assert "Traceback" not in err and len(lines[0]) < 400, lines[0]
    assert not out.exists(), "nothing may be written"
    if max_alloc_mib is not None:
        assert peak < max_alloc_mib, f"{peak:.1f} MiB allocated"
    return lines[0]


def where(line: str) -> tuple[int | None, str]:
    """(LINE, 'FIELD: message') of 'error: FILE:LINE: FIELD: message'."""
    rest = line.split(": ", 1)[1]
    head, _, tail = rest.partition(": ")
    number = head.rsplit(":", 1)[1] if ":" in head else None
    return (int(number) if number and number.isdigit() else None), tail


# --- numbers ---------------------------------------------------------------------------------

NUMERIC_FIELDS = [
    "horizon_months", "recommendation_spend_threshold_usd_month",
    "constraints.max_spot_share", "constraints.min_replicas", "constraints.headroom",
    "constraints.availability_zones", "constraints.regions_per_workload", "constraints.spot_interruption_overhead",
    "workloads[0].traffic.requests_per_day", "workloads[0].traffic.monthly_growth",
    "workloads[0].traffic.peak_to_average", "workloads[0].traffic.input_tokens", "workloads[0].traffic.output_tokens",
    "workloads[0].slo.ttft_ms", "workloads[0].slo.tpot_ms",
    "costs.ml_engineers", "costs.ml_engineer_usd_month", "costs.devops_engineers", "costs.devops_usd_month",
    "costs.data_eval_usd_month", "costs.compliance_one_time_usd", "costs.compliance_usd_month",
    "costs.uncertainty_buffer", "costs.retraining_every_months", "costs.retraining_gpu_hours",
    "costs.weights_storage_gib", "costs.egress_gb_per_million_requests", "costs.api_ml_engineers",
    "costs.api_devops_engineers", "costs.api_data_eval_usd_month", "costs.api_compliance_one_time_usd",
    "costs.api_compliance_usd_month",
    "pricing.reserved_1y_discount", "pricing.reserved_3y_discount", "pricing.compute_price_multiplier",
    "pricing.spot_price_multiplier",
    "scenarios.traffic_low", "scenarios.traffic_high", "scenarios.growth_low", "scenarios.growth_high",
    "scenarios.spot_price_low", "scenarios.spot_price_high",
]


@pytest.mark.parametrize("field", NUMERIC_FIELDS)
def test_hostile_non_finite_huge_and_boolean_numbers_are_refused_naming_the_field(tmp_path, field):
    """The loader directly (the CLI prints the same error as one line, shown once below)."""
    from planner.plan import load

    plan = tmp_path / "plan.yaml"
    for value in (float("inf"), float("nan"), 1e308, True, "12"):
        plan.write_text(yaml.safe_dump(with_value(field, value), sort_keys=False))
        with pytest.raises(UserError) as err:
            load(plan)
        line = f"error: {err.value}"
        assert err.value.file == str(plan) and err.value.line and err.value.field == field, line
        assert any(w in err.value.message for w in ("finite", "less than", "must be a number", "must be an integer",
                                                    "whole number", "requests/day")), line


def test_hostile_non_finite_number_through_the_cli(tmp_path, capsys):
    line = refused(tmp_path, capsys, with_value("costs.ml_engineers", float("inf")))
    text = (tmp_path / "plan.yaml").read_text().splitlines()
    number, rest = where(line)
    assert rest == "costs.ml_engineers: must be a finite number, got inf"
    assert text[number - 1].strip() == "ml_engineers: .inf"


def test_hostile_series_and_profile_values_are_refused_at_their_entry(tmp_path, capsys):
    series = with_value("workloads[0].traffic.requests_per_day_by_month", {"2027-01": 1e308, "2027-06": 5.0})
    del series["workloads"][0]["traffic"]["requests_per_day"]
    series["workloads"][0]["traffic"]["monthly_growth"] = 0
    line = refused(tmp_path, capsys, series)
    assert ": workloads[0].traffic.requests_per_day_by_month.2027-01: " in line
    profile = with_value("workloads[0].traffic.hourly_profile", [1e308, 1e308] + [0.0] * 22)
    del profile["workloads"][0]["traffic"]["peak_to_average"]
    line = refused(tmp_path, capsys, profile)
    assert ": workloads[0].traffic.hourly_profile[0]: " in line and "at most 1e15" in line
    profile["workloads"][0]["traffic"]["hourly_profile"] = [float("nan")] + [1.0] * 23
    assert ": workloads[0].traffic.hourly_profile[0]: " in refused(tmp_path, capsys, profile)


def test_hostile_peak_to_average_above_24_is_refused_and_24_is_sized(tmp_path, capsys):
    """The old cosine shape overflowed from 24 up and the fleet fell to its floor; 24 is the whole day in one hour."""
    line = refused(tmp_path, capsys, with_value("workloads[0].traffic.peak_to_average", 30))
    assert ": workloads[0].traffic.peak_to_average: " in line and "less than or equal to 24" in line
    from planner import demand, forecast, inputs

    plan = parse(with_value("workloads[0].traffic.peak_to_average", 24), file="p.yaml")
    table = demand.build(plan)
    month = forecast.size(plan, inputs.load(plan), table).workloads[0].months[-1]
    peak = float(table["peak_requests_per_s"].iloc[-1])
    assert month.capacity_requests_per_s >= peak * (1 + plan.constraints.headroom) * (1 - 1e-9)


def test_hostile_traffic_that_would_need_gigabytes_is_refused_at_load(tmp_path, capsys):
    line = refused(tmp_path, capsys, with_value("workloads[0].traffic.requests_per_day", 1e15), max_alloc_mib=64)
    assert "workloads[0].traffic.requests_per_day" in line
    line = refused(tmp_path, capsys, with_value("constraints.min_replicas", 1e9), max_alloc_mib=64)
    assert ": constraints.min_replicas: " in line
    grows = with_value("workloads[0].traffic.monthly_growth", 1.0)
    grows["workloads"][0]["traffic"]["requests_per_day"] = 1e6
    grows["horizon_months"] = 120
    line = refused(tmp_path, capsys, grows)
    assert ": workloads[0].traffic.monthly_growth: traffic reaches" in line


def test_hostile_fleet_beyond_the_instance_ceiling_is_one_line(tmp_path, capsys):
    data = with_value("workloads[0].traffic.requests_per_day", 5e9)
    data["workloads"][0]["model"] = "llama-3.1-405b"
    data["workloads"][0]["traffic"]["monthly_growth"] = 0
    data["scenarios"] = {"traffic_high": 1.0}
    line = refused(tmp_path, capsys, data, max_alloc_mib=256)
    assert ": workloads[0].traffic: needs " in line and "more than the 500 per region" in line


def test_hostile_years_0_and_10000_and_dates(tmp_path, capsys):
    for text, words in (("0000-01", "year 0 is outside"), ("10000-01", "YYYY-MM"), ("2027-01-15", "YYYY-MM")):
        line = refused(tmp_path, capsys, EXAMPLE.read_text().replace("start: 2027-01", f"start: {text}"))
        assert ": start: " in line and words in line, line
    line = refused(tmp_path, capsys, EXAMPLE.read_text().replace("start: 2027-01", "start: !!timestamp 0000-01-01"))
    assert where(line)[0] == 4 and "year 0 is out of range" in line


def test_hostile_5000_digit_integer(tmp_path, capsys):
    line = refused(tmp_path, capsys, EXAMPLE.read_text().replace("requests_per_day: 3000",
                                                                 "requests_per_day: " + "9" * 5000), max_alloc_mib=16)
    assert where(line)[0] == 16 and "a number written with 5,000 characters" in line


# --- the YAML itself -------------------------------------------------------------------------

def bomb(levels: int, width: int) -> str:
    """A flow list defining and using `levels` nested anchors: width^levels values once expanded."""
    items = [f"&x0 [{', '.join(['lol'] * width)}]"]
    items += [f"&x{k} [{', '.join([f'*x{k - 1}'] * width)}]" for k in range(1, levels)]
    return "[" + ", ".join(items) + "]"


@pytest.mark.parametrize("field, old", [("start", "start: 2027-01"),
                                        ("constraints.purchase", "purchase: [on_demand, reserved_1y]")])
def test_hostile_billion_laughs_is_refused_before_expanding(tmp_path, capsys, field, old):
    text = EXAMPLE.read_text().replace(old, f"{old.split(':')[0]}: {bomb(9, 10)}")
    line = refused(tmp_path, capsys, text, max_alloc_mib=32)
    assert f": {field}" in line and "aliases expand to more than 100,000 values" in line, line


def test_hostile_small_alias_tree_under_the_limit_still_gives_a_short_line(tmp_path, capsys):
    """9^4 values (under the expansion limit) in `start`: the message quotes ~80 characters, not megabytes."""
    text = EXAMPLE.read_text().replace("start: 2027-01", f"start: {bomb(4, 9)}")
    line = refused(tmp_path, capsys, text, max_alloc_mib=64)
    assert ": start: must be YYYY-MM" in line and len(line) < 250, line
    text = EXAMPLE.read_text().replace("purchase: [on_demand, reserved_1y]", f"purchase: {bomb(4, 9)}")
    line = refused(tmp_path, capsys, text, max_alloc_mib=64)
    assert ": constraints.purchase[0]: " in line and len(line) < 250, line


def test_hostile_recursive_alias_and_deep_nesting(tmp_path, capsys):
    line = refused(tmp_path, capsys, EXAMPLE.read_text() + "loop: &loop [*loop]\n")
    assert "an alias refers to a value that contains it" in line
    for depth in (40, 450, 100_000):
        line = refused(tmp_path, capsys, EXAMPLE.read_text() + "deep: " + "[" * depth + "]" * depth + "\n",
                       max_alloc_mib=64)
        assert where(line)[0] == 29 and ("nested more than 32 levels deep" in line
                                         or "exceeded maximum nesting depth" in line), line  # libyaml's own limit


def test_hostile_duplicate_keys_name_both_lines(tmp_path, capsys):
    text = EXAMPLE.read_text().replace("  headroom: 0.3\n", "  headroom: 0.3\n  min_replicas: 3\n")
    line = refused(tmp_path, capsys, text)
    assert line.endswith(": constraints.min_replicas: duplicate key (first at line 9, again at line 11; YAML "
                         "would keep only the last): give it once"), line


def test_hostile_unknown_file_key_and_yaml_errors(tmp_path, capsys):
    line = refused(tmp_path, capsys, EXAMPLE.read_text() + "file: /etc/passwd\n")
    assert ": file: unknown field" in line and where(line)[0] == 29
    line = refused(tmp_path, capsys, EXAMPLE.read_text() + "a: !!python/object/apply:os.system ['true']\n")
    assert "YAML syntax error" in line or "could not determine a constructor" in line
    assert "YAML syntax error" in refused(tmp_path, capsys, "a: 1\n---\nb: 2\n")
    assert "is empty" in refused(tmp_path, capsys, "# nothing\n")


def test_hostile_long_values_are_quoted_to_about_80_characters(tmp_path, capsys):
    for field in ("workloads[0].model", "constraints.regions[0]", "workloads[0].compare_with[0]", "name",
                  "workloads[0].precision"):
        line = refused(tmp_path, capsys, with_value(field, "x" * 100_000), max_alloc_mib=32)
        assert len(line) < 300, line
    line = refused(tmp_path, capsys, with_value("constraints.purchase", ["y" * 100_000]))
    assert len(line) < 400, line
    data = base()
    data["constraints"]["k" * 10_000] = 1
    assert len(refused(tmp_path, capsys, data)) < 300


def test_hostile_value_types_booleans_strings_lists(tmp_path, capsys):
    line = refused(tmp_path, capsys, with_value("workloads[0].traffic.requests_per_day", True))
    assert line.endswith(": workloads[0].traffic.requests_per_day: must be a number, got True")
    line = refused(tmp_path, capsys, with_value("horizon_months", [1, 2]))
    assert ": horizon_months: must be an integer" in line


# --- files -----------------------------------------------------------------------------------

def test_hostile_encodings(tmp_path, capsys):
    text = EXAMPLE.read_text().replace("# A small internal", "# A small résumé internal")
    line = refused(tmp_path, capsys, text.encode("latin-1"))
    assert where(line)[0] == 1 and "is not UTF-8 (byte 0xe9" in line
    line = refused(tmp_path, capsys, text.encode("utf-16"))
    assert "UTF-16" in line
    line = refused(tmp_path, capsys, text.encode("utf-16-le"))  # no byte-order mark
    assert "NUL bytes" in line
    line = refused(tmp_path, capsys, bytes(range(256)) * 4)
    assert "NUL bytes" in line
    bom = tmp_path / "bom.yaml"
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert run(["validate", str(bom)]) == 0  # a UTF-8 byte-order mark is tolerated
    capsys.readouterr()


def test_hostile_oversized_plan_is_refused_without_reading_it(tmp_path, capsys):
    plan = tmp_path / "plan.yaml"
    with open(plan, "wb") as handle:  # 50 MB, sparse: nothing is written to disk
        handle.truncate(50 * 1000 * 1000)
    tracemalloc.start()
    try:
        code = run(["validate", str(plan)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 2 and peak < 8 * MIB
    assert capsys.readouterr().err.strip() == f"error: {plan}: is 47.7 MiB; a plan file is at most 1.0 MiB"


@pytest.mark.parametrize("path, words", [("/dev/zero", "is a device, not a plan file"),
                                         ("{tmp}", "is a folder, not a plan file"),
                                         ("{tmp}/nope.yaml", "no such file")])
def test_hostile_not_a_regular_file(tmp_path, capsys, path, words):
    path = path.format(tmp=tmp_path)
    assert run(["validate", path]) == 2
    assert capsys.readouterr().err.strip() == f"error: {path}: {words}"


def test_hostile_fifo_as_plan_never_blocks(tmp_path):
    """In a child process, so that a regression would fail on the timeout instead of hanging the suite."""
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    child = subprocess.run([sys.executable, "-m", "planner", "validate", str(fifo)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 2
    assert child.stderr.strip() == f"error: {fifo}: is a FIFO (named pipe), not a plan file"


def test_hostile_tilde_is_expanded_for_the_plan_and_its_snapshot(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "snap.csv").write_bytes(SHIPPED.read_bytes())
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(with_value("pricing.snapshot", "~/snap.csv")))
    assert run(["validate", "~/plan.yaml"]) == 0
    assert run(["prices", "~/plan.yaml", "--json"]) == 0
    capsys.readouterr()


# --- the plan's size ------------------------------------------------------------------------

def test_hostile_ten_thousand_workloads_are_refused_before_validation():
    workload = base()["workloads"][0]
    data = {**base(), "workloads": [workload] * 10_000}  # one dict, shared: no large allocation
    tracemalloc.start()
    try:
        with pytest.raises(UserError) as err:
            parse(data, file="big.yaml")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(err.value) == f"big.yaml: workloads: 10,000 workloads; a plan has at most {MAX_WORKLOADS}"
    assert peak < 4 * MIB


def test_hostile_plan_past_the_work_ceiling_is_one_line(tmp_path, capsys):
    text = EXAMPLE.read_text().replace("horizon_months: 12", "horizon_months: 120").replace(
        "regions: [us-east-1]", "regions: [us-east-1, us-east-2, us-west-1, us-west-2, ca-central-1, eu-west-1, "
        "eu-west-2, eu-central-1, eu-north-1]")
    text = text.replace("workloads:\n  - name: helpdesk", "workloads:\n  - &w\n    name: helpdesk")
    extra = "".join(f"  - {{<<: *w, name: w{i}}}\n" for i in range(6))
    text = text.replace("costs:\n", extra + "costs:\n", 1)
    line = refused(tmp_path, capsys, text)
    assert f"7 workloads × 120 months × 9 regions = 7,560, more than the {MAX_PLAN_CELLS:,}" in line
    assert ": workloads: " in line


def test_hostile_1_mib_plan_of_thousands_of_workloads_is_refused_in_the_reader(tmp_path, capsys):
    item = ("- {name: w%d, model: llama-3.1-8b, traffic: {requests_per_day: 1000, peak_to_average: 2, "
            "input_tokens: 100, output_tokens: 100}, compare_with: [openai/gpt-4o-mini]}\n")
    head = EXAMPLE.read_text().split("workloads:")[0] + "workloads:\n"
    body, i = [], 0
    size = len(head)
    while size + len(item) + 8 < MIB - 200:
        body.append(item % i)
        size += len(body[-1])
        i += 1
    line = refused(tmp_path, capsys, head + "".join(body), command="validate")
    assert "more than 100,000 values" in line


# --- price snapshots and forecast files ------------------------------------------------------

def snapshot_plan(tmp_path: Path, csv_bytes: bytes) -> dict:
    (tmp_path / "snap.csv").write_bytes(csv_bytes)
    return with_value("pricing.snapshot", "snap.csv")


@pytest.mark.parametrize("mutate, words", [
    (lambda t: t.replace("skypilot", "s" * 200_000, 1), "field larger than field limit"),
    (lambda t: t.replace("skypilot", "s" * 5_000, 1), "a cell longer than 4,096"),
    (lambda t: t.encode("latin-1", "replace").replace(b"skypilot", b"skyp\xeflot", 1), "is not UTF-8"),
    (lambda t: t.encode("utf-16"), "UTF-16"),
    (lambda t: t.replace(",22.35,", ",nan,", 1), "gpu_memory_gib_per_gpu: 'nan'"),
    (lambda t: t.replace(",1.5488,", ",inf,", 1), "on_demand_usd_per_hour: 'inf'"),
    (lambda t: t.replace(",1.5488,", ",1e308,", 1), "on_demand_usd_per_hour: '1e308'"),
    (lambda t: t.replace(",2026-07\n", ",0000-07\n", 1), "not a calendar date"),
], ids=["cell-over-128k", "cell-over-4k", "latin-1", "utf-16", "nan-memory", "inf-price", "1e308-price", "year-0"])
def test_hostile_price_snapshots(tmp_path, capsys, mutate, words):
    text = SHIPPED.read_text(encoding="utf-8")
    bad = mutate(text)
    bad = bad.encode("utf-8") if isinstance(bad, str) else bad
    line = refused(tmp_path, capsys, snapshot_plan(tmp_path, bad), command="validate",
                   names=tmp_path / "snap.csv")
    assert words in line, line


NOT_OURS = "not a forecast.json of this planner"


@pytest.mark.parametrize("content, words", [
    (b"not json", NOT_OURS),
    (b"[1, 2]", NOT_OURS),
    (b'{"months": "all"}', NOT_OURS),
    (b"[" * 100_000 + b"]" * 100_000, NOT_OURS),
    (b'{"months": ' + b"9" * 5000 + b"}", NOT_OURS),
    (b"\xff\xfe{\x00}\x00", "cannot read forecast JSON: is UTF-16"),
    (b"{\"months\": [\"\xe9\"]}", "cannot read forecast JSON: is not UTF-8"),
], ids=["not-json", "list", "months-string", "deep", "5000-digits", "utf-16", "latin-1"])
def test_hostile_quotas_forecast_file(tmp_path, capsys, content, words):
    path = tmp_path / "forecast.json"
    path.write_bytes(content)
    assert run(["quotas", "--regions", "us-east-1", "--forecast", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"error: {path}") and len(err) < 400, err
    assert words in err, err


def test_hostile_quotas_forecast_not_a_regular_file(tmp_path, capsys):
    assert run(["quotas", "--regions", "us-east-1", "--forecast", "/dev/zero"]) == 2
    assert capsys.readouterr().err.strip() == "error: /dev/zero: cannot read forecast JSON: is a device, not a forecast.json"
    fifo = tmp_path / "forecast.json"
    os.mkfifo(fifo)
    child = subprocess.run([sys.executable, "-m", "planner", "quotas", "--forecast", str(fifo)], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 2 and "is a FIFO (named pipe)" in child.stderr, child.stderr


# --- the guard at the top of every command -----------------------------------------------------

@pytest.mark.parametrize("exc, words", [(ValueError("x" * 10_000), "ValueError: xxx"),
                                        (MemoryError(), "out of memory"),
                                        (RecursionError("maximum recursion depth exceeded"), "recursion too deep"),
                                        (KeyError("k"), "KeyError: 'k'")])
def test_hostile_internal_errors_are_one_line_exit_70(monkeypatch, capsys, exc, words):
    from planner import service

    def boom(*_a, **_k):
        raise exc

    monkeypatch.setattr(service, "validate", boom)
    assert run(["validate", str(EXAMPLE)]) == 70
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and len(err) < 500, err
    assert err.startswith("error: internal: ") and words in err and "please report" in err, err
    assert run(["--debug", "validate", str(EXAMPLE)]) == 70
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and err.strip().splitlines()[-1].startswith("error: internal")
    assert run(["validate", str(EXAMPLE), "--debug"]) == 70  # --debug after the command works too
    assert "Traceback" in capsys.readouterr().err


def test_hostile_ctrl_c_is_one_line_exit_130(monkeypatch, capsys):
    from planner import service

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt

    monkeypatch.setattr(service, "validate", interrupted)
    assert run(["validate", str(EXAMPLE)]) == 130
    assert capsys.readouterr().err.strip() == "error: interrupted"


def test_hostile_json_of_a_run_is_still_valid(tmp_path, capsys):
    """`prices --json` with a snapshot that used to carry NaN: refused, so no invalid JSON is printed."""
    text = SHIPPED.read_text(encoding="utf-8").replace(",22.35,", ",nan,", 1)
    plan = snapshot_plan(tmp_path, text.encode())
    (tmp_path / "plan.yaml").write_text(yaml.safe_dump(plan))
    assert run(["prices", str(tmp_path / "plan.yaml"), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "gpu_memory_gib_per_gpu" in captured.err
    assert json.loads("[]") == []
