"""The cost of ownership, break-even and recommendation, against arithmetic written out here."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from planner import forecast, inputs
from planner.forecast import decision
from planner.plan import load, parse

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "tests" / "fixtures" / "seed002" / "plan.yaml"


def build(plan):
    return forecast.build(plan, inputs.load(plan))


def test_forecast_seed_002_annual_totals_follow_from_its_inputs():
    """Seed 002 prints $366,000 (self-hosted) and $75,200 (API) a year; its own inputs imply otherwise.

    Self-hosted, a month: GPUs 4,500 + people 18,000 × 1 + 16,000 × 0.25 = 22,000 + data/eval 2,500
    + compliance 1,500 = 30,500; a year: 30,500 × 12 = 366,000 + one-time compliance 15,000 = 381,000
    (the seed's own annual_total adds the one-time cost and 60,000 of opportunity cost, which this
    planner does not model, then prints only 366,000).
    Platform (pricing/data/platform_prices.csv, us-east-1), everything the prod stack creates: the
    load balancer needs two private subnets, so two NAT gateways 2 × 0.045 × 730 = 65.70 and their
    public IPv4 addresses 2 × 0.005 × 730 = 7.30; one load balancer 0.0225 × 730 = 16.425; three SSM
    interface endpoints in two subnets 6 × 0.01 × 730 = 43.80; flow logs (0.5 GB for the instance +
    1 GB) × (0.50 ingestion + 12 months kept × 0.03) = 1.29; two health alarms 2 × 0.10 = 0.20;
    the root volume 200 GiB × 0.08 = 16.00 + 3,000 IOPS above the baseline × 0.005 = 15.00 +
    875 MiB/s above the baseline × 0.04 = 35.00; no egress (the plan says 0 GB) and no image pulls
    (the instance runs all month) → 200.715 a month, 2,408.58 a year.
    So the self-hosted year is 381,000 + 2,408.58 = 383,408.58.
    API path, a month: tokens 3,000 + DevOps 0.1 × 16,000 = 1,600 + compliance 500 = 5,100; a year
    61,200 + one-time compliance 5,000 = 66,200 (the seed prints 75,200).
    """
    result = build(load(SEED))
    year = result.totals.horizon
    assert year.months == 12
    by_cat = year.self_hosted_by_category_usd
    assert by_cat.compute == pytest.approx(54_000.00, abs=0.01)
    assert by_cat.people == pytest.approx(264_000.00)
    assert by_cat.data_eval == pytest.approx(30_000.00)
    assert by_cat.compliance == pytest.approx(33_000.00)
    assert by_cat.platform == pytest.approx(200.715 * 12, abs=0.01)
    assert by_cat.buffer == 0
    assert year.self_hosted_usd == pytest.approx(383_408.58, abs=0.01)
    assert year.api_usd["anthropic/claude-sonnet-4-5"] == pytest.approx(36_000.00, abs=0.01)
    assert year.api_path_usd["anthropic/claude-sonnet-4-5"] == pytest.approx(66_200.00, abs=0.01)
    # the first month carries both one-time compliance costs
    first = result.months[0]
    assert first.self_hosted_usd.compliance == pytest.approx(16_500)
    assert first.api_path_usd["anthropic/claude-sonnet-4-5"] == pytest.approx(3_000 + 1_600 + 500 + 5_000, abs=0.01)
    assert first.workloads[0].storage_gib_per_instance == 200
    assert result.break_even["anthropic/claude-sonnet-4-5"].month is None
    assert result.recommendation.decision == "api"


def test_forecast_buffer_applies_to_every_self_hosted_category():
    data = yaml.safe_load(SEED.read_text())
    data["costs"]["uncertainty_buffer"] = 0.30
    plan = parse(data, file=str(SEED))
    m = build(plan).months[1].self_hosted_usd
    subtotal = sum(getattr(m, c) for c in ("compute", "platform", "people", "data_eval", "compliance", "retraining"))
    # month 2: 4,500 + 200.715 + 22,000 + 2,500 + 1,500 = 30,700.715; × 0.30 = 9,210.2145
    assert subtotal == pytest.approx(30_700.715, abs=0.01)
    assert m.buffer == pytest.approx(9_210.2145, abs=0.01)
    assert m.total == pytest.approx(30_700.715 * 1.3, abs=0.01)


def test_forecast_retraining_every_n_months():
    data = yaml.safe_load(SEED.read_text())
    data["costs"].update({"retraining_every_months": 3, "retraining_gpu_hours": 100})
    months = build(parse(data, file=str(SEED))).months
    # 100 GPU-hours at 6.1644 / 2 GPUs = 3.0822 $/GPU-hour = 308.22 in months 4, 7 and 10
    charged = [m.month for m in months if m.self_hosted_usd.retraining > 0]
    assert charged == ["2027-04", "2027-07", "2027-10"]
    assert months[3].self_hosted_usd.retraining == pytest.approx(100 * 4500 / 730 / 2, abs=0.01)


def test_forecast_every_fleet_usd_is_count_times_rate_times_hours():
    result = build(load(ROOT / "examples" / "us-batch-summariser.yaml"))
    for m in result.months:
        compute = 0.0
        for w in m.workloads:
            for line in w.fleet:
                assert line.usd == pytest.approx(line.count * line.usd_per_hour * line.hours)
                assert line.purchase in ("reserved_1y", "reserved_3y", "on_demand", "spot")
                compute += line.usd
        assert m.self_hosted_usd.compute == pytest.approx(compute)


def test_forecast_break_even_by_hand():
    months = ["2027-01", "2027-02", "2027-03", "2027-04"]
    self_usd = [100.0, 100.0, 100.0, 100.0]
    api_usd = [40.0, 80.0, 120.0, 160.0]
    requests = [1000.0, 2000.0, 3000.0, 4000.0]
    be = decision.break_even(months, self_usd, api_usd, requests)
    # cumulative: self 100, 200, 300, 400; API 40, 120, 240, 400 → equal in month 4
    assert be.month == "2027-04"
    # monthly lines cross between 80 (2,000 requests) and 120 (3,000): at 100, i.e. 2,500 requests, in month 3
    assert (be.crossing, be.crossing_month) == ("in_horizon", "2027-03")
    assert be.monthly_requests == pytest.approx(2500.0)
    # cheaper from the start; never cheaper
    assert decision.break_even(months[:1], [10.0], [20.0], [1.0]).crossing == "at_start"
    never = decision.break_even(months[:2], [10.0, 10.0], [1.0, 2.0], [1.0, 2.0])
    assert (never.month, never.crossing, never.crossing_month) == (None, "none", None)


def test_forecast_residency_forces_self_hosting():
    data = yaml.safe_load(SEED.read_text())
    data["workloads"][0]["api_allowed"] = False
    rec = build(parse(data, file=str(SEED))).recommendation
    assert rec.decision == "self-host"
    assert rec.workloads[0].reason == "residency"
    assert [t.kind for t in rec.triggers] == ["residency"]


def test_forecast_hybrid_moves_only_the_workload_that_pays():
    data = yaml.safe_load((ROOT / "examples" / "us-batch-summariser.yaml").read_text())
    small = copy.deepcopy(data["workloads"][0])
    small.update({"name": "tiny", "traffic": {"requests_per_day": 500, "peak_to_average": 2.0,
                                             "input_tokens": 500, "output_tokens": 100}})
    data["workloads"].append(small)
    # with no fixed cost on the API path, a workload of 500 requests a day is cheaper on the API
    # (a few dollars a month) than on its own two GPU instances (over $1,000 a month)
    data["costs"]["api_devops_engineers"] = 0
    rec = build(parse(data, file=str(ROOT / "examples" / "x.yaml"))).recommendation
    decisions = {w.name: w.decision for w in rec.workloads}
    assert decisions == {"summarise": "self-host", "tiny": "api"}
    assert rec.decision == "hybrid"


def test_forecast_examples_recommend_as_their_story_says():
    expected = {"internal-tool": "api", "us-batch-summariser": "self-host"}
    for name, decision in expected.items():
        assert build(load(ROOT / "examples" / f"{name}.yaml")).recommendation.decision == decision
