"""Policy rules as plain functions, named after the AWS Foundational Security Best Practices
control each one enforces. `stacks/policy/__main__.py` wraps them for `pulumi preview
--policy-pack`; tests call them directly on the resources a mock run recorded.

Resource rules: ``rule(resource_type, props) -> list[str]`` (violation messages; empty = pass).
Stack rules take every resource as a `PolicyView`. Props use the engine's (camelCase) names,
which is what both the policy analyzer and Pulumi's mocks see.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

OPEN_CIDRS = ("0.0.0.0/0", "::/0")

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ASG = "aws:autoscaling/group:Group"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
IAM_POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                    "aws:iam/groupPolicy:GroupPolicy")
AWS_PROVIDER = "pulumi:providers:aws"
PROD = "prod"
PROD_FLOW_LOG_RETENTION_DAYS = 365
# AutoScaling.6 waiver: a prod group with one instance type must say why (the program writes the
# planner's reason when the planner offers no equivalent type).
SINGLE_TYPE_REASON_TAG = "single-instance-type-reason"


@dataclass(frozen=True)
class PolicyView:
    """One resource as a stack rule sees it."""

    type: str
    props: Mapping[str, Any]
    urn: str
    provider_props: Mapping[str, Any] | None = None
    # property name -> URNs of the resources the property was computed from (the analyzer knows
    # them; under mocks the ids in props are used instead)
    refs: Mapping[str, Sequence[str]] = field(default_factory=dict)


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _as_list(value: Any) -> list:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def default_tags(provider_props: Mapping[str, Any] | None) -> dict[str, str]:
    """The provider's default tags (the engine passes provider config objects as JSON strings)."""
    if not provider_props:
        return {}
    raw = provider_props.get("defaultTags")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return {}
    if not isinstance(raw, Mapping):
        return {}
    return dict(raw.get("tags") or {})


def environment_of(view: PolicyView) -> str | None:
    tags = dict(default_tags(view.provider_props))
    own = view.props.get("tags")
    if isinstance(own, Mapping):
        tags.update(own)
    elif isinstance(own, list):  # Auto Scaling group tags: [{key, value, propagateAtLaunch}]
        tags.update({t.get("key"): t.get("value") for t in own if isinstance(t, Mapping)})
    return tags.get("environment")


# ---- resource rules ------------------------------------------------------------------------

def ec2_8_imdsv2(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.8: instances and launch templates require IMDSv2 (tokens required, hop limit <= 2)."""
    if resource_type not in (LAUNCH_TEMPLATE, INSTANCE):
        return []
    meta = props.get("metadataOptions") or {}
    out = []
    if meta.get("httpTokens") != "required":
        out.append(f"EC2.8: metadataOptions.httpTokens is {meta.get('httpTokens')!r}; IMDSv2 needs 'required'")
    if meta.get("httpEndpoint") == "disabled":
        return out
    hops = meta.get("httpPutResponseHopLimit")
    if hops is None or int(hops) > 2:
        out.append(f"EC2.8: metadataOptions.httpPutResponseHopLimit is {hops!r}; use 1 (2 only for bridged containers)")
    return out


def ec2_9_25_no_public_ip(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.9 (instances), EC2.25 (launch templates), EC2.15 (subnets): no public IPv4 address."""
    if resource_type == INSTANCE and _truthy(props.get("associatePublicIpAddress")):
        return ["EC2.9: instance has associatePublicIpAddress = true"]
    if resource_type == LAUNCH_TEMPLATE:
        return [f"EC2.25: launch template networkInterfaces[{i}].associatePublicIpAddress = true"
                for i, nic in enumerate(_as_list(props.get("networkInterfaces")))
                if _truthy((nic or {}).get("associatePublicIpAddress"))]
    if resource_type == SUBNET and _truthy(props.get("mapPublicIpOnLaunch")):
        return ["EC2.15: subnet has mapPublicIpOnLaunch = true"]
    return []


def _open(cidrs: Iterable[Any]) -> list[str]:
    return [c for c in cidrs if c in OPEN_CIDRS]


def ec2_2_18_19_security_groups(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.2: the default security group has no rules. EC2.18/EC2.19: no ingress from 0.0.0.0/0 or ::/0
    (stricter than the controls, which allow some ports: this stack's endpoint is internal)."""
    if resource_type == "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
        out = []
        for direction in ("ingress", "egress"):
            if _as_list(props.get(direction)):
                out.append(f"EC2.2: the default security group has {direction} rules; leave it with none")
        return out
    if resource_type == "aws:ec2/securityGroup:SecurityGroup":
        out = []
        for i, rule in enumerate(_as_list(props.get("ingress"))):
            rule = rule or {}
            for cidr in _open(_as_list(rule.get("cidrBlocks")) + _as_list(rule.get("ipv6CidrBlocks"))):
                out.append(f"EC2.18/EC2.19: ingress[{i}] accepts {cidr}")
        return out
    if resource_type == "aws:ec2/securityGroupRule:SecurityGroupRule":
        if props.get("type") != "ingress":
            return []
        return [f"EC2.18/EC2.19: ingress rule accepts {cidr}"
                for cidr in _open(_as_list(props.get("cidrBlocks")) + _as_list(props.get("ipv6CidrBlocks")))]
    if resource_type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        return [f"EC2.18/EC2.19: ingress rule accepts {cidr}"
                for cidr in _open([props.get("cidrIpv4"), props.get("cidrIpv6")])]
    return []


def ec2_3_7_ebs_encryption(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.3/EC2.7: every EBS volume is encrypted."""
    if resource_type == "aws:ebs/volume:Volume" and not _truthy(props.get("encrypted")):
        return ["EC2.3: EBS volume is not encrypted"]
    if resource_type == LAUNCH_TEMPLATE:
        return [f"EC2.3/EC2.7: launch template blockDeviceMappings[{i}] ({m.get('deviceName')}) is not encrypted"
                for i, m in enumerate(_as_list(props.get("blockDeviceMappings")))
                if (m or {}).get("ebs") is not None and not _truthy(m["ebs"].get("encrypted"))]
    if resource_type == INSTANCE:
        devices = [props.get("rootBlockDevice")] + _as_list(props.get("ebsBlockDevices"))
        return ["EC2.3: instance block device is not encrypted"
                for d in devices if d is not None and not _truthy(d.get("encrypted"))]
    return []


def iam_1_no_wildcard_actions(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """IAM.1: policies allow no '*' actions (neither '*' nor 'service:*' nor NotAction)."""
    if resource_type not in IAM_POLICY_TYPES:
        return []
    document = props.get("policy")
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return ["IAM.1: policy is not valid JSON"]
    if not isinstance(document, Mapping):
        return ["IAM.1: policy document missing"]
    out = []
    for i, statement in enumerate(_as_list(document.get("Statement"))):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement:
            out.append(f"IAM.1: Statement[{i}] allows NotAction (everything else)")
        for action in _as_list(statement.get("Action")):
            if "*" in str(action):
                out.append(f"IAM.1: Statement[{i}] allows wildcard action {action!r}")
    return out


def elb_internal(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """ELB internal: the model endpoint's load balancer is internal; ELB.4: drops invalid headers."""
    if resource_type not in LOAD_BALANCERS:
        return []
    out = []
    if not _truthy(props.get("internal")):
        out.append("ELB: load balancer is internet-facing; the model endpoint must be internal")
    if props.get("loadBalancerType", "application") == "application" and not _truthy(
            props.get("dropInvalidHeaderFields")):
        out.append("ELB.4: application load balancer does not drop invalid header fields")
    return out


RESOURCE_RULES = {
    "EC2.8-imdsv2": ec2_8_imdsv2,
    "EC2.9-EC2.25-no-public-ip": ec2_9_25_no_public_ip,
    "EC2.2-EC2.18-EC2.19-security-groups": ec2_2_18_19_security_groups,
    "EC2.3-EC2.7-ebs-encryption": ec2_3_7_ebs_encryption,
    "IAM.1-no-wildcard-actions": iam_1_no_wildcard_actions,
    "ELB-internal": elb_internal,
}


# ---- stack rules ---------------------------------------------------------------------------

def _refers(source: PolicyView, prop: str, target: PolicyView, target_key: str = "id") -> bool:
    if target.urn in (source.refs.get(prop) or ()):
        return True
    value = source.props.get(prop)
    return value is not None and value == target.props.get(target_key)


def ec2_6_vpc_flow_logs(resources: Sequence[PolicyView]) -> list[tuple[str, str]]:
    """EC2.6: every VPC has a flow log of ALL traffic; in prod its log group keeps >= 365 days
    (CloudWatch.16). Returns (message, urn) pairs."""
    out = []
    vpcs = [r for r in resources if r.type == VPC]
    flow_logs = [r for r in resources if r.type == FLOW_LOG]
    groups = [r for r in resources if r.type == LOG_GROUP]
    for vpc in vpcs:
        logs = [f for f in flow_logs if _refers(f, "vpcId", vpc)]
        if not any(f.props.get("trafficType") == "ALL" for f in logs):
            out.append(("EC2.6: VPC has no flow log with trafficType ALL", vpc.urn))
            continue
        if environment_of(vpc) != PROD:
            continue
        for flow in logs:
            for group in groups:
                if _refers(flow, "logDestination", group, "arn"):
                    days = group.props.get("retentionInDays")
                    if not days or int(days) < PROD_FLOW_LOG_RETENTION_DAYS:
                        out.append((f"CloudWatch.16: prod flow logs kept {days!r} days; keep at least "
                                    f"{PROD_FLOW_LOG_RETENTION_DAYS}", group.urn))
    return out


def autoscaling_2_6_multi_az_types(resources: Sequence[PolicyView]) -> list[tuple[str, str]]:
    """AutoScaling.2: prod groups span at least two availability zones. AutoScaling.6: prod groups
    use more than one instance type, unless tagged with the reason the planner offers only one."""
    out = []
    subnets = [r for r in resources if r.type == SUBNET]
    for asg in (r for r in resources if r.type == ASG):
        if environment_of(asg) != PROD:
            continue
        ids = _as_list(asg.props.get("vpcZoneIdentifiers"))
        zones = set()
        for subnet_id in ids:
            match = [s for s in subnets if s.props.get("id") == subnet_id]
            zones.add(match[0].props.get("availabilityZone") if match else subnet_id)
        for urn in asg.refs.get("vpcZoneIdentifiers") or ():
            zones.update(s.props.get("availabilityZone") for s in subnets if s.urn == urn)
        zones.discard(None)
        if len(zones) < 2 and len(set(_as_list(asg.props.get("availabilityZones")))) < 2:
            out.append((f"AutoScaling.2: prod group spans {len(zones)} availability zone(s); use at least 2",
                        asg.urn))
        policy = asg.props.get("mixedInstancesPolicy") or {}
        overrides = _as_list((policy.get("launchTemplate") or {}).get("overrides"))
        types = {o.get("instanceType") for o in overrides if o and o.get("instanceType")}
        tags = asg.props.get("tags") or []
        waived = any(t.get("key") == SINGLE_TYPE_REASON_TAG and t.get("value") for t in tags
                     if isinstance(t, Mapping))
        if len(types) < 2 and not waived:
            out.append((f"AutoScaling.6: prod group uses {len(types)} instance type(s); list equivalent types "
                        f"as overrides or tag {SINGLE_TYPE_REASON_TAG!r} with the reason", asg.urn))
    return out


def allowed_regions(resources: Sequence[PolicyView], allowed: Sequence[str]) -> list[tuple[str, str]]:
    """Allowed regions: every resource's own `region` argument (pulumi-aws 7 allows one per
    resource) and its provider's region are in the plan's allowed regions."""
    allowed = tuple(allowed)
    if not allowed:
        return [("allowed-regions: no allowed regions configured", "")]
    out = []
    listing = ", ".join(allowed)
    for r in resources:
        if r.type == AWS_PROVIDER:
            region = r.props.get("region")
            if region not in allowed:
                out.append((f"allowed-regions: provider region {region!r} is not allowed ({listing})", r.urn))
            continue
        if not r.type.startswith("aws:"):
            continue
        own = r.props.get("region")
        if own is not None and own not in allowed:
            out.append((f"allowed-regions: resource region {own!r} is not allowed ({listing})", r.urn))
        if r.provider_props is None:
            out.append(("allowed-regions: resource has no explicit provider; its region cannot be checked", r.urn))
        elif r.provider_props.get("region") not in allowed:
            out.append((f"allowed-regions: provider region {r.provider_props.get('region')!r} is not allowed "
                        f"({listing})", r.urn))
    return out


def allowed_regions_from_tags(resources: Sequence[PolicyView]) -> tuple[str, ...]:
    """Fallback when the pack has no `allowedRegions` config: the stack's provider declares the
    plan's allowed regions in its `allowed-regions` default tag (space-separated)."""
    for r in resources:
        props = r.props if r.type == AWS_PROVIDER else r.provider_props
        value = default_tags(props).get("allowed-regions")
        if value:
            return tuple(value.split())
    return ()


def check_resource(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every resource rule on one resource."""
    return [msg for rule in RESOURCE_RULES.values() for msg in rule(resource_type, props)]


def check_stack(resources: Sequence[PolicyView], allowed: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Every rule, resource and stack, over a whole stack: (message, urn) pairs."""
    out = [(msg, r.urn) for r in resources for msg in check_resource(r.type, r.props)]
    out += ec2_6_vpc_flow_logs(resources)
    out += autoscaling_2_6_multi_az_types(resources)
    out += allowed_regions(resources, allowed if allowed is not None else allowed_regions_from_tags(resources))
    return out
