"""Endpoint: the internal load balancer in front of the fleet, and the security groups.

The fleet accepts traffic only from the load balancer's security group; the load balancer
accepts only the configured client networks (the VPC by default). No rule accepts 0.0.0.0/0
or ::/0. The fleet may call out on 443 (container image, SSM, S3 through the gateway endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class EndpointArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: list[pulumi.Input[str]]  # at least two availability zones (an ALB requirement)
    client_cidrs: tuple[str, ...]
    listener_port: int
    server_port: int
    health_path: str
    deregistration_delay_s: int  # <= 90: spot gives two minutes' notice
    deletion_protection: bool


class Endpoint(pulumi.ComponentResource):
    address: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    fleet_security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: EndpointArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("llm-planner:stacks:Endpoint", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        lb_sg = aws.ec2.SecurityGroup(f"{name}-lb-sg", vpc_id=args.vpc_id,
                                      description="Internal load balancer of the LLM endpoint",
                                      tags={"Name": f"{name}-lb"}, opts=child)
        fleet_sg = aws.ec2.SecurityGroup(f"{name}-fleet-sg", vpc_id=args.vpc_id,
                                         description="GPU fleet: model server traffic from the load balancer only",
                                         tags={"Name": f"{name}-fleet"}, opts=child)
        for i, cidr in enumerate(args.client_cidrs):
            aws.vpc.SecurityGroupIngressRule(f"{name}-lb-from-clients-{i}", security_group_id=lb_sg.id,
                                             ip_protocol="tcp", from_port=args.listener_port,
                                             to_port=args.listener_port, cidr_ipv4=cidr,
                                             description="clients of the internal endpoint", opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-lb-to-fleet", security_group_id=lb_sg.id, ip_protocol="tcp",
                                        from_port=args.server_port, to_port=args.server_port,
                                        referenced_security_group_id=fleet_sg.id,
                                        description="requests and health checks to the model servers", opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-fleet-from-lb", security_group_id=fleet_sg.id, ip_protocol="tcp",
                                         from_port=args.server_port, to_port=args.server_port,
                                         referenced_security_group_id=lb_sg.id,
                                         description="model server traffic from the load balancer only", opts=child)
        aws.vpc.SecurityGroupEgressRule(f"{name}-fleet-https-out", security_group_id=fleet_sg.id,
                                        ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4="0.0.0.0/0",
                                        description="HTTPS out: S3 (gateway endpoint), SSM, container registry",
                                        opts=child)

        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application", internal=True, subnets=args.subnet_ids,
            security_groups=[lb_sg.id], drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection,
            idle_timeout=300,  # long streamed completions
            opts=child)
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg", vpc_id=args.vpc_id, port=args.server_port, protocol="HTTP", target_type="instance",
            deregistration_delay=args.deregistration_delay_s,
            load_balancing_algorithm_type="least_outstanding_requests",
            health_check={"enabled": True, "path": args.health_path, "port": str(args.server_port),
                          "protocol": "HTTP", "matcher": "200", "interval": 15, "timeout": 5,
                          "healthy_threshold": 2, "unhealthy_threshold": 3},
            opts=child)
        aws.lb.Listener(f"{name}-listener", load_balancer_arn=self.load_balancer.arn, port=args.listener_port,
                        protocol="HTTP",
                        default_actions=[{"type": "forward", "target_group_arn": self.target_group.arn}],
                        opts=child)

        self.address = pulumi.Output.concat("http://", self.load_balancer.dns_name,
                                            "" if args.listener_port == 80 else f":{args.listener_port}", "/v1")
        self.target_group_arn = self.target_group.arn
        self.fleet_security_group_id = fleet_sg.id
        self.register_outputs({"address": self.address, "target_group_arn": self.target_group_arn,
                               "fleet_security_group_id": self.fleet_security_group_id})
