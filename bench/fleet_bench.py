"""Fleet optimiser benchmark: the planner's compute cost next to two naive baselines, and its runtime.

For each bundled example, over the whole horizon (compute only, USD):
- planner: the MILP purchase mix (reserved / on-demand / spot) on the cheapest candidate;
- baseline A, "cheapest single instance type, all on-demand": every candidate run at its monthly
  peak instance count all month on demand; the cheapest candidate;
- baseline B, "everything reserved at peak": every candidate run at its monthly peak count on the
  cheapest allowed reserved rate (on-demand when no reservation is allowed); the cheapest candidate.
Both baselines use the same demand, headroom, floors and throughput as the planner.

Run: python bench/fleet_bench.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner import demand, fleet  # noqa: E402
from planner.plan import load  # noqa: E402

EXAMPLES = ["eu-chat-assistant", "us-batch-summariser", "internal-tool"]


def baselines(plan, offers, table) -> tuple[float, float]:
    best_a = best_b = float("inf")
    c = plan.constraints
    for w in plan.workloads:
        cands, _ = fleet.candidates(plan, w, offers)
        wt = table[table["workload"] == w.name]
        levels, _ = fleet.hour_levels(w)
        mean = wt["mean_requests_per_s"].to_numpy()
        for cand in cands:
            floor = fleet.floor_instances(plan, cand.replicas_per_instance)
            need = np.stack([fleet.instances_needed(r, levels, c.headroom, cand.requests_per_s, floor) for r in mean])
            peak_instance_hours = float(need.max(axis=1).sum()) * fleet.HOURS_PER_MONTH
            od = cand.usd_per_hour.get("on_demand")
            reserved = [cand.usd_per_hour[o] for o in ("reserved_1y", "reserved_3y") if o in cand.usd_per_hour]
            if od is not None:
                best_a = min(best_a, od * peak_instance_hours)
            rate_b = min(reserved) if reserved else od
            best_b = min(best_b, rate_b * peak_instance_hours)
    return best_a, best_b


def main() -> None:
    print(f"{'example':22} {'planner USD':>14} {'A: on-demand':>14} {'B: reserved':>14} {'vs A':>7} {'vs B':>7} {'solve s':>8}")
    for name in EXAMPLES:
        plan = load(ROOT / "examples" / f"{name}.yaml")
        table = demand.build(plan)
        _, offers = fleet.load_offers(plan)
        fleet.build(plan, table, offers)  # warm imports and caches
        started = time.perf_counter()
        fp = fleet.build(plan, table, offers)
        seconds = time.perf_counter() - started
        cost = sum(mf.compute_usd for wf in fp.workloads for mf in wf.months)
        a, b = baselines(plan, offers, table)
        print(f"{name:22} {cost:>14,.0f} {a:>14,.0f} {b:>14,.0f} {cost / a - 1:>+7.1%} {cost / b - 1:>+7.1%} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
