"""What the fleet search returns: typed values, read by the forecast and by provisioning.

A `FleetLine` is one group of identical instances bought one way in one month (forecast.json's
`fleet` entries); a `Commitment` one reservation bought (forecast.json's `commitments`), paid for
its whole term. A `RegionMonth` keeps what the lines summarise away and provisioning needs:
how many instances run in each hour of the day, by capacity type.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from pricing.terms import Purchase

HOURS_OF_DAY = 24


class FleetLine(BaseModel):
    """One group of identical instances bought one way (forecast.json `fleet` entries)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    instance_type: str
    gpu: str
    gpus_per_instance: int
    tp: int
    replicas: int  # model replicas served by these instances
    count: int  # instances at the busiest hour
    purchase: Purchase
    usd_per_hour: float  # per instance
    hours: float  # billed hours per instance in the month (730 for reserved, fewer for part-day instances)
    usd: float  # count × usd_per_hour × hours


def month_offset(month: str, k: int) -> str:
    """The month `k` months after `month` (YYYY-MM)."""
    year, mon = (int(x) for x in month.split("-"))
    y, m = divmod(mon - 1 + k, 12)
    return f"{year + y:04d}-{m + 1:02d}"


class Commitment(BaseModel):
    """Reserved instances bought in one month, paid every hour of their term (forecast.json `commitments`).

    `usd_total` = count × usd_per_hour × 730 × term months = `usd_in_horizon` + `usd_after_horizon`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    workload: str
    region: str
    instance_type: str
    purchase: Purchase  # reserved_1y or reserved_3y
    count: int  # instances reserved
    start_month: str  # YYYY-MM, the month the term starts (bought)
    end_month: str  # YYYY-MM, the last month the term covers (may lie after the horizon)
    usd_per_hour: float  # per instance
    usd_total: float  # the whole obligation signed
    usd_in_horizon: float  # paid in the horizon's months (in the fleet lines' compute)
    usd_after_horizon: float  # paid after the horizon's last month


@dataclass(frozen=True)
class Candidate:
    """One way to serve a workload: an instance type in a region at a tensor-parallel degree."""

    region: str
    instance_type: str
    gpu: str
    gpus_per_instance: int
    vcpus: int
    tp: int
    replicas_per_instance: int
    replica_requests_per_s: float  # what one replica sustains under the SLO
    usd_per_hour: dict[Purchase, float]  # allowed options only, multipliers applied
    assumed: frozenset[Purchase]  # options whose price is an assumption (reserved from a discount)
    source: str
    date: str
    on_demand_usd_per_gpu_hour: float = 0.0  # list price per GPU (prices retraining GPU-hours)
    spot_basis: str | None = None  # the rule that priced usd_per_hour["spot"] (pricing.SpotRule); None: no spot
    spot_lowest_zone_usd_per_hour: float | None = None  # the snapshot's cheapest zone, multipliers applied
    spot_highest_zone_usd_per_hour: float | None = None  # its dearest zone (None: unknown)
    equivalents: tuple[str, ...] = ()  # other instance types with the same GPUs in this region, pricier
    equivalent_vcpus: tuple[int, ...] = ()  # their vCPUs, in the same order
    # what the throughput model assumed of the server (the stack starts the engine with them)
    engine: str = "vllm"
    kv_precision: str = ""
    max_batch: int = 0  # requests in flight per replica: the server's batch cap
    max_num_batched_tokens: int = 0  # chunked-prefill token budget per engine step

    @property
    def requests_per_s(self) -> float:
        """What one instance serves: its replicas × what one replica sustains."""
        return self.replicas_per_instance * self.replica_requests_per_s

    @property
    def on_demand_usd_per_hour(self) -> float:
        """The on-demand rate of one instance (multiplier applied), whether or not the plan may buy it."""
        return self.on_demand_usd_per_gpu_hour * self.gpus_per_instance

    @property
    def max_vcpus(self) -> int:
        """The most vCPUs one instance of the group may have (the lead type or an equivalent)."""
        return max((self.vcpus, *self.equivalent_vcpus))


@dataclass(frozen=True)
class HourlyInstances:
    """Instances running in each hour of the day (UTC), by capacity type, in one region and month.

    `committed` instances (reserved) run all day as on-demand capacity; `on_demand[h]` and
    `spot[h]` are the instances above them in hour h. `floor` is the redundancy floor, which
    committed + on-demand never go below (spot never carries it).
    """

    committed: int
    on_demand: tuple[int, ...]
    spot: tuple[int, ...]
    floor: int

    def on_demand_capacity(self, hour: int) -> int:
        """Instances running as on-demand capacity (committed included) in `hour`."""
        return self.committed + self.on_demand[hour]

    @property
    def peak(self) -> int:
        return max(self.committed + o + s for o, s in zip(self.on_demand, self.spot))

    def by_capacity(self) -> dict[Purchase, tuple[int, ...]]:
        """Instances per hour of each capacity type that runs: on-demand (committed included)
        always, spot when any hour has some. Each becomes one Auto Scaling group."""
        groups = {Purchase.ON_DEMAND: tuple(self.committed + o for o in self.on_demand)}
        if any(self.spot):
            groups[Purchase.SPOT] = self.spot
        return groups

    def scaling_groups(self) -> int:
        """Groups whose size changes during the day (each gets a target-tracking policy)."""
        return sum(1 for counts in self.by_capacity().values() if len(set(counts)) > 1)


@dataclass(frozen=True)
class MonthFleet:
    month: str
    lines: tuple[FleetLine, ...]
    instances_peak: int  # instances at the busiest hour, every capacity type
    replicas_peak: int
    capacity_requests_per_s: float  # at the busiest hour, spot counted net of its interruption overhead
    demand_peak_requests_per_s: float
    committed_instances: int
    unused_committed_hours: float
    unused_committed_usd: float
    hourly: dict[str, HourlyInstances] = field(default_factory=dict)  # region -> instances per hour
    # what the month's compute rises by if spot capacity is unavailable all month (on demand instead)
    spot_unavailable_usd: float = 0.0

    @property
    def compute_usd(self) -> float:
        return sum(line.usd for line in self.lines)

    @property
    def instance_hours(self) -> float:
        return sum(line.count * line.hours for line in self.lines)


@dataclass(frozen=True)
class WorkloadFleet:
    workload: str
    candidates: tuple[Candidate, ...]  # the chosen one per region (one region unless the plan asks for more)
    months: tuple[MonthFleet, ...]
    considered: int  # candidates that fit and met the SLO
    commitments: tuple[Commitment, ...] = ()
    # "if demand continues": compute in each month after the horizon while one of this workload's
    # commitments still runs, demand held at the last month (the commitments still in their term, on
    # demand and spot for the rest), then every month once they have all ended
    after_horizon_compute_usd: tuple[float, ...] = ()
    steady_compute_usd: float = 0.0

    def compute_after_horizon(self, month: int) -> float:
        """Compute in the `month`-th month after the horizon (0 = the first), demand held at the last month."""
        seq = self.after_horizon_compute_usd
        return seq[month] if month < len(seq) else self.steady_compute_usd

    @property
    def commitments_past_horizon_usd(self) -> float:
        """The obligation signed inside the horizon that falls after it."""
        return sum(c.usd_after_horizon for c in self.commitments)

    @property
    def candidate(self) -> Candidate:
        return self.candidates[0]

    def in_region(self, region: str) -> Candidate | None:
        return next((c for c in self.candidates if c.region == region), None)


@dataclass(frozen=True)
class FleetPlan:
    workloads: tuple[WorkloadFleet, ...]
    solve_seconds: float = 0.0

    def workload(self, name: str) -> WorkloadFleet:
        for w in self.workloads:
            if w.workload == name:
                return w
        raise KeyError(name)
