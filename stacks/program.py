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
    fleet = settings.fleet
    return {
        "plan": fleet.plan_name,
        "workload": fleet.workload,
        "month": fleet.month,
        "environment": settings.environment,
        "model": fleet.model,
        "hf_model_id": fleet.hf_model_id,
        "precision": fleet.precision,
        "tp": fleet.tp,
        "max_model_len": fleet.max_model_len,
        "instances": sum(g.desired_capacity for g in settings.groups),
        "lines": [{"instance_type": line.instance_type, "count": line.count, "purchase": line.purchase,
                   "replicas": line.replicas, "usd_per_hour": line.usd_per_hour}
                  for g in settings.groups for line in g.lines],
        "groups": [{"gpus_per_instance": g.gpus_per_instance, "instance_types": list(g.instance_types),
                    "desired_capacity": g.desired_capacity, "min_size": g.min_size,
                    "on_demand_base_capacity": g.on_demand_base_capacity,
                    "on_demand_percentage_above_base_capacity": g.on_demand_percentage_above_base_capacity,
                    "spot_instances": g.spot_count}
                   for g in settings.groups],
    }


def run() -> dict[str, pulumi.Output]:
    """Build the stack; returns the exported outputs (tests await them)."""
    settings = load_stack_settings()  # may refuse the region: no resource exists yet

    # The allowed-regions tag lets the policy pack check regions without its own config.
    provider = aws.Provider(f"aws-{settings.region}", region=settings.region, default_tags={"tags": {
        **settings.tags, "allowed-regions": " ".join(settings.fleet.allowed_regions)}})
    opts = pulumi.ResourceOptions(providers=[provider])
    base = f"{settings.workload}-{settings.environment}"

    network = Network(base, NetworkArgs(
        region=settings.region,
        cidr_block=settings.vpc_cidr,
        fleet_az_count=settings.availability_zones,
        nat_per_az=settings.nat_per_az,
        flow_log_retention_days=settings.flow_log_retention_days,
        availability_zone_names=settings.availability_zone_names,
    ), opts)

    endpoint = Endpoint(f"{base}-endpoint", EndpointArgs(
        vpc_id=network.vpc_id,
        subnet_ids=network.private_subnet_ids,
        client_cidrs=settings.client_cidrs,
        listener_port=settings.listener_port,
        server_port=settings.server_port,
        health_path=settings.health_path,
        deregistration_delay_s=settings.deregistration_delay_s,
        deletion_protection=settings.deletion_protection,
    ), opts)

    fleet = settings.fleet
    GpuFleet(f"{base}-fleet", GpuFleetArgs(
        groups=settings.groups,
        subnet_ids=network.fleet_subnet_ids,
        security_group_id=endpoint.fleet_security_group_id,
        target_group_arn=endpoint.target_group_arn,
        region=settings.region,
        served_model_name=fleet.hf_model_id,
        precision=fleet.precision,
        tp=fleet.tp,
        max_model_len=fleet.max_model_len,
        weights_gib=fleet.weights_gib,
        weights_bucket=settings.weights_bucket,
        weights_prefix=settings.weights_prefix,
        server_port=settings.server_port,
        vllm_image=settings.vllm_image,
        ami_name_filter=settings.ami_name_filter,
        ami_owner=settings.ami_owner,
        health_check_grace_s=settings.health_check_grace_s,
        wait_for_capacity_timeout=settings.wait_for_capacity_timeout,
        environment=settings.environment,
        tags=settings.tags,
        scaling_resource_label=pulumi.Output.concat(endpoint.load_balancer.arn_suffix, "/",
                                                    endpoint.target_group.arn_suffix),
        replica_requests_per_s=fleet.replica_requests_per_s,
        engine=fleet.engine,
        max_num_seqs=fleet.max_num_seqs,
        max_num_batched_tokens=fleet.max_num_batched_tokens,
        headroom=fleet.headroom,
        kv_precision=fleet.kv_precision,
    ), opts)

    CostGuard(f"{base}-costguard", CostGuardArgs(
        budget_name=f"{settings.project}-{settings.stack}-{settings.workload}",
        compute_usd_month=fleet.compute_usd_month,
        cost_tag_key="stack",
        cost_tag_value=settings.tags["stack"],
        alert_emails=settings.alert_emails,
        load_balancer_arn_suffix=endpoint.load_balancer.arn_suffix,
        target_group_arn_suffix=endpoint.target_group.arn_suffix,
    ), opts)

    exports = {
        "endpoint_address": endpoint.address,
        "fleet_summary": pulumi.Output.from_input(fleet_summary(settings)),
        "forecast_compute_usd_month": pulumi.Output.from_input(fleet.compute_usd_month),
        "forecast_month": pulumi.Output.from_input(fleet.month),
        "region": pulumi.Output.from_input(settings.region),
    }
    for key, value in exports.items():
        pulumi.export(key, value)
    return exports
