"""Property and fuzz tests of plans (hypothesis), bounded to a few seconds in all.

- Plans generated field by field, valid and invalid: `planner forecast` either exits 0 with the four
  complete files whose capacity covers every month's peak plus headroom, or exits 2 with one line
  and nothing written.
- Any accepted plan (extreme daily shapes included): every month's capacity >= peak x (1 + headroom).
- Random bytes, random YAML and random values at random places of a real plan never give a
  traceback or an internal error.
"""

from __future__ import annotations

import copy
import json
import math
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from planner import demand, forecast, inputs
from planner.cli import run
from planner.errors import UserError
from planner.plan import parse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = yaml.safe_load((ROOT / "examples" / "internal-tool.yaml").read_text())
FILES = {"report.md", "report.html", "forecast.csv", "forecast.json"}
FAST = settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)

# numbers as a careless or hostile user writes them: in range, out of range, non-finite, wrong type
odd_numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
                        st.booleans(), st.sampled_from(["12", "", None, [], {}]))


def within(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def maybe(valid, invalid=odd_numbers):
    """Mostly a valid value (about a third of the plans are valid throughout), sometimes anything."""
    return st.integers(0, 9).flatmap(lambda k: valid if k else invalid)


shapes = st.one_of(
    st.fixed_dictionaries({"peak_to_average": maybe(st.one_of(within(1, 24), st.sampled_from([1.0, 23.99, 24.0])))}),
    st.fixed_dictionaries({"hourly_profile": maybe(st.lists(st.one_of(within(0, 1e15), st.just(0.0)),
                                                            min_size=24, max_size=24))}),
)

plans = st.builds(
    lambda start, horizon, region, gpus, purchase, headroom, min_replicas, spot, rpd, growth, shape, tokens_in,
    tokens_out, buffer: {
        "name": "generated", "start": start, "horizon_months": horizon,
        "constraints": {"regions": [region], "gpus": gpus, "purchase": purchase, "headroom": headroom,
                        "min_replicas": min_replicas, "max_spot_share": spot},
        "workloads": [{"name": "w", "model": "llama-3.1-8b", "compare_with": ["openai/gpt-4o-mini"],
                       "traffic": {"requests_per_day": rpd, "monthly_growth": growth, **shape,
                                   "input_tokens": tokens_in, "output_tokens": tokens_out}}],
        "costs": {"uncertainty_buffer": buffer},
    },
    start=maybe(st.sampled_from(["2027-01", "2030-12"]), st.sampled_from(["0000-01", "10000-01", "2027-13", 2027])),
    horizon=maybe(st.integers(1, 3)),
    region=st.sampled_from(["us-east-1", "eu-north-1"]),
    gpus=st.sampled_from([["L4"], ["H100"], ["L40S", "L4"]]),
    purchase=st.sampled_from([["on_demand"], ["on_demand", "spot"], ["reserved_1y", "on_demand", "spot"]]),
    headroom=maybe(within(0, 1)),
    min_replicas=maybe(st.integers(1, 4)),
    spot=maybe(within(0, 1)),
    rpd=maybe(within(1, 3e6)),
    growth=maybe(within(-0.5, 0.5)),
    shape=shapes,
    tokens_in=maybe(within(1, 4000)),
    tokens_out=maybe(within(1, 1000)),
    buffer=maybe(within(0, 1)),
)


def covered(forecast: dict, headroom: float) -> None:
    for month in forecast["months"]:
        for w in month["workloads"]:
            need = w["peak_requests_per_s"] * (1 + headroom)
            assert w["capacity_requests_per_s"] >= need * (1 - 1e-9), (month["month"], w)


@settings(FAST, max_examples=6)
@given(plan=plans)
def test_generated_plans_forecast_completely_or_are_refused_in_one_line(plan):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "plan.yaml"
        path.write_text(yaml.safe_dump(plan, sort_keys=False))
        out = Path(folder) / "out"
        import contextlib
        import io

        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = run(["forecast", str(path), "--out", str(out)])
        assert code in (0, 2), err.getvalue()
        if code == 2:
            lines = err.getvalue().strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"error: {path}"), err.getvalue()
            assert not out.exists()
            return
        assert {p.name for p in out.iterdir()} == FILES
        forecast = json.loads((out / "forecast.json").read_text(encoding="utf-8"))
        assert (out / "report.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
        covered(forecast, plan["constraints"]["headroom"])


def _shipped_inputs(plan, _cache={}):
    """The shipped price snapshot and catalogs, read once for all examples (no plan names its own)."""
    if "inputs" not in _cache:
        _cache["inputs"] = inputs.load(plan)
    return _cache["inputs"]


spiky = [0.0] * 23 + [1e15]


@settings(FAST, max_examples=12)
@given(peak_or_profile=st.one_of(within(1, 24), st.lists(within(0, 1e15), min_size=24, max_size=24)),
       headroom=within(0, 1), rpd=within(1, 2e6), growth=within(-0.5, 0.3), tokens=within(50, 3000),
       min_replicas=st.integers(1, 5), spot=within(0, 1), overhead=within(0, 1))
@example(peak_or_profile=24.0, headroom=1.0, rpd=2e6, growth=0.3, tokens=3000, min_replicas=1, spot=1.0, overhead=1.0)
@example(peak_or_profile=spiky, headroom=0.0, rpd=1e6, growth=0.0, tokens=500, min_replicas=1, spot=0.5, overhead=0.0)
@example(peak_or_profile=[1e-300] * 24, headroom=0.2, rpd=1.0, growth=-0.5, tokens=50, min_replicas=2, spot=0, overhead=0.1)
def test_accepted_plans_cover_every_months_peak_plus_headroom(peak_or_profile, headroom, rpd, growth, tokens,
                                                              min_replicas, spot, overhead):
    data = copy.deepcopy(EXAMPLE)
    traffic = data["workloads"][0]["traffic"]
    traffic.pop("peak_to_average")
    if isinstance(peak_or_profile, list):
        assume(max(peak_or_profile) > 0)
        traffic["hourly_profile"] = peak_or_profile
    else:
        traffic["peak_to_average"] = peak_or_profile
    traffic.update(requests_per_day=rpd, monthly_growth=growth, input_tokens=tokens, output_tokens=tokens / 4)
    data["horizon_months"] = 3
    data["constraints"].update(headroom=headroom, min_replicas=min_replicas, max_spot_share=spot,
                               spot_interruption_overhead=overhead, gpus=["L4", "H100"],
                               purchase=["on_demand", "spot", "reserved_1y"])
    plan = parse(data, file="generated.yaml")
    table = demand.build(plan)
    try:
        sized = forecast.size(plan, _shipped_inputs(plan), table)
    except UserError:  # e.g. more instances than the ceiling: refused, never a wrong fleet
        return
    for month, row in zip(sized.workloads[0].months, table.itertuples(index=False)):
        peak = float(row.peak_requests_per_s)
        assert math.isfinite(month.capacity_requests_per_s)
        assert month.capacity_requests_per_s >= peak * (1 + headroom) * (1 - 1e-9), (month.month, peak)
        assert month.instances_peak >= 1


def validate_never_crashes(path: Path) -> None:
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = run(["validate", str(path)])
    text = err.getvalue()
    assert code in (0, 2), text
    assert "Traceback" not in text and "internal" not in text, text
    if code == 2:
        assert len(text.strip().splitlines()) == 1, text


@settings(FAST, max_examples=40)
@given(data=st.binary(max_size=2048))
@example(data=b"\xef\xbb\xbf" + b"name: x\n")
@example(data=b"\xff\xfe" + "name: x\n".encode("utf-16-le"))
@example(data=b"a: &a [*a]\n")
def test_random_bytes_never_give_a_traceback(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "plan.yaml"
    path.write_bytes(data)
    validate_never_crashes(path)


yaml_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**40, 10**40), st.floats(), st.text(max_size=30)),
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=20,
)


@settings(FAST, max_examples=20)
@given(document=yaml_values)
def test_random_yaml_never_gives_a_traceback(tmp_path_factory, document):
    path = tmp_path_factory.mktemp("yaml") / "plan.yaml"
    path.write_text(yaml.safe_dump(document))
    validate_never_crashes(path)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


PATHS = [p for p in _paths(EXAMPLE) if p]


@settings(FAST, max_examples=40)
@given(where=st.sampled_from(PATHS), value=yaml_values)
def test_random_values_anywhere_in_a_real_plan_never_give_a_traceback(tmp_path_factory, where, value):
    data = copy.deepcopy(EXAMPLE)
    node = data
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    path = tmp_path_factory.mktemp("mutated") / "plan.yaml"
    path.write_text(yaml.safe_dump(data))
    validate_never_crashes(path)
