"""The Pulumi program: wire the components for one environment.

Nothing here sizes anything: the fleet comes from the planner through
`stacks.config.load_stack_settings()`, which also refuses a disallowed region before the first
resource (the AWS provider included) is registered.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from stacks.config import StackSettings, load_stack_settings
from stacks.costguard import CostGuard, CostGuardArgs
from stacks.endpoint import Endpoint, EndpointArgs
from stacks.fleet import GpuFleet, GpuFleetArgs
from stacks.network import Network, NetworkArgs


def fleet_summary(settings: StackSettings) -> dict:
    """What the stack provisions, as the planner resolved it (the `fleet_summary` export)."""
    spec, cfg = settings.spec, settings.config
    return {
        "plan": spec.plan_name,
        "workload": spec.workload,
        "month": spec.month,
        "environment": cfg.environment,
        "model": spec.server.model,
        "hf_model_id": spec.server.hf_model_id,
        "engine": spec.server.engine,
        "precision": spec.server.precision,
        "tp": spec.server.tp,
        "max_model_len": spec.server.max_model_len,
        "instances": spec.peak_instances,
        "redundancy_floor": spec.redundancy_floor,
        "root_volume_gib": spec.root_volume.gib,
        "budget_usd_month": spec.budget_usd_month,
        "groups": [{"role": g.role, "instance_types": list(g.instance_types), "min_size": g.min_size,
                    "max_size": g.max_size, "desired_capacity": g.desired_capacity,
                    "reserved_instances": g.reserved_instances,
                    "instances_by_hour_utc": list(g.instances_by_hour_utc)}
                   for g in spec.groups],
    }


def run() -> dict[str, pulumi.Output]:
    """Build the stack; returns the exported outputs (tests await them)."""
    settings = load_stack_settings()  # may refuse the region: no resource exists yet

    spec, cfg = settings.spec, settings.config
    # The allowed-regions tag lets the policy pack check regions without its own config.
    provider = aws.Provider(f"aws-{cfg.region}", region=cfg.region, default_tags={"tags": {
        **settings.tags, "allowed-regions": " ".join(spec.allowed_regions)}})
    opts = pulumi.ResourceOptions(providers=[provider])
    base = f"{cfg.workload}-{cfg.environment}"

    network = Network(base, NetworkArgs(
        region=cfg.region,
        cidr_block=cfg.vpc_cidr,
        network=spec.network,
        availability_zone_names=settings.availability_zone_names,
    ), opts)

    endpoint = Endpoint(f"{base}-endpoint", EndpointArgs(
        vpc_id=network.vpc_id,
        subnet_ids=network.private_subnet_ids,
        client_cidrs=cfg.client_cidrs,
        listener_port=cfg.listener_port,
        server_port=cfg.server_port,
        health_path=cfg.health_path,
        deregistration_delay_s=cfg.deregistration_delay_s,
        deletion_protection=spec.network.deletion_protection,
    ), opts)

    GpuFleet(f"{base}-fleet", GpuFleetArgs(
        spec=spec,
        subnet_ids=network.fleet_subnet_ids,
        security_group_id=endpoint.fleet_security_group_id,
        target_group_arn=endpoint.target_group_arn,
        weights_bucket=cfg.weights_bucket,
        weights_prefix=cfg.weights_prefix,
        server_port=cfg.server_port,
        vllm_image=cfg.vllm_image,
        ami_name_filter=cfg.ami_name_filter,
        ami_owner=cfg.ami_owner,
        health_check_grace_s=cfg.health_check_grace_s,
        wait_for_capacity_timeout=cfg.wait_for_capacity_timeout,
        tags=settings.tags,
        scaling_resource_label=pulumi.Output.concat(endpoint.load_balancer.arn_suffix, "/",
                                                    endpoint.target_group.arn_suffix),
    ), opts)

    CostGuard(f"{base}-costguard", CostGuardArgs(
        budget_name=f"{cfg.project}-{cfg.stack}-{cfg.workload}",
        budget_usd_month=spec.budget_usd_month,
        cost_tag_key="stack",
        cost_tag_value=settings.tags["stack"],
        alert_emails=cfg.alert_emails,
        load_balancer_arn_suffix=endpoint.load_balancer.arn_suffix,
        target_group_arn_suffix=endpoint.target_group.arn_suffix,
    ), opts)

    exports = {
        "endpoint_address": endpoint.address,
        "fleet_summary": pulumi.Output.from_input(fleet_summary(settings)),
        "forecast_compute_usd_month": pulumi.Output.from_input(spec.compute_usd_month),
        "budget_usd_month": pulumi.Output.from_input(spec.budget_usd_month),
        "forecast_month": pulumi.Output.from_input(spec.month),
        "region": pulumi.Output.from_input(cfg.region),
    }
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports
