"""Network: the VPC the fleet runs in.

Private subnets for the fleet (no public IP on launch), public subnets only for NAT gateways,
an S3 gateway endpoint so model weights never cross a NAT, SSM interface endpoints so the
instances are reachable without SSH, VPC flow logs (traffic type ALL) to CloudWatch Logs, and
the default security group stripped of every rule.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from planner.provision import NetworkSpec
from stacks.validation import SUBNET_PREFIX


@dataclass
class NetworkArgs:
    region: str
    cidr_block: str
    network: NetworkSpec  # zones, subnets, NAT gateways, endpoints, retention: the planner's (and costed)
    availability_zone_names: tuple[str, ...]  # one per private subnet, checked against the region up front


def subnet_cidrs(cidr_block: str, private_count: int, public_count: int) -> tuple[list[str], list[str]]:
    """/20 private subnets from the bottom of the block, /24 public subnets from its top /20
    (`stacks.validation.vpc_room` refuses a block too small for them before anything is created)."""
    vpc = ipaddress.ip_network(cidr_block)
    twenties = list(vpc.subnets(new_prefix=SUBNET_PREFIX))
    if private_count >= len(twenties):
        raise ValueError(f"{cidr_block} has room for {len(twenties) - 1} private /20 subnets, not {private_count}")
    public_block = twenties[-1]
    publics = list(public_block.subnets(new_prefix=24))
    return [str(n) for n in twenties[:private_count]], [str(n) for n in publics[:public_count]]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    fleet_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-planner:stacks:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        shape = args.network
        private_count = shape.private_subnets
        nat_count = shape.nat_gateways
        private_cidrs, public_cidrs = subnet_cidrs(args.cidr_block, private_count, nat_count)

        # resolved and checked before the first resource (stacks.config.network_zones)
        az_names = list(args.availability_zone_names[:private_count])

        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr_block, enable_dns_hostnames=True,
                               enable_dns_support=True, tags={"Name": f"{name}-vpc"}, opts=child)

        # EC2.2: the default security group allows nothing.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
                                     tags={"Name": f"{name}-default-do-not-use"}, opts=child)

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{name}-igw"}, opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=self.vpc.id,
                                       tags={"Name": f"{name}-public"}, opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=igw.id, opts=child)

        nats = []
        for i in range(nat_count):
            public = aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=self.vpc.id, cidr_block=public_cidrs[i],
                                    availability_zone=az_names[i], map_public_ip_on_launch=False,
                                    tags={"Name": f"{name}-public-{i}", "tier": "public-nat-only"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}-rta", subnet_id=public.id,
                                          route_table_id=public_rt.id, opts=child)
            eip = aws.ec2.Eip(f"{name}-nat-{i}-eip", domain="vpc", tags={"Name": f"{name}-nat-{i}"}, opts=child)
            nats.append(aws.ec2.NatGateway(f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=public.id,
                                           tags={"Name": f"{name}-nat-{i}"},
                                           opts=pulumi.ResourceOptions(parent=self, depends_on=[igw])))

        self.private_subnets = []
        private_rts = []
        for i in range(private_count):
            subnet = aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=self.vpc.id, cidr_block=private_cidrs[i],
                                    availability_zone=az_names[i], map_public_ip_on_launch=False,
                                    tags={"Name": f"{name}-private-{i}", "tier": "private"}, opts=child)
            rt = aws.ec2.RouteTable(f"{name}-private-{i}-rt", vpc_id=self.vpc.id,
                                    tags={"Name": f"{name}-private-{i}"}, opts=child)
            aws.ec2.Route(f"{name}-private-{i}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                          nat_gateway_id=nats[i if nat_count == private_count else 0].id, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}-rta", subnet_id=subnet.id, route_table_id=rt.id,
                                          opts=child)
            self.private_subnets.append(subnet)
            private_rts.append(rt)

        # Weights come from S3 through a gateway endpoint: no NAT data charge, no internet path.
        aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=self.vpc.id, service_name=f"com.amazonaws.{args.region}.s3",
                            vpc_endpoint_type="Gateway", route_table_ids=[rt.id for rt in private_rts],
                            tags={"Name": f"{name}-s3"}, opts=child)

        endpoint_sg = aws.ec2.SecurityGroup(f"{name}-endpoints-sg", vpc_id=self.vpc.id,
                                            description="HTTPS from inside the VPC to interface endpoints",
                                            tags={"Name": f"{name}-endpoints"}, opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-https", security_group_id=endpoint_sg.id,
                                         ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4=args.cidr_block,
                                         description="HTTPS from the VPC", opts=child)
        for service in shape.interface_endpoints:
            aws.ec2.VpcEndpoint(f"{name}-{service}", vpc_id=self.vpc.id,
                                service_name=f"com.amazonaws.{args.region}.{service}",
                                vpc_endpoint_type="Interface", private_dns_enabled=True,
                                subnet_ids=[s.id for s in self.private_subnets],
                                security_group_ids=[endpoint_sg.id], tags={"Name": f"{name}-{service}"}, opts=child)

        # EC2.6: flow logs of all traffic, kept in CloudWatch Logs.
        log_group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", name=f"/vpc-flow-logs/{name}",
                                            retention_in_days=shape.flow_log_retention_days, opts=child)
        flow_role = aws.iam.Role(f"{name}-flow-logs-role", assume_role_policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                           "Action": "sts:AssumeRole"}],
        }), opts=child)
        aws.iam.RolePolicy(f"{name}-flow-logs-write", role=flow_role.id, policy=log_group.arn.apply(
            lambda arn: json.dumps({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow",
                               "Action": ["logs:CreateLogStream", "logs:PutLogEvents",
                                          "logs:DescribeLogGroups", "logs:DescribeLogStreams"],
                               "Resource": [arn, f"{arn}:*"]}],
            })), opts=child)
        aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=self.vpc.id, traffic_type="ALL",
                        log_destination_type="cloud-watch-logs", log_destination=log_group.arn,
                        iam_role_arn=flow_role.arn, max_aggregation_interval=60, opts=child)

        self.vpc_id = self.vpc.id
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.fleet_subnet_ids = self.private_subnet_ids[:shape.fleet_zones]
        self.register_outputs({
            "vpc_id": self.vpc_id,
            "private_subnet_ids": self.private_subnet_ids,
            "fleet_subnet_ids": self.fleet_subnet_ids,
        })
