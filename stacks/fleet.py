"""GpuFleet: the instances that run the model server, exactly as the planner resolved them.

An IAM role with SSM core and read access to the weights prefix only; one launch template
(deep-learning AMI looked up at deploy time, IMDSv2, the encrypted gp3 root volume the forecast
costed, no public IP, no SSH key, the model server's user data); per group of the spec an Auto
Scaling group (on-demand capacity, reserved instances included, and spot capacity), its scheduled
actions (UTC, the planner's hourly counts) and, when its size changes during the day, a
target-tracking policy. Every number is a field of `planner.provision.FleetSpec`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from planner.provision import FleetSpec, GroupSpec
from stacks import userdata
from stacks.policy.rules import SINGLE_TYPE_REASON_TAG

SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


@dataclass
class GpuFleetArgs:
    spec: FleetSpec
    subnet_ids: list[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    weights_bucket: str
    weights_prefix: str
    server_port: int
    vllm_image: str
    ami_name_filter: str
    ami_owner: str
    health_check_grace_s: int
    wait_for_capacity_timeout: str
    tags: dict[str, str]
    # "<alb arn suffix>/<target group arn suffix>": what target tracking counts requests on
    scaling_resource_label: pulumi.Input[str] | None = None


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


def group_name(name: str, group: GroupSpec, spec: FleetSpec) -> str:
    """The on-demand group keeps the fleet's name; a spot group is `<name>-spot`."""
    return name if group.role == "on-demand" or len(spec.groups) == 1 else f"{name}-{group.role}"


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

        spec = args.spec
        server = spec.server
        shape = spec.groups[0]  # every group of a stack runs the same instance shape
        server_spec = userdata.ServerSpec(
            served_model_name=server.hf_model_id,
            weights_uri=f"s3://{args.weights_bucket}/{args.weights_prefix}",
            region=spec.region, precision=server.precision, tp=server.tp,
            data_parallel=server.data_parallel, max_model_len=server.max_model_len,
            port=args.server_port, kv_precision=server.kv_precision, engine=server.engine,
            image=args.vllm_image if server.engine == "vllm" else userdata.DEFAULT_IMAGES[server.engine],
            max_num_seqs=server.max_num_seqs, max_num_batched_tokens=server.max_num_batched_tokens)
        volume = spec.root_volume
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-lt",
            description=f"{server.hf_model_id} {server.engine} server, {shape.gpus_per_instance} GPUs per instance",
            image_id=ami.id,
            iam_instance_profile={"arn": profile.arn},
            # EC2.8: IMDSv2 only. Hop limit 1: the server runs with host networking, so no
            # container bridge sits between a process and the metadata service.
            metadata_options={"http_endpoint": "enabled", "http_tokens": "required",
                              "http_put_response_hop_limit": 1, "instance_metadata_tags": "disabled"},
            block_device_mappings=[{
                "device_name": "/dev/sda1",
                "ebs": {"volume_type": "gp3", "volume_size": volume.gib, "encrypted": "true",
                        "iops": volume.iops, "throughput": volume.throughput_mibps,
                        "delete_on_termination": "true"},
            }],
            network_interfaces=[{"device_index": 0, "associate_public_ip_address": "false",
                                 "delete_on_termination": "true",
                                 "security_groups": [args.security_group_id]}],
            user_data=base64.b64encode(userdata.render(server_spec).encode()).decode(),
            update_default_version=True,
            tag_specifications=[{"resource_type": "volume", "tags": args.tags},
                                {"resource_type": "network-interface", "tags": args.tags}],
            opts=child)

        asg_tags = [{"key": k, "value": v, "propagate_at_launch": True}
                    for k, v in sorted(args.tags.items())] + [
                   {"key": "Name", "value": f"{name}", "propagate_at_launch": True}]
        self.groups: list[aws.autoscaling.Group] = []
        self.schedules: list[aws.autoscaling.Schedule] = []
        for group in spec.groups:
            gname = group_name(name, group, spec)
            group_tags = list(asg_tags)
            if len(group.instance_types) == 1:
                # AutoScaling.6 wants several types; the planner offered one. Say so on the group.
                group_tags.append({"key": SINGLE_TYPE_REASON_TAG, "propagate_at_launch": False,
                                   "value": f"planner offers no equivalent of {group.instance_types[0]}"})
            scales = (args.scaling_resource_label is not None
                      and group.target_requests_per_instance_per_minute is not None)
            # once scheduled actions (and the scaling policy) own the group's size, updates must not reset it
            owned = ["desired_capacity", "min_size"] if group.scheduled_actions else []
            asg = aws.autoscaling.Group(
                f"{gname}-asg",
                vpc_zone_identifiers=args.subnet_ids,
                min_size=group.min_size,
                max_size=group.max_size,
                desired_capacity=group.desired_capacity,
                capacity_rebalance=group.capacity_type == "spot",
                mixed_instances_policy={
                    "instances_distribution": {
                        "on_demand_base_capacity": group.on_demand_base_capacity,
                        "on_demand_percentage_above_base_capacity": group.on_demand_percentage_above_base_capacity,
                        # Overrides list the planner's type first: reservations bill against it.
                        "on_demand_allocation_strategy": "prioritized",
                        "spot_allocation_strategy": "price-capacity-optimized",
                    },
                    "launch_template": {
                        "launch_template_specification": {
                            "launch_template_id": self.launch_template.id,
                            "version": self.launch_template.latest_version.apply(str)},
                        "overrides": [{"instance_type": t} for t in group.instance_types],
                    },
                },
                target_group_arns=[args.target_group_arn],
                health_check_type="ELB",
                health_check_grace_period=args.health_check_grace_s,
                wait_for_capacity_timeout=args.wait_for_capacity_timeout,
                instance_refresh={
                    "strategy": "Rolling",
                    "preferences": _refresh_preferences(spec.environment, args.health_check_grace_s),
                },
                tags=group_tags,
                opts=pulumi.ResourceOptions(parent=self, ignore_changes=owned or None))
            for action in group.scheduled_actions:
                self.schedules.append(aws.autoscaling.Schedule(
                    f"{gname}-at-{action.hour_utc:02d}utc",
                    scheduled_action_name=f"{gname}-at-{action.hour_utc:02d}utc",
                    autoscaling_group_name=asg.name,
                    recurrence=action.recurrence, time_zone=action.time_zone,
                    min_size=action.min_size, max_size=action.max_size,
                    desired_capacity=action.desired_capacity,
                    opts=pulumi.ResourceOptions(parent=self)))
            if scales:
                # Track requests per instance at the planner's per-replica throughput less the headroom,
                # between the hour's planned count (min) and the day's planned peak (max).
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
                        "target_value": group.target_requests_per_instance_per_minute,
                    },
                    opts=pulumi.ResourceOptions(parent=self))
            self.groups.append(asg)

        self.asg_names = [g.name for g in self.groups]
        self.launch_templates = [self.launch_template]
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
