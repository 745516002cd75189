"""Stack configuration, read once into one typed object, and the one call into the planner.

`load_stack_settings()` reads `pulumi.Config`, asks the planner for the fleet (`plan_fleet`),
checks the stack's region against the plan's allowed regions and returns `StackSettings`.
It registers no resource, so a refused region leaves the stack empty. Errors are one line
naming the config key (`StackConfigError`, a `pulumi.RunError`: Pulumi prints it without a
traceback).

`capacity_groups()` turns the planner's fleet lines into Auto Scaling group capacity numbers
(plain ints, decided before any resource exists). It only regroups the planner's lines; it
never chooses instance types, counts or prices.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from pathlib import Path

import pulumi

from planner.provision import FleetLine, StackFleet

REPO_ROOT = Path(__file__).resolve().parents[1]
ENVIRONMENTS = ("dev", "staging", "prod")
RESERVED = ("reserved_1y", "reserved_3y")
PURCHASES = RESERVED + ("on_demand", "spot")
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
HOURS_PER_MONTH = 730.0


class StackConfigError(pulumi.RunError):
    """Bad stack configuration or a refused region: printed by Pulumi as one line."""


@dataclass(frozen=True)
class EnvironmentDefaults:
    availability_zones: int
    nat_per_az: bool
    flow_log_retention_days: int
    deletion_protection: bool


# dev: smallest fleet that serves, one AZ, one NAT. staging: like prod, smaller (the planner
# decides the fleet). prod: at least two AZs, a NAT per AZ, flow logs kept a year.
ENVIRONMENT_DEFAULTS = {
    "dev": EnvironmentDefaults(availability_zones=1, nat_per_az=False, flow_log_retention_days=30,
                               deletion_protection=False),
    "staging": EnvironmentDefaults(availability_zones=2, nat_per_az=True, flow_log_retention_days=90,
                                   deletion_protection=False),
    "prod": EnvironmentDefaults(availability_zones=2, nat_per_az=True, flow_log_retention_days=365,
                                deletion_protection=True),
}


@dataclass(frozen=True)
class CapacityGroup:
    """One Auto Scaling group: planner lines whose instances carry the same number of GPUs."""

    gpus_per_instance: int
    replicas_per_instance: int
    instance_types: tuple[str, ...]  # launch-template overrides, in priority order
    desired_capacity: int  # instances: the sum of the planner's counts
    min_size: int  # instances billed the whole month (reserved and always-on lines)
    max_size: int
    on_demand_base_capacity: int  # the reserved (committed) instances
    on_demand_count: int  # on-demand instances above the base
    spot_count: int
    on_demand_percentage_above_base_capacity: int
    lines: tuple[FleetLine, ...]

    @property
    def uses_spot(self) -> bool:
        return self.spot_count > 0


@dataclass(frozen=True)
class StackSettings:
    project: str
    stack: str
    environment: str
    region: str
    plan_path: str  # as written in the stack config, relative to the repository root
    workload: str
    month: str  # the forecast month whose fleet this stack provisions
    fleet: StackFleet
    groups: tuple[CapacityGroup, ...]
    availability_zones: int
    availability_zone_names: tuple[str, ...]  # empty: looked up at deploy time
    nat_per_az: bool
    vpc_cidr: str
    flow_log_retention_days: int
    deletion_protection: bool
    weights_bucket: str
    weights_prefix: str
    vllm_image: str
    ami_name_filter: str
    ami_owner: str
    server_port: int
    listener_port: int
    health_path: str
    client_cidrs: tuple[str, ...]
    alert_emails: tuple[str, ...]
    deregistration_delay_s: int
    health_check_grace_s: int
    wait_for_capacity_timeout: str

    @property
    def weights_uri(self) -> str:
        return f"s3://{self.weights_bucket}/{self.weights_prefix}"

    @property
    def tags(self) -> dict[str, str]:
        """Tags on every resource (provider default tags; ASG tags propagated at launch)."""
        return {
            "plan": self.fleet.plan_name,
            "workload": self.workload,
            "environment": self.environment,
            "forecast-month": self.month,
            "stack": f"{self.project}/{self.stack}",
            "managed-by": "pulumi",
        }

    @property
    def total_instances(self) -> int:
        return sum(g.desired_capacity for g in self.groups)


def plan_allowed_regions(plan_path: str) -> tuple[str, ...]:
    """The plan's constraints.regions, read before the planner plans (and before any resource)."""
    from planner.plan import load

    return tuple(load(plan_path).constraints.regions)


def plan_fleet(plan_path: str, workload: str, month: str | None, environment: str,
               region: str) -> StackFleet:
    """The planner's fleet for this stack: the program's only call into the planner's sizing.

    `region` pins the fleet to the stack's region when the planner's cheapest region differs.
    """
    from planner.provision import stack_fleet

    return stack_fleet(plan_path, workload, month, environment, region=region)


def check_region(region: str, allowed: tuple[str, ...], plan_path: str) -> None:
    """Refuse a region the plan does not allow (one line naming the region and the list)."""
    if region not in allowed:
        raise StackConfigError(
            f"aws:region: region '{region}' is not allowed by plan {plan_path} "
            f"(allowed regions: {', '.join(allowed) or 'none'})")


def capacity_groups(fleet: StackFleet, region: str) -> tuple[CapacityGroup, ...]:
    """Regroup the planner's lines in `region` into Auto Scaling groups.

    Reserved instances are a billing construct in AWS: they run as on-demand base capacity.
    Spot lines become spot capacity, on-demand lines on-demand capacity above the base.
    Lines with the same GPUs per instance share one group and list every instance type as an
    override (reserved types first, so prioritized on-demand allocation launches the types the
    reservations bill against). A different GPU count per instance gets its own group, since
    the server layout on the instance differs.
    """
    lines = [line for line in fleet.fleet if line.count > 0]
    for line in lines:
        if line.purchase not in PURCHASES:
            raise StackConfigError(
                f"plan {fleet.plan_file}: fleet line {line.instance_type}: unknown purchase "
                f"'{line.purchase}' (expected one of {', '.join(PURCHASES)})")
        if line.tp != fleet.tp or line.gpus_per_instance % fleet.tp:
            raise StackConfigError(
                f"plan {fleet.plan_file}: fleet line {line.instance_type}: tp {line.tp} does not "
                f"divide the instance's {line.gpus_per_instance} GPUs or differs from the fleet's tp {fleet.tp}")
    here = [line for line in lines if line.region == region]
    if not here:
        places = sorted({line.region for line in lines})
        raise StackConfigError(
            f"aws:region: the plan places the {fleet.workload} fleet for {fleet.month} in "
            f"{', '.join(places) or 'no region'}, not in '{region}'; set aws:region to one of those")

    order = {p: i for i, p in enumerate(PURCHASES)}
    groups = []
    for gpus in sorted({line.gpus_per_instance for line in here}):
        members = sorted((line for line in here if line.gpus_per_instance == gpus),
                         key=lambda line: order[line.purchase])
        types: list[str] = []
        for line in members:
            if line.instance_type not in types:
                types.append(line.instance_type)
        # the planner's equivalent types (same GPUs, pricier) follow as fallbacks for capacity
        if gpus == here[0].gpus_per_instance:
            types.extend(t for t in fleet.equivalent_instance_types if t not in types)
        reserved = sum(line.count for line in members if line.purchase in RESERVED)
        on_demand = sum(line.count for line in members if line.purchase == "on_demand")
        spot = sum(line.count for line in members if line.purchase == "spot")
        above_base = on_demand + spot
        # AWS rounds the on-demand share above the base up, so the floor of the exact
        # percentage yields exactly `on_demand` instances (for groups under 100 instances).
        percentage = 100 if above_base == 0 else math.floor(100 * on_demand / above_base)
        total = reserved + above_base
        always_on = sum(line.count for line in members if line.hours >= HOURS_PER_MONTH)
        groups.append(CapacityGroup(
            gpus_per_instance=gpus,
            replicas_per_instance=_replicas_per_instance(members, gpus // fleet.tp),
            instance_types=tuple(types),
            desired_capacity=total,
            min_size=max(1, min(always_on, total)),
            max_size=total,
            on_demand_base_capacity=reserved,
            on_demand_count=on_demand,
            spot_count=spot,
            on_demand_percentage_above_base_capacity=percentage,
            lines=tuple(members),
        ))
    return tuple(groups)


def _replicas_per_instance(lines: list[FleetLine], most: int) -> int:
    """Replicas one instance serves, as the planner counted them (at most GPUs / tp)."""
    per_instance = {line.replicas // line.count for line in lines
                    if line.replicas > 0 and line.replicas % line.count == 0}
    if len(per_instance) == 1:
        (value,) = per_instance
        if 1 <= value <= most:
            return value
    return most


def _environment(stack: str, cfg: pulumi.Config, project: str) -> str:
    explicit = cfg.get("environment")
    environment = explicit or stack
    if environment not in ENVIRONMENTS:
        key = f"{project}:environment" if explicit else "stack name"
        raise StackConfigError(
            f"{key}: environment '{environment}' is not one of {', '.join(ENVIRONMENTS)}; "
            f"name the stack after its environment or set {project}:environment")
    return environment


def _cidr(value: str, key: str) -> str:
    try:
        return str(ipaddress.ip_network(value))
    except ValueError as exc:
        raise StackConfigError(f"{key}: {exc}") from None


def _parse_s3(uri: str, key: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or len(uri) <= 5:
        raise StackConfigError(f"{key}: expected s3://BUCKET/PREFIX, got '{uri}'")
    bucket, _, prefix = uri[5:].partition("/")
    prefix = prefix.strip("/")
    if not bucket or not prefix or "*" in uri:
        raise StackConfigError(f"{key}: expected s3://BUCKET/PREFIX with a prefix and no '*', got '{uri}'")
    return bucket, prefix


def _deregistration_delay(cfg: pulumi.Config, project: str) -> int:
    # Spot gives two minutes' notice: draining must finish well inside it.
    delay = cfg.get_int("deregistrationDelaySeconds")
    delay = 60 if delay is None else delay
    if not 0 <= delay <= 90:
        raise StackConfigError(
            f"{project}:deregistrationDelaySeconds: must be 0-90 (spot gives 120 s notice), got {delay}")
    return delay


def load_stack_settings() -> StackSettings:
    """Read the stack configuration and the planner's fleet; refuse a disallowed region."""
    from planner.errors import UserError

    project = pulumi.get_project()
    stack = pulumi.get_stack()
    cfg = pulumi.Config()
    aws_cfg = pulumi.Config("aws")

    region = aws_cfg.get("region")
    if not region:
        raise StackConfigError("aws:region: not set; run `pulumi config set aws:region <region>`")
    environment = _environment(stack, cfg, project)
    defaults = ENVIRONMENT_DEFAULTS[environment]

    plan_path = cfg.get("plan")
    if not plan_path:
        raise StackConfigError(f"{project}:plan: not set; the path of the plan file from the repository root")
    plan_file = Path(plan_path)
    if not plan_file.is_absolute():
        plan_file = REPO_ROOT / plan_file
    workload = cfg.get("workload")
    if not workload:
        raise StackConfigError(f"{project}:workload: not set; the plan workload whose fleet to provision")
    month = cfg.get("month") or None

    try:
        allowed = plan_allowed_regions(str(plan_file))
    except UserError as exc:
        raise StackConfigError(f"{project}:plan: {exc}") from None
    check_region(region, allowed, plan_path)
    try:
        fleet = plan_fleet(str(plan_file), workload, month, environment, region)
    except UserError as exc:
        raise StackConfigError(f"{project}:plan: {exc}") from None
    check_region(region, tuple(fleet.allowed_regions), plan_path)
    groups = capacity_groups(fleet, region)

    az_count = cfg.get_int("availabilityZones")
    az_count = defaults.availability_zones if az_count is None else az_count
    az_names = tuple(cfg.get_object("availabilityZoneNames") or ())
    if az_names:
        az_count = len(az_names)
    if az_count < 1:
        raise StackConfigError(f"{project}:availabilityZones: must be at least 1, got {az_count}")
    if environment == "prod" and az_count < 2:
        raise StackConfigError(
            f"{project}:availabilityZones: prod needs at least two availability zones, got {az_count}")

    retention = cfg.get_int("flowLogRetentionDays")
    retention = defaults.flow_log_retention_days if retention is None else retention
    if retention not in LOG_RETENTION_DAYS:
        raise StackConfigError(
            f"{project}:flowLogRetentionDays: {retention} is not a CloudWatch Logs retention period "
            f"(choose from {', '.join(map(str, LOG_RETENTION_DAYS))})")
    if environment == "prod" and retention < 365:
        raise StackConfigError(
            f"{project}:flowLogRetentionDays: prod keeps flow logs at least 365 days, got {retention}")

    weights_key = f"{project}:weightsUri"
    weights_uri = cfg.get("weightsUri")
    if not weights_uri:
        raise StackConfigError(
            f"{weights_key}: not set; the s3://BUCKET/PREFIX holding the weights of {fleet.hf_model_id}")
    bucket, prefix = _parse_s3(weights_uri, weights_key)

    vpc_cidr = _cidr(cfg.get("vpcCidr") or "10.42.0.0/16", f"{project}:vpcCidr")
    if ipaddress.ip_network(vpc_cidr).prefixlen > 16:
        raise StackConfigError(f"{project}:vpcCidr: need a /16 (or larger) block, got {vpc_cidr}")
    client_cidrs = tuple(_cidr(c, f"{project}:clientCidrs") for c in (cfg.get_object("clientCidrs") or [vpc_cidr]))
    for cidr in client_cidrs:
        if ipaddress.ip_network(cidr).prefixlen == 0:
            raise StackConfigError(f"{project}:clientCidrs: {cidr} opens the endpoint to everyone; name your client networks")

    return StackSettings(
        project=project,
        stack=stack,
        environment=environment,
        region=region,
        plan_path=plan_path,
        workload=workload,
        month=fleet.month,
        fleet=fleet,
        groups=groups,
        availability_zones=az_count,
        availability_zone_names=az_names,
        nat_per_az=defaults.nat_per_az if cfg.get_bool("natPerAz") is None else bool(cfg.get_bool("natPerAz")),
        vpc_cidr=vpc_cidr,
        flow_log_retention_days=retention,
        deletion_protection=defaults.deletion_protection,
        weights_bucket=bucket,
        weights_prefix=prefix,
        vllm_image=cfg.get("vllmImage") or "vllm/vllm-openai:v0.10.1.1",
        ami_name_filter=cfg.get("amiNameFilter") or "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *",
        ami_owner=cfg.get("amiOwner") or "amazon",
        server_port=cfg.get_int("serverPort") or 8000,
        listener_port=cfg.get_int("listenerPort") or 80,
        health_path=cfg.get("healthPath") or "/health",
        client_cidrs=client_cidrs,
        alert_emails=tuple(cfg.get_object("alertEmails") or ()),
        deregistration_delay_s=_deregistration_delay(cfg, project),
        health_check_grace_s=cfg.get_int("healthCheckGraceSeconds") or 1800,
        wait_for_capacity_timeout=cfg.get("waitForCapacityTimeout") or "45m",
    )
