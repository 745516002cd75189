"""Demand and the API bill, checked against arithmetic written out here from published prices."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from planner import demand, forecast
from planner.forecast import bill
from planner.plan import load, parse
from pricing import api

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def small_plan(**traffic) -> dict:
    t = {"requests_per_day": 150000, "monthly_growth": 0.06, "peak_to_average": 2.5,
         "input_tokens": 1200, "output_tokens": 300}
    t.update(traffic)
    return {
        "name": "t", "start": "2027-01", "horizon_months": 3,
        "constraints": {"regions": ["eu-central-1"]},
        "workloads": [{"name": "chat", "model": "llama-3.1-70b", "precision": "fp8", "traffic": t,
                       "compare_with": ["openai/gpt-4o", "anthropic/claude-sonnet-4-5", "openai/gpt-4o-mini"]}],
    }


def test_demand_growth_compounds_monthly():
    table = demand.build(parse(small_plan()))
    # 150,000/day growing 6 % a month: 150,000, 159,000, 168,540
    assert list(table["requests_per_day"].round(6)) == [150000.0, 159000.0, 168540.0]
    # a 730-hour month holds 730 / 24 = 30.416667 days: 150,000 × 30.416667 = 4,562,500 requests
    assert table["requests"].iloc[0] == pytest.approx(4_562_500)
    assert table["input_tokens"].iloc[0] == pytest.approx(4_562_500 * 1200)
    # mean 150,000 / 86,400 = 1.7361 req/s; peak × 2.5 = 4.3403 req/s
    assert table["mean_requests_per_s"].iloc[0] == pytest.approx(1.736111, rel=1e-6)
    assert table["peak_requests_per_s"].iloc[0] == pytest.approx(4.340278, rel=1e-6)
    assert table["peak_output_tokens_per_s"].iloc[0] == pytest.approx(4.340278 * 300, rel=1e-6)


def test_demand_explicit_series_interpolates_and_holds():
    plan = small_plan(requests_per_day=None, monthly_growth=0)
    plan["horizon_months"] = 4
    plan["workloads"][0]["traffic"]["requests_per_day_by_month"] = {"2027-01": 1000, "2027-03": 3000}
    del plan["workloads"][0]["traffic"]["requests_per_day"]
    table = demand.build(parse(plan))
    assert list(table["requests_per_day"]) == [1000.0, 2000.0, 3000.0, 3000.0]


def test_demand_hourly_profile_sets_the_peak():
    profile = [1] * 12 + [3] * 12  # mean 2, peak 3: peak-to-average 1.5
    plan = small_plan(peak_to_average=None, hourly_profile=profile)
    table = demand.build(parse(plan))
    assert table["peak_requests_per_s"].iloc[0] == pytest.approx(table["mean_requests_per_s"].iloc[0] * 1.5)


@pytest.mark.parametrize("ratio", [1.0, 1.3, 2.0, 2.5, 4.0])
def test_demand_assumed_daily_shape_has_the_given_peak(ratio):
    factors = demand.hourly_factors(parse(small_plan(peak_to_average=ratio)).workloads[0].traffic)
    assert len(factors) == 24
    assert factors.mean() == pytest.approx(1.0)
    assert factors.max() == pytest.approx(ratio, rel=1e-6)
    if ratio > 1:
        assert factors.argmax() == demand.DEFAULT_PEAK_HOUR_UTC


def test_api_bill_matches_published_prices():
    """Published list prices per million tokens (input / output):
    - OpenAI GPT-4o:            $2.50 / $10.00  (openai.com/api/pricing)
    - OpenAI GPT-4o mini:       $0.15 / $0.60
    - Anthropic Claude Sonnet 4.5: $3.00 / $15.00 (anthropic.com/pricing, prompts ≤ 200k tokens)
    One request of 1,200 in + 300 out:
    - GPT-4o:      1200 × 2.50e-6 + 300 × 10e-6 = 0.0030 + 0.0030  = $0.0060
    - GPT-4o mini: 1200 × 0.15e-6 + 300 × 0.60e-6 = 0.00018 + 0.00018 = $0.00036
    - Sonnet 4.5:  1200 × 3e-6 + 300 × 15e-6 = 0.0036 + 0.0045 = $0.0081
    The first month holds 4,562,500 requests (150,000/day × 30.416667 days):
    - GPT-4o: 4,562,500 × 0.006 = $27,375.00
    - GPT-4o mini: 4,562,500 × 0.00036 = $1,642.50
    - Sonnet 4.5: 4,562,500 × 0.0081 = $36,956.25
    """
    plan = parse(small_plan())
    by_month = bill.api_bill(plan, demand.build(plan))
    first = by_month[("chat", "2027-01")]
    assert first["openai/gpt-4o"] == pytest.approx(27_375.00, abs=0.005)
    assert first["openai/gpt-4o-mini"] == pytest.approx(1_642.50, abs=0.005)
    assert first["anthropic/claude-sonnet-4-5"] == pytest.approx(36_956.25, abs=0.005)
    # the second month has 6 % more requests at the same price
    assert by_month[("chat", "2027-02")]["openai/gpt-4o"] == pytest.approx(27_375.00 * 1.06, abs=0.01)


def test_api_bill_applies_long_context_tier_per_request():
    """Claude Sonnet 4.5 bills prompts over 200k tokens at $6 / $22.50 per million (the whole
    request moves to the higher tier): 300,000 × 6e-6 + 300 × 22.5e-6 = 1.8 + 0.00675 = $1.80675.
    A flat $3 / $15 table would say 0.9 + 0.0045 = $0.9045, half the real bill."""
    usd = api.usd_per_request("anthropic/claude-sonnet-4-5", 300_000, 300, dt.date(2027, 1, 1))
    assert float(usd) == pytest.approx(1.80675, abs=1e-9)


def test_api_resolve_lists_close_matches():
    from planner.errors import UserError

    with pytest.raises(UserError, match=r"did you mean 'openai/gpt-4o'"):
        api.resolve("openai/gpt4o")


def test_forecast_json_top_level_is_stable():
    from planner import inputs
    from planner.forecast import serialize

    plan = load(EXAMPLES / "eu-chat-assistant.yaml")
    result = serialize.to_data(forecast.build(plan, inputs.load(plan)))
    for key in ("plan", "hours_per_month", "price_sources", "months", "totals"):
        assert key in result
    assert result["hours_per_month"] == 730
    assert all("source" in s and "date" in s for s in result["price_sources"])
    month = result["months"][0]
    assert month["month"] == "2027-01"
    w = month["workloads"][0]
    for key in ("name", "requests", "input_tokens", "output_tokens", "peak_requests_per_s", "api_usd"):
        assert key in w
    assert month["api_usd"]["openai/gpt-4o"] == pytest.approx(27_375.00, abs=0.005)
    total = sum(m["api_usd"]["openai/gpt-4o"] for m in result["months"])
    assert result["totals"]["horizon"]["api_usd"]["openai/gpt-4o"] == pytest.approx(total, abs=0.01 * len(result["months"]))


# --- API prices as paid ---------------------------------------------------------------------------

def test_api_bill_with_discount_and_cached_input_as_genai_prices_bills_it():
    """GPT-4o at $2.50 in, $1.25 cached in, $10.00 out per million (genai-prices 0.2.3, as
    openai.com/api/pricing lists them). 40 % of 1,200 input tokens are cache reads (480), half off
    (a batch API): one request is (720 × 2.50e-6 + 480 × 1.25e-6 + 300 × 10e-6) × 0.5 =
    (0.0018 + 0.0006 + 0.0030) × 0.5 = $0.0027; 4,562,500 requests = $12,318.75. The list-price
    entry next to it is unchanged: 4,562,500 × 0.006 = $27,375.00."""
    from genai_prices import Usage, calc_price

    d = small_plan()
    d["workloads"][0]["compare_with"] = [{"model": "openai/gpt-4o", "discount": 0.5, "cached_input_share": 0.4},
                                         "openai/gpt-4o-mini"]
    plan = parse(d)
    assert plan.workloads[0].api_models == ["openai/gpt-4o", "openai/gpt-4o-mini"]
    by_month = bill.api_bill(plan, demand.build(plan))
    first = by_month[("chat", "2027-01")]
    assert first["openai/gpt-4o"] == pytest.approx(12_318.75, abs=0.005)
    when = dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    price = calc_price(Usage(input_tokens=1200, cache_read_tokens=480, output_tokens=300), model_ref="gpt-4o",
                       provider_id="openai", genai_request_timestamp=when).total_price
    assert round(first["openai/gpt-4o"], 2) == round(float(price) * (1 - 0.5) * 4_562_500, 2)
    assert first["openai/gpt-4o-mini"] == pytest.approx(1_642.50, abs=0.005)


def test_api_price_multiplier_scales_every_bill():
    d = small_plan()
    d["pricing"] = {"api_price_multiplier": 0.8}
    plan = parse(d)
    first = bill.api_bill(plan, demand.build(plan))[("chat", "2027-01")]
    # × 0.8: GPT-4o 27,375.00 → 21,900.00; Sonnet 4.5 36,956.25 → 29,565.00
    assert first["openai/gpt-4o"] == pytest.approx(21_900.00, abs=0.005)
    assert first["anthropic/claude-sonnet-4-5"] == pytest.approx(29_565.00, abs=0.005)


def test_forecast_keys_api_bills_by_model_id_when_priced_as_paid():
    from planner import inputs

    d = small_plan()
    d["workloads"][0]["compare_with"] = [{"model": "openai/gpt-4o", "discount": 0.5}]
    plan = parse(d)
    f = forecast.build(plan, inputs.load(plan))
    assert list(f.break_even) == ["openai/gpt-4o"]
    assert f.months[0].api_usd["openai/gpt-4o"] == pytest.approx(27_375.00 * 0.5, abs=0.005)
    assert f.models == ["openai/gpt-4o"]


@pytest.mark.parametrize("entry, field, words", [
    ({"model": "openai/gpt-4o", "discount": 1.0}, "workloads[0].compare_with[0].discount", "less than 1"),
    ({"model": "openai/gpt-4o", "discount": -0.1}, "workloads[0].compare_with[0].discount", "greater than or equal to 0"),
    ({"model": "openai/gpt-4o", "cached_input_share": 1.5}, "workloads[0].compare_with[0].cached_input_share",
     "less than or equal to 1"),
    ({"model": "openai/gpt-4o", "cached_input_share": -0.2}, "workloads[0].compare_with[0].cached_input_share",
     "greater than or equal to 0"),
    ({"model": "openai/gpt-9o"}, "workloads[0].compare_with[0].model", "unknown API model 'openai/gpt-9o'"),
    ("openai/gpt-9o", "workloads[0].compare_with[0]", "unknown API model 'openai/gpt-9o'"),
    ({"model": "openai/gpt-4o", "discont": 0.5}, "workloads[0].compare_with[0].discont", "did you mean 'discount'"),
])
def test_api_terms_bad_input_is_one_line_naming_the_field(tmp_path, capsys, entry, field, words):
    import yaml

    from planner.cli import run

    d = small_plan()
    d["workloads"][0]["compare_with"] = [entry]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(d))
    before = sorted(tmp_path.iterdir())
    assert run(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f": {field}: " in err and words in err, err
    assert sorted(tmp_path.iterdir()) == before  # nothing written
