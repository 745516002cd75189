"""Fleet sizing and the purchase mix: checked against brute force and arithmetic written out here."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from planner import fleet, perf
from planner.errors import UserError
from planner.plan import load, parse

ROOT = Path(__file__).resolve().parents[1]
HEADER = ("instance_type,region,gpu_model,gpu_count,gpu_memory_gib_per_gpu,vcpus,memory_gib,"
          "on_demand_usd_per_hour,spot_min_usd_per_hour,spot_max_usd_per_hour,"
          "reserved_1y_no_upfront_usd_per_hour,reserved_3y_no_upfront_usd_per_hour,source,source_date\n")


def write_snapshot(path: Path, rows: list[str]) -> Path:
    path.write_text(HEADER + "".join(r + ",test row,2026-07\n" for r in rows))
    return path


def plan_dict(snapshot: Path | None = None, **over) -> dict:
    d = {
        "name": "t", "start": "2027-01", "horizon_months": 3,
        "constraints": {"regions": ["us-east-1"], "gpus": ["H100"], "purchase": ["on_demand"],
                        "min_replicas": 1, "headroom": 0.2, "availability_zones": 1},
        "workloads": [{"name": "chat", "model": "llama-3.1-8b", "precision": "fp8",
                       "traffic": {"requests_per_day": 2_000_000, "peak_to_average": 1.0,
                                   "input_tokens": 1000, "output_tokens": 200},
                       "slo": {"ttft_ms": 2000, "tpot_ms": 50},
                       "compare_with": ["openai/gpt-4o-mini"]}],
        "costs": {"uncertainty_buffer": 0.0},
    }
    if snapshot is not None:
        d["pricing"] = {"snapshot": str(snapshot)}
    for key, value in over.items():
        d[key] = value
    return d


# --- brute force --------------------------------------------------------------------------------

def brute_force(need, floor, weights, usd, share, overhead):
    """Enumerate every commitment schedule and every on-demand/spot count: the true optimum."""
    M, H = need.shape
    days = fleet.HOURS_PER_MONTH / 24
    options = [o for o in ("reserved_1y", "reserved_3y") if o in usd]
    top = int(need.max())
    best = math.inf
    for buys in itertools.product(range(top + 1), repeat=len(options) * M):
        cost = 0.0
        active = [0] * M
        for k, opt in enumerate(options):
            term = fleet.TERMS_MONTHS[opt]
            for s in range(M):
                b = buys[k * M + s]
                cost += b * usd[opt] * fleet.HOURS_PER_MONTH * min(term, M - s)
                for m in range(s, min(M, s + term)):
                    active[m] += b
        feasible = True
        for m in range(M):
            cap = math.floor(share * need[m].max() + 1e-9) if "spot" in usd else 0
            for h in range(H):
                cheapest = math.inf
                for o in range(0, top + 1 if "on_demand" in usd else 1):
                    for s in range(cap + 1):
                        if active[m] + o < floor[m]:
                            continue
                        if (1 + overhead) * (active[m] + o) + s < (1 + overhead) * need[m, h] - 1e-9:
                            continue
                        c = (usd.get("on_demand", 0) * o + usd.get("spot", 0) * s) * weights[h] * days
                        cheapest = min(cheapest, c)
                if cheapest == math.inf:
                    feasible = False
                    break
                cost += cheapest
            if not feasible:
                break
        if feasible:
            best = min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_fleet_matches_brute_force_small_cases(seed):
    rng = random.Random(seed)
    M = 3  # months; two hour levels
    need = np.array(sorted([[rng.randint(1, 3), rng.randint(0, 2)] for _ in range(M)], key=sum))
    need = np.sort(need, axis=1)[:, ::-1].copy()
    floor = np.full(M, rng.randint(0, 1))
    need = np.maximum(need, floor[:, None])
    weights = np.array([rng.randint(1, 12), 0.0])
    weights[1] = 24 - weights[0]
    od = rng.uniform(1, 4)
    usd = {"on_demand": od}
    if rng.random() < 0.7:
        usd["reserved_1y"] = od * rng.uniform(0.3, 0.9)
    if rng.random() < 0.4:
        usd["reserved_3y"] = od * rng.uniform(0.2, 0.8)
    if rng.random() < 0.6:
        usd["spot"] = od * rng.uniform(0.2, 0.7)
    share = rng.choice([0.0, 0.5, 1.0])
    overhead = rng.choice([0.0, 0.1, 0.5])
    sol = fleet.solve_mix(need, floor, weights, usd, share, overhead)
    expected = brute_force(need, floor, weights, usd, share, overhead)
    assert sol.cost_usd == pytest.approx(expected, rel=1e-9, abs=1e-6), (need, floor, weights, usd, share, overhead)


def test_fleet_flat_demand_on_demand_by_hand(tmp_path):
    """One instance type, on-demand only, flat traffic: instances = ceil(peak × 1.2 / capacity)."""
    snap = write_snapshot(tmp_path / "s.csv", ["p5.48xlarge,us-east-1,H100,8,80,192,2048,55.04,,,,"])
    plan = parse(plan_dict(snap), file=str(tmp_path / "plan.yaml"))
    fp = fleet.build(plan)
    wf = fp.workload("chat")
    c = wf.candidate
    assert c.instance_type == "p5.48xlarge"
    replica = perf.capacity_by_name("llama-3.1-8b", "H100", "fp8", c.tp, 1000, 200, 2000, 50)
    # 2,000,000 requests a day is 23.148 req/s all day (peak = mean); with 20 % headroom 27.78 req/s
    peak = 2_000_000 / 86400 * 1.2
    per_instance = (8 // c.tp) * replica.requests_per_s
    count = math.ceil(peak / per_instance)
    (line,) = wf.months[0].lines
    assert (line.purchase, line.count, line.hours) == ("on_demand", count, 730)
    assert line.usd == pytest.approx(count * 55.04 * 730)
    assert wf.months[0].capacity_requests_per_s >= peak


def test_fleet_flat_demand_reserved_by_hand(tmp_path):
    """Flat load all day is worth a commitment: 1-year reserved at on-demand × (1 − 0.30)."""
    snap = write_snapshot(tmp_path / "s.csv", ["g6e.xlarge,us-east-1,L40S,1,44.7,4,32,2.0,,,,"])
    d = plan_dict(snap)
    d["constraints"].update({"gpus": ["L40S"], "purchase": ["on_demand", "reserved_1y"], "min_replicas": 2})
    d["workloads"][0]["traffic"]["requests_per_day"] = 20_000
    plan = parse(d, file=str(tmp_path / "plan.yaml"))
    wf = fleet.build(plan).workload("chat")
    rps = perf.capacity_by_name("llama-3.1-8b", "L40S", "fp8", 1, 1000, 200, 2000, 50).requests_per_s
    count = max(2, math.ceil(20_000 / 86400 * 1.2 / rps))
    for mf in wf.months:
        (line,) = mf.lines
        assert line.purchase == "reserved_1y"
        assert line.count == count
        # 2.00 × (1 − 0.30) = 1.40 $/h × 730 h
        assert line.usd == pytest.approx(count * 1.40 * 730)


def test_fleet_peaks_go_on_demand_base_reserved(tmp_path):
    """A day with a 4-hour peak: the base is committed, the peak runs on demand for its hours only."""
    snap = write_snapshot(tmp_path / "s.csv", ["g6e.xlarge,us-east-1,L40S,1,44.7,4,32,2.0,,,,"])
    d = plan_dict(snap)
    d["constraints"].update({"gpus": ["L40S"], "purchase": ["on_demand", "reserved_1y"], "headroom": 0.0})
    rps = perf.capacity_by_name("llama-3.1-8b", "L40S", "fp8", 1, 1000, 200, 2000, 50).requests_per_s
    # base load = 2 instances' worth; 4 peak hours at 5 instances' worth
    profile = [2.0] * 20 + [5.0] * 4
    mean_weight = sum(profile) / 24
    mean_rps = 2 * rps / 2.0 * mean_weight * 0.999  # so that weight 2 needs exactly 2 instances
    d["workloads"][0]["traffic"].update({"requests_per_day": mean_rps * 86400, "peak_to_average": None,
                                         "hourly_profile": profile})
    plan = parse(d, file=str(tmp_path / "plan.yaml"))
    mf = fleet.build(plan).workload("chat").months[0]
    lines = {line.purchase: line for line in mf.lines}
    # reserved for the base: 2 × 1.40 × 730; on demand: 3 instances × 4 h × 30.4167 days at 2.00
    assert lines["reserved_1y"].count == 2
    assert lines["on_demand"].count == 3
    assert lines["on_demand"].hours == pytest.approx(4 * 730 / 24)
    assert mf.compute_usd == pytest.approx(2 * 1.40 * 730 + 3 * 2.0 * 4 * 730 / 24)


def test_fleet_spot_never_carries_the_floor(tmp_path):
    snap = write_snapshot(tmp_path / "s.csv", ["g6e.xlarge,us-east-1,L40S,1,44.7,4,32,2.0,0.5,0.6,,"])
    d = plan_dict(snap)
    d["constraints"].update({"gpus": ["L40S"], "purchase": ["on_demand", "spot"], "min_replicas": 2,
                             "max_spot_share": 1.0})
    d["workloads"][0]["traffic"]["requests_per_day"] = 1000
    plan = parse(d, file=str(tmp_path / "plan.yaml"))
    for mf in fleet.build(plan).workload("chat").months:
        non_spot = sum(line.count for line in mf.lines if line.purchase != "spot")
        assert non_spot >= 2


def test_fleet_unservable_plan_says_why(tmp_path, capsys):
    d = plan_dict()
    d["constraints"]["gpus"] = ["L4"]
    d["workloads"][0]["model"] = "llama-3.1-405b"
    d["workloads"][0]["precision"] = "fp16"
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(d))
    from planner.cli import run

    assert run(["size", str(plan)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "workloads[0]: cannot be served" in err and "Relax" in err


# --- properties on the real snapshot -------------------------------------------------------------

def _cost(plan) -> tuple[float, int]:
    fp = fleet.build(plan)
    cost = sum(mf.compute_usd for wf in fp.workloads for mf in wf.months)
    peak = max(mf.instances_peak * wf.candidate.gpus_per_instance for wf in fp.workloads for mf in wf.months)
    return cost, peak


def _real_plan(rpd: float, regions=("us-east-1", "us-east-2"), purchase=("on_demand", "reserved_1y", "spot"),
               **constraints) -> dict:
    d = plan_dict()
    d["horizon_months"] = 4
    d["constraints"].update({"regions": list(regions), "gpus": ["L40S", "H100", "L4"],
                             "purchase": list(purchase), "min_replicas": 2, "availability_zones": 2,
                             **constraints})
    d["workloads"][0]["traffic"].update({"requests_per_day": rpd, "peak_to_average": 2.0, "monthly_growth": 0.1})
    return d


PROPERTY = settings(max_examples=8, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@PROPERTY
@given(rpd=st.floats(1e4, 5e6), more=st.floats(1.0, 3.0))
def test_fleet_more_traffic_never_costs_less(rpd, more):
    low = _cost(parse(_real_plan(rpd)))
    high = _cost(parse(_real_plan(rpd * more)))
    assert high[0] >= low[0] - 1e-6


@PROPERTY
@given(rpd=st.floats(1e4, 5e6), more=st.floats(1.0, 3.0))
def test_fleet_more_traffic_never_shrinks_the_fleet(tmp_path_factory, rpd, more):
    # with one instance type on offer, fleet size is its instance count, month by month
    snap = write_snapshot(tmp_path_factory.mktemp("snap") / "s.csv",
                          ["g6e.xlarge,us-east-1,L40S,1,44.7,4,32,2.0,0.7,0.9,,"])

    def counts(r):
        d = _real_plan(r, regions=("us-east-1",))
        d["pricing"] = {"snapshot": str(snap)}
        fp = fleet.build(parse(d))
        return [mf.instances_peak for mf in fp.workloads[0].months]

    assert all(h >= lo for h, lo in zip(counts(rpd * more), counts(rpd)))


@PROPERTY
@given(rpd=st.floats(1e4, 5e6), cheaper=st.floats(0.3, 1.0))
def test_fleet_cheaper_prices_never_cost_more(rpd, cheaper):
    base = parse(_real_plan(rpd))
    d = _real_plan(rpd)
    d["pricing"] = {"compute_price_multiplier": cheaper}
    assert _cost(parse(d))[0] <= _cost(base)[0] + 1e-6


@PROPERTY
@given(rpd=st.floats(1e4, 5e6))
def test_fleet_removing_a_region_never_costs_less(rpd):
    both = _cost(parse(_real_plan(rpd, regions=("us-east-1", "us-west-2"))))
    one = _cost(parse(_real_plan(rpd, regions=("us-east-1",))))
    assert one[0] >= both[0] - 1e-6


@PROPERTY
@given(rpd=st.floats(1e3, 1e7), headroom=st.floats(0.0, 0.5))
def test_fleet_meets_peak_demand_with_headroom(rpd, headroom):
    plan = parse(_real_plan(rpd, headroom=headroom))
    fp = fleet.build(plan)
    for wf in fp.workloads:
        c = wf.candidate
        replica = perf.capacity_by_name("llama-3.1-8b", c.gpu, "fp8", c.tp, 1000, 200, 2000, 50)
        assert replica.fits and replica.meets_slo
        for mf in wf.months:
            assert mf.capacity_requests_per_s >= mf.demand_peak_requests_per_s * (1 + headroom) - 1e-9


def test_fleet_examples_size_quickly():
    """Not a timing assertion (see bench/fleet_bench.py): the examples size without error."""
    for name in ("eu-chat-assistant", "us-batch-summariser", "internal-tool"):
        fp = fleet.build(load(ROOT / "examples" / f"{name}.yaml"))
        assert all(mf.lines for wf in fp.workloads for mf in wf.months)


def test_fleet_rejects_unreachable_slo(tmp_path):
    d = plan_dict()
    d["workloads"][0]["slo"] = {"ttft_ms": 1, "tpot_ms": 1}
    with pytest.raises(UserError, match="cannot be served"):
        fleet.build(parse(d))
