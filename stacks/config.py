"""Stack configuration, read once into one typed object, and the one call into the planner.

`load_stack_settings()` reads `pulumi.Config`, asks the planner for the stack's fully resolved
fleet spec (`planner.provision.load_spec`), checks the stack's region against the plan's allowed
regions and returns `StackSettings`. It registers no resource, so a refused config leaves the
stack empty. Errors are one line naming the config key (`StackConfigError`, a `pulumi.RunError`:
Pulumi prints it without a traceback).

Sizes, schedules, disks, the network's shape and the budget all come from the spec: nothing here
computes a count or a price.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pulumi

from planner.provision import ENVIRONMENTS, FleetSpec

REPO_ROOT = Path(__file__).resolve().parents[1]


class StackConfigError(pulumi.RunError):
    """Bad stack configuration or a refused region: printed by Pulumi as one line."""


@dataclass(frozen=True)
class StackSettings:
    project: str
    stack: str
    environment: str
    region: str
    plan_path: str  # as written in the stack config, relative to the repository root
    workload: str
    month: str  # the forecast month whose fleet this stack provisions
    spec: FleetSpec  # everything the planner decided for this stack
    availability_zone_names: tuple[str, ...]  # empty: looked up at deploy time
    vpc_cidr: str
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
            "plan": self.spec.plan_name,
            "workload": self.workload,
            "environment": self.environment,
            "forecast-month": self.month,
            "stack": f"{self.project}/{self.stack}",
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
    from planner.provision import UserError

    project = pulumi.get_project()
    stack = pulumi.get_stack()
    cfg = pulumi.Config()
    aws_cfg = pulumi.Config("aws")

    region = aws_cfg.get("region")
    if not region:
        raise StackConfigError("aws:region: not set; run `pulumi config set aws:region <region>`")
    environment = _environment(stack, cfg, project)

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
        spec = plan_fleet(str(plan_file), workload, month, environment, region)
    except UserError as exc:
        raise StackConfigError(f"{project}:plan: {exc}") from None
    check_region(region, tuple(spec.allowed_regions), plan_path)
    if spec.region != region:
        raise StackConfigError(f"aws:region: the plan places the {workload} fleet for {spec.month} in {spec.region}, "
                               f"not in '{region}'; set aws:region to {spec.region}")

    for key, owner in (("availabilityZones", "constraints.availability_zones"), ("natPerAz", "the environment"),
                       ("flowLogRetentionDays", "the environment")):
        if cfg.get(key) is not None:
            raise StackConfigError(f"{project}:{key}: decided by the plan ({owner}) so that the forecast costs what "
                                   f"the stack creates; remove it from the stack config")
    # the zones' count is the planner's (the forecast costs a NAT gateway and endpoints per zone);
    # the names may be pinned, e.g. where the GPU type is offered
    az_names = tuple(cfg.get_object("availabilityZoneNames") or ())
    if az_names and len(az_names) != spec.network.private_subnets:
        raise StackConfigError(
            f"{project}:availabilityZoneNames: the plan's {environment} network uses {spec.network.private_subnets} "
            f"zones (constraints.availability_zones; the load balancer needs two), got {len(az_names)}")

    weights_key = f"{project}:weightsUri"
    weights_uri = cfg.get("weightsUri")
    if not weights_uri:
        raise StackConfigError(
            f"{weights_key}: not set; the s3://BUCKET/PREFIX holding the weights of {spec.server.hf_model_id}")
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
        month=spec.month,
        spec=spec,
        availability_zone_names=az_names,
        vpc_cidr=vpc_cidr,
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
