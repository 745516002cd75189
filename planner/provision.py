"""What a Pulumi stack needs from the planner: the fleet of one workload in one month.

The stacks never re-derive sizes, instance types or prices; they call `stack_fleet`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FleetLine:
    """One group of identical instances bought one way (forecast.json `fleet` entries)."""

    region: str
    instance_type: str
    gpu: str
    gpus_per_instance: int
    tp: int
    replicas: int  # model replicas served by these instances
    count: int  # instances
    purchase: str  # reserved_1y | reserved_3y | on_demand | spot
    usd_per_hour: float  # per instance
    hours: float  # billed hours in the month (730 for reserved, fewer for autoscaled peaks)
    usd: float  # count * usd_per_hour * hours


@dataclass(frozen=True)
class StackFleet:
    plan_name: str
    plan_file: str
    workload: str
    month: str  # YYYY-MM
    allowed_regions: tuple[str, ...]
    model: str  # catalog id, e.g. llama-3.1-70b
    hf_model_id: str  # e.g. meta-llama/Llama-3.1-70B-Instruct
    precision: str  # fp16 | bf16 | fp8 | int4
    tp: int
    max_model_len: int  # context length the server is started with
    fleet: tuple[FleetLine, ...]
    compute_usd_month: float  # self-hosted compute cost of this workload in this month
    weights_gib: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
