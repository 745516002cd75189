"""Fleet optimiser benchmark: the planner's compute cost next to two naive baselines, and its runtime.

For each bundled example, over the whole horizon, compute only, USD, under whole commitments
(a commitment costs every month of its term, also those after the horizon):
- planner: the MILP purchase mix (reserved / on-demand / spot) on the cheapest candidate(s): the
  horizon's fleet lines plus the obligation after the horizon (the optimiser's objective);
- baseline A, "cheapest single instance type, all on-demand": every candidate run at its monthly
  peak instance count all month on demand; the cheapest candidate;
- baseline B, "everything reserved at peak": every candidate reserved at its monthly peak count,
  commitments bought as the peak grows (and renewed as they expire), each paid for its whole term
  at the cheapest allowed reserved rate (on-demand when no reservation is allowed); the cheapest
  candidate.
Both baselines use the same demand, headroom, floors and throughput as the planner.
The timing is `planner.fleet.build` (candidates, pruning, cost tables, MILPs), best of 3.

Run: .venv/bin/python bench/fleet_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner import demand, fleet, inputs  # noqa: E402
from planner.plan import load  # noqa: E402
from pricing.terms import HOURS_PER_MONTH, RESERVED, TERM_MONTHS, Purchase  # noqa: E402

EXAMPLES = ["eu-chat-assistant", "us-batch-summariser", "internal-tool"]


def reserved_at_peak_usd(peaks: np.ndarray, rate: float, term: int) -> float:
    """Reserve every month's peak count: buy what the active commitments lack, each for its whole term."""
    bought = np.zeros(len(peaks), dtype=int)
    for m, peak in enumerate(peaks):
        active = bought[max(0, m - term + 1): m + 1].sum()
        bought[m] = max(0, int(peak) - int(active))
    return float(bought.sum()) * rate * HOURS_PER_MONTH * term


def baselines(plan, table, priced, loaded) -> tuple[float, float]:
    """Summed over workloads: each workload's cheapest candidate under baseline A and under B."""
    total_a = total_b = 0.0
    c = plan.constraints
    for w in plan.workloads:
        cands, _ = fleet.candidates(plan, w, priced, loaded.models[w.model], loaded.gpus, loaded.perf_factors)
        wt = table[table["workload"] == w.name]
        levels, _, _ = fleet.hour_levels(w)
        mean = wt["mean_requests_per_s"].to_numpy() / c.regions_per_workload
        best_a = best_b = float("inf")
        for cand in cands:
            floor = fleet.floor_instances(plan, cand.replicas_per_instance, c.regions_per_workload)
            need = np.stack([fleet.instances_needed(r, levels, c.headroom, cand.requests_per_s, floor) for r in mean])
            peaks = need.max(axis=1)
            od = cand.usd_per_hour.get(Purchase.ON_DEMAND)
            if od is not None:
                best_a = min(best_a, od * float(peaks.sum()) * HOURS_PER_MONTH)
            reserved = [(cand.usd_per_hour[o] * TERM_MONTHS[o], o) for o in RESERVED if o in cand.usd_per_hour]
            if reserved:
                _, option = min(reserved)
                b = reserved_at_peak_usd(peaks, cand.usd_per_hour[option], TERM_MONTHS[option])
            else:
                b = od * float(peaks.sum()) * HOURS_PER_MONTH
            best_b = min(best_b, b)
        total_a += best_a * c.regions_per_workload
        total_b += best_b * c.regions_per_workload
    return total_a, total_b


def main() -> None:
    print(f"{'example':22} {'planner USD':>13} {'of which after':>15} {'A: on-demand':>13} {'B: reserved':>13} "
          f"{'vs A':>7} {'vs B':>7} {'solve s':>8}")
    for name in EXAMPLES:
        plan = load(ROOT / "examples" / f"{name}.yaml")
        loaded = inputs.load(plan)
        table = demand.build(plan)
        priced = fleet.offers(plan, loaded.price_table)
        seconds = float("inf")
        for _ in range(3):  # the first run also warms imports and the throughput cache
            started = time.perf_counter()
            fp = fleet.build(plan, table, priced, loaded.models, loaded.gpus, loaded.perf_factors)
            seconds = min(seconds, time.perf_counter() - started)
        after = sum(wf.commitments_past_horizon_usd for wf in fp.workloads)
        cost = sum(mf.compute_usd for wf in fp.workloads for mf in wf.months) + after
        a, b = baselines(plan, table, priced, loaded)
        print(f"{name:22} {cost:>13,.0f} {after:>15,.0f} {a:>13,.0f} {b:>13,.0f} {cost / a - 1:>+7.1%} "
              f"{cost / b - 1:>+7.1%} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
