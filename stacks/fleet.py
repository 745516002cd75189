"""GpuFleet: the instances that run the model server, as the planner sized them.

An IAM role with SSM core and read access to the weights prefix only; per capacity group a
launch template (deep-learning AMI looked up at deploy time, IMDSv2, encrypted gp3, no public
IP, no SSH key, vLLM user data) and an Auto Scaling group with a mixed-instances policy:
reserved instances as on-demand base capacity, on-demand above it, spot with
price-capacity-optimized allocation and capacity rebalance, ELB health checks, instance refresh.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from stacks import userdata
from stacks.config import CapacityGroup
from stacks.policy.rules import SINGLE_TYPE_REASON_TAG

SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


@dataclass
class GpuFleetArgs:
    groups: tuple[CapacityGroup, ...]
    subnet_ids: list[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    region: str
    served_model_name: str
    precision: str
    tp: int
    max_model_len: int
    weights_gib: float
    weights_bucket: str
    weights_prefix: str
    server_port: int
    vllm_image: str
    ami_name_filter: str
    ami_owner: str
    health_check_grace_s: int
    wait_for_capacity_timeout: str
    environment: str
    tags: dict[str, str]
    # autoscaling on load-balancer requests per instance; None leaves the group at its planned size
    scaling_resource_label: pulumi.Input[str] | None = None  # "<alb arn suffix>/<target group arn suffix>"
    replica_requests_per_s: float = 0.0  # what one replica serves under the SLO (planner)
    kv_precision: str = ""  # KV-cache precision the planner's throughput assumed
    engine: str = "vllm"  # serving engine the plan was sized for
    max_num_seqs: int = 0  # batch cap the sizing assumed (0: engine default)
    max_num_batched_tokens: int = 0  # chunked-prefill budget the sizing assumed (0: engine default)
    headroom: float = 0.0  # the plan's spare capacity over peak demand


def requests_per_instance_per_minute(replica_requests_per_s: float, replicas_per_instance: int,
                                     headroom: float) -> float:
    """Autoscaling target: requests a minute one instance takes before the group adds another."""
    return round(replica_requests_per_s * replicas_per_instance * 60 / (1 + headroom), 2)


def weights_read_policy(bucket: str, prefix: str) -> str:
    """Read access to s3://bucket/prefix only: explicit actions, no wildcard action."""
    prefix = prefix.strip("/")
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ReadWeights", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"]},
            {"Sid": "ListWeights", "Effect": "Allow", "Action": ["s3:ListBucket"],
             "Resource": [f"arn:aws:s3:::{bucket}"],
             "Condition": {"StringLike": {"s3:prefix": [prefix, f"{prefix}/*"]}}},
        ],
    })


def root_volume_gib(weights_gib: float) -> int:
    # OS, container image (~20 GiB) and a copy of the weights with room to spare.
    return max(200, int(math.ceil(weights_gib * 1.5)) + 100)


class GpuFleet(pulumi.ComponentResource):
    asg_names: list[pulumi.Output[str]]

    def __init__(self, name: str, args: GpuFleetArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-planner:stacks:GpuFleet", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }), opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-ssm-core", role=role.name, policy_arn=SSM_CORE_POLICY_ARN, opts=child)
        aws.iam.RolePolicy(f"{name}-weights-read", role=role.id,
                           policy=weights_read_policy(args.weights_bucket, args.weights_prefix), opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=child)

        # Looked up at deploy time: the newest deep-learning base AMI in the stack's region.
        ami = aws.ec2.get_ami_output(most_recent=True, owners=[args.ami_owner],
                                     filters=[{"name": "name", "values": [args.ami_name_filter]},
                                              {"name": "architecture", "values": ["x86_64"]},
                                              {"name": "state", "values": ["available"]}],
                                     opts=pulumi.InvokeOutputOptions(parent=self))

        asg_tags = [{"key": k, "value": v, "propagate_at_launch": True}
                    for k, v in sorted(args.tags.items())] + [
                   {"key": "Name", "value": f"{name}", "propagate_at_launch": True}]

        self.launch_templates: list[aws.ec2.LaunchTemplate] = []
        self.groups: list[aws.autoscaling.Group] = []
        multi = len(args.groups) > 1
        for group in args.groups:
            gname = f"{name}-{group.gpus_per_instance}gpu" if multi else name
            spec = userdata.ServerSpec(
                served_model_name=args.served_model_name,
                weights_uri=f"s3://{args.weights_bucket}/{args.weights_prefix}",
                region=args.region, precision=args.precision, tp=args.tp,
                data_parallel=group.replicas_per_instance, max_model_len=args.max_model_len,
                port=args.server_port, kv_precision=args.kv_precision, engine=args.engine,
                image=args.vllm_image if args.engine == "vllm" else userdata.DEFAULT_IMAGES[args.engine],
                max_num_seqs=args.max_num_seqs, max_num_batched_tokens=args.max_num_batched_tokens)
            template = aws.ec2.LaunchTemplate(
                f"{gname}-lt",
                description=f"{args.served_model_name} vLLM server, {group.gpus_per_instance} GPUs per instance",
                image_id=ami.id,
                iam_instance_profile={"arn": profile.arn},
                # EC2.8: IMDSv2 only. Hop limit 1: the server runs with host networking, so no
                # container bridge sits between a process and the metadata service.
                metadata_options={"http_endpoint": "enabled", "http_tokens": "required",
                                  "http_put_response_hop_limit": 1, "instance_metadata_tags": "disabled"},
                block_device_mappings=[{
                    "device_name": "/dev/sda1",
                    "ebs": {"volume_type": "gp3", "volume_size": root_volume_gib(args.weights_gib),
                            "encrypted": "true", "iops": 6000, "throughput": 1000,
                            "delete_on_termination": "true"},
                }],
                network_interfaces=[{"device_index": 0, "associate_public_ip_address": "false",
                                     "delete_on_termination": "true",
                                     "security_groups": [args.security_group_id]}],
                user_data=base64.b64encode(userdata.render(spec).encode()).decode(),
                update_default_version=True,
                tag_specifications=[{"resource_type": "volume", "tags": args.tags},
                                    {"resource_type": "network-interface", "tags": args.tags}],
                opts=child)

            overrides = [{"instance_type": t} for t in group.instance_types]
            group_tags = list(asg_tags)
            if len(group.instance_types) == 1:
                # AutoScaling.6 wants several types; the planner offered one. Say so on the group.
                group_tags.append({"key": SINGLE_TYPE_REASON_TAG, "propagate_at_launch": False,
                                   "value": f"planner offers no equivalent of {group.instance_types[0]}"})
            scales = (args.scaling_resource_label is not None and group.max_size > group.min_size
                      and requests_per_instance_per_minute(args.replica_requests_per_s,
                                                           group.replicas_per_instance, args.headroom) > 0)
            # once the scaling policy owns the group's size, later updates must not reset it
            asg_opts = pulumi.ResourceOptions(parent=self, ignore_changes=["desired_capacity"] if scales else None)
            asg = aws.autoscaling.Group(
                f"{gname}-asg",
                vpc_zone_identifiers=args.subnet_ids,
                min_size=group.min_size,
                max_size=group.max_size,
                desired_capacity=group.desired_capacity,
                capacity_rebalance=group.uses_spot,
                mixed_instances_policy={
                    "instances_distribution": {
                        "on_demand_base_capacity": group.on_demand_base_capacity,
                        "on_demand_percentage_above_base_capacity": group.on_demand_percentage_above_base_capacity,
                        # Overrides list reserved types first: reservations bill against those.
                        "on_demand_allocation_strategy": "prioritized",
                        "spot_allocation_strategy": "price-capacity-optimized",
                    },
                    "launch_template": {
                        "launch_template_specification": {"launch_template_id": template.id,
                                                          "version": template.latest_version.apply(str)},
                        "overrides": overrides,
                    },
                },
                target_group_arns=[args.target_group_arn],
                health_check_type="ELB",
                health_check_grace_period=args.health_check_grace_s,
                wait_for_capacity_timeout=args.wait_for_capacity_timeout,
                instance_refresh={
                    "strategy": "Rolling",
                    "preferences": _refresh_preferences(args.environment, args.health_check_grace_s),
                },
                tags=group_tags,
                opts=asg_opts)
            if scales:
                target = requests_per_instance_per_minute(args.replica_requests_per_s,
                                                          group.replicas_per_instance, args.headroom)
                # Peaks are paid only for the hours they run: track requests per instance at the
                # planner's per-replica throughput less the headroom, between the always-on floor
                # (min_size) and the planned peak (max_size).
                aws.autoscaling.Policy(
                    f"{gname}-scaling",
                    autoscaling_group_name=asg.name,
                    policy_type="TargetTrackingScaling",
                    estimated_instance_warmup=args.health_check_grace_s,
                    target_tracking_configuration={
                        "predefined_metric_specification": {
                            "predefined_metric_type": "ALBRequestCountPerTarget",
                            "resource_label": args.scaling_resource_label,
                        },
                        "target_value": target,
                    },
                    opts=pulumi.ResourceOptions(parent=self))
            self.launch_templates.append(template)
            self.groups.append(asg)

        self.asg_names = [g.name for g in self.groups]
        self.register_outputs({"asg_names": self.asg_names, "role_arn": role.arn})


def _refresh_preferences(environment: str, warmup_s: int) -> dict:
    prefs = {"instance_warmup": str(warmup_s), "skip_matching": True}
    if environment == "prod":
        # Launch replacements before terminating: capacity never drops below the plan.
        prefs.update(min_healthy_percentage=100, max_healthy_percentage=150)
    elif environment == "staging":
        prefs.update(min_healthy_percentage=50, max_healthy_percentage=100)
    else:
        prefs.update(min_healthy_percentage=0, max_healthy_percentage=100)
    return prefs
