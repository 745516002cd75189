"""What a Pulumi stack provisions: the fleet spec of one workload, month, environment and region.

Everything is decided here, from the same fleet and the same cost functions the forecast uses;
the stacks only map these fields onto resources (they compute no size, price or count):

- one Auto Scaling group per capacity type that runs: on-demand (reserved instances are a billing
  construct and run as on-demand capacity) and spot; each lists the planner's instance type and its
  equivalents (same GPUs, pricier), and gets scheduled actions in UTC that follow the planner's
  hourly instance counts, so part-day instances run only in the hours the forecast costed;
- the on-demand group never drops below the redundancy floor, in any scheduled action;
- a target-tracking value (requests per instance per minute) for groups whose size changes during
  the day: between the hour's planned count (min) and the day's peak (max);
- the root volume the forecast costed, the network the forecast costed (`planner.environments`),
  and a monthly budget equal to the forecast's compute + platform cost of this stack.

prod: the planned fleet, line for line. staging: the same instance type, a quarter of prod's peak
instances (at least one per zone), on spot where the plan allows it, all day. dev: one instance,
spot where the plan allows it, all day.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from planner.environments import ENVIRONMENTS, Environment, NetworkShape, network_shape, non_prod_fleet
from planner.fleet.model import HOURS_OF_DAY, Candidate, FleetLine, FleetPlan, HourlyInstances, MonthFleet
from planner.forecast.model import PlatformUsd
from planner.inputs import Inputs
from planner.plan import Plan, workload_model_spec
from pricing.errors import UserError, did_you_mean
from pricing.terms import HOURS_PER_MONTH, Purchase

__all__ = ["ENVIRONMENTS", "Environment", "FleetSpec", "GroupSpec", "NetworkSpec", "RootVolumeSpec",
           "ScheduledAction", "ServerSpec", "UserError", "fleet_spec", "load_spec", "plan_regions"]

TIME_ZONE = "Etc/UTC"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScheduledAction(Frozen):
    """At `hour_utc` every day the group's size becomes min/desired/max."""

    hour_utc: int
    recurrence: str  # cron, minute hour day month weekday
    time_zone: str
    min_size: int
    desired_capacity: int
    max_size: int


class GroupSpec(Frozen):
    """One Auto Scaling group, fully resolved."""

    role: Literal["on-demand", "spot"]
    capacity_type: Literal[Purchase.ON_DEMAND, Purchase.SPOT]
    instance_types: list[str]  # launch-template overrides, the planner's type first, then its equivalents
    gpus_per_instance: int
    replicas_per_instance: int
    min_size: int  # the smallest planned count of the day (on-demand: never below the redundancy floor)
    desired_capacity: int  # at creation: the day's peak (scheduled actions take over)
    max_size: int  # the day's peak
    on_demand_base_capacity: int  # instances covered by reservations (they run as on-demand)
    on_demand_percentage_above_base_capacity: int  # 100 for the on-demand group, 0 for spot
    reserved_instances: int
    instances_by_hour_utc: list[int]  # the planned count in each hour 0..23 UTC
    scheduled_actions: list[ScheduledAction]
    target_requests_per_instance_per_minute: float | None  # None: the size does not change during the day
    instance_hours: float  # what the forecast costs for this group in the month
    compute_usd: float
    lines: list[FleetLine]  # the forecast's fleet lines this group runs

    @property
    def spot_share(self) -> float:
        return 1.0 if self.capacity_type == Purchase.SPOT else 0.0


class NetworkSpec(Frozen):
    fleet_zones: int
    private_subnets: int
    nat_gateways: int
    interface_endpoints: list[str]
    flow_log_retention_days: int
    deletion_protection: bool
    health_alarms: int


class RootVolumeSpec(Frozen):
    gib: int
    iops: int
    throughput_mibps: int


class ServerSpec(Frozen):
    """The model server the instances start, with the throughput model's assumptions."""

    engine: Literal["vllm", "sglang", "trtllm"]
    model: str  # catalog id (or the id read from the plan's hf_config)
    hf_model_id: str  # what clients send as "model"
    precision: str
    kv_precision: str  # the KV-cache precision the sizing assumed
    tp: int
    data_parallel: int  # replicas per instance
    max_model_len: int  # context the server is started with
    max_num_seqs: int  # requests in flight per replica the sizing assumed: the server's batch cap
    max_num_batched_tokens: int  # chunked-prefill token budget per step the sizing assumed


class FleetSpec(Frozen):
    plan_name: str
    plan_file: str
    workload: str
    month: str
    environment: Environment
    region: str
    allowed_regions: list[str]
    server: ServerSpec
    replica_requests_per_s: float  # what one replica sustains under the SLO
    headroom: float
    redundancy_floor: int  # on-demand instances that always run
    groups: list[GroupSpec]
    network: NetworkSpec
    root_volume: RootVolumeSpec
    compute_usd_month: float
    platform_usd: PlatformUsd
    budget_usd_month: float  # compute + platform: the forecast's AWS cost of what the stack creates
    notes: list[str]

    @property
    def peak_instances(self) -> int:
        return max(sum(g.instances_by_hour_utc[h] for g in self.groups) for h in range(HOURS_OF_DAY))


# --- pieces ----------------------------------------------------------------------------------------

def max_model_len(context_length: int, input_tokens: float, output_tokens: float) -> int:
    """Context the server is started with: 4 × the mean request, at least 8k, at most the model's."""
    want = max(8192, 4 * int(input_tokens + output_tokens))
    return min(context_length, 1 << (want - 1).bit_length())


def requests_per_instance_per_minute(replica_requests_per_s: float, replicas_per_instance: int,
                                     headroom: float) -> float:
    """Autoscaling target: requests a minute one instance takes before the group adds another."""
    return round(replica_requests_per_s * replicas_per_instance * 60 / (1 + headroom), 2)


def schedule(counts: list[int], peak: int) -> list[ScheduledAction]:
    """One action at each hour whose planned count differs from the hour before (the day wraps)."""
    if len(set(counts)) <= 1:
        return []
    return [ScheduledAction(hour_utc=h, recurrence=f"0 {h} * * *", time_zone=TIME_ZONE, min_size=counts[h],
                            desired_capacity=counts[h], max_size=peak)
            for h in range(HOURS_OF_DAY) if counts[h] != counts[h - 1]]


def _group(role: str, capacity_type: Purchase, counts: list[int], cand: Candidate, reserved: int,
           lines: list[FleetLine], target: float) -> GroupSpec:
    peak = max(counts)
    varies = len(set(counts)) > 1
    return GroupSpec(
        role=role, capacity_type=capacity_type, instance_types=[cand.instance_type, *cand.equivalents],
        gpus_per_instance=cand.gpus_per_instance, replicas_per_instance=cand.replicas_per_instance,
        min_size=min(counts), desired_capacity=peak, max_size=peak,
        on_demand_base_capacity=reserved if capacity_type == Purchase.ON_DEMAND else 0,
        on_demand_percentage_above_base_capacity=100 if capacity_type == Purchase.ON_DEMAND else 0,
        reserved_instances=reserved, instances_by_hour_utc=counts, scheduled_actions=schedule(counts, peak),
        target_requests_per_instance_per_minute=target if varies else None,
        instance_hours=sum(line.count * line.hours for line in lines), compute_usd=sum(line.usd for line in lines),
        lines=lines)


def _prod_groups(mf: MonthFleet, cand: Candidate, hourly: HourlyInstances, target: float) -> list[GroupSpec]:
    lines = [line for line in mf.lines if line.region == cand.region]
    groups = []
    for capacity_type, counts in hourly.by_capacity().items():
        mine = [line for line in lines if line.purchase.runs_as == capacity_type]
        if capacity_type == Purchase.ON_DEMAND:
            groups.append(_group("on-demand", capacity_type, list(counts), cand, hourly.committed, mine, target))
        else:
            groups.append(_group("spot", capacity_type, list(counts), cand, 0, mine, target))
    return groups


def _flat_group(plan: Plan, environment: Environment, cand: Candidate, peak: int) -> tuple[GroupSpec, HourlyInstances]:
    """staging and dev: a flat fleet all day, on spot where the plan allows it."""
    count, purchase = non_prod_fleet(environment, plan.constraints.availability_zones, peak, cand.usd_per_hour)
    rate = cand.usd_per_hour[purchase]
    line = FleetLine(region=cand.region, instance_type=cand.instance_type, gpu=cand.gpu,
                     gpus_per_instance=cand.gpus_per_instance, tp=cand.tp,
                     replicas=count * cand.replicas_per_instance, count=count, purchase=purchase,
                     usd_per_hour=rate, hours=float(HOURS_PER_MONTH), usd=count * rate * HOURS_PER_MONTH)
    flat = (count,) * HOURS_OF_DAY
    zero = (0,) * HOURS_OF_DAY
    runs_as = purchase.runs_as
    hourly = HourlyInstances(committed=0, on_demand=flat if runs_as == Purchase.ON_DEMAND else zero,
                             spot=flat if runs_as == Purchase.SPOT else zero, floor=0)
    role = "spot" if runs_as == Purchase.SPOT else "on-demand"
    return _group(role, runs_as, list(flat), cand, 0, [line], 0.0), hourly


def _network(shape: NetworkShape) -> NetworkSpec:
    return NetworkSpec(fleet_zones=shape.fleet_zones, private_subnets=shape.private_subnets,
                       nat_gateways=shape.nat_gateways, interface_endpoints=list(shape.interface_endpoints),
                       flow_log_retention_days=shape.flow_log_retention_days,
                       deletion_protection=shape.deletion_protection, health_alarms=shape.health_alarms)


# --- the spec --------------------------------------------------------------------------------------

def fleet_spec(plan: Plan, inputs: Inputs, fleet_plan: FleetPlan, demand, *, workload: str, month: str,
               environment: Environment | str, region: str, notes: tuple[str, ...] = ()) -> FleetSpec:
    """The resolved spec of one stack, from the plan's fleet (`fleet_plan`, sized on `demand`)."""
    from planner.forecast.build import region_platform_usd, root_volume

    env = Environment(environment)
    w = plan.workload(workload)
    months = plan.months()
    k = months.index(month)
    wf = fleet_plan.workload(workload)
    cand = wf.in_region(region)
    if cand is None:
        raise UserError(f"the plan places {workload} in {', '.join(c.region for c in wf.candidates)}, not in "
                        f"{region}", file=plan.file, field="constraints.regions")
    mf = wf.months[k]
    if env == Environment.PROD and plan.constraints.availability_zones < 2:
        raise UserError("prod needs at least two availability zones; set constraints.availability_zones: 2 "
                        "(the forecast then costs the second zone's NAT gateway and endpoints)",
                        file=plan.file, field="constraints.availability_zones")
    target = requests_per_instance_per_minute(cand.replica_requests_per_s, cand.replicas_per_instance,
                                              plan.constraints.headroom)
    row = demand[(demand["workload"] == workload) & (demand["month"] == month)].iloc[0]
    volume = root_volume(plan, w, inputs)
    if env == Environment.PROD:
        hourly = mf.hourly[region]
        groups = _prod_groups(mf, cand, hourly, target)
        floor = hourly.floor
        extra: tuple[str, ...] = ()
    else:
        group, hourly = _flat_group(plan, env, cand, mf.hourly[region].peak)
        groups, floor = [group], 0
        extra = (f"{env}: reduced from prod's {mf.hourly[region].peak} peak instances",)
    compute = sum(g.compute_usd for g in groups)
    requests = float(row.requests) if env == Environment.PROD else 0.0  # staging and dev serve no clients
    platform = region_platform_usd(plan, w, mf, region, len(wf.candidates), requests, inputs, volume,
                                   environment=env, instance_hours=sum(g.instance_hours for g in groups),
                                   hourly=hourly)
    spec = workload_model_spec(w, inputs.models)
    return FleetSpec(
        plan_name=plan.name, plan_file=str(plan.file), workload=workload, month=month, environment=env,
        region=region, allowed_regions=list(plan.constraints.regions),
        server=ServerSpec(engine=cand.engine, model=w.model_id, hf_model_id=spec.hf_id, precision=w.precision,
                          kv_precision=cand.kv_precision, tp=cand.tp, data_parallel=cand.replicas_per_instance,
                          max_model_len=max_model_len(spec.context_length, w.traffic.input_tokens,
                                                      w.traffic.output_tokens),
                          max_num_seqs=cand.max_batch, max_num_batched_tokens=cand.max_num_batched_tokens),
        replica_requests_per_s=cand.replica_requests_per_s, headroom=plan.constraints.headroom,
        redundancy_floor=floor, groups=groups, network=_network(network_shape(env, plan.constraints.availability_zones)),
        root_volume=RootVolumeSpec(gib=volume.gib, iops=volume.iops, throughput_mibps=volume.throughput_mibps),
        compute_usd_month=compute, platform_usd=platform, budget_usd_month=compute + platform.total,
        notes=list(notes + extra))


def plan_regions(plan_file: str | Path) -> tuple[str, ...]:
    """The plan's allowed regions (constraints.regions), read before anything is sized."""
    from planner.plan import load

    return tuple(load(plan_file).constraints.regions)


def load_spec(plan_file: str | Path, workload: str | None, month: str | None, environment: str,
              region: str | None = None) -> FleetSpec:
    """Load the plan and its inputs, size the fleet, and resolve one stack's spec (the stacks' one call).

    `workload` may be omitted when the plan has one; `month` defaults to the plan's first month;
    `region` to the region the planner chose (when it is another allowed region, the workload is
    sized again pinned to it, and a note says so).
    """
    from planner import demand as demand_mod, inputs as inputs_mod
    from planner.forecast import size
    from planner.plan import load

    if environment not in ENVIRONMENTS:
        raise UserError(f"unknown environment {environment!r}{did_you_mean(environment, ENVIRONMENTS)}; "
                        f"choose one of {', '.join(ENVIRONMENTS)}", field="environment")
    plan = load(plan_file)
    names = [w.name for w in plan.workloads]
    if workload is None:
        if len(names) > 1:
            raise UserError(f"the plan has {len(names)} workloads ({', '.join(names)}): name one", file=plan.file,
                            field="workload")
        workload = names[0]
    plan.workload(workload)  # unknown name: one line with close matches
    months = plan.months()
    month = month or plan.start
    if month not in months:
        raise UserError(f"month {month!r} is outside the forecast ({months[0]} .. {months[-1]})", file=plan.file,
                        field="month")
    if region is not None and region not in plan.constraints.regions:
        raise UserError(f"region {region} is not allowed by the plan (allowed: {', '.join(plan.constraints.regions)})",
                        file=plan.file, field="constraints.regions")
    inputs = inputs_mod.load(plan)
    demand = demand_mod.build(plan)
    fleet_plan = size(plan, inputs, demand)
    wf = fleet_plan.workload(workload)
    notes: tuple[str, ...] = ()
    if region is None:
        region = wf.candidate.region
    elif wf.in_region(region) is None:
        cheapest = wf.candidate.region
        plan = plan.model_copy(update={"constraints": plan.constraints.model_copy(
            update={"regions": [region], "regions_per_workload": 1})})
        fleet_plan = size(plan, inputs, demand)
        notes = (f"the planner's cheapest region is {cheapest}; this stack pins {region}",)
    return fleet_spec(plan, inputs, fleet_plan, demand, workload=workload, month=month, environment=environment,
                      region=region, notes=notes)
