"""Monte Carlo bands: the plan section, the draws, the bands' invariants, and the batched search
that sizes every draw exactly as the forecast's own search would."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from planner import inputs as inputs_mod
from planner.cli import run
from planner.fleet.batch import search_many
from planner.fleet.memo import Memo
from planner.fleet.size import floor_instances, hour_levels, search
from planner.forecast.serialize import to_json
from planner.plan import parse
from planner.service import build_forecast
from planner.uncertainty.draws import sample, throughput_error_sd
from planner.plan import Uncertainty
from pricing.terms import Purchase


def plan_dict(**uncertainty) -> dict:
    d = {
        "name": "mc", "start": "2027-01", "horizon_months": 12,
        "constraints": {"regions": ["us-east-1", "us-east-2"], "gpus": ["L40S", "H100"],
                        "purchase": ["reserved_1y", "on_demand", "spot"], "min_replicas": 2},
        "workloads": [
            {"name": "chat", "model": "llama-3.1-8b", "precision": "fp8",
             "traffic": {"requests_per_day": 400_000, "monthly_growth": 0.05, "peak_to_average": 2.0,
                         "input_tokens": 1000, "output_tokens": 250},
             "slo": {"ttft_ms": 2000, "tpot_ms": 60}, "compare_with": ["openai/gpt-4o", "openai/gpt-4o-mini"]},
            {"name": "batch", "model": "llama-3.1-8b", "precision": "fp8",
             "traffic": {"requests_per_day": 900_000, "monthly_growth": -0.02, "peak_to_average": 1.3,
                         "input_tokens": 2000, "output_tokens": 150},
             "slo": {"ttft_ms": 5000, "tpot_ms": 100}, "compare_with": ["openai/gpt-4o-mini"]},
        ],
        "costs": {"ml_engineers": 0.5, "compliance_one_time_usd": 5000, "uncertainty_buffer": 0.3},
    }
    if uncertainty:
        d["uncertainty"] = uncertainty
    return d


ZERO = {name: {"sd": 0.0} for name in Uncertainty.QUANTITIES}


@pytest.fixture(scope="module")
def forecast():
    return build_forecast(parse(plan_dict(draws=120, seed=3)), workers=1)


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("section,field,words", [
    ({"draws": -1}, "uncertainty.draws", "greater than or equal to 0"),
    ({"draws": 100_001}, "uncertainty.draws", "less than or equal to 100000"),
    ({"traffic": {"sd": -0.1}}, "uncertainty.traffic.sd", "greater than or equal to 0"),
    ({"api_price": -0.2}, "uncertainty.api_price.sd", "greater than or equal to 0"),
    ({"spot_price": {"distribution": "uniform", "low": 1.5, "high": 0.5}}, "uncertainty.spot_price.high",
     "negative spread"),
    ({"traffic": {"distribution": "lognorm"}}, "uncertainty.traffic.distribution", "did you mean 'lognormal'"),
    ({"growth": {"distribution": "lognormal"}}, "uncertainty.growth.distribution", "normal, uniform, fixed"),
    ({"tokens": {"distribution": "normal", "median": 2}}, "uncertainty.tokens.median", "median does not apply"),
    ({"seeds": 3}, "uncertainty.seeds", "unknown field"),
    # every number bounded and finite
    ({"draws": True}, "uncertainty.draws", "must be an integer"),
    ({"draws": 2.5}, "uncertainty.draws", "whole number"),
    ({"seed": -1}, "uncertainty.seed", "greater than or equal to 0"),
    ({"traffic": {"sd": float("inf")}}, "uncertainty.traffic.sd", "finite number"),
    ({"traffic": 2.5}, "uncertainty.traffic.sd", "less than or equal to 2"),
    ({"growth": 0.5}, "uncertainty.growth.sd", "at most 0.2"),
    ({"growth": {"distribution": "uniform", "low": -0.9, "high": 0.1}}, "uncertainty.growth.low", "-0.5..1.5"),
    ({"on_demand_price": {"distribution": "uniform", "low": 0.0, "high": 2}}, "uncertainty.on_demand_price.low",
     "0.01..100"),
    ({"spot_price": {"distribution": "uniform", "low": 0.5}}, "uncertainty.spot_price.high", "needs low and high"),
])
def test_uncertainty_bad_input_is_one_line_naming_the_field(tmp_path, capsys, section, field, words):
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(plan_dict(**section)))
    assert run(["validate", str(plan)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"{field}:" in err and words in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.yaml"]  # nothing written


def test_uncertainty_absent_or_zero_draws_gives_no_bands():
    assert build_forecast(parse(plan_dict())).bands is None
    assert build_forecast(parse(plan_dict(draws=0))).bands is None


@pytest.mark.parametrize("workers", [1, 2])
def test_forecast_progress_says_each_step_and_changes_nothing(workers):
    plan = parse(plan_dict(draws=40, seed=3))
    heard: list[str] = []
    told = to_json(build_forecast(plan, workers=workers, progress=heard.append))
    assert told == to_json(build_forecast(plan, workers=workers))
    assert heard[:2] == ["sizing the fleet: 2 workload(s) × 12 months", "scenarios and sensitivity"]
    assert heard[2:] == [f"40 Monte Carlo draws: {k} of 2 workloads done" for k in range(3)]


@pytest.mark.parametrize("section, line", [({"draws": 1500, "seed": 9}, "uncertainty: 1,500 Monte Carlo draws, seed 9"),
                                           ({"draws": 0}, None), (None, None)])
def test_uncertainty_validate_says_whether_bands_will_be_drawn(tmp_path, capsys, section, line):
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(plan_dict(**(section or {}))))
    assert run(["validate", str(plan)]) == 0
    out = capsys.readouterr().out
    if line is None:
        assert "uncertainty:" not in out, out
    else:
        assert line in out, out


# --- the draws ------------------------------------------------------------------------------------

def test_uncertainty_throughput_sd_from_the_calibration_figures():
    # for a normal error e, median |e| = 0.6745 sd; a 21.8 % median error is ln(1.218) in log terms.
    # Per engine: the larger of the leave-one-source-out operating-point and maximum-throughput figures
    fit = {"vllm": {"loso_operating_point_throughput_median_pct": 3.7, "loso_max_throughput_median_pct": 21.8,
                    "loo_max_throughput_median_pct": 50.0},
           "sglang": {"loo_operating_point_throughput_median_pct": 12.0}}
    sd, where = throughput_error_sd(fit, "vllm")
    assert sd == pytest.approx(math.log(1.218) / 0.6744897501960817)
    assert where == "fit_quality.vllm.loso_max_throughput_median_pct = 21.8 %"
    # a calibration without leave-one-source-out figures falls back to leave-one-out
    sd, where = throughput_error_sd(fit, "sglang")
    assert sd == pytest.approx(math.log(1.12) / 0.6744897501960817) and where.startswith("fit_quality.sglang.loo_")
    with pytest.raises(ValueError, match="uncertainty.throughput.sd"):
        throughput_error_sd(fit, "trtllm")
    # the shipped calibration has a figure for every engine a plan may name
    shipped = inputs_mod.perf_fit_quality()
    assert all(throughput_error_sd(shipped, e)[0] > 0 for e in ("vllm", "sglang", "trtllm"))


def test_uncertainty_throughput_spread_follows_each_workloads_engine():
    fit = {"vllm": {"loso_max_throughput_median_pct": 10.0}, "trtllm": {"loso_max_throughput_median_pct": 40.0}}
    d = sample(Uncertainty(draws=20_000, seed=2), ["vllm", "trtllm"], api_models=1, perf_fit=fit)
    assert d.throughput_sd == pytest.approx((math.log(1.1) / 0.6744897501960817, math.log(1.4) / 0.6744897501960817))
    assert np.std(np.log(d.throughput), axis=0) == pytest.approx(d.throughput_sd, rel=0.02)


def test_uncertainty_draws_follow_their_distributions():
    spec = Uncertainty(draws=20_000, seed=1, growth={"distribution": "uniform", "low": -0.01, "high": 0.03},
                       spot_price={"distribution": "fixed"}, throughput={"sd": 0.2})
    d = sample(spec, ["vllm", "vllm"], api_models=1, perf_fit={})
    assert d.traffic.shape == (20_000, 2) and d.on_demand_price.shape == (20_000,)
    assert np.median(d.traffic) == pytest.approx(1.0, abs=0.01)  # lognormal, median 1
    assert np.std(np.log(d.traffic)) == pytest.approx(0.30, rel=0.02)
    assert d.growth.min() >= -0.01 and d.growth.max() <= 0.03
    assert (d.spot_price == 1.0).all()
    steps = np.log(d.tokens) / 0.05  # tokens sit on a 5 % grid
    assert np.allclose(steps, np.round(steps))
    # each quantity has its own stream: changing one leaves the others' draws as they were
    other = sample(spec.model_copy(update={"traffic": Uncertainty().traffic.model_copy(update={"sd": 0.5})}),
                   ["vllm", "vllm"], api_models=1, perf_fit={})
    assert (other.growth == d.growth).all() and (other.tokens == d.tokens).all()


# --- the bands ------------------------------------------------------------------------------------

def test_bands_are_ordered_and_probabilities_are_probabilities(forecast):
    b = forecast.bands
    assert b.draws == 120 and b.seed == 3 and [m.month for m in b.months] == [m.month for m in forecast.months]
    for m in b.months:
        assert m.self_hosted_usd.p10 <= m.self_hosted_usd.p50 <= m.self_hosted_usd.p90
        for ref, usd in m.api_path_usd.items():
            assert usd.p10 <= usd.p50 <= usd.p90
            assert 0.0 <= m.p_cumulative_self_host_cheaper[ref] <= 1.0
    months = [m.month for m in b.months]
    for ref, be in b.break_even.items():
        order = [months.index(x) if x is not None else len(months) for x in (be.p10, be.p50, be.p90)]
        assert order == sorted(order), (ref, be)
    # traffic, prices and the model's error all move: the bands have width
    last = b.months[-1]
    assert last.self_hosted_usd.p90 > last.self_hosted_usd.p10
    assert last.api_path_usd["openai/gpt-4o"].p90 > last.api_path_usd["openai/gpt-4o"].p10


def test_bands_with_zero_spread_collapse_to_the_base_forecast():
    f = build_forecast(parse(plan_dict(draws=40, seed=5, **ZERO)), workers=1)
    cum_self = cum_api = 0.0
    for base, band in zip(f.months, f.bands.months):
        for p in ("p10", "p50", "p90"):
            assert getattr(band.self_hosted_usd, p) == pytest.approx(base.self_hosted_usd.total, rel=1e-9)
            for ref, usd in base.api_path_usd.items():
                assert getattr(band.api_path_usd[ref], p) == pytest.approx(usd, rel=1e-9)
        cum_self += base.self_hosted_usd.total
        cum_api += base.api_path_usd["openai/gpt-4o"]
        assert band.p_cumulative_self_host_cheaper["openai/gpt-4o"] == (1.0 if cum_self <= cum_api else 0.0)
    for ref, be in f.break_even.items():
        assert (f.bands.break_even[ref].p10, f.bands.break_even[ref].p50, f.bands.break_even[ref].p90) == \
            (be.month, be.month, be.month)


def test_bands_same_seed_same_json_whatever_the_processes(forecast):
    plan = parse(plan_dict(draws=120, seed=3))
    again = build_forecast(plan, workers=2)
    assert to_json(again) == to_json(forecast)
    other = build_forecast(parse(plan_dict(draws=120, seed=4)), workers=1)
    assert other.bands != forecast.bands


def test_bands_list_the_throughput_spread_they_assumed(forecast):
    (a,) = [a for a in forecast.assumptions if a.name == "uncertainty.throughput.sd"]
    assert a.value == {"vllm": pytest.approx(throughput_error_sd(inputs_mod.perf_fit_quality(), "vllm")[0])}
    assert "perf_calibration.yaml" in a.source and "fit_quality.vllm.loso_" in a.source


# --- the batched search: each draw sized as the forecast's own search would --------------------------

def test_batched_search_matches_the_search_draw_by_draw():
    plan = parse(plan_dict())
    loaded = inputs_mod.load(plan)
    memo = Memo()
    priced = memo.offers(plan, loaded.price_table)
    c = plan.constraints
    rng = np.random.default_rng(11)
    for w in plan.workloads:
        cands, _ = memo.candidates(plan, w, priced, loaded.models[w.model], loaded.gpus, loaded.perf_factors)
        levels, weights, _ = hour_levels(w)
        D, M = 40, plan.horizon_months
        base = w.traffic.requests_per_day / 86400 * (1 + w.traffic.monthly_growth) ** np.arange(M)
        mean = base[None, :] * np.exp(rng.normal(0, 0.4, D))[:, None] * (1 + rng.normal(0, 0.03, D))[:, None] ** \
            np.arange(M)[None, :]
        capacity = np.exp(rng.normal(0, 0.2, D))
        od, spot = np.exp(rng.normal(0, 0.2, D)), np.exp(rng.normal(0, 0.4, D))
        factors = {Purchase.ON_DEMAND: od, Purchase.RESERVED_1Y: od, Purchase.RESERVED_3Y: od, Purchase.SPOT: spot}
        floor_of = lambda rpi: floor_instances(plan, rpi, 1)  # noqa: E731
        many = search_many(c, cands, mean, levels, weights, floor_of, Memo(), capacity_factor=capacity,
                           price_factors=factors)
        for n in range(D):
            one = search(c, cands, mean[n], levels, weights, floor_of, Memo(), capacity_factor=float(capacity[n]),
                         price_factors={o: float(f[n]) for o, f in factors.items()})
            assert [ch.candidate for ch in many[n]] == [ch.candidate for ch in one], (w.name, n)
            assert many[n][0].cost_usd == pytest.approx(one[0].cost_usd, rel=1e-9), (w.name, n)
