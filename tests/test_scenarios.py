"""scenarios.run: variants change exactly the intended plan fields; results traced to each build."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner import scenarios
from planner.forecast.model import (BreakEven, ContinuedDemand, FleetChoice, Forecast, PeriodTotals, Recommendation,
                                    SelfHostedUsd, Totals)
from planner.plan import parse

ROOT = Path(__file__).resolve().parents[1]
MODEL = "openai/gpt-4o"


def plan_dict(**traffic) -> dict:
    t = {"requests_per_day": 10000, "monthly_growth": 0.1, "peak_to_average": 3.0,
         "input_tokens": 1000, "output_tokens": 250}
    t.update(traffic)
    return {
        "name": "toy", "start": "2027-01", "horizon_months": 6,
        "constraints": {"regions": ["us-east-1"]},
        "workloads": [{"name": "chat", "model": "llama-3.1-8b", "traffic": t, "compare_with": ["openai/gpt-4o"]}],
        "costs": {"uncertainty_buffer": 0.3},
    }


def choice(instance_type: str, peak_instances: int) -> FleetChoice:
    return FleetChoice(workload="chat", regions=["us-east-1"], instance_type=instance_type, equivalent_instance_types=[],
                       gpu="L40S", gpus_per_instance=1 if instance_type == "g6e.xlarge" else 4, tp=1,
                       replicas_per_instance=1 if instance_type == "g6e.xlarge" else 4, replica_requests_per_s=1.0,
                       candidates_considered=2, peak_instances=peak_instances, peak_month="2027-06")


def tiny_forecast(plan, api: float, self_hosted: float, break_even_month: str | None,
                  fleet: list[FleetChoice] | None = None) -> Forecast:
    """A valid Forecast carrying only what scenarios read: horizon totals and break-even."""
    cats = SelfHostedUsd(compute=self_hosted, platform=0, people=0, data_eval=0, compliance=0, retraining=0,
                         committed_after_horizon=0, buffer=0, total=self_hosted)
    period = PeriodTotals(months=len(plan.months()), api_usd={MODEL: api}, api_path_usd={MODEL: api},
                          self_hosted_usd=self_hosted, self_hosted_by_category_usd=cats, unused_committed_usd=0)
    rec = Recommendation(decision="api", workloads=[], triggers=[], horizon_total_usd=api, all_api_horizon_usd=api)
    be = BreakEven(month=break_even_month, crossing="none", crossing_month=None, monthly_requests=None)
    continued = ContinuedDemand(months_after_horizon=0, through_month=plan.months()[-1], self_hosted_after_horizon_usd=0,
                                api_path_after_horizon_usd={MODEL: 0}, self_hosted_usd=self_hosted,
                                api_path_usd={MODEL: api})
    return Forecast(plan=plan, hours_per_month=730, price_sources=[], assumptions=[], fleet_choice=fleet or [], months=[],
                    totals=Totals(first_12_months=period, horizon=period), commitments=[],
                    if_demand_continues=continued, break_even={MODEL: be}, recommendation=rec, quota_needs_vcpus={},
                    spot_prices=[], risks=[], warnings=[])


def fake_build(seen: list):
    """A forecast whose numbers follow the plan in a way we can compute by hand:
    requests/month = requests_per_day × 30 × (1 + growth)^k; API = $10 per million tokens × API price multiplier;
    self-hosted = ($2,000 × GPU price multiplier + $0.001 per request) × (1 + buffer).
    Break-even = first month where cumulative self-hosted <= cumulative API."""

    def build(plan) -> Forecast:
        seen.append(plan)
        w = plan.workloads[0]
        t = w.traffic
        cum_sh, cum_api, be = 0.0, 0.0, None
        for k, month in enumerate(plan.months()):
            req = t.requests_per_day * 30 * (1 + t.monthly_growth) ** k
            api = req * (t.input_tokens + t.output_tokens) * 10e-6 * plan.pricing.api_price_multiplier
            sh = (2000 * plan.pricing.compute_price_multiplier + 0.001 * req) * (1 + plan.costs.uncertainty_buffer)
            cum_sh, cum_api = cum_sh + sh, cum_api + api
            if be is None and cum_sh <= cum_api:
                be = month
        return tiny_forecast(plan, cum_api, cum_sh, be)

    return build


def test_scenarios_low_base_high_move_traffic_growth_and_spot_together():
    plan = parse(plan_dict())
    seen: list = []
    runs, _ = scenarios.run(plan, fake_build(seen))
    by = {s.name: s for s in runs}
    assert list(by) == ["low", "base", "high"]
    assert by["low"].traffic_multiplier == 0.7 and by["high"].traffic_multiplier == 1.5
    assert by["low"].growth == {"chat": pytest.approx(0.05)} and by["high"].growth == {"chat": pytest.approx(0.15)}
    assert by["base"].growth == {"chat": 0.1}
    assert by["low"].spot_price_multiplier == 0.8 and by["high"].spot_price_multiplier == 1.5
    # low traffic: 10,000 × 0.7 × 30 = 210,000 requests in the first month, 1,250 tokens each at $10/M
    low_plan = next(p for p in seen if p.workloads[0].traffic.requests_per_day == pytest.approx(7000))
    assert low_plan.workloads[0].traffic.monthly_growth == pytest.approx(0.05)
    assert low_plan.pricing.spot_price_multiplier == 0.8
    api_low = sum(210_000 * 1.05 ** k * 1250 * 10e-6 for k in range(6))
    assert by["low"].totals.horizon.api_usd["openai/gpt-4o"] == pytest.approx(api_low)
    # the input plan is untouched
    assert plan.workloads[0].traffic.requests_per_day == 10000 and plan.pricing.spot_price_multiplier == 1.0
    assert by["low"].api_price_multiplier == 1.0 and by["high"].api_price_multiplier == 1.0
    # 1 base + 2 scenarios + 12 sensitivity builds; the buffer/tokens/gpu/API variants are all distinct
    assert len(seen) == 15


def test_scenarios_sensitivity_one_at_a_time():
    plan = parse(plan_dict())
    seen: list = []
    _, sensitivity = scenarios.run(plan, fake_build(seen))
    sens = {s.parameter: s for s in sensitivity}
    assert list(sens) == ["traffic", "input_tokens", "output_tokens", "gpu_prices", "api_prices", "uncertainty_buffer"]
    assert (sens["uncertainty_buffer"].low_value, sens["uncertainty_buffer"].high_value) == pytest.approx((0.15, 0.45))
    assert (sens["gpu_prices"].low_value, sens["gpu_prices"].high_value) == (0.8, 1.2)
    for s in sens.values():
        assert s.model == "openai/gpt-4o"
    # more traffic or tokens -> more savings; dearer GPUs or a bigger buffer -> less
    assert (sens["api_prices"].low_value, sens["api_prices"].high_value) == (0.5, 1.2)
    for p in ("traffic", "input_tokens", "output_tokens", "api_prices"):
        assert sens[p].horizon_savings_high_usd > sens[p].horizon_savings_base_usd > sens[p].horizon_savings_low_usd
    for p in ("gpu_prices", "uncertainty_buffer"):
        assert sens[p].horizon_savings_high_usd < sens[p].horizon_savings_base_usd < sens[p].horizon_savings_low_usd
    # each sensitivity build changes one field only
    base = plan.model_dump()
    changed = []
    for p in seen[3:]:
        d = p.model_dump()
        diff = [k for k in ("requests_per_day", "monthly_growth", "input_tokens", "output_tokens")
                if d["workloads"][0]["traffic"][k] != base["workloads"][0]["traffic"][k]]
        diff += [k for k in ("compute_price_multiplier", "spot_price_multiplier", "api_price_multiplier")
                 if d["pricing"][k] != base["pricing"][k]]
        diff += ["uncertainty_buffer"] if d["costs"]["uncertainty_buffer"] != base["costs"]["uncertainty_buffer"] else []
        changed.append(diff)
    assert changed == [["requests_per_day"]] * 2 + [["input_tokens"]] * 2 + [["output_tokens"]] * 2 + \
        [["compute_price_multiplier"]] * 2 + [["api_price_multiplier"]] * 2 + [["uncertainty_buffer"]] * 2
    # break-even by hand for the base: month k costs (2,000 + 0.001 × r_k) × 1.3 self-hosted vs r_k × 0.0125 API,
    # r_k = 300,000 × 1.1^k: API 3,750 / 4,125 / 4,537.5; self-hosted 2,990 / 3,029 / 3,072 -> month 1
    assert sens["traffic"].break_even_base == "2027-01"


def test_scenarios_plan_ranges_and_base_reuse():
    d = plan_dict()
    d["scenarios"] = {"traffic_low": 0.5, "traffic_high": 2.0, "growth_low": 0.0, "growth_high": 0.2,
                      "spot_price_low": 0.9, "spot_price_high": 1.1, "api_price_low": 0.6, "api_price_high": 1.25}
    plan = parse(d)
    seen: list = []
    build = fake_build(seen)
    base = build(plan)
    seen.clear()
    runs, _ = scenarios.run(plan, build, base=base)
    assert len(seen) == 14  # the base is not built again
    by = {s.name: s for s in runs}
    assert by["low"].growth == {"chat": 0.0} and by["high"].growth == {"chat": 0.2}
    assert by["high"].traffic_multiplier == 2.0 and by["high"].spot_price_multiplier == 1.1
    assert (by["low"].api_price_multiplier, by["high"].api_price_multiplier) == (0.6, 1.25)
    assert seen[0].pricing.api_price_multiplier == 0.6 and seen[1].pricing.api_price_multiplier == 1.25
    assert by["base"].totals == base.totals


def test_scenarios_series_traffic_scales_every_month_and_keeps_its_shape():
    d = plan_dict()
    t = d["workloads"][0]["traffic"]
    del t["requests_per_day"]
    t["monthly_growth"] = 0.0
    t["requests_per_day_by_month"] = {"2027-01": 1000, "2027-06": 4000}
    plan = parse(d)
    v = scenarios.scale_traffic(plan, 1.5)
    assert v.workloads[0].traffic.requests_per_day_by_month == {"2027-01": 1500, "2027-06": 6000}
    assert scenarios.growth_of(plan, "high") == {"chat": None}


def test_scenarios_with_the_real_forecast():
    """Scenarios over the real forecast: low costs less than base, base less than high; each
    scenario carries its own fleet."""
    from planner import forecast, inputs

    plan = parse(plan_dict())
    loaded = inputs.load(plan)
    runs, sensitivity = scenarios.run(plan, lambda p: forecast.build(p, loaded))
    assert [s.name for s in runs] == ["low", "base", "high"]
    low, base, high = (s.totals.horizon.api_usd[MODEL] for s in runs)
    assert low < base < high
    assert all(s.fleet_choice and s.fleet_choice[0].workload == "chat" for s in runs)
    assert len(sensitivity) == 6


def test_scenarios_say_when_the_fleet_changes_with_both_fleets():
    """A fake forecast that runs 8 × g6e.xlarge up to 12,000 requests a day, 3 × g6e.12xlarge above:
    the high scenario (× 1.5 = 15,000) and the traffic sensitivity's high side change the fleet,
    nothing else does."""
    plan = parse(plan_dict())
    inner = fake_build([])

    def build(p):
        f = inner(p)
        big = p.workloads[0].traffic.requests_per_day > 12_000
        return f.model_copy(update={"fleet_choice": [choice("g6e.12xlarge", 3) if big else choice("g6e.xlarge", 8)]})

    runs, sensitivity = scenarios.run(plan, build)
    by = {s.name: s for s in runs}
    assert by["low"].fleet_changes == [] and by["base"].fleet_changes == []
    (change,) = by["high"].fleet_changes
    assert (change.source, change.name, change.side, change.workload) == ("scenario", "high", "high", "chat")
    assert change.changed == ["instance_type"]
    assert (change.base.instance_type, change.base.peak_instances) == ("g6e.xlarge", 8)
    assert (change.other.instance_type, change.other.peak_instances) == ("g6e.12xlarge", 3)
    sens = {s.parameter: s for s in sensitivity}
    assert [(c.source, c.name, c.side) for c in sens["traffic"].fleet_changes] == [("sensitivity", "traffic", "high")]
    assert all(not s.fleet_changes for p, s in sens.items() if p != "traffic")
    base = build(plan).model_copy(update={"scenarios": runs, "sensitivity": sensitivity})
    assert [(c.source, c.name) for c in base.fleet_changes] == [("scenario", "high"), ("sensitivity", "traffic")]


def test_scenarios_variants_built_in_parallel_give_the_same_forecast(monkeypatch):
    """A large plan's variants are built in forked processes; the forecast is byte for byte the one
    built in one process (here a small plan, with the size threshold lowered to reach that path)."""
    from planner import service
    from planner.forecast.serialize import to_json
    from planner.plan import load

    plan = load(ROOT / "examples" / "us-batch-summariser.yaml")
    variants = scenarios.variant_plans(plan)
    assert len(variants) == 14 and len({service.fleet_key(p) for p in variants}) < 14  # buffer, API: one fleet
    one = to_json(service.build_forecast(plan, workers=1))
    monkeypatch.setattr(service, "PARALLEL_FROM_CELLS", 0)
    assert to_json(service.build_forecast(plan, workers=2)) == one
