"""The cheapest fleet that meets demand, month by month, with its purchase mix (`planner.fleet`).

- `candidates`: the ways the plan allows to serve a workload, priced;
- `mix`: the exact purchase mix over time (a mixed-integer program);
- `size`: instances needed hour by hour, the floor, and the search over candidates;
- `model`: the typed results (`FleetPlan`, `WorkloadFleet`, `MonthFleet`, `FleetLine`).
"""

from planner.fleet.candidates import TP_DEGREES, candidates, offers, reserved_discounts
from planner.fleet.mix import (CostTable, MixSolution, commitment_usd, committed_active, committed_past_horizon_usd,
                              cost_table, lower_bound_usd, solve_mix, spot_cap)
from planner.fleet.model import (Candidate, FleetLine, FleetPlan, HourlyInstances, MonthFleet, WorkloadFleet)
from planner.fleet.size import build, floor_instances, hour_levels, instances_needed, size_workload
from pricing.terms import HOURS_PER_MONTH, TERM_MONTHS

__all__ = [
    "HOURS_PER_MONTH", "TERM_MONTHS", "TP_DEGREES", "Candidate", "CostTable", "FleetLine", "FleetPlan",
    "HourlyInstances", "MixSolution", "MonthFleet", "WorkloadFleet", "build", "candidates", "commitment_usd",
    "committed_active", "committed_past_horizon_usd", "cost_table", "floor_instances", "hour_levels",
    "instances_needed", "lower_bound_usd", "offers",
    "reserved_discounts", "size_workload", "solve_mix", "spot_cap",
]
