"""Policy rules as plain functions, named after the AWS Foundational Security Best Practices
(FSBP) control each one enforces. `stacks/policy/__main__.py` wraps them for `pulumi preview
--policy-pack`; tests and other tools call them directly on plain dicts.

- Resource rules: ``rule(resource_type, props) -> list[str]`` (violation messages; empty = pass).
- Stack rules: ``rule(resources: Sequence[PolicyView]) -> list[tuple[str, str]]`` ((message, urn)
  pairs), for what only the whole stack shows: which security group a separate rule lands on,
  the order of a network ACL's rules, a VPC's flow logs, an Auto Scaling group's zones.
- `check_resource(type, props)` and `check_stack(resources, allowed_regions)` run them all.

Each rule checks every resource type through which its control can be broken (a launch
template, a launch configuration, an instance, a spot request, ...), not only the one this
program uses. Props use the engine's camelCase names, which both the policy analyzer and
Pulumi's mocks see. Values are normalised before they are judged: booleans however spelled
("true", "True ", "1"), CIDR blocks however spelled (::0/0, IPv4-mapped IPv6, 0.0.0.0/1 +
128.0.0.0/1), tag keys and values in any case, rule types in any case. A malformed value is a
violation or a finding that says what is wrong, never an exception. A value the analyzer does
not know yet (`pulumi preview` before a resource exists) is not judged: the same rules run again,
with the value known, during `pulumi up`.

What the rules cannot see is listed in README.md ("Policy pack").
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from stacks.validation import (
    IPNetwork,
    InvalidValue,
    as_ipv4,
    environments_named_by,
    opens_to_internet,
    parse_network,
)

# ---- resource types -----------------------------------------------------------------------------

LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
LAUNCH_CONFIGURATION = "aws:ec2/launchConfiguration:LaunchConfiguration"
INSTANCE = "aws:ec2/instance:Instance"
SPOT_INSTANCE_REQUEST = "aws:ec2/spotInstanceRequest:SpotInstanceRequest"
SPOT_FLEET_REQUEST = "aws:ec2/spotFleetRequest:SpotFleetRequest"
INSTANCE_METADATA_DEFAULTS = "aws:ec2/instanceMetadataDefaults:InstanceMetadataDefaults"
SUBNET = "aws:ec2/subnet:Subnet"
DEFAULT_SUBNET = "aws:ec2/defaultSubnet:DefaultSubnet"
VPC = "aws:ec2/vpc:Vpc"
EIP = "aws:ec2/eip:Eip"
EIP_ASSOCIATION = "aws:ec2/eipAssociation:EipAssociation"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS_RULE = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
NETWORK_ACL = "aws:ec2/networkAcl:NetworkAcl"
DEFAULT_NETWORK_ACL = "aws:ec2/defaultNetworkAcl:DefaultNetworkAcl"
NETWORK_ACL_RULE = "aws:ec2/networkAclRule:NetworkAclRule"
VOLUME = "aws:ebs/volume:Volume"
EBS_ENCRYPTION_BY_DEFAULT = "aws:ebs/encryptionByDefault:EncryptionByDefault"
SNAPSHOT_COPY = "aws:ebs/snapshotCopy:SnapshotCopy"
SNAPSHOT_IMPORT = "aws:ebs/snapshotImport:SnapshotImport"
AMI_COPY = "aws:ec2/amiCopy:AmiCopy"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ASG = "aws:autoscaling/group:Group"
# application, network and gateway load balancers (current and legacy type tokens)
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer",
                  "aws:applicationloadbalancing/loadBalancer:LoadBalancer")
CLASSIC_LOAD_BALANCERS = ("aws:elb/loadBalancer:LoadBalancer", "aws:elasticloadbalancing/loadBalancer:LoadBalancer")
IAM_POLICY_TYPES = ("aws:iam/policy:Policy", "aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                    "aws:iam/groupPolicy:GroupPolicy")
IAM_ROLE = "aws:iam/role:Role"
IAM_ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                   "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                   "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
                   "aws:iam/policyAttachment:PolicyAttachment")
IAM_EXCLUSIVE_ATTACHMENTS = ("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
                             "aws:iam/userPolicyAttachmentsExclusive:UserPolicyAttachmentsExclusive",
                             "aws:iam/groupPolicyAttachmentsExclusive:GroupPolicyAttachmentsExclusive")
BUCKET_POLICY_TYPES = ("aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
AWS_PROVIDER = "pulumi:providers:aws"
# the providers whose resources live in a region, and the type prefixes of their resources
REGIONAL_PROVIDERS = {"pulumi:providers:aws": "aws:", "pulumi:providers:aws-native": "aws-native:"}

PROD = "prod"
# CloudWatch.16's default: log groups keep their events at least a year (0 keeps them forever).
PROD_FLOW_LOG_RETENTION_DAYS = 365
ENVIRONMENT_TAG_KEYS = ("environment", "env")
# AutoScaling.6 waiver: a prod group with one instance type says why, naming that type (the
# program writes the planner's reason when the planner offers no equivalent type).
SINGLE_TYPE_REASON_TAG = "single-instance-type-reason"
# EC2.21: the ports a network ACL must not open to the internet.
REMOTE_ADMIN_PORTS = (22, 3389)
# AWS-managed policies judged by name (their documents are not in the stack): administrator
# access and every *FullAccess policy grant wildcard actions.
AWS_MANAGED_WILDCARD_POLICY = re.compile(
    r"arn:aws[a-z-]*:iam::aws:policy/(?:[\w+=,.@-]+/)*(AdministratorAccess[\w+=,.@-]*|PowerUserAccess|"
    r"[\w+=,.@-]*FullAccess[\w+=,.@-]*)")


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


# ---- normalising values -------------------------------------------------------------------------

# The analyzer's sentinels for values unknown during preview (pulumi_policy.proxy; the pack's
# wrapper turns them into UNKNOWN, but a caller may hand them in raw).
PREVIEW_UNKNOWNS = frozenset({
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "04da6b54-80e4-46f7-96ec-b56ff0331ba9", "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58", "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
})


class _Marker:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


UNKNOWN = _Marker("<unknown during preview>")  # a value the analyzer does not know yet
INVALID = _Marker("<invalid>")  # a value of the wrong kind


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in PREVIEW_UNKNOWNS)


_TRUE_WORDS = ("true", "1", "t", "yes", "y", "on")
_FALSE_WORDS = ("false", "0", "f", "no", "n", "off")


def flag(value: Any) -> Any:
    """A boolean however spelled: True, False, None (unset), UNKNOWN or INVALID."""
    if value is None:
        return None
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        word = value.strip().lower()
        if word == "":
            return None
        if word in _TRUE_WORDS:
            return True
        if word in _FALSE_WORDS:
            return False
    return INVALID


def number(value: Any) -> Any:
    """A finite number however spelled (3, "3", " 3 "): the number, None, UNKNOWN or INVALID."""
    if value is None:
        return None
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, bool):
        return INVALID
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else INVALID
    if isinstance(value, str):
        try:
            parsed = float(value.strip())
        except ValueError:
            return INVALID
        if not math.isfinite(parsed):
            return INVALID
        return int(parsed) if parsed.is_integer() else parsed
    return INVALID


def word(value: Any) -> Any:
    """A string setting, stripped and lower-cased: the word, None, UNKNOWN or INVALID."""
    if value is None:
        return None
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value).strip().lower()
    return INVALID


def items(value: Any) -> list:
    """A list property as a list: a lone value becomes one item, unset or unknown none."""
    if value is None or is_unknown(value):
        return []
    if isinstance(value, (str, bytes, Mapping)):
        return [value]
    if isinstance(value, (Sequence, set, frozenset)):
        return list(value)
    return [value]


def obj(value: Any) -> Mapping:
    """An object property as a mapping ({} when unset, unknown or not an object)."""
    return value if isinstance(value, Mapping) else {}


def get(mapping: Any, key: str) -> Any:
    """mapping[key], the key matched in any case (a policy's "Action" or "action")."""
    if not isinstance(mapping, Mapping):
        return None
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for k in mapping:
        if isinstance(k, str) and k.lower() == lowered:
            return mapping[k]
    return None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


def networks(values: Iterable[Any]) -> tuple[list[IPNetwork], list[str]]:
    """CIDR blocks however spelled, as networks (IPv4 in IPv6 clothing as IPv4), and the ones
    that are not CIDR blocks at all."""
    out: list[IPNetwork] = []
    bad: list[str] = []
    for value in values:
        if value is None or is_unknown(value) or value == "":
            continue
        try:
            out.append(as_ipv4(parse_network(value)))
        except InvalidValue:
            bad.append(_shown(value))
    return out, bad


def tags_of(props: Mapping[str, Any]) -> dict[str, Any]:
    """A resource's own tags, keys lower-cased: a map, or an Auto Scaling group's
    [{key, value, propagateAtLaunch}] list."""
    raw = props.get("tags")
    out: dict[str, Any] = {}
    if isinstance(raw, Mapping):
        out.update({str(k).strip().lower(): v for k, v in raw.items()})
    else:
        for tag in items(raw):
            if isinstance(tag, Mapping) and isinstance(tag.get("key"), str):
                out[tag["key"].strip().lower()] = tag.get("value")
    return out


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
    tags = get(raw, "tags")
    return {str(k): v for k, v in tags.items()} if isinstance(tags, Mapping) else {}


def stack_of(urn: str) -> str | None:
    """The stack name in a URN: urn:pulumi:<stack>::<project>::<type>::<name>."""
    match = re.match(r"urn:pulumi:([^:]+)::", urn or "")
    return match.group(1) if match else None


def _tags_name_prod(tags: Mapping[str, Any]) -> bool:
    return any(str(k).strip().lower() in ENVIRONMENT_TAG_KEYS and isinstance(v, str)
               and PROD in environments_named_by(v) for k, v in tags.items())


def is_prod(view: PolicyView) -> bool:
    """Prod when the stack's name names prod (a label cannot change that), or when the resource's
    own or its provider's environment tag names prod in any spelling (`Prod`, `production`)."""
    stack = stack_of(view.urn)
    if stack and PROD in environments_named_by(stack):
        return True
    return _tags_name_prod(tags_of(view.props)) or _tags_name_prod(
        {k.lower(): v for k, v in default_tags(view.provider_props).items()})


def _document(value: Any) -> tuple[Mapping | None, list[str]]:
    """A policy document (JSON text or object) and what is wrong with it."""
    if is_unknown(value):
        return None, []
    if value is None or value == "":
        return None, ["policy document missing"]
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, ["policy is not valid JSON"]
    if not isinstance(value, Mapping):
        return None, [f"policy document is not a JSON object ({type(value).__name__})"]
    return value, []


def _statements(document: Mapping) -> tuple[list[tuple[int, Mapping]], list[str]]:
    out, bad = [], []
    for i, statement in enumerate(items(get(document, "Statement"))):
        if isinstance(statement, Mapping):
            out.append((i, statement))
        else:
            bad.append(f"Statement[{i}] is not an object ({_shown(statement)})")
    return out, bad


def _allows(statement: Mapping) -> bool:
    # IAM accepts only "Allow" and "Deny"; anything that is not clearly Deny is judged as Allow.
    return word(get(statement, "Effect")) != "deny"


def _wildcard_actions(statement: Mapping, where: str) -> list[str]:
    out = []
    if get(statement, "NotAction") is not None:
        out.append(f"{where} allows NotAction (everything but the listed actions)")
    for action in items(get(statement, "Action")):
        if is_unknown(action):
            continue
        if not isinstance(action, str):
            out.append(f"{where} has an action that is not a string ({_shown(action)})")
        elif "*" in action or "?" in action:
            out.append(f"{where} allows wildcard action {action!r}")
    return out


# ---- resource rules -----------------------------------------------------------------------------

def _imds(options: Any, where: str, account_default: bool = False) -> list[str]:
    if is_unknown(options):
        return []
    if options is not None and not isinstance(options, Mapping):
        return [f"EC2.8: {where}metadataOptions is not an object ({_shown(options)})"]
    meta = obj(options)
    out = []
    tokens = word(meta.get("httpTokens"))
    if account_default:
        if tokens == "optional":
            out.append("EC2.8: account default httpTokens is 'optional'; set 'required'")
    elif tokens is not UNKNOWN and tokens != "required":
        out.append(f"EC2.8: {where}metadataOptions.httpTokens is {_shown(meta.get('httpTokens'))}; "
                   f"IMDSv2 needs 'required'")
    if word(meta.get("httpEndpoint")) == "disabled":
        return out
    hops = number(meta.get("httpPutResponseHopLimit"))
    if hops is UNKNOWN or (hops is None and account_default):
        return out
    if hops is None or hops is INVALID or hops > 2:
        out.append(f"EC2.8: {where}metadataOptions.httpPutResponseHopLimit is "
                   f"{_shown(meta.get('httpPutResponseHopLimit'))}; use 1 (2 only for bridged containers)")
    return out


def ec2_8_imdsv2(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.8: instances require IMDSv2 (tokens required, hop limit <= 2), whether launched from a
    launch template, a launch configuration, directly, by a spot request or a spot fleet; the
    account default may not be 'optional'."""
    if resource_type in (LAUNCH_TEMPLATE, LAUNCH_CONFIGURATION):
        return _imds(props.get("metadataOptions"), "")
    if resource_type in (INSTANCE, SPOT_INSTANCE_REQUEST):
        if props.get("metadataOptions") is None and props.get("launchTemplate") is not None:
            return []  # the launch template's options apply; that template is checked on its own
        return _imds(props.get("metadataOptions"), "")
    if resource_type == INSTANCE_METADATA_DEFAULTS:
        return _imds(props, "", account_default=True)
    if resource_type == SPOT_FLEET_REQUEST and items(props.get("launchSpecifications")):
        return ["EC2.8: spot fleet launchSpecifications cannot require IMDSv2; use launchTemplateConfigs"]
    return []


def _public(value: Any, what: str) -> list[str]:
    state = flag(value)
    if state is True:
        return [f"{what} = {_shown(value)}"]
    if state is INVALID:
        return [f"{what} is {_shown(value)}, not a boolean"]
    return []


def ec2_9_25_no_public_ip(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.9 (instances), EC2.25 (launch templates), EC2.15 (subnets): no public IPv4 address,
    whether asked for at launch (instance, spot request, spot fleet, launch configuration or
    template), given by the subnet, or attached later as an Elastic IP."""
    if resource_type in (INSTANCE, SPOT_INSTANCE_REQUEST, LAUNCH_CONFIGURATION):
        return [f"EC2.9: {m}" for m in _public(props.get("associatePublicIpAddress"), "associatePublicIpAddress")]
    if resource_type == LAUNCH_TEMPLATE:
        out = []
        for i, nic in enumerate(items(props.get("networkInterfaces"))):
            for prop in ("associatePublicIpAddress", "associateCarrierIpAddress"):
                out += [f"EC2.25: launch template {m}"
                        for m in _public(get(nic, prop), f"networkInterfaces[{i}].{prop}")]
        return out
    if resource_type == SPOT_FLEET_REQUEST:
        return [f"EC2.9: spot fleet {m}" for i, spec in enumerate(items(props.get("launchSpecifications")))
                for m in _public(get(spec, "associatePublicIpAddress"),
                                 f"launchSpecifications[{i}].associatePublicIpAddress")]
    if resource_type == SUBNET:
        return [f"EC2.15: subnet {m}" for m in _public(props.get("mapPublicIpOnLaunch"), "mapPublicIpOnLaunch")]
    if resource_type == DEFAULT_SUBNET:
        if flag(props.get("mapPublicIpOnLaunch")) is None:
            return ["EC2.15: a default subnet maps public IPs on launch unless mapPublicIpOnLaunch is false"]
        return [f"EC2.15: default subnet {m}"
                for m in _public(props.get("mapPublicIpOnLaunch"), "mapPublicIpOnLaunch")]
    if resource_type == EIP:
        for prop in ("instance", "networkInterface"):
            value = props.get(prop)
            if value not in (None, "") and not is_unknown(value):
                return [f"EC2.9: Elastic IP attached to {prop} {_shown(value)} gives it a public address"]
            if is_unknown(value):
                return [f"EC2.9: Elastic IP attached to an {prop} gives it a public address"]
        return []
    if resource_type == EIP_ASSOCIATION:
        target = props.get("instanceId") or props.get("networkInterfaceId")
        return [f"EC2.9: Elastic IP association gives {_shown(target) if not is_unknown(target) else 'an instance'} "
                f"a public address"]
    return []


def _open_sources(cidrs: Iterable[Any], where: str) -> list[str]:
    nets, bad = networks(cidrs)
    out = [f"{where} has a source that is not a CIDR block: {b}" for b in bad]
    reason = opens_to_internet(nets)
    if reason:
        out.append(f"{where} accepts the internet: {reason}")
    return out


def _rule_sources(rule: Any) -> list[Any]:
    return (items(get(rule, "cidrBlocks")) + items(get(rule, "ipv6CidrBlocks"))
            + items(get(rule, "cidrIpv4")) + items(get(rule, "cidrIpv6")))


def _is_ingress_rule(props: Mapping[str, Any]) -> bool:
    """A SecurityGroupRule's `type`, in any case; a malformed type is judged as ingress."""
    return word(props.get("type")) not in ("egress", UNKNOWN)


def ec2_2_18_19_security_groups(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.2: the default security group has no rules. EC2.18/EC2.19: no ingress from the
    internet (0.0.0.0/0, ::/0, or blocks that together cover it) on any port, inline or as a
    separate rule (stricter than the controls, which allow some ports: this stack's endpoint is
    internal). Separate rules are also judged together per group by a stack rule."""
    if resource_type == DEFAULT_SECURITY_GROUP:
        return [f"EC2.2: the default security group has {direction} rules; leave it with none"
                for direction in ("ingress", "egress") if items(props.get(direction))]
    if resource_type == SECURITY_GROUP:
        sources = [s for rule in items(props.get("ingress")) for s in _rule_sources(rule)]
        return [f"EC2.18/EC2.19: {m}" for m in _open_sources(sources, "ingress")]
    if resource_type == SECURITY_GROUP_RULE:
        kind = word(props.get("type"))
        if kind in ("egress", UNKNOWN):
            return []
        out = [] if kind == "ingress" else [f"EC2.18/EC2.19: rule type is {_shown(props.get('type'))}, not "
                                            f"ingress or egress; judged as ingress"]
        return out + [f"EC2.18/EC2.19: {m}" for m in _open_sources(_rule_sources(props), "ingress rule")]
    if resource_type == INGRESS_RULE:
        return [f"EC2.18/EC2.19: {m}" for m in _open_sources(_rule_sources(props), "ingress rule")]
    return []


@dataclass(frozen=True)
class _AclEntry:
    order: float
    allow: bool
    protocol: Any
    from_port: Any
    to_port: Any
    sources: tuple[IPNetwork, ...]


def _acl_entry(entry: Any, number_key: str, action_key: str) -> tuple[_AclEntry | None, list[str]]:
    """One network ACL rule, normalised; a malformed field is judged the permissive way."""
    findings = []
    action = word(get(entry, action_key))
    allow = action != "deny"
    if action not in ("allow", "deny", UNKNOWN):
        findings.append(f"rule action is {_shown(get(entry, action_key))}; judged as allow")
    nets, bad = networks([get(entry, "cidrBlock"), get(entry, "ipv6CidrBlock")])
    findings += [f"rule source is not a CIDR block: {b}" for b in bad]
    order = number(get(entry, number_key))
    if not isinstance(order, (int, float)):
        order = -math.inf if allow else math.inf  # an allow of unknown rank is judged first
    return _AclEntry(order, allow, word(get(entry, "protocol")), number(get(entry, "fromPort")),
                     number(get(entry, "toPort")), tuple(nets)), findings


def _acl_matches(entry: _AclEntry, port: int) -> bool:
    if entry.protocol in ("-1", "all"):
        return True
    if entry.protocol not in ("6", "tcp", "17", "udp", UNKNOWN, INVALID, None):
        return False
    low = entry.from_port if isinstance(entry.from_port, (int, float)) else -math.inf
    high = entry.to_port if isinstance(entry.to_port, (int, float)) else math.inf
    return low <= port <= high


def _subtract(sources: Iterable[IPNetwork], taken: Sequence[IPNetwork]) -> list[IPNetwork]:
    left = list(sources)
    for block in taken:
        nxt = []
        for net in left:
            if net.version != block.version or not net.overlaps(block):
                nxt.append(net)
            elif net.subnet_of(block):
                continue
            else:
                nxt.extend(net.address_exclude(block))
        left = nxt
    return left


def _acl_open_ports(entries: Sequence[_AclEntry]) -> list[tuple[int, str]]:
    """(port, why) for each remote-administration port the rules, evaluated in rule-number order
    as AWS does (the first matching rule decides), open to the internet."""
    out = []
    for port in REMOTE_ADMIN_PORTS:
        decided: list[IPNetwork] = []
        allowed: list[IPNetwork] = []
        for entry in sorted(entries, key=lambda e: e.order):
            if not _acl_matches(entry, port):
                continue
            fresh = _subtract(entry.sources, decided)
            if entry.allow:
                allowed.extend(fresh)
            decided.extend(entry.sources)
        reason = opens_to_internet(allowed)
        if reason:
            out.append((port, reason))
    return out


def _inline_acl_entries(props: Mapping[str, Any]) -> tuple[list[_AclEntry], list[str]]:
    entries, findings = [], []
    for rule in items(props.get("ingress")):
        entry, found = _acl_entry(rule, "ruleNo", "action")
        entries.append(entry)
        findings += found
    return entries, findings


def ec2_21_network_acls(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.21: network ACLs (a VPC's default one included) let no internet traffic in to SSH (22)
    or RDP (3389). Inline rules are judged here in rule-number order; separate NetworkAclRule
    resources are judged with the rest of their ACL by a stack rule."""
    if resource_type not in (NETWORK_ACL, DEFAULT_NETWORK_ACL):
        return []
    entries, findings = _inline_acl_entries(props)
    out = [f"EC2.21: ingress {f}" for f in findings]
    out += [f"EC2.21: ingress to port {port} open to the internet: {why}" for port, why in _acl_open_ports(entries)]
    return out


def _unencrypted(device: Any, where: str) -> list[str]:
    state = flag(get(device, "encrypted"))
    if state is True or state is UNKNOWN:
        return []
    if state is INVALID:
        return [f"{where} encrypted is {_shown(get(device, 'encrypted'))}, not a boolean"]
    return [f"{where} is not encrypted"]


def ec2_3_7_ebs_encryption(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """EC2.3: every EBS volume is encrypted, including the root volume an AMI brings when a
    launch template, launch configuration, instance or spot request maps none, and snapshot or
    AMI copies. EC2.7: EBS encryption by default stays on."""
    if resource_type == VOLUME:
        return [f"EC2.3: {m}" for m in _unencrypted(props, "EBS volume")]
    if resource_type in (SNAPSHOT_COPY, SNAPSHOT_IMPORT, AMI_COPY):
        kind = {SNAPSHOT_COPY: "snapshot copy", SNAPSHOT_IMPORT: "snapshot import", AMI_COPY: "AMI copy"}
        return [f"EC2.3: {m}" for m in _unencrypted(props, kind[resource_type])]
    if resource_type == EBS_ENCRYPTION_BY_DEFAULT:
        state = flag(props.get("enabled"))
        if state is False:
            return ["EC2.7: EBS encryption by default is turned off"]
        if state is INVALID:
            return [f"EC2.7: enabled is {_shown(props.get('enabled'))}, not a boolean"]
        return []
    if resource_type == LAUNCH_TEMPLATE:
        mappings = items(props.get("blockDeviceMappings"))
        out = []
        ebs_seen = False
        for i, mapping in enumerate(mappings):
            if not isinstance(mapping, Mapping):
                out.append(f"EC2.3: launch template blockDeviceMappings[{i}] is not an object")
                continue
            if get(mapping, "ebs") is None:
                continue
            ebs_seen = True
            out += [f"EC2.3/EC2.7: {m}" for m in _unencrypted(
                get(mapping, "ebs"), f"launch template blockDeviceMappings[{i}] ({get(mapping, 'deviceName')})")]
        if not ebs_seen and not is_unknown(props.get("blockDeviceMappings")):
            out.append("EC2.3: launch template maps no EBS volume: the AMI's root volume, encrypted or not, is "
                       "used; map the root device with encrypted = true")
        return out
    if resource_type in (INSTANCE, SPOT_INSTANCE_REQUEST, LAUNCH_CONFIGURATION):
        what = {INSTANCE: "instance", SPOT_INSTANCE_REQUEST: "spot request",
                LAUNCH_CONFIGURATION: "launch configuration"}[resource_type]
        root = props.get("rootBlockDevice")
        out = []
        if root is None or root == {}:
            if not (resource_type != LAUNCH_CONFIGURATION and props.get("launchTemplate") is not None):
                out.append(f"EC2.3: {what} sets no rootBlockDevice: the AMI's root volume, encrypted or not, "
                           f"is used; set rootBlockDevice.encrypted = true")
        else:
            out += [f"EC2.3: {m}" for m in _unencrypted(root, f"{what} rootBlockDevice")]
        for i, device in enumerate(items(props.get("ebsBlockDevices"))):
            out += [f"EC2.3: {m}" for m in _unencrypted(device, f"{what} ebsBlockDevices[{i}]")]
        return out
    if resource_type == SPOT_FLEET_REQUEST:
        out = []
        for i, spec in enumerate(items(props.get("launchSpecifications"))):
            roots = items(get(spec, "rootBlockDevices"))
            if not roots:
                out.append(f"EC2.3: spot fleet launchSpecifications[{i}] sets no rootBlockDevices: the AMI's "
                           f"root volume is used")
            for j, device in enumerate(roots + items(get(spec, "ebsBlockDevices"))):
                out += [f"EC2.3: {m}" for m in _unencrypted(device, f"spot fleet launchSpecifications[{i}] "
                                                                     f"block device {j}")]
        return out
    return []


def _policy_findings(document: Any, where: str) -> list[str]:
    doc, found = _document(document)
    out = [f"IAM.1: {where}{f}" for f in found]
    if doc is None:
        return out
    statements, bad = _statements(doc)
    out += [f"IAM.1: {where}{b}" for b in bad]
    for i, statement in statements:
        if _allows(statement):
            out += [f"IAM.1: {m}" for m in _wildcard_actions(statement, f"{where}Statement[{i}]")]
    return out


def _managed_arns(arns: Iterable[Any], where: str) -> list[str]:
    out = []
    for arn in arns:
        if isinstance(arn, str) and AWS_MANAGED_WILDCARD_POLICY.fullmatch(arn.strip()):
            out.append(f"IAM.1: {where} attaches {arn.strip()}, which allows wildcard actions")
    return out


def iam_1_no_wildcard_actions(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """IAM.1: no identity policy allows a wildcard action ('*', 'service:*', '?', or NotAction),
    whether in a policy, a role's inline policies, or an attached AWS-managed policy known to
    grant wildcards (AdministratorAccess, PowerUserAccess, *FullAccess)."""
    if resource_type in IAM_POLICY_TYPES:
        return _policy_findings(props.get("policy"), "")
    if resource_type == IAM_ROLE:
        out = []
        for i, inline in enumerate(items(props.get("inlinePolicies"))):
            if not isinstance(inline, Mapping):
                out.append(f"IAM.1: inlinePolicies[{i}] is not an object")
                continue
            if get(inline, "policy") in (None, ""):  # an empty entry removes inline policies
                continue
            out += _policy_findings(get(inline, "policy"), f"inlinePolicies[{i}] ({get(inline, 'name')}): ")
        return out + _managed_arns(items(props.get("managedPolicyArns")), "role")
    if resource_type in IAM_ATTACHMENTS:
        return _managed_arns([props.get("policyArn")], "attachment")
    if resource_type in IAM_EXCLUSIVE_ATTACHMENTS:
        return _managed_arns(items(props.get("policyArns")), "attachment")
    return []


def _principal_is_everyone(statement: Mapping) -> bool:
    if get(statement, "NotPrincipal") is not None:
        return True  # Allow with NotPrincipal: everyone but the listed principals
    principal = get(statement, "Principal")
    values = items(principal) if not isinstance(principal, Mapping) else \
        [v for value in principal.values() for v in items(value)]
    return any(isinstance(v, str) and v.strip() == "*" for v in values)


def s3_2_3_6_bucket_policies(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """S3.2/S3.3: a bucket policy grants nothing to everyone ('*') without a condition that
    narrows who. S3.6: nor grants everyone wildcard actions (s3:*, *), condition or not."""
    if resource_type not in BUCKET_POLICY_TYPES:
        return []
    policy = props.get("policy")
    if resource_type != BUCKET_POLICY_TYPES[0] and policy in (None, ""):
        return []  # a bucket without an inline policy
    doc, found = _document(policy)
    out = [f"S3.2: bucket {f}" for f in found]
    if doc is None:
        return out
    statements, bad = _statements(doc)
    out += [f"S3.2: bucket policy {b}" for b in bad]
    for i, statement in statements:
        if not _allows(statement) or not _principal_is_everyone(statement):
            continue
        wildcards = _wildcard_actions(statement, f"Statement[{i}]")
        if wildcards:
            out += [f"S3.6: bucket policy {m} to everyone ('*')" for m in wildcards]
        elif not get(statement, "Condition"):
            out.append(f"S3.2/S3.3: bucket policy Statement[{i}] allows everyone ('*') without a condition")
    return out


def elb_internal(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """ELB internal: every load balancer (application, network, classic) is internal: the model
    endpoint is not on the internet. ELB.4: application load balancers drop invalid headers."""
    if resource_type in CLASSIC_LOAD_BALANCERS:
        state = flag(props.get("internal"))
        if state is True or state is UNKNOWN:
            return []
        return [f"ELB: classic load balancer is internet-facing (internal = {_shown(props.get('internal'))}); "
                f"the model endpoint must be internal"]
    if resource_type not in LOAD_BALANCERS:
        return []
    kind = word(props.get("loadBalancerType"))
    kind = "application" if kind in (None, "") else kind
    out = []
    if kind != "gateway":  # a gateway load balancer has no scheme: it is never internet-facing
        state = flag(props.get("internal"))
        if state is not True and state is not UNKNOWN:
            out.append(f"ELB: {kind if isinstance(kind, str) else ''} load balancer is internet-facing "
                       f"(internal = {_shown(props.get('internal'))}); the model endpoint must be internal")
    if kind == "application":
        state = flag(props.get("dropInvalidHeaderFields"))
        if state is not True and state is not UNKNOWN:
            out.append("ELB.4: application load balancer does not drop invalid header fields")
    return out


RESOURCE_RULES: dict[str, Callable[[str, Mapping[str, Any]], list[str]]] = {
    "EC2.8-imdsv2": ec2_8_imdsv2,
    "EC2.9-EC2.25-no-public-ip": ec2_9_25_no_public_ip,
    "EC2.2-EC2.18-EC2.19-security-groups": ec2_2_18_19_security_groups,
    "EC2.21-network-acls": ec2_21_network_acls,
    "EC2.3-EC2.7-ebs-encryption": ec2_3_7_ebs_encryption,
    "IAM.1-no-wildcard-actions": iam_1_no_wildcard_actions,
    "S3.2-S3.3-S3.6-bucket-policies": s3_2_3_6_bucket_policies,
    "ELB-internal": elb_internal,
}


# ---- stack rules --------------------------------------------------------------------------------

def _known(value: Any) -> bool:
    return value not in (None, "") and not is_unknown(value) and isinstance(value, str)


def _refers(source: PolicyView, prop: str, target: PolicyView, target_key: str = "id") -> bool:
    """`source.prop` was computed from `target` (analyzer) or equals its id/arn (mocks, updates)."""
    if target.urn and target.urn in (source.refs.get(prop) or ()):
        return True
    value = source.props.get(prop)
    return _known(value) and value == target.props.get(target_key)


def _target(source: PolicyView, prop: str, candidates: Sequence[PolicyView]) -> tuple[str, str] | None:
    """Which resource `source.prop` points at: ("urn", urn) when in the stack, ("id", value) for a
    resource outside it, None when unknown."""
    for urn in source.refs.get(prop) or ():
        for c in candidates:
            if c.urn == urn:
                return "urn", c.urn
    value = source.props.get(prop)
    if not _known(value):
        return None
    for c in candidates:
        if value == c.props.get("id"):
            return "urn", c.urn
    return "id", value


def ec2_2_default_security_groups(resources: Sequence[PolicyView]) -> list[tuple[str, str]]:
    """EC2.2: every VPC's default security group is taken over (DefaultSecurityGroup) and left
    without rules, and no separate rule resource adds one to it (by its id, or computed from the
    VPC's defaultSecurityGroupId)."""
    out = []
    vpcs = [r for r in resources if r.type == VPC]
    defaults = [r for r in resources if r.type == DEFAULT_SECURITY_GROUP]
    for vpc in vpcs:
        if not any(_refers(d, "vpcId", vpc) for d in defaults):
            out.append(("EC2.2: the VPC's default security group keeps AWS's rules (all from itself, all out); "
                        "take it over with a DefaultSecurityGroup without rules", vpc.urn))
    default_ids = {i for i in [d.props.get("id") for d in defaults]
                   + [v.props.get("defaultSecurityGroupId") for v in vpcs] if _known(i)}
    # a VPC outputs one security group id, its default group's: a rule computed from a VPC is on it
    default_urns = {d.urn for d in defaults} | {v.urn for v in vpcs}
    for rule in resources:
        if rule.type not in (SECURITY_GROUP_RULE, INGRESS_RULE, EGRESS_RULE):
            continue
        group = rule.props.get("securityGroupId")
        if (_known(group) and group in default_ids) or set(rule.refs.get("securityGroupId") or ()) & default_urns:
            out.append(("EC2.2: a rule is added to the default security group; leave it with none", rule.urn))
    return out


def ec2_18_19_ingress_per_group(resources: Sequence[PolicyView]) -> list[tuple[str, str]]:
    """EC2.18/EC2.19 across resources: the ingress a security group gets from all its rules
    together (inline and separate) does not cover the internet, even when no single rule does."""
    groups = [r for r in resources if r.type in (SECURITY_GROUP, DEFAULT_SECURITY_GROUP)]
    contributions: dict[tuple[str, str], list[tuple[str, list[IPNetwork]]]] = {}
    for group in groups:
        sources = [s for rule in items(group.props.get("ingress")) for s in _rule_sources(rule)]
        contributions.setdefault(("urn", group.urn), []).append((group.urn, networks(sources)[0]))
    for rule in resources:
        if rule.type == SECURITY_GROUP_RULE and not _is_ingress_rule(rule.props):
            continue
        if rule.type not in (SECURITY_GROUP_RULE, INGRESS_RULE):
            continue
        target = _target(rule, "securityGroupId", groups)
        if target is not None:
            contributions.setdefault(target, []).append((rule.urn, networks(_rule_sources(rule.props))[0]))
    out = []
    for (kind, ident), parts in contributions.items():
        if len(parts) < 2 or any(opens_to_internet(nets) for _, nets in parts):
            continue  # one part alone is judged (and reported) by the resource rule
        reason = opens_to_internet([n for _, nets in parts for n in nets])
        if reason:
            urn = ident if kind == "urn" else parts[0][0]
            out.append((f"EC2.18/EC2.19: the security group's ingress rules together accept the internet: {reason}",
                        urn))
    return out


def ec2_21_network_acl_rules(resources: Sequence[PolicyView]) -> list[tuple[str, str]]:
    """EC2.21 for separate NetworkAclRule resources: judged in rule-number order together with
    the other rules of the same ACL (inline ones included)."""
    acls = [r for r in resources if r.type in (NETWORK_ACL, DEFAULT_NETWORK_ACL)]
    grouped: dict[tuple[str, str], list[PolicyView]] = {}
    for rule in resources:
        if rule.type != NETWORK_ACL_RULE:
            continue
        egress = flag(rule.props.get("egress"))
        if egress is True or egress is UNKNOWN:
            continue
        target = _target(rule, "networkAclId", acls) or ("urn", rule.urn)
        grouped.setdefault(target, []).append(rule)
    out = []
    for (kind, ident), rules in grouped.items():
        entries, findings = [], []
        acl = next((a for a in acls if kind == "urn" and a.urn == ident), None)
        if acl is not None:
            entries, _ = _inline_acl_entries(acl.props)
        for rule in rules:
            entry, found = _acl_entry(rule.props, "ruleNumber", "ruleAction")
            entries.append(entry)
            out += [(f"EC2.21: network ACL {f}", rule.urn) for f in found]
        urn = acl.urn if acl is not None else rules[0].urn
        out += [(f"EC2.21: ingress to port {port} open to the internet: {why}", urn)
                for port, why in _acl_open_ports(entries)]
    return out


def ec2_6_vpc_flow_logs(resources: Sequence[PolicyView]) -> list[tuple[str, str]]:
    """EC2.6: every VPC has a flow log of ALL traffic; in prod its CloudWatch log group keeps it at
    least 365 days or forever (CloudWatch.16). Returns (message, urn) pairs."""
    out = []
    flow_logs = [r for r in resources if r.type == FLOW_LOG]
    groups = [r for r in resources if r.type == LOG_GROUP]
    for vpc in (r for r in resources if r.type == VPC):
        logs = [f for f in flow_logs if _refers(f, "vpcId", vpc)]
        kinds = [word(f.props.get("trafficType")) for f in logs]
        if UNKNOWN in kinds:
            continue
        if "all" not in kinds:
            out.append(("EC2.6: VPC has no flow log with trafficType ALL", vpc.urn))
            continue
        if not is_prod(vpc):
            continue
        for flow in logs:
            for group in groups:
                if not _refers(flow, "logDestination", group, "arn"):
                    continue
                days = number(group.props.get("retentionInDays"))
                if days in (None, 0) or days is UNKNOWN:
                    continue  # 0 or unset: CloudWatch keeps the logs forever
                if days is INVALID:
                    out.append((f"CloudWatch.16: retentionInDays is {_shown(group.props.get('retentionInDays'))}, "
                                f"not a number of days", group.urn))
                elif days < PROD_FLOW_LOG_RETENTION_DAYS:
                    out.append((f"CloudWatch.16: prod flow logs kept {days} days; keep at least "
                                f"{PROD_FLOW_LOG_RETENTION_DAYS} (or 0: forever)", group.urn))
    return out


def _asg_subnets(asg: PolicyView, subnets: Sequence[PolicyView]) -> tuple[list[PolicyView], list[str], bool]:
    """(subnets in the stack, subnet ids not in it, some subnet unknown) of a group's vpcZoneIdentifiers."""
    urns = set(asg.refs.get("vpcZoneIdentifiers") or ())
    found = [s for s in subnets if s.urn in urns]
    unseen: list[str] = []
    unknown = False
    for subnet_id in items(asg.props.get("vpcZoneIdentifiers")):
        if not _known(subnet_id):
            unknown = unknown or not urns
            continue
        match = [s for s in subnets if s.props.get("id") == subnet_id]
        found += [s for s in match if s not in found]
        if not match and not urns:
            unseen.append(subnet_id)
    return found, unseen, unknown


def _asg_zones(asg: PolicyView, subnets: Sequence[PolicyView]) -> tuple[set[str], list[str], bool]:
    """(zones, subnet ids not in the stack, some zone unknown) of an Auto Scaling group. The
    subnets decide when given (AWS ignores availabilityZones then)."""
    found, unseen, unknown = _asg_subnets(asg, subnets)
    if found or unseen or unknown:
        zones: set[str] = set()
        for subnet in found:
            zone = subnet.props.get("availabilityZone") or subnet.props.get("availabilityZoneId")
            if _known(zone):
                zones.add(zone.strip().lower())
            else:
                unknown = True
        return zones, unseen, unknown
    listed = items(asg.props.get("availabilityZones"))
    unknown = any(is_unknown(z) for z in listed) or is_unknown(asg.props.get("availabilityZones"))
    return {z.strip().lower() for z in listed if _known(z)}, [], unknown


def _asg_types(asg: PolicyView, resources: Sequence[PolicyView]) -> tuple[set[str], bool]:
    """(instance types, flexible) of a group: its overrides, or its launch template's or launch
    configuration's type; `flexible` when attribute-based selection picks the types."""
    policy = obj(asg.props.get("mixedInstancesPolicy"))
    overrides = items(obj(get(policy, "launchTemplate")).get("overrides"))
    types = {word(get(o, "instanceType")) for o in overrides}
    flexible = any(get(o, "instanceRequirements") for o in overrides)
    types = {t for t in types if isinstance(t, str) and t}
    if types or flexible:
        return types, flexible
    for prop, kind in (("launchTemplate", LAUNCH_TEMPLATE), ("launchConfiguration", LAUNCH_CONFIGURATION)):
        ref = asg.props.get(prop)
        ident = get(ref, "id") if isinstance(ref, Mapping) else ref
        for candidate in (r for r in resources if r.type == kind):
            if candidate.urn in (asg.refs.get(prop) or ()) or (_known(ident) and ident == candidate.props.get("id")):
                t = word(candidate.props.get("instanceType"))
                if isinstance(t, str) and t:
                    types.add(t)
    return types, flexible


def autoscaling_2_6_multi_az_types(resources: Sequence[PolicyView]) -> list[tuple[str, str]]:
    """AutoScaling.2: prod groups span at least two availability zones (their subnets' zones).
    AutoScaling.6: prod groups use more than one instance type, unless tagged with the reason the
    planner offers one, naming that type."""
    out = []
    subnets = [r for r in resources if r.type in (SUBNET, DEFAULT_SUBNET)]
    vpcs = [r for r in resources if r.type == VPC]
    for asg in (r for r in resources if r.type == ASG):
        # prod: by the stack's name or the group's tags, or its subnets' or their VPC's tags
        in_prod = is_prod(asg) or any(is_prod(s) or any(is_prod(v) and _refers(s, "vpcId", v) for v in vpcs)
                                      for s in _asg_subnets(asg, subnets)[0])
        if not in_prod:
            continue
        zones, unseen, unknown = _asg_zones(asg, subnets)
        if len(zones) < 2 and not unknown:
            note = f" (subnets {', '.join(unseen)} are not in this stack: their zones cannot be checked)" \
                if unseen else ""
            out.append((f"AutoScaling.2: prod group spans {len(zones)} availability zone(s); use at least 2{note}",
                        asg.urn))
        types, flexible = _asg_types(asg, resources)
        if flexible or len(types) >= 2:
            continue
        reason = tags_of(asg.props).get(SINGLE_TYPE_REASON_TAG)
        if len(types) == 1 and isinstance(reason, str) and next(iter(types)) in reason.lower():
            continue
        waiver = "" if reason is None else f" (the {SINGLE_TYPE_REASON_TAG!r} tag must name the one type)"
        out.append((f"AutoScaling.6: prod group uses {len(types)} instance type(s); list equivalent types as "
                    f"overrides or tag {SINGLE_TYPE_REASON_TAG!r} with the reason{waiver}", asg.urn))
    return out


def _region(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def allowed_regions(resources: Sequence[PolicyView], allowed: Sequence[str]) -> list[tuple[str, str]]:
    """Allowed regions: every AWS resource's own `region` argument (pulumi-aws 7 allows one per
    resource), its provider's region, and every aws or aws-native provider are in the plan's
    allowed regions."""
    allowed = tuple(_region(a) for a in allowed)
    if not allowed:
        return [("allowed-regions: no allowed regions configured", "")]
    out = []
    listing = ", ".join(allowed)
    prefixes = tuple(REGIONAL_PROVIDERS.values())
    for r in resources:
        if r.type in REGIONAL_PROVIDERS:
            region = _region(r.props.get("region"))
            if region not in allowed and not is_unknown(region):
                out.append((f"allowed-regions: provider region {region!r} is not allowed ({listing})", r.urn))
            continue
        if not r.type.startswith(prefixes):
            continue
        own = _region(r.props.get("region"))
        if r.type.startswith("aws:") and own not in (None, "") and own not in allowed and not is_unknown(own):
            out.append((f"allowed-regions: resource region {own!r} is not allowed ({listing})", r.urn))
        if r.provider_props is None:
            out.append(("allowed-regions: resource has no explicit provider; its region cannot be checked", r.urn))
            continue
        region = _region(r.provider_props.get("region"))
        if region not in allowed and not is_unknown(region):
            out.append((f"allowed-regions: provider region {region!r} is not allowed ({listing})", r.urn))
    return out


def allowed_regions_from_tags(resources: Sequence[PolicyView]) -> tuple[str, ...]:
    """Fallback when the pack has no `allowedRegions` config: the stack's provider declares the
    plan's allowed regions in its `allowed-regions` default tag (space-separated)."""
    for r in resources:
        props = r.props if r.type == AWS_PROVIDER else r.provider_props
        value = default_tags(props).get("allowed-regions")
        if isinstance(value, str) and value.strip():
            return tuple(value.split())
    return ()


STACK_RULES: dict[str, tuple[str, Callable[[Sequence[PolicyView]], list[tuple[str, str]]]]] = {
    "EC2.2-default-security-groups": (
        "EC2.2: every VPC's default security group is taken over and keeps no rule", ec2_2_default_security_groups),
    "EC2.18-EC2.19-ingress-per-group": (
        "EC2.18/EC2.19: a security group's rules together do not accept the internet", ec2_18_19_ingress_per_group),
    "EC2.21-network-acl-rules": (
        "EC2.21: separate network ACL rules, in order, open neither SSH nor RDP to the internet",
        ec2_21_network_acl_rules),
    "EC2.6-vpc-flow-logs": ("EC2.6: every VPC logs ALL traffic; prod keeps it a year", ec2_6_vpc_flow_logs),
    "AutoScaling.2-AutoScaling.6-prod-spread": (
        "AutoScaling.2/6: prod groups span two zones and several instance types", autoscaling_2_6_multi_az_types),
}


# ---- running them -------------------------------------------------------------------------------

def guarded(name: str, run: Callable[[], list]) -> list:
    """A rule that fails on an input it did not foresee reports that as a violation."""
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - a policy never crashes the preview
        return [f"{name}: could not judge this input ({type(exc).__name__}: {exc}); fix the value or the rule"]


def check_resource(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    """Every resource rule on one resource."""
    return [msg for name, rule in RESOURCE_RULES.items()
            for msg in guarded(name, lambda rule=rule: rule(resource_type, props))]


def check_stack(resources: Sequence[PolicyView], allowed: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """Every rule, resource and stack, over a whole stack: (message, urn) pairs."""
    out = [(msg, r.urn) for r in resources for msg in check_resource(r.type, r.props)]
    for name, (_, rule) in STACK_RULES.items():
        out += [m if isinstance(m, tuple) else (m, "") for m in guarded(name, lambda rule=rule: rule(resources))]
    regions = allowed if allowed is not None else allowed_regions_from_tags(resources)
    out += [m if isinstance(m, tuple) else (m, "")
            for m in guarded("allowed-regions", lambda: allowed_regions(resources, regions))]
    return out

