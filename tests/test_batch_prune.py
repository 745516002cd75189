"""The batched search's shortcuts that skip work on draws a candidate cannot win (the coarse bound's
on-demand step, `batch.coarse_bound`; `batch.SKIP_PAST_BAR`) give, draw for draw, the very answer
the search gives without them: the same candidates, costs, needs and purchase mixes, bit for bit.
Random draws over plans with regions at identical prices (ties), one or two regions per workload,
1- and 3-year terms and large fleets (so the coarse tables are used)."""

from __future__ import annotations

import numpy as np
import pytest

from planner import inputs as inputs_mod
from planner.fleet import batch
from planner.fleet.memo import Memo
from planner.fleet.size import floor_instances, hour_levels
from planner.plan import parse
from pricing.terms import Purchase


def plan_dict(regions_per_workload: int, purchase: list[str], months: int) -> dict:
    return {
        "name": "prune", "start": "2027-01", "horizon_months": months,
        "constraints": {"regions": ["us-east-1", "us-east-2", "us-west-2", "eu-west-1"],
                        "gpus": ["L40S", "H100", "A10G", "L4"], "purchase": purchase, "min_replicas": 2,
                        "regions_per_workload": regions_per_workload, "max_spot_share": 0.3},
        "workloads": [
            {"name": "chat", "model": "llama-3.1-8b", "precision": "fp8",
             "traffic": {"requests_per_day": 3_000_000, "monthly_growth": 0.04, "peak_to_average": 2.0,
                         "input_tokens": 1000, "output_tokens": 250},
             "slo": {"ttft_ms": 2000, "tpot_ms": 60}, "compare_with": ["openai/gpt-4o-mini"]},
            {"name": "batch", "model": "llama-3.1-8b", "precision": "bf16",
             "traffic": {"requests_per_day": 900_000, "monthly_growth": -0.03, "peak_to_average": 1.3,
                         "input_tokens": 2000, "output_tokens": 150},
             "slo": {"ttft_ms": 5000, "tpot_ms": 100}, "compare_with": ["openai/gpt-4o-mini"]},
        ],
    }


def answers(chosen):
    out = []
    for picks in chosen:
        for ch in picks:
            sol = ch.solution
            out.append((ch.candidate, ch.cost_usd, ch.need.tobytes(), ch.floors.tobytes(), ch.requests_per_s,
                        ch.rank, sorted(ch.usd_per_hour.items()),
                        sol.cost_usd, sol.method, {o: list(v) for o, v in sol.reserved_bought.items()},
                        sol.on_demand.tobytes(), sol.spot.tobytes()))
    return out


@pytest.mark.parametrize("k, purchase, months, seed", [
    (1, ["reserved_1y", "reserved_3y", "on_demand", "spot"], 36, 1),
    (2, ["reserved_1y", "reserved_3y", "on_demand", "spot"], 24, 2),
    (1, ["reserved_1y", "on_demand"], 18, 3),
    (2, ["reserved_1y", "on_demand", "spot"], 30, 4),
])
def test_skipping_draws_past_their_bar_changes_no_answer(monkeypatch, k, purchase, months, seed):
    plan = parse(plan_dict(k, purchase, months))
    loaded = inputs_mod.load(plan)
    memo = Memo()
    priced = memo.offers(plan, loaded.price_table)
    c = plan.constraints
    rng = np.random.default_rng(seed)
    plain_bound = batch.coarse_bound
    for w in plan.workloads:
        cands, _ = memo.candidates(plan, w, priced, loaded.models[w.model], loaded.gpus, loaded.perf_factors)
        levels, weights, _ = hour_levels(w)
        D, M = 60, plan.horizon_months
        base = w.traffic.requests_per_day / 86400 / k * (1 + w.traffic.monthly_growth) ** np.arange(M)
        mean = base[None, :] * np.exp(rng.normal(0, 0.5, D))[:, None] * (1 + rng.normal(0, 0.04, D))[:, None] ** \
            np.arange(M)[None, :]
        capacity = np.exp(rng.normal(0, 0.2, D))
        # prices on a coarse grid: many draws and regions at exactly the same prices
        od, spot = np.exp(rng.choice([-0.2, 0.0, 0.2], D)), np.exp(rng.choice([-0.4, 0.0, 0.4], D))
        factors = {Purchase.ON_DEMAND: od, Purchase.RESERVED_1Y: od, Purchase.RESERVED_3Y: od, Purchase.SPOT: spot}
        floor_of = lambda rpi: floor_instances(plan, rpi, k)  # noqa: E731

        def run():
            return answers(batch.search_many(c, cands, mean, levels, weights, floor_of, Memo(),
                                             capacity_factor=capacity, price_factors=factors))

        fast = run()
        with monkeypatch.context() as m:
            m.setattr(batch, "SKIP_PAST_BAR", False)
            m.setattr(batch, "coarse_bound", lambda coarse, grid, lam, step: plain_bound(coarse, grid, lam, None))
            slow = run()
        assert len(fast) == D * k
        assert fast == slow, w.name
