"""The cost of ownership, break-even and recommendation, against arithmetic written out here."""

from __future__ import annotations

import copy
import dataclasses
import math
from pathlib import Path

import pytest
import yaml

from planner import forecast, inputs, perf
from planner.forecast import decision
from planner.plan import load, parse
from pricing.snapshot import Offer, PriceTable

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


# --- whole commitments ----------------------------------------------------------------------------

def l40s_table(on_demand: float = 2.0, spot_min: float | None = None, spot_max: float | None = None) -> PriceTable:
    """One instance type, in memory: g6e.xlarge (1 × L40S, 4 vCPUs) in us-east-1."""
    row = Offer(region="us-east-1", instance_type="g6e.xlarge", gpu="L40S", gpu_count=1, gpu_memory_gib=48.0, vcpus=4,
                memory_gib=32.0, on_demand_usd_per_hour=on_demand, spot_min_usd_per_hour=spot_min,
                spot_max_usd_per_hour=spot_max, reserved_1y_usd_per_hour=None, reserved_3y_usd_per_hour=None,
                source="test row", date="2026-07")
    return PriceTable(offers=(row,), path="<in memory>", source="test row", date="2026-07")


def small_plan(**over) -> dict:
    d = {"name": "t", "start": "2027-01", "horizon_months": 3,
         "constraints": {"regions": ["us-east-1"], "gpus": ["L40S"], "purchase": ["on_demand", "reserved_1y"],
                         "min_replicas": 2, "availability_zones": 2, "headroom": 0.2},
         "workloads": [{"name": "chat", "model": "llama-3.1-8b", "precision": "fp8",
                        "traffic": {"requests_per_day": 20_000, "peak_to_average": 1.0, "input_tokens": 1000,
                                    "output_tokens": 200},
                        "slo": {"ttft_ms": 2000, "tpot_ms": 50}, "compare_with": ["openai/gpt-4o-mini"]}],
         "costs": {"uncertainty_buffer": 0.3},
         "pricing": {"reserved_1y_discount": 0.9}}
    d.update(over)
    return d


def build_with(plan, table: PriceTable):
    return forecast.build(plan, dataclasses.replace(inputs.load(plan), price_table=table))


def test_forecast_commitment_bought_in_a_short_horizon_is_charged_whole():
    """Two instances all day for 3 months. On demand: 2 × 2.00 × 730 × 3 = 8,760. A 1-year
    reservation at 2.00 × (1 − 0.9) = 0.20 $/h costs 2 × 0.20 × 730 × 12 = 3,504 for its whole term,
    so it is bought in the first month: 876 falls in the horizon (3 months), 2,628 after it, charged
    in 2027-01 as committed_after_horizon with the 30 % buffer (788.40)."""
    plan = parse(small_plan())
    rps = perf.capacity_by_name("llama-3.1-8b", "L40S", "fp8", 1, 1000, 200, 2000, 50).requests_per_s
    assert math.ceil(20_000 / 86_400 * 1.2 / rps) <= 2  # the floor (2) decides the count
    f = build_with(plan, l40s_table())
    (c,) = f.commitments
    assert (c.workload, c.region, c.instance_type, c.purchase, c.count) == ("chat", "us-east-1", "g6e.xlarge",
                                                                           "reserved_1y", 2)
    assert (c.start_month, c.end_month) == ("2027-01", "2027-12")
    assert c.usd_per_hour == pytest.approx(0.20)
    assert c.usd_total == pytest.approx(3_504.0)
    assert c.usd_in_horizon == pytest.approx(876.0)
    assert c.usd_after_horizon == pytest.approx(2_628.0)
    assert f.obligation_signed_usd == pytest.approx(3_504.0)
    first = f.months[0].self_hosted_usd
    assert first.committed_after_horizon == pytest.approx(2_628.0)
    assert [m.self_hosted_usd.committed_after_horizon for m in f.months[1:]] == [0.0, 0.0]
    subtotal = sum(getattr(first, k) for k in ("compute", "platform", "people", "data_eval", "compliance",
                                               "retraining", "committed_after_horizon"))
    assert first.buffer == pytest.approx(0.3 * subtotal)
    assert first.compute == pytest.approx(2 * 0.20 * 730)
    horizon = f.totals.horizon.self_hosted_by_category_usd
    assert horizon.committed_after_horizon == pytest.approx(sum(x.usd_after_horizon for x in f.commitments))
    assert f.totals.horizon.self_hosted_usd == pytest.approx(sum(m.self_hosted_usd.total for m in f.months))
    # "if demand continues": 9 more months (to 2027-12) of the last month held: the reservation
    # (2 × 0.20 × 730 = 292 a month), the same platform, no people; API at the last month's bill
    view = f.if_demand_continues
    last = f.months[-1]
    assert (view.months_after_horizon, view.through_month) == (9, "2027-12")
    assert view.self_hosted_after_horizon_usd == pytest.approx(9 * (292.0 + last.self_hosted_usd.platform) * 1.3)
    assert view.self_hosted_usd == pytest.approx(f.totals.horizon.self_hosted_usd - 2_628.0 * 1.3
                                                 + view.self_hosted_after_horizon_usd)
    bill = last.api_usd["openai/gpt-4o-mini"]
    assert view.api_path_after_horizon_usd["openai/gpt-4o-mini"] == pytest.approx(9 * bill)
    assert view.api_path_usd["openai/gpt-4o-mini"] == pytest.approx(
        f.totals.horizon.api_path_usd["openai/gpt-4o-mini"] + 9 * bill)


def test_forecast_no_commitment_when_its_term_costs_more_than_on_demand():
    """At the default 30 % discount a 1-year term (2 × 1.40 × 730 × 12 = 24,528) costs more than 3
    months on demand (8,760): nothing is reserved, nothing is owed after the horizon."""
    d = small_plan()
    d["pricing"] = {}
    f = build_with(parse(d), l40s_table())
    assert f.commitments == []
    assert f.totals.horizon.self_hosted_by_category_usd.committed_after_horizon == 0
    assert f.if_demand_continues.months_after_horizon == 0
    assert f.if_demand_continues.self_hosted_usd == pytest.approx(f.totals.horizon.self_hosted_usd)


@pytest.mark.parametrize("name", ["us-batch-summariser", "eu-chat-assistant", "internal-tool"])
def test_forecast_commitments_add_up_for_the_examples(name):
    """Σ usd_total = Σ count × rate × 730 × term months; the horizon's committed_after_horizon =
    Σ usd_after_horizon; in + after = total; the months' reserved lines carry the in-horizon part."""
    f = build(load(ROOT / "examples" / f"{name}.yaml"))
    terms = {"reserved_1y": 12, "reserved_3y": 36}
    assert sum(x.usd_total for x in f.commitments) == pytest.approx(
        sum(x.count * x.usd_per_hour * 730 * terms[x.purchase] for x in f.commitments))
    assert f.totals.horizon.self_hosted_by_category_usd.committed_after_horizon == pytest.approx(
        sum(x.usd_after_horizon for x in f.commitments))
    for x in f.commitments:
        assert x.usd_in_horizon + x.usd_after_horizon == pytest.approx(x.usd_total)
    reserved_lines = sum(line.usd for m in f.months for w in m.workloads for line in w.fleet
                         if line.purchase in terms)
    assert reserved_lines == pytest.approx(sum(x.usd_in_horizon for x in f.commitments))


def test_forecast_three_year_terms_flagged_under_36_months():
    d = small_plan()
    d["constraints"]["purchase"] = ["on_demand", "reserved_3y"]
    d["pricing"] = {"reserved_3y_discount": 0.95}  # 0.10 $/h × 36 months = 2,628 per instance < 3 months on demand
    f = build_with(parse(d), l40s_table())
    (w,) = [w for w in f.warnings if w.code == "three_year_term_beyond_horizon"]
    assert (w.horizon_months, w.term_months, w.instances_bought) == (3, 36, 2)
    assert w.usd_after_horizon == pytest.approx(2 * 0.10 * 730 * 33)


# --- honest spot ----------------------------------------------------------------------------------

def test_forecast_spot_priced_conservatively_with_its_range_and_risk():
    """g6e.xlarge at 2.00 $/h on demand; the snapshot knows only the cheapest zone, 0.50 $/h, so
    spot is priced at 0.6 × 2.00 = 1.20 $/h. Flat traffic needing 4 instances, a floor of 1
    (on demand), spot up to every instance an hour needs, 10 % interruption overhead: 3 instances
    of capacity take 4 spot instances (floor(4 / 1.1) = 3), 4 × 1.20 = 4.80 $/h < 3 × 2.00.
    A month: (2.00 + 4.80) × 730 = 4,964. Spot for the 3 months: 4 × 730 × 3 × 1.20 = 10,512,
    at the cheapest zone 4 × 730 × 3 × 0.50 = 4,380. Spot gone for a month: 3 on-demand instances
    instead, (3 × 2.00 − 4 × 1.20) × 730 = 876 more."""
    rps = perf.capacity_by_name("llama-3.1-8b", "L40S", "fp8", 1, 1000, 200, 2000, 50).requests_per_s
    d = small_plan()
    d["constraints"].update({"purchase": ["on_demand", "spot"], "max_spot_share": 1.0, "min_replicas": 1,
                             "availability_zones": 1})
    d["workloads"][0]["traffic"]["requests_per_day"] = 4 * rps / 1.2 * 86_400 * 0.999
    f = build_with(parse(d), l40s_table(on_demand=2.0, spot_min=0.5))
    lines = {line.purchase: line for line in f.months[0].workloads[0].fleet}
    assert (lines["on_demand"].count, lines["spot"].count) == (1, 4)
    assert f.months[0].self_hosted_usd.compute == pytest.approx((2.0 + 4 * 1.2) * 730)
    (sp,) = f.spot_prices
    assert (sp.basis, sp.on_demand_fraction, sp.instance_type) == ("on_demand_fraction", 0.6, "g6e.xlarge")
    assert sp.usd_per_hour == pytest.approx(1.2) and sp.lowest_zone_usd_per_hour == pytest.approx(0.5)
    assert sp.highest_zone_usd_per_hour is None and sp.on_demand_usd_per_hour == pytest.approx(2.0)
    assert sp.spot_usd == pytest.approx(10_512.0) and sp.spot_usd_at_lowest_zone == pytest.approx(4_380.0)
    (risk,) = f.risks
    assert (risk.code, risk.workload, risk.spot_instances, risk.months_with_spot) == ("spot_unavailable", "chat", 4, 3)
    assert risk.extra_usd == pytest.approx(876.0)


def test_forecast_spot_at_the_cheapest_zone_on_request():
    """pricing.spot_basis: lowest_zone prices spot at the snapshot's quote (0.50 $/h)."""
    d = small_plan()
    d["constraints"].update({"purchase": ["on_demand", "spot"], "max_spot_share": 1.0})
    d["pricing"] = {"spot_basis": "lowest_zone"}
    (sp,) = build_with(parse(d), l40s_table(on_demand=2.0, spot_min=0.5)).spot_prices
    assert (sp.basis, sp.usd_per_hour) == ("lowest_zone", pytest.approx(0.5))


# --- quotas -----------------------------------------------------------------------------------------

def test_forecast_quota_needs_count_the_largest_equivalent_and_every_environment():
    """prod needs 2 × g6e.xlarge (the floor). Its group may also launch g6e.2xlarge (same single
    L40S, pricier, 8 vCPUs instead of 4), so every instance counts 8 vCPUs. staging runs
    max(min(2 zones, 2), ceil(2 × 0.25)) = 2 instances, dev 1, both on demand (no spot allowed):
    (2 + 2 + 1) × 8 = 40 vCPUs of Running On-Demand G instances. With spot allowed, staging and dev
    move to spot: 3 × 8 = 24 spot vCPUs, prod's 16 stay on demand."""
    small = Offer(region="us-east-1", instance_type="g6e.xlarge", gpu="L40S", gpu_count=1, gpu_memory_gib=48.0,
                  vcpus=4, memory_gib=32.0, on_demand_usd_per_hour=2.0, spot_min_usd_per_hour=1.9,
                  spot_max_usd_per_hour=1.9, reserved_1y_usd_per_hour=None, reserved_3y_usd_per_hour=None,
                  source="test row", date="2026-07")
    large = dataclasses.replace(small, instance_type="g6e.2xlarge", vcpus=8, on_demand_usd_per_hour=2.5,
                                spot_min_usd_per_hour=2.4, spot_max_usd_per_hour=2.4)
    table = PriceTable(offers=(small, large), path="<in memory>", source="test row", date="2026-07")
    d = small_plan()
    d["constraints"]["purchase"] = ["on_demand"]
    f = build_with(parse(d), table)
    assert f.fleet_choice[0].instance_type == "g6e.xlarge"
    assert f.fleet_choice[0].equivalent_instance_types == ["g6e.2xlarge"]
    assert f.quota_needs_vcpus == {"us-east-1": {"on_demand_g": 40.0}}
    d["constraints"]["purchase"] = ["on_demand", "spot"]
    f = build_with(parse(d), table)
    assert all(line.purchase == "on_demand" for m in f.months for line in m.workloads[0].fleet)
    assert f.quota_needs_vcpus == {"us-east-1": {"on_demand_g": 16.0, "spot_g": 24.0}}


# --- retraining -------------------------------------------------------------------------------------

def test_forecast_retraining_priced_at_each_workloads_own_gpu():
    """Two workloads: llama-3.1-8b fits one L40S (g6e.xlarge, 2.00 $/h), llama-3.1-70b in fp8 does
    not (70 GB of weights) and runs on p5.48xlarge (8 × H100, 55.04 $/h). 100 GPU-hours every 3
    months, per workload: in 2027-04, 100 × 2.00 + 100 × 55.04 / 8 = 200 + 688 = 888. With
    costs.retraining_gpu: H100 both retrain on H100: 2 × 688 = 1,376."""
    p5 = Offer(region="us-east-1", instance_type="p5.48xlarge", gpu="H100", gpu_count=8, gpu_memory_gib=80.0,
               vcpus=192, memory_gib=2048.0, on_demand_usd_per_hour=55.04, spot_min_usd_per_hour=None,
               spot_max_usd_per_hour=None, reserved_1y_usd_per_hour=None, reserved_3y_usd_per_hour=None,
               source="test row", date="2026-07")
    table = PriceTable(offers=(*l40s_table().offers, p5), path="<in memory>", source="test row", date="2026-07")
    d = small_plan(horizon_months=4)
    d["constraints"].update({"gpus": ["L40S", "H100"], "purchase": ["on_demand"]})
    big = copy.deepcopy(d["workloads"][0])
    big.update({"name": "big", "model": "llama-3.1-70b", "slo": {"ttft_ms": 3000, "tpot_ms": 100}})
    d["workloads"].append(big)
    d["costs"].update({"retraining_every_months": 3, "retraining_gpu_hours": 100, "uncertainty_buffer": 0.0})
    f = build_with(parse(d), table)
    assert [c.gpu for c in f.fleet_choice] == ["L40S", "H100"]
    assert [m.self_hosted_usd.retraining for m in f.months] == [0, 0, 0, pytest.approx(888.0)]
    d["costs"]["retraining_gpu"] = "h100"
    f = build_with(parse(d), table)
    assert f.months[3].self_hosted_usd.retraining == pytest.approx(1_376.0)


def test_forecast_recommendation_counts_what_the_totals_count():
    """Self-hosting forced: the recommendation's horizon total is the self-hosted total, obligation
    after the horizon and retraining included (each counted once, with the buffer)."""
    d = small_plan(horizon_months=5)
    d["pricing"] = {"reserved_1y_discount": 0.8}
    d["workloads"][0]["api_allowed"] = False
    d["costs"].update({"ml_engineers": 0.2, "retraining_every_months": 3, "retraining_gpu_hours": 50})
    f = build_with(parse(d), l40s_table())
    cats = f.totals.horizon.self_hosted_by_category_usd
    assert cats.committed_after_horizon > 0 and cats.retraining > 0
    assert f.recommendation.decision == "self-host"
    assert f.recommendation.horizon_total_usd == pytest.approx(f.totals.horizon.self_hosted_usd)
    assert f.recommendation.workloads[0].self_hosted_usd == pytest.approx(
        (cats.compute + cats.platform + cats.retraining + cats.committed_after_horizon) * 1.3)


# --- seed 004: the break-even volume ---------------------------------------------------------------

SEED_004 = ROOT / "tests" / "fixtures" / "seed004" / "plan.yaml"


def test_forecast_seed_004_break_even_volume_follows_from_its_inputs():
    """Seed 004's calculate_breakeven: self-hosted 8,000 + 500 + 1,000 = 9,500 a month; an API
    request costs 500 × 0.15e-6 + 200 × 0.60e-6 = 0.000075 + 0.00012 = $0.000195, so the volumes
    cross at 9,500 / 0.000195 = 48,717,948.72 requests a month (the seed's break_even_requests).
    The seed prices no platform, so the platform prices are zero here (in memory).
    Monthly: 40 M requests → API 7,800; 50 M → 9,750; 60 M → 11,700. The lines cross in 2027-02;
    cumulative self-hosted 9,500 / 19,000 / 28,500 against API 7,800 / 17,550 / 29,250: 2027-03."""
    plan = load(SEED_004)
    loaded = inputs.load(plan)
    zero = {name: dataclasses.replace(p, **{f: 0.0 for f in ("nat_gateway_usd_per_hour", "nat_gateway_usd_per_gb",
                                                              "ebs_gp3_usd_per_gb_month", "load_balancer_usd_per_hour",
                                                              "data_transfer_out_usd_per_gb", "public_ipv4_usd_per_hour",
                                                              "interface_endpoint_usd_per_hour",
                                                              "logs_ingestion_usd_per_gb",
                                                              "logs_storage_usd_per_gb_month", "alarm_usd_per_month",
                                                              "ebs_gp3_usd_per_iops_month",
                                                              "ebs_gp3_usd_per_mibps_month")})
            for name, p in loaded.platform_prices.items()}
    f = forecast.build(plan, dataclasses.replace(loaded, platform_prices=zero))
    assert [m.workloads[0].requests for m in f.months] == pytest.approx([40e6, 50e6, 60e6])
    assert [m.self_hosted_usd.total for m in f.months] == pytest.approx([9_500.0] * 3)
    assert [m.api_path_usd["openai/gpt-4o-mini"] for m in f.months] == pytest.approx([7_800.0, 9_750.0, 11_700.0])
    be = f.break_even["openai/gpt-4o-mini"]
    assert (be.crossing, be.crossing_month, be.month) == ("in_horizon", "2027-02", "2027-03")
    assert be.monthly_requests == pytest.approx(9_500 / 0.000195, abs=1)  # 48,717,948.72


def test_forecast_committed_schema_is_the_generated_one():
    """planner/data/forecast.schema.json is generated from the model (regenerate with
    `.venv/bin/python -m planner.forecast.schema > planner/data/forecast.schema.json`)."""
    from planner.forecast import schema

    assert schema.SCHEMA_FILE.read_text(encoding="utf-8") == schema.render()
