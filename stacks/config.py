"""Stack configuration, read once into one typed object, and the one call into the planner.

`load_stack_settings()` is the program's first call and the one place config is checked: it
reads and checks every key (`read_stack_config`, with the per-value checks of
`stacks.validation`), checks the stack's region against the plan's allowed regions, asks the
planner for the stack's fully resolved fleet spec (`planner.provision.load_spec`), asks AWS once
for the region's availability zones and checks the network against them, and returns
`StackSettings`. It registers no resource, so a refused config leaves the stack empty. Errors
are one line naming the config key (`StackConfigError`, a `pulumi.RunError`: Pulumi prints it
without a traceback).

Sizes, schedules, disks, the network's shape and the budget all come from the spec: nothing here
computes a count or a price.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pulumi

from planner.provision import FleetSpec
from stacks import validation

REPO_ROOT = Path(__file__).resolve().parents[1]


class StackConfigError(pulumi.RunError):
    """Bad stack configuration or a refused region: printed by Pulumi as one line."""


@dataclass(frozen=True)
class StackSettings:
    """What the program maps: the checked stack configuration, the planner's spec for this stack and
    the zones its network uses."""

    config: "StackConfig"  # every key as the operator wrote it, checked
    spec: FleetSpec  # everything the planner decided for this stack
    availability_zone_names: tuple[str, ...]  # the network's zones, in order; the fleet uses the first

    @property
    def month(self) -> str:
        """The forecast month whose fleet this stack provisions."""
        return self.spec.month

    @property
    def weights_uri(self) -> str:
        return f"s3://{self.config.weights_bucket}/{self.config.weights_prefix}"

    @property
    def tags(self) -> dict[str, str]:
        """Tags on every resource (provider default tags; ASG tags propagated at launch)."""
        c = self.config
        return {
            "plan": self.spec.plan_name,
            "workload": c.workload,
            "environment": c.environment,
            "forecast-month": self.month,
            "stack": f"{c.project}/{c.stack}",
            "managed-by": "pulumi",
        }


def plan_allowed_regions(plan_path: str) -> tuple[str, ...]:
    """The plan's constraints.regions, read before the planner plans (and before any resource)."""
    from planner.provision import plan_regions

    return plan_regions(plan_path)


def plan_fleet(plan_path: str, workload: str, month: str | None, environment: str, region: str) -> FleetSpec:
    """The planner's resolved spec for this stack: the program's only call into the planner."""
    from planner.provision import load_spec

    return load_spec(plan_path, workload, month, environment, region=region)


def check_region(region: str, allowed: tuple[str, ...], plan_path: str) -> None:
    """Refuse a region the plan does not allow (one line naming the region and the list)."""
    if region not in allowed:
        raise StackConfigError(
            f"aws:region: region '{region}' is not allowed by plan {plan_path} "
            f"(allowed regions: {', '.join(allowed) or 'none'})")


# ---- reading and checking the stack configuration -------------------------------------------
#
# Every key is read and checked here, before the first resource (the AWS provider included) is
# registered: `read_stack_config` checks each value on its own (stacks.validation) without asking
# anyone; `load_stack_settings` then checks the region against the plan, asks the planner for the
# spec, asks AWS once for the region's zones (`available_zones`) and checks the network against
# them.

DEFAULT_VPC_CIDR = "10.42.0.0/16"
DEFAULT_VLLM_IMAGE = "vllm/vllm-openai:v0.10.1.1"
DEFAULT_AMI_NAME_FILTER = "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"
DEFAULT_AMI_OWNER = "amazon"
DEFAULT_SERVER_PORT = 8000
DEFAULT_LISTENER_PORT = 80
DEFAULT_HEALTH_PATH = "/health"
DEFAULT_DEREGISTRATION_DELAY_S = 60
MAX_DEREGISTRATION_DELAY_S = 90  # spot gives two minutes' notice: draining must finish well inside it
DEFAULT_HEALTH_CHECK_GRACE_S = 1800
DEFAULT_WAIT_FOR_CAPACITY_TIMEOUT = "45m"
# Keys the plan decides (so that the forecast costs what the stack creates), refused in a stack file.
PLAN_OWNED_KEYS = {"availabilityZones": "constraints.availability_zones", "natPerAz": "the environment",
                   "flowLogRetentionDays": "the environment"}

T = TypeVar("T")


def _check(key: str, check: Callable[..., T], *args: Any) -> T:
    """Run one check; a refusal becomes one line naming the key."""
    try:
        return check(*args)
    except validation.InvalidValue as exc:
        raise StackConfigError(f"{key}: {exc}") from None


@dataclass(frozen=True)
class StackConfig:
    """The stack configuration as the operator wrote it, every value checked on its own."""

    project: str
    stack: str
    environment: str
    region: str
    plan_path: str  # as written, relative to the repository root
    plan_file: Path  # resolved, inside the repository
    workload: str
    month: str | None  # None: the plan's first month
    pinned_zones: tuple[str, ...]  # availabilityZoneNames, or () to take the region's first zones
    vpc_cidr: str
    weights_bucket: str
    weights_prefix: str
    vllm_image: str
    ami_name_filter: str
    ami_owner: str
    server_port: int
    listener_port: int
    health_path: str
    client_cidrs: tuple[str, ...]  # the VPC when not set
    alert_emails: tuple[str, ...]
    deregistration_delay_s: int
    health_check_grace_s: int
    wait_for_capacity_timeout: str


def read_stack_config() -> StackConfig:
    """Read every key of the stack configuration and check it against what AWS accepts.

    Registers nothing and asks nobody: neither the planner nor AWS. Raises `StackConfigError`
    (one line naming the key) at the first value that would fail later, mid-deploy."""
    project = pulumi.get_project()
    stack = pulumi.get_stack()
    cfg = pulumi.Config()

    def key(name: str) -> str:
        return f"{project}:{name}"

    def raw(name: str) -> str | None:
        value = cfg.get(name)
        return None if value is None or value == "" else value

    def text(name: str, default: str, check: Callable[[str], str]) -> str:
        value = raw(name)
        return _check(key(name), check, default if value is None else value)

    def whole(name: str, default: int) -> int:
        value = raw(name)
        return default if value is None else _check(key(name), validation.integer, value)

    def strings(name: str) -> list[str] | None:
        value = raw(name)
        return None if value is None else _check(key(name), validation.string_list, value)

    region = pulumi.Config("aws").get("region")
    if not region:
        raise StackConfigError("aws:region: not set; run `pulumi config set aws:region <region>`")

    label = raw("environment")
    environment = _check(key("environment") if label else "stack name", validation.stack_environment, stack, label)

    plan_path = raw("plan")
    if plan_path is None:
        raise StackConfigError(f"{key('plan')}: not set; the path of the plan file from the repository root")
    plan_file = _check(key("plan"), validation.plan_path, plan_path, REPO_ROOT)
    workload = raw("workload")
    if workload is None:
        raise StackConfigError(f"{key('workload')}: not set; the plan workload whose fleet to provision")
    month = raw("month")
    if month is not None:
        _check(key("month"), validation.month, month)

    for name, owner in PLAN_OWNED_KEYS.items():
        if cfg.get(name) is not None:
            raise StackConfigError(f"{key(name)}: decided by the plan ({owner}) so that the forecast costs what "
                                   f"the stack creates; remove it from the stack config")
    # the zones' count is the planner's (checked with the spec); the names may be pinned, e.g.
    # where the GPU type is offered
    pinned = strings("availabilityZoneNames") or []
    pinned_zones = _check(key("availabilityZoneNames"), validation.zone_names, pinned, region) if pinned else ()

    vpc_cidr = text("vpcCidr", DEFAULT_VPC_CIDR, validation.vpc_cidr)
    clients = strings("clientCidrs")
    client_cidrs = _check(key("clientCidrs"), validation.client_cidrs, clients) if clients else (vpc_cidr,)

    uri = raw("weightsUri")
    if uri is None:
        raise StackConfigError(f"{key('weightsUri')}: not set; the s3://BUCKET/PREFIX holding the model's weights "
                               f"(README: Provisioning, Prerequisites)")
    bucket, prefix = _check(key("weightsUri"), validation.weights_uri, uri)

    return StackConfig(
        project=project,
        stack=stack,
        environment=environment,
        region=region,
        plan_path=plan_path,
        plan_file=plan_file,
        workload=workload,
        month=month,
        pinned_zones=pinned_zones,
        vpc_cidr=vpc_cidr,
        weights_bucket=bucket,
        weights_prefix=prefix,
        vllm_image=text("vllmImage", DEFAULT_VLLM_IMAGE, validation.image_reference),
        ami_name_filter=text("amiNameFilter", DEFAULT_AMI_NAME_FILTER, validation.ami_name_filter),
        ami_owner=text("amiOwner", DEFAULT_AMI_OWNER, validation.ami_owner),
        server_port=_check(key("serverPort"), validation.port, whole("serverPort", DEFAULT_SERVER_PORT)),
        listener_port=_check(key("listenerPort"), validation.port, whole("listenerPort", DEFAULT_LISTENER_PORT)),
        health_path=text("healthPath", DEFAULT_HEALTH_PATH, validation.health_path),
        client_cidrs=client_cidrs,
        alert_emails=_check(key("alertEmails"), validation.emails, strings("alertEmails") or []),
        deregistration_delay_s=_check(
            key("deregistrationDelaySeconds"), validation.seconds,
            whole("deregistrationDelaySeconds", DEFAULT_DEREGISTRATION_DELAY_S), 0, MAX_DEREGISTRATION_DELAY_S,
            " (spot gives 120 s notice)"),
        health_check_grace_s=_check(key("healthCheckGraceSeconds"), validation.seconds,
                                    whole("healthCheckGraceSeconds", DEFAULT_HEALTH_CHECK_GRACE_S)),
        wait_for_capacity_timeout=text("waitForCapacityTimeout", DEFAULT_WAIT_FOR_CAPACITY_TIMEOUT,
                                       validation.positive_duration),
    )


def available_zones(region: str) -> tuple[str, ...]:
    """The region's availability zones open to this account (state available, no opt-in needed:
    local and wavelength zones excluded), sorted.

    The one question the config check asks AWS, before any resource: a synchronous invoke of
    `aws.get_availability_zones` through the default provider, which `aws:region` configures
    (Pulumi's mocks answer it in tests). The engine keeps that default provider in the stack's
    state; it creates nothing in the account."""
    import pulumi_aws as aws

    try:
        result = aws.get_availability_zones(
            state="available", filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}])
    except Exception as exc:  # an invoke fails with the provider's own error (credentials, region)
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StackConfigError(f"aws:region: could not list the availability zones of {region}: {first_line}") \
            from None
    return tuple(sorted(result.names or ()))


def network_zones(config: StackConfig, spec: FleetSpec, available: tuple[str, ...]) -> tuple[str, ...]:
    """The zones of the network's private subnets, in order (the fleet uses the first
    `spec.network.fleet_zones`): the pinned ones, checked against the plan and the region, or the
    region's first."""
    project, region, needed = config.project, config.region, spec.network.private_subnets
    if config.pinned_zones:
        _check(f"{project}:availabilityZoneNames", validation.zones_count, config.pinned_zones, needed,
               f"the plan's {config.environment} network (constraints.availability_zones; the load balancer "
               f"needs two)")
        _check(f"{project}:availabilityZoneNames", validation.zones_in_region, config.pinned_zones, available, region)
        return config.pinned_zones
    _check(f"{project}:plan", validation.zones_enough, needed, available, region,
           f"constraints.availability_zones: the plan's {config.environment} network ({spec.network.fleet_zones} "
           f"zone(s) for the fleet, at least two for the load balancer)")
    return available[:needed]


def load_stack_settings() -> StackSettings:
    """Read and check the stack configuration, ask the planner for the spec, check the network
    against the region's zones: all before the program registers anything."""
    from planner.provision import UserError

    config = read_stack_config()
    project, region = config.project, config.region
    try:
        allowed = plan_allowed_regions(str(config.plan_file))
    except UserError as exc:
        raise StackConfigError(f"{project}:plan: {exc}") from None
    check_region(region, allowed, config.plan_path)
    try:
        spec = plan_fleet(str(config.plan_file), config.workload, config.month, config.environment, region)
    except UserError as exc:
        raise StackConfigError(f"{project}:plan: {exc}") from None
    check_region(region, tuple(spec.allowed_regions), config.plan_path)
    if spec.region != region:
        raise StackConfigError(f"aws:region: the plan places the {config.workload} fleet for {spec.month} in "
                               f"{spec.region}, not in '{region}'; set aws:region to {spec.region}")

    zones = network_zones(config, spec, available_zones(region))
    _check(f"{project}:vpcCidr", validation.vpc_room, config.vpc_cidr, len(zones))

    return StackSettings(config=config, spec=spec, availability_zone_names=zones)
