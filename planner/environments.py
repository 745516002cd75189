"""The three environments a plan is provisioned in, and what each one's network looks like.

Defined once: the forecast costs prod's network with `network_shape(PROD, ...)` and provisioning
hands the same shape to the stacks, so what `pulumi up` creates is what the forecast costed.

- dev: the smallest fleet that serves (one instance, spot where allowed), one zone for the
  fleet, one NAT gateway, flow logs kept 30 days;
- staging: like prod, smaller (a quarter of prod's peak instances, at least one per zone, spot
  where allowed), a NAT gateway per zone, flow logs kept 90 days;
- prod: the planned fleet, the plan's availability zones (at least two), a NAT gateway per zone,
  flow logs kept a year, deletion protection on the load balancer.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

from pricing.terms import Purchase

# An application load balancer needs subnets in two availability zones even when the fleet uses one.
MIN_PRIVATE_SUBNETS = 2
# SSM interface endpoints: the instances are reachable without SSH or a public address.
INTERFACE_ENDPOINT_SERVICES = ("ssm", "ssmmessages", "ec2messages")
# CloudWatch alarms on the load balancer's targets: some unhealthy, none healthy.
HEALTH_ALARMS = 2
# Target tracking creates two CloudWatch alarms per Auto Scaling group (scale out, scale in).
ALARMS_PER_SCALING_POLICY = 2
STAGING_SHARE = 0.25  # staging runs this share of prod's peak instances (at least one per zone)
# staging and dev buy the first of these the plan allows: spot where it may, else on demand
NON_PROD_PURCHASE_ORDER = (Purchase.SPOT, Purchase.ON_DEMAND, Purchase.RESERVED_1Y, Purchase.RESERVED_3Y)


class Environment(enum.StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


ENVIRONMENTS = tuple(Environment)


@dataclass(frozen=True)
class NetworkShape:
    """What the Network and Endpoint components create in one region, counted."""

    fleet_zones: int  # availability zones the fleet's instances run in
    private_subnets: int  # one per zone the fleet or the load balancer uses
    nat_gateways: int  # each with an Elastic IP (a public IPv4 address)
    interface_endpoints: tuple[str, ...]  # each placed in every private subnet
    flow_log_retention_days: int
    deletion_protection: bool
    health_alarms: int = HEALTH_ALARMS

    @property
    def interface_endpoint_placements(self) -> int:
        """Interface endpoint network interfaces: one per endpoint per private subnet (billed per AZ-hour)."""
        return len(self.interface_endpoints) * self.private_subnets


def network_shape(environment: Environment | str, availability_zones: int) -> NetworkShape:
    """The network of `environment` for a plan whose production fleet spans `availability_zones`."""
    env = Environment(environment)
    if env is Environment.DEV:
        zones, nat_per_zone, retention, protect = 1, False, 30, False
    elif env is Environment.STAGING:
        zones, nat_per_zone, retention, protect = availability_zones, True, 90, False
    else:
        zones, nat_per_zone, retention, protect = availability_zones, True, 365, True
    private = max(zones, MIN_PRIVATE_SUBNETS)
    return NetworkShape(fleet_zones=zones, private_subnets=private, nat_gateways=private if nat_per_zone else 1,
                        interface_endpoints=INTERFACE_ENDPOINT_SERVICES, flow_log_retention_days=retention,
                        deletion_protection=protect)


def non_prod_fleet(environment: Environment | str, availability_zones: int, prod_peak: int,
                   allowed: Iterable[Purchase]) -> tuple[int, Purchase]:
    """Instances staging or dev runs all day, and how they are bought (the one home of the rule
    provisioning and the quota needs share): staging a quarter of prod's peak instances, at least
    one per zone while prod has that many; dev one instance; spot where the plan allows it."""
    env = Environment(environment)
    if env is Environment.PROD:
        raise ValueError("prod runs the planned fleet, not a reduced one")
    if env is Environment.STAGING:
        count = max(min(availability_zones, prod_peak), math.ceil(prod_peak * STAGING_SHARE))
    else:
        count = 1
    allowed = set(allowed)
    return count, next(p for p in NON_PROD_PURCHASE_ORDER if p in allowed)
