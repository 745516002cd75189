"""The policy pack holds its names: every rule passes and fails on every resource type through
which its control can be broken, normalises values before judging, and never crashes.

The rules are plain functions (stacks.policy.rules); the pack (stacks/policy/__main__.py) is run
at the end with pulumi_policy's own argument classes and read-only proxies, unknown values
included, as the analyzer hands them over.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.policy import rules
from stacks.policy.rules import PolicyView

LT = rules.LAUNCH_TEMPLATE
LC = rules.LAUNCH_CONFIGURATION
INSTANCE = rules.INSTANCE
SPOT = rules.SPOT_INSTANCE_REQUEST
SPOT_FLEET = rules.SPOT_FLEET_REQUEST
ASG = rules.ASG
PROD_TAGS = json.dumps({"tags": {"environment": "prod", "allowed-regions": "eu-central-1 eu-north-1"}})
DEV_TAGS = json.dumps({"tags": {"environment": "dev"}})
PROVIDER = {"region": "eu-central-1", "defaultTags": PROD_TAGS}
DEV_PROVIDER = {"region": "eu-central-1", "defaultTags": DEV_TAGS}

IMDS_V2 = {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
IMDS_V1 = {"httpEndpoint": "enabled", "httpTokens": "optional", "httpPutResponseHopLimit": 1}
ROOT = {"volumeType": "gp3", "encrypted": True}


def good_lt(**changes):
    props = {
        "metadataOptions": dict(IMDS_V2),
        "blockDeviceMappings": [{"deviceName": "/dev/sda1", "ebs": {"volumeType": "gp3", "encrypted": "true"}}],
        "networkInterfaces": [{"associatePublicIpAddress": "false"}],
    }
    props.update(changes)
    return props


def good_instance(**changes):
    props = {"metadataOptions": dict(IMDS_V2), "associatePublicIpAddress": False, "rootBlockDevice": dict(ROOT)}
    props.update(changes)
    return props


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_READ = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
SSM = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def acl_rule(cidr="0.0.0.0/0", action="allow", port=22, rule_no=100, protocol="tcp", v6=False):
    rule = {"action": action, "protocol": protocol, "fromPort": port, "toPort": port, "ruleNo": rule_no}
    rule["ipv6CidrBlock" if v6 else "cidrBlock"] = cidr
    return rule


# (rule, resource type, passing props, failing props): one row per way the control can break
RESOURCE_CASES = [
    # EC2.8: IMDSv2 on every way to launch an instance
    (rules.ec2_8_imdsv2, LT, good_lt(), good_lt(metadataOptions=IMDS_V1)),
    (rules.ec2_8_imdsv2, LT, good_lt(metadataOptions={**IMDS_V2, "httpPutResponseHopLimit": 2}),
     good_lt(metadataOptions={**IMDS_V2, "httpPutResponseHopLimit": 3})),
    (rules.ec2_8_imdsv2, LT, good_lt(metadataOptions={**IMDS_V2, "httpTokens": " Required "}),
     good_lt(metadataOptions={**IMDS_V2, "httpPutResponseHopLimit": "many"})),  # non-numeric hop limit
    (rules.ec2_8_imdsv2, LT, good_lt(), good_lt(metadataOptions=None)),
    (rules.ec2_8_imdsv2, LC, {"metadataOptions": IMDS_V2}, {"metadataOptions": IMDS_V1}),
    (rules.ec2_8_imdsv2, LC, {"metadataOptions": IMDS_V2}, {}),
    (rules.ec2_8_imdsv2, INSTANCE, good_instance(), good_instance(metadataOptions=IMDS_V1)),
    (rules.ec2_8_imdsv2, INSTANCE, {"launchTemplate": {"id": "lt-1"}}, {"metadataOptions": "required"}),
    (rules.ec2_8_imdsv2, SPOT, good_instance(), good_instance(metadataOptions=IMDS_V1)),
    (rules.ec2_8_imdsv2, rules.INSTANCE_METADATA_DEFAULTS, {"httpTokens": "required", "httpPutResponseHopLimit": 1},
     {"httpTokens": "optional"}),
    (rules.ec2_8_imdsv2, SPOT_FLEET, {"launchTemplateConfigs": [{"launchTemplateSpecification": {"id": "lt-1"}}]},
     {"launchSpecifications": [{"ami": "ami-1", "instanceType": "g6e.12xlarge"}]}),
    # EC2.9 / EC2.25 / EC2.15: no public IPv4 address, however spelled and however attached
    (rules.ec2_9_25_no_public_ip, LT, good_lt(), good_lt(networkInterfaces=[{"associatePublicIpAddress": "true"}])),
    (rules.ec2_9_25_no_public_ip, LT, good_lt(networkInterfaces=[{"associatePublicIpAddress": ""}]),
     good_lt(networkInterfaces=[{"associatePublicIpAddress": "1"}])),
    (rules.ec2_9_25_no_public_ip, LT, good_lt(networkInterfaces=[{"associatePublicIpAddress": "False "}]),
     good_lt(networkInterfaces=[{"associateCarrierIpAddress": True}])),
    (rules.ec2_9_25_no_public_ip, LT, good_lt(), good_lt(networkInterfaces=[{"associatePublicIpAddress": "maybe"}])),
    (rules.ec2_9_25_no_public_ip, INSTANCE, {"associatePublicIpAddress": False}, {"associatePublicIpAddress": True}),
    (rules.ec2_9_25_no_public_ip, INSTANCE, {"associatePublicIpAddress": "0"}, {"associatePublicIpAddress": "1"}),
    (rules.ec2_9_25_no_public_ip, LC, {"associatePublicIpAddress": False}, {"associatePublicIpAddress": "True"}),
    (rules.ec2_9_25_no_public_ip, SPOT, {}, {"associatePublicIpAddress": 1}),
    (rules.ec2_9_25_no_public_ip, SPOT_FLEET, {"launchSpecifications": [{"associatePublicIpAddress": False}]},
     {"launchSpecifications": [{"associatePublicIpAddress": "true"}]}),
    (rules.ec2_9_25_no_public_ip, rules.SUBNET, {"mapPublicIpOnLaunch": False}, {"mapPublicIpOnLaunch": True}),
    (rules.ec2_9_25_no_public_ip, rules.DEFAULT_SUBNET, {"mapPublicIpOnLaunch": False}, {}),
    (rules.ec2_9_25_no_public_ip, rules.EIP, {"domain": "vpc"}, {"domain": "vpc", "instance": "i-0123"}),
    (rules.ec2_9_25_no_public_ip, rules.EIP, {"domain": "vpc", "tags": {"Name": "nat"}},
     {"networkInterface": "eni-0123"}),
    (rules.ec2_9_25_no_public_ip, rules.EIP_ASSOCIATION, None, {"allocationId": "eipalloc-1", "instanceId": "i-1"}),
    (rules.ec2_9_25_no_public_ip, rules.EIP_ASSOCIATION, None, {"allocationId": "eipalloc-1",
                                                                 "networkInterfaceId": "eni-1"}),
    # EC2.2 / EC2.18 / EC2.19: security groups, however the internet is spelled
    (rules.ec2_2_18_19_security_groups, rules.DEFAULT_SECURITY_GROUP, {"ingress": [], "egress": []},
     {"ingress": [], "egress": [{"cidrBlocks": ["0.0.0.0/0"]}]}),
    (rules.ec2_2_18_19_security_groups, rules.DEFAULT_SECURITY_GROUP, {},
     {"ingress": [{"self": True, "protocol": "-1", "fromPort": 0, "toPort": 0}]}),
    (rules.ec2_2_18_19_security_groups, rules.INGRESS_RULE, {"cidrIpv4": "10.42.0.0/16"}, {"cidrIpv4": "0.0.0.0/0"}),
    (rules.ec2_2_18_19_security_groups, rules.INGRESS_RULE, {"referencedSecurityGroupId": "sg-1"},
     {"cidrIpv6": "::/0"}),
    (rules.ec2_2_18_19_security_groups, rules.INGRESS_RULE, {"cidrIpv6": "fd00::/8"}, {"cidrIpv6": "::0/0"}),
    (rules.ec2_2_18_19_security_groups, rules.INGRESS_RULE, {"cidrIpv6": "::ffff:10.0.0.0/104"},
     {"cidrIpv6": "::ffff:0.0.0.0/96"}),  # IPv4-mapped IPv6: all of IPv4
    (rules.ec2_2_18_19_security_groups, rules.INGRESS_RULE, {"cidrIpv4": "203.0.113.0/24"},
     {"cidrIpv4": "not-a-cidr"}),
    (rules.ec2_2_18_19_security_groups, rules.SECURITY_GROUP, {"ingress": [{"cidrBlocks": ["10.0.0.0/8"]}]},
     {"ingress": [{"ipv6CidrBlocks": ["::/0"]}]}),
    (rules.ec2_2_18_19_security_groups, rules.SECURITY_GROUP,
     {"ingress": [{"cidrBlocks": ["10.0.0.0/8", "192.168.0.0/16"]}]},
     {"ingress": [{"cidrBlocks": ["0.0.0.0/1"]}, {"cidrBlocks": ["128.0.0.0/1"]}]}),
    (rules.ec2_2_18_19_security_groups, rules.SECURITY_GROUP_RULE, {"type": "egress", "cidrBlocks": ["0.0.0.0/0"]},
     {"type": "ingress", "cidrBlocks": ["0.0.0.0/0"]}),
    (rules.ec2_2_18_19_security_groups, rules.SECURITY_GROUP_RULE, {"type": "Ingress", "cidrBlocks": ["10.0.0.0/8"]},
     {"type": "Ingress", "cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"], "fromPort": 22, "toPort": 22}),
    (rules.ec2_2_18_19_security_groups, rules.SECURITY_GROUP_RULE, {"type": "EGRESS", "cidrBlocks": ["0.0.0.0/0"]},
     {"type": " INGRESS ", "ipv6CidrBlocks": ["::0/0"]}),
    # EC2.21: network ACLs (inline and default) in rule order
    (rules.ec2_21_network_acls, rules.NETWORK_ACL, {"ingress": [acl_rule("10.0.0.0/8")]}, {"ingress": [acl_rule()]}),
    (rules.ec2_21_network_acls, rules.NETWORK_ACL,
     {"ingress": [acl_rule(action="deny", rule_no=100, protocol="-1", port=0),
                  acl_rule(rule_no=200, protocol="-1", port=0)]},
     {"ingress": [acl_rule(rule_no=200, protocol="-1", port=0), acl_rule(action="deny", rule_no=300, port=22)]}),
    (rules.ec2_21_network_acls, rules.NETWORK_ACL, {"ingress": [acl_rule(port=443)]},
     {"ingress": [acl_rule("0.0.0.0/1", rule_no=100), acl_rule("128.0.0.0/1", rule_no=110)]}),
    (rules.ec2_21_network_acls, rules.NETWORK_ACL, {"ingress": [acl_rule(protocol="icmp", port=0)]},
     {"ingress": [acl_rule("::0/0", v6=True, port=3389)]}),
    (rules.ec2_21_network_acls, rules.DEFAULT_NETWORK_ACL, {"ingress": [acl_rule("10.0.0.0/16", protocol="-1")]},
     {"ingress": [acl_rule(protocol="-1", port=0, rule_no=100)]}),
    (rules.ec2_21_network_acls, rules.DEFAULT_NETWORK_ACL, {"ingress": []},
     {"ingress": [{**acl_rule(action="ALLOW"), "fromPort": 0, "toPort": 65535}]}),
    # EC2.3 / EC2.7: encryption wherever an EBS volume or snapshot comes from
    (rules.ec2_3_7_ebs_encryption, LT, good_lt(),
     good_lt(blockDeviceMappings=[{"deviceName": "/dev/sda1", "ebs": {"volumeType": "gp3"}}])),
    (rules.ec2_3_7_ebs_encryption, LT,
     good_lt(blockDeviceMappings=[{"deviceName": "/dev/sda1", "ebs": {"encrypted": "True "}}]),  # a false positive
     good_lt(blockDeviceMappings=[])),  # no mapping: the AMI's root volume
    (rules.ec2_3_7_ebs_encryption, LT, good_lt(blockDeviceMappings=[{"deviceName": "/dev/sda1",
                                                                     "ebs": {"encrypted": 1}}]),
     good_lt(blockDeviceMappings=[{"deviceName": "/dev/sdb", "virtualName": "ephemeral0"}])),
    (rules.ec2_3_7_ebs_encryption, rules.VOLUME, {"encrypted": True}, {"encrypted": False}),
    (rules.ec2_3_7_ebs_encryption, rules.VOLUME, {"encrypted": "true"}, {}),
    (rules.ec2_3_7_ebs_encryption, INSTANCE, good_instance(), good_instance(rootBlockDevice=None)),
    (rules.ec2_3_7_ebs_encryption, INSTANCE, {"launchTemplate": {"id": "lt-1"}},
     good_instance(ebsBlockDevices=[{"deviceName": "/dev/sdb", "encrypted": False}])),
    (rules.ec2_3_7_ebs_encryption, SPOT, good_instance(), good_instance(rootBlockDevice={"encrypted": "false"})),
    (rules.ec2_3_7_ebs_encryption, LC, {"rootBlockDevice": ROOT}, {}),
    (rules.ec2_3_7_ebs_encryption, LC, {"rootBlockDevice": ROOT}, {"rootBlockDevice": {"encrypted": False}}),
    (rules.ec2_3_7_ebs_encryption, SPOT_FLEET, {"launchSpecifications": [{"rootBlockDevices": [ROOT]}]},
     {"launchSpecifications": [{"ami": "ami-1"}]}),
    (rules.ec2_3_7_ebs_encryption, rules.EBS_ENCRYPTION_BY_DEFAULT, {"enabled": True}, {"enabled": False}),
    (rules.ec2_3_7_ebs_encryption, rules.EBS_ENCRYPTION_BY_DEFAULT, {}, {"enabled": "false"}),
    (rules.ec2_3_7_ebs_encryption, rules.SNAPSHOT_COPY, {"sourceSnapshotId": "snap-1", "encrypted": True},
     {"sourceSnapshotId": "snap-1"}),
    (rules.ec2_3_7_ebs_encryption, rules.SNAPSHOT_IMPORT, {"encrypted": True}, {"encrypted": False}),
    (rules.ec2_3_7_ebs_encryption, rules.AMI_COPY, {"sourceAmiId": "ami-1", "encrypted": "true"},
     {"sourceAmiId": "ami-1", "encrypted": False}),
    # IAM.1: no wildcard action, however granted
    (rules.iam_1_no_wildcard_actions, "aws:iam/rolePolicy:RolePolicy", {"policy": policy(ALLOW_READ)},
     {"policy": policy({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/policy:Policy",
     {"policy": policy({"Effect": "Deny", "Action": "*", "Resource": "*"})},
     {"policy": policy({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/policy:Policy", {"policy": json.loads(policy(ALLOW_READ))},
     {"policy": policy({"Effect": "Allow", "Action": "s3:Get?bject", "Resource": "*"})}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/userPolicy:UserPolicy", {"policy": policy(ALLOW_READ)},
     {"policy": json.dumps({"Statement": ALLOW_ALL})}),  # one statement, not a list
    (rules.iam_1_no_wildcard_actions, "aws:iam/groupPolicy:GroupPolicy", {"policy": policy(ALLOW_READ)},
     {"policy": policy("Allow everything")}),  # a statement that is not an object
    (rules.iam_1_no_wildcard_actions, rules.IAM_ROLE,
     {"inlinePolicies": [{"name": "read", "policy": policy(ALLOW_READ)}], "managedPolicyArns": [SSM]},
     {"inlinePolicies": [{"name": "admin", "policy": policy(ALLOW_ALL)}]}),
    (rules.iam_1_no_wildcard_actions, rules.IAM_ROLE, {"inlinePolicies": [{}]}, {"managedPolicyArns": [ADMIN]}),
    (rules.iam_1_no_wildcard_actions, rules.IAM_ROLE, {"managedPolicyArns": [SSM]},
     {"managedPolicyArns": ["arn:aws:iam::aws:policy/AmazonS3FullAccess"]}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"policyArn": SSM},
     {"policyArn": ADMIN}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
     {"policyArn": "arn:aws:iam::123456789012:policy/AdministratorAccess"},  # customer policy, judged on its own
     {"policyArn": "arn:aws:iam::aws:policy/job-function/AdministratorAccess"}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/userPolicyAttachment:UserPolicyAttachment", {"policyArn": SSM},
     {"policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/groupPolicyAttachment:GroupPolicyAttachment", {"policyArn": SSM},
     {"policyArn": "arn:aws-us-gov:iam::aws:policy/AdministratorAccess"}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/policyAttachment:PolicyAttachment", {"policyArn": SSM},
     {"policyArn": " " + ADMIN + " "}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive",
     {"policyArns": [SSM]}, {"policyArns": [SSM, ADMIN]}),
    # S3.2 / S3.3 / S3.6: bucket policies
    (rules.s3_2_3_6_bucket_policies, "aws:s3/bucketPolicy:BucketPolicy",
     {"policy": policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})},
     {"policy": policy({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"})}),
    (rules.s3_2_3_6_bucket_policies, "aws:s3/bucketPolicy:BucketPolicy",
     {"policy": policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
                        "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}})},
     {"policy": policy({"Effect": "Allow", "Principal": {"AWS": ["*"]}, "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::b/*"})}),
    (rules.s3_2_3_6_bucket_policies, "aws:s3/bucketPolicy:BucketPolicy",
     {"policy": policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*",
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}}})},
     {"policy": policy({"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject",
                        "Resource": "*"})}),
    (rules.s3_2_3_6_bucket_policies, "aws:s3/bucket:Bucket", {"bucket": "b"},
     {"policy": policy({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})}),
    # load balancers of every kind
    (rules.elb_internal, "aws:lb/loadBalancer:LoadBalancer",
     {"internal": True, "loadBalancerType": "application", "dropInvalidHeaderFields": True},
     {"internal": False, "loadBalancerType": "application", "dropInvalidHeaderFields": True}),
    (rules.elb_internal, "aws:lb/loadBalancer:LoadBalancer",
     {"internal": "true", "loadBalancerType": "Application ", "dropInvalidHeaderFields": "True"},
     {"internal": True, "dropInvalidHeaderFields": False}),
    (rules.elb_internal, "aws:lb/loadBalancer:LoadBalancer", {"internal": True, "loadBalancerType": "network"},
     {"loadBalancerType": "network"}),
    (rules.elb_internal, "aws:lb/loadBalancer:LoadBalancer", {"loadBalancerType": "gateway"},
     {"loadBalancerType": "network", "internal": "no"}),
    (rules.elb_internal, "aws:alb/loadBalancer:LoadBalancer", {"internal": True, "dropInvalidHeaderFields": True},
     {"internal": False, "dropInvalidHeaderFields": True}),
    (rules.elb_internal, "aws:elb/loadBalancer:LoadBalancer", {"internal": True}, {}),
    (rules.elb_internal, "aws:elb/loadBalancer:LoadBalancer", {"internal": "1"}, {"internal": False}),
]


@pytest.mark.parametrize("rule,resource_type,good,bad", RESOURCE_CASES,
                         ids=[f"{c[0].__name__}-{c[1].split(':')[-1]}-{i}" for i, c in enumerate(RESOURCE_CASES)])
def test_resource_rule_passes_and_fails(rule, resource_type, good, bad):
    if good is not None:
        assert rule(resource_type, good) == []
    violations = rule(resource_type, bad)
    assert violations and all(isinstance(v, str) and "\n" not in v for v in violations), violations


def test_every_resource_rule_has_cases_for_every_type_it_names():
    """Each rule's docstring names the ways its control breaks; each type it judges has a case."""
    covered = {(c[0], c[1]) for c in RESOURCE_CASES}
    judged = {
        rules.ec2_8_imdsv2: {LT, LC, INSTANCE, SPOT, SPOT_FLEET, rules.INSTANCE_METADATA_DEFAULTS},
        rules.ec2_9_25_no_public_ip: {LT, LC, INSTANCE, SPOT, SPOT_FLEET, rules.SUBNET, rules.DEFAULT_SUBNET,
                                      rules.EIP, rules.EIP_ASSOCIATION},
        rules.ec2_2_18_19_security_groups: {rules.DEFAULT_SECURITY_GROUP, rules.SECURITY_GROUP,
                                            rules.SECURITY_GROUP_RULE, rules.INGRESS_RULE},
        rules.ec2_21_network_acls: {rules.NETWORK_ACL, rules.DEFAULT_NETWORK_ACL},
        rules.ec2_3_7_ebs_encryption: {LT, LC, INSTANCE, SPOT, SPOT_FLEET, rules.VOLUME,
                                       rules.EBS_ENCRYPTION_BY_DEFAULT, rules.SNAPSHOT_COPY, rules.SNAPSHOT_IMPORT,
                                       rules.AMI_COPY},
        rules.iam_1_no_wildcard_actions: {*rules.IAM_POLICY_TYPES, rules.IAM_ROLE, *rules.IAM_ATTACHMENTS,
                                          rules.IAM_EXCLUSIVE_ATTACHMENTS[0]},
        rules.s3_2_3_6_bucket_policies: {"aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucket:Bucket"},
        rules.elb_internal: {"aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer",
                             "aws:elb/loadBalancer:LoadBalancer"},
    }
    assert set(judged) == set(rules.RESOURCE_RULES.values())
    missing = [(rule.__name__, t) for rule, types in judged.items() for t in types if (rule, t) not in covered]
    assert not missing, missing


def test_resource_rules_ignore_other_types():
    for rule in rules.RESOURCE_RULES.values():
        assert rule("aws:s3/bucketObject:BucketObject", {"internal": False, "encrypted": False}) == []


# ---- never a crash --------------------------------------------------------------------------------

JUDGED_TYPES = sorted({c[1] for c in RESOURCE_CASES} | {rules.VPC, rules.FLOW_LOG, rules.LOG_GROUP, ASG,
                                                          rules.NETWORK_ACL_RULE, rules.EGRESS_RULE})
PROPERTY_NAMES = sorted({k for c in RESOURCE_CASES for props in c[2:] if props for k in props}
                        | {"ingress", "egress", "policy", "type", "tags", "vpcZoneIdentifiers", "id",
                           "retentionInDays", "trafficType", "ruleNumber", "ruleAction", "networkAclId",
                           "securityGroupId", "mixedInstancesPolicy", "launchTemplate", "region", "vpcId",
                           "logDestination", "availabilityZone", "statement", "Statement"})
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
    | st.sampled_from(["*", "0.0.0.0/0", "::/0", "true", "True ", "1", "ingress", "Allow", "[", "{}",
                       "04da6b54-80e4-46f7-96ec-b56ff0331ba9", policy("x"), json.dumps({"Statement": 5})]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(PROPERTY_NAMES + ["Action", "Effect", "cidrBlocks", "ebs", "encrypted",
                                                        "httpPutResponseHopLimit", "key", "value", "overrides"]),
                      children, max_size=4),
    max_leaves=12)
PROPS = st.dictionaries(st.sampled_from(PROPERTY_NAMES), JSONISH, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(resource_type=st.sampled_from(JUDGED_TYPES), props=PROPS)
def test_resource_rules_never_raise_on_malformed_input(resource_type, props):
    for rule in rules.RESOURCE_RULES.values():
        found = rule(resource_type, props)  # unguarded: the rule itself must cope
        assert all(isinstance(m, str) for m in found)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack=st.lists(st.tuples(st.sampled_from(JUDGED_TYPES), PROPS), max_size=6),
       refs=st.dictionaries(st.sampled_from(["vpcId", "securityGroupId", "networkAclId", "vpcZoneIdentifiers",
                                            "logDestination"]), st.lists(st.sampled_from(["urn:0", "urn:1"]),
                                                                         max_size=2), max_size=2))
def test_stack_rules_never_raise_on_malformed_input(stack, refs):
    views = [PolicyView(t, p, f"urn:{i}", PROVIDER, refs) for i, (t, p) in enumerate(stack)]
    for _, rule in rules.STACK_RULES.values():
        assert all(isinstance(m, tuple) for m in rule(views))
    rules.allowed_regions(views, ("eu-central-1",))


def test_named_crashes_are_findings():
    """A non-numeric hop limit and a non-object statement used to raise."""
    assert any("HopLimit" in m for m in rules.ec2_8_imdsv2(LT, good_lt(
        metadataOptions={**IMDS_V2, "httpPutResponseHopLimit": "one"})))
    found = rules.iam_1_no_wildcard_actions("aws:iam/rolePolicy:RolePolicy", {"policy": policy("s3:*", ALLOW_READ)})
    assert found == ["IAM.1: Statement[0] is not an object ('s3:*')"]


def test_guard_turns_an_unforeseen_failure_into_a_violation(monkeypatch):
    def broken(resource_type, props):
        raise RuntimeError("boom")

    monkeypatch.setitem(rules.RESOURCE_RULES, "broken", broken)
    assert rules.check_resource(LT, good_lt()) == ["broken: could not judge this input (RuntimeError: boom); "
                                                   "fix the value or the rule"]


def test_unknown_values_are_left_for_the_update():
    """Values unknown during preview are not judged (the same rules run on `pulumi up`)."""
    unknown = rules.UNKNOWN
    assert rules.ec2_3_7_ebs_encryption(LT, good_lt(blockDeviceMappings=unknown)) == []
    assert rules.ec2_3_7_ebs_encryption(LT, good_lt(blockDeviceMappings=[{"ebs": {"encrypted": unknown}}])) == []
    assert rules.ec2_2_18_19_security_groups(rules.INGRESS_RULE, {"cidrIpv4": unknown}) == []
    assert rules.iam_1_no_wildcard_actions("aws:iam/rolePolicy:RolePolicy", {"policy": unknown}) == []
    assert rules.elb_internal("aws:lb/loadBalancer:LoadBalancer", {"internal": unknown,
                                                                   "dropInvalidHeaderFields": True}) == []
    # the analyzer's raw sentinel strings count as unknown too
    assert rules.ec2_8_imdsv2(LT, good_lt(metadataOptions={**IMDS_V2, "httpTokens": sorted(
        rules.PREVIEW_UNKNOWNS)[0]})) == []


def test_unknown_sentinels_match_pulumi_policy():
    from pulumi_policy import proxy

    assert rules.PREVIEW_UNKNOWNS == {value for name, value in vars(proxy).items()
                                      if name.startswith("UNKNOWN_") and name.endswith("_VALUE")}


# ---- stack rules ------------------------------------------------------------------------------------

def view(typ, props, urn, provider=PROVIDER, refs=None):
    return PolicyView(typ, props, urn, provider, refs or {})


def test_ec2_2_default_security_group_taken_over_and_left_empty():
    vpc = view(rules.VPC, {"id": "vpc-1", "defaultSecurityGroupId": "sg-default"}, "urn:vpc")
    dsg = view(rules.DEFAULT_SECURITY_GROUP, {"id": "sg-default", "vpcId": "vpc-1"}, "urn:dsg")
    assert rules.ec2_2_default_security_groups([vpc, dsg]) == []
    assert [u for _, u in rules.ec2_2_default_security_groups([vpc])] == ["urn:vpc"]  # AWS's rules stay
    # an ingress rule added to the default group as its own resource, by id or computed from the VPC
    by_id = view(rules.INGRESS_RULE, {"securityGroupId": "sg-default", "cidrIpv4": "10.0.0.0/8"}, "urn:r1")
    by_ref = view(rules.SECURITY_GROUP_RULE, {"type": "ingress", "cidrBlocks": ["10.0.0.0/8"]}, "urn:r2",
                  refs={"securityGroupId": ["urn:vpc"]})
    egress = view(rules.EGRESS_RULE, {"securityGroupId": "sg-default", "cidrIpv4": "0.0.0.0/0"}, "urn:r3")
    other = view(rules.INGRESS_RULE, {"securityGroupId": "sg-other", "cidrIpv4": "10.0.0.0/8"}, "urn:r4")
    found = rules.ec2_2_default_security_groups([vpc, dsg, by_id, by_ref, egress, other])
    assert [u for _, u in found] == ["urn:r1", "urn:r2", "urn:r3"]


def test_ec2_18_19_rules_together_cover_the_internet():
    """Each rule alone names at most one public /8 (which the resource rule lets through); together
    they go past it. A rule that alone opens (0.0.0.0/1) is the resource rule's to report."""
    sg = view(rules.SECURITY_GROUP, {"id": "sg-1", "ingress": [{"cidrBlocks": ["13.0.0.0/8"]}]}, "urn:sg")
    low = view(rules.INGRESS_RULE, {"securityGroupId": "sg-1", "cidrIpv4": "11.0.0.0/8", "fromPort": 22}, "urn:low")
    high = view(rules.SECURITY_GROUP_RULE, {"type": "Ingress", "cidrBlocks": ["12.0.0.0/8"]}, "urn:high",
                refs={"securityGroupId": ["urn:sg"]})
    corp = view(rules.INGRESS_RULE, {"securityGroupId": "sg-1", "cidrIpv4": "10.0.0.0/8"}, "urn:corp")
    assert rules.ec2_18_19_ingress_per_group([view(rules.SECURITY_GROUP, {"id": "sg-1"}, "urn:sg"), low, corp]) == []
    assert [u for _, u in rules.ec2_18_19_ingress_per_group([sg, low, high, corp])] == ["urn:sg"]
    # a group outside the stack, reached by id
    outside = [view(rules.INGRESS_RULE, {"securityGroupId": "sg-9", "cidrIpv4": c}, f"urn:{i}")
               for i, c in enumerate(("11.0.0.0/8", "12.0.0.0/8"))]
    assert [u for _, u in rules.ec2_18_19_ingress_per_group(outside)] == ["urn:0"]
    # egress rules do not count
    out = view(rules.SECURITY_GROUP_RULE, {"type": "egress", "securityGroupId": "sg-1", "cidrBlocks": ["12.0.0.0/8"]},
               "urn:out")
    assert rules.ec2_18_19_ingress_per_group([view(rules.SECURITY_GROUP, {"id": "sg-1"}, "urn:sg"), low, out]) == []
    # the halves of the internet as two separate rules: each is reported on its own
    halves = [view(rules.INGRESS_RULE, {"securityGroupId": "sg-1", "cidrIpv4": c}, f"urn:{c}")
              for c in ("0.0.0.0/1", "128.0.0.0/1")]
    assert [u for r in halves for u in [r.urn] if rules.check_resource(r.type, r.props)] == [r.urn for r in halves]


def test_ec2_21_separate_rules_judged_in_order_with_their_acl():
    acl = view(rules.NETWORK_ACL, {"id": "acl-1", "ingress": []}, "urn:acl")

    def rule(urn, cidr, action="allow", number=100, egress=False, port=22, **extra):
        return view(rules.NETWORK_ACL_RULE, {"networkAclId": "acl-1", "ruleNumber": number, "ruleAction": action,
                                             "protocol": "6", "fromPort": port, "toPort": port, "cidrBlock": cidr,
                                             "egress": egress, **extra}, urn)

    assert rules.ec2_21_network_acl_rules([acl, rule("urn:r", "10.0.0.0/8")]) == []
    assert [u for _, u in rules.ec2_21_network_acl_rules([acl, rule("urn:r", "0.0.0.0/0")])] == ["urn:acl"]
    # a deny first closes it; a deny after an allow does not
    deny_first = [acl, rule("urn:d", "0.0.0.0/0", "deny", 50), rule("urn:a", "0.0.0.0/0", number=100)]
    assert rules.ec2_21_network_acl_rules(deny_first) == []
    deny_after = [acl, rule("urn:d", "0.0.0.0/0", "deny", 150), rule("urn:a", "0.0.0.0/0", number=100)]
    assert rules.ec2_21_network_acl_rules(deny_after)
    # the internet in two halves, RDP through ::0/0, egress ignored, the default ACL by reference
    halves = [acl, rule("urn:1", "0.0.0.0/1", number=100), rule("urn:2", "128.0.0.0/1", number=110)]
    assert rules.ec2_21_network_acl_rules(halves)
    v6 = view(rules.NETWORK_ACL_RULE, {"networkAclId": "acl-1", "ruleNumber": 1, "ruleAction": "allow",
                                       "protocol": "-1", "ipv6CidrBlock": "::0/0"}, "urn:v6")
    assert {m.split(":")[0] for m, _ in rules.ec2_21_network_acl_rules([acl, v6])} == {"EC2.21"}
    assert rules.ec2_21_network_acl_rules([acl, rule("urn:e", "0.0.0.0/0", egress=True)]) == []
    default = view(rules.DEFAULT_NETWORK_ACL, {"ingress": []}, "urn:dacl")
    by_ref = view(rules.NETWORK_ACL_RULE, {"ruleNumber": 1, "ruleAction": "allow", "protocol": "all",
                                           "cidrBlock": "0.0.0.0/0"}, "urn:ref", refs={"networkAclId": ["urn:dacl"]})
    found = rules.ec2_21_network_acl_rules([default, by_ref])
    assert [m.split(":")[1].strip() for m, _ in found] == ["ingress to port 22 open to the internet",
                                                           "ingress to port 3389 open to the internet"]
    assert {u for _, u in found} == {"urn:dacl"}


def network(retention=365, traffic="ALL", env_tags=PROD_TAGS, vpc_tags=None, urn_stack=None):
    provider = {"region": "eu-central-1", "defaultTags": env_tags}
    prefix = f"urn:pulumi:{urn_stack}::llm-capacity-planner::" if urn_stack else "urn:"
    return [
        PolicyView(rules.VPC, {"id": "vpc-1", "tags": vpc_tags or {}}, prefix + "vpc", provider),
        PolicyView(rules.LOG_GROUP, {"arn": "arn:lg", "retentionInDays": retention}, prefix + "lg", provider),
        PolicyView(rules.FLOW_LOG, {"vpcId": "vpc-1", "trafficType": traffic, "logDestination": "arn:lg"},
                   prefix + "fl", provider),
    ]


def test_ec2_6_flow_logs_pass_and_fail():
    assert rules.ec2_6_vpc_flow_logs(network()) == []
    assert rules.ec2_6_vpc_flow_logs(network(traffic="all")) == []
    assert [urn for _, urn in rules.ec2_6_vpc_flow_logs(network(traffic="REJECT"))] == ["urn:vpc"]
    assert [urn for _, urn in rules.ec2_6_vpc_flow_logs(network()[:2])] == ["urn:vpc"]
    assert [urn for _, urn in rules.ec2_6_vpc_flow_logs(network(retention=90))] == ["urn:lg"]
    assert [urn for _, urn in rules.ec2_6_vpc_flow_logs(network(retention="ninety"))] == ["urn:lg"]
    assert rules.ec2_6_vpc_flow_logs(network(retention=30, env_tags=DEV_TAGS)) == []


def test_ec2_6_prod_flow_logs_kept_forever_pass():
    assert rules.ec2_6_vpc_flow_logs(network(retention=0)) == []
    assert rules.ec2_6_vpc_flow_logs(network(retention=None)) == []
    assert rules.ec2_6_vpc_flow_logs(network(retention="0")) == []


@pytest.mark.parametrize("tags,stack", [
    ({"environment": "Prod"}, None), ({"Environment": "PROD"}, None), ({"env": "production"}, None),
    ({}, "prod"), ({"environment": "dev"}, "prod"), ({}, "eu-prod"),
])
def test_prod_is_seen_through_tag_case_and_the_stack_name(tags, stack):
    """A prod VPC tagged `Prod`, or any VPC of the stack named prod whatever its label says."""
    views = network(retention=30, env_tags=DEV_TAGS, vpc_tags=tags, urn_stack=stack)
    assert [m.split(":")[0] for m, _ in rules.ec2_6_vpc_flow_logs(views)] == ["CloudWatch.16"]


def test_ec2_6_matches_by_property_dependencies():
    views = network()
    views[2] = PolicyView(rules.FLOW_LOG, {"trafficType": "ALL"}, "urn:fl", PROVIDER,
                          refs={"vpcId": ["urn:vpc"], "logDestination": ["urn:lg"]})
    assert rules.ec2_6_vpc_flow_logs(views) == []


def asg_stack(types=("g6e.12xlarge", "g6e.24xlarge"), zones=("eu-central-1a", "eu-central-1b"), tags=(),
              provider=PROVIDER, listed_zones=None, subnet_count=None):
    subnets = [PolicyView(rules.SUBNET, {"id": f"subnet-{i}", "availabilityZone": z}, f"urn:s{i}", provider)
               for i, z in enumerate(zones)]
    props = {"vpcZoneIdentifiers": [s.props["id"] for s in subnets][:subnet_count],
             "mixedInstancesPolicy": {"launchTemplate": {"overrides": [{"instanceType": t} for t in types]}},
             "tags": list(tags)}
    if listed_zones:
        props["availabilityZones"] = list(listed_zones)
    return subnets + [PolicyView(ASG, props, "urn:asg", provider)]


def codes(found):
    return [m.split(":")[0] for m, _ in found]


def test_autoscaling_2_6_pass_and_fail():
    assert rules.autoscaling_2_6_multi_az_types(asg_stack()) == []
    one_zone = rules.autoscaling_2_6_multi_az_types(asg_stack(zones=("eu-central-1a", "eu-central-1a")))
    assert codes(one_zone) == ["AutoScaling.2"]
    one_type = rules.autoscaling_2_6_multi_az_types(asg_stack(types=("p5.48xlarge",)))
    assert codes(one_type) == ["AutoScaling.6"]
    waived = asg_stack(types=("p5.48xlarge",), tags=[{"key": rules.SINGLE_TYPE_REASON_TAG,
                                                      "value": "planner offers no equivalent of p5.48xlarge"}])
    assert rules.autoscaling_2_6_multi_az_types(waived) == []
    dev = asg_stack(types=("g6e.12xlarge",), zones=("eu-central-1a",), provider=DEV_PROVIDER)
    assert rules.autoscaling_2_6_multi_az_types(dev) == []


def test_autoscaling_2_one_subnet_with_two_zones_listed_fails():
    views = asg_stack(listed_zones=("eu-central-1a", "eu-central-1b"), subnet_count=1)
    assert codes(rules.autoscaling_2_6_multi_az_types(views)) == ["AutoScaling.2"]
    # without subnets, the listed zones decide
    no_subnets = [PolicyView(ASG, {"availabilityZones": ["eu-central-1a", "eu-central-1b"],
                                   "mixedInstancesPolicy": {"launchTemplate": {"overrides": [
                                       {"instanceType": "a"}, {"instanceType": "b"}]}}}, "urn:asg", PROVIDER)]
    assert rules.autoscaling_2_6_multi_az_types(no_subnets) == []


def test_autoscaling_2_subnets_outside_the_stack_are_named():
    views = [PolicyView(ASG, {"vpcZoneIdentifiers": ["subnet-aaa"], "mixedInstancesPolicy": {"launchTemplate": {
        "overrides": [{"instanceType": "a"}, {"instanceType": "b"}]}}}, "urn:asg", PROVIDER)]
    (message, _), = rules.autoscaling_2_6_multi_az_types(views)
    assert "subnet-aaa" in message and "cannot be checked" in message


@pytest.mark.parametrize("value", ["x", "because", "yes", "", "planner offers no equivalent of g6e.12xlarge"])
def test_autoscaling_6_waiver_must_name_the_type(value):
    views = asg_stack(types=("p5.48xlarge",), tags=[{"key": rules.SINGLE_TYPE_REASON_TAG, "value": value}])
    assert codes(rules.autoscaling_2_6_multi_az_types(views)) == ["AutoScaling.6"]


def test_autoscaling_prod_by_stack_name_and_by_vpc_tag():
    one_type = asg_stack(types=("p5.48xlarge",), provider=DEV_PROVIDER)
    assert rules.autoscaling_2_6_multi_az_types(one_type) == []
    by_name = [PolicyView(v.type, v.props, "urn:pulumi:prod::p::" + v.urn, v.provider_props) for v in one_type]
    assert codes(rules.autoscaling_2_6_multi_az_types(by_name)) == ["AutoScaling.6"]
    vpc = PolicyView(rules.VPC, {"id": "vpc-1", "tags": {"Environment": "Prod"}}, "urn:vpc", DEV_PROVIDER)
    in_prod_vpc = [PolicyView(v.type, {**v.props, "vpcId": "vpc-1"}, v.urn, v.provider_props) for v in one_type]
    assert codes(rules.autoscaling_2_6_multi_az_types(in_prod_vpc + [vpc])) == ["AutoScaling.6"]


def test_autoscaling_6_types_from_the_launch_template():
    lt = PolicyView(LT, {"id": "lt-1", "instanceType": "p5.48xlarge"}, "urn:lt", PROVIDER)
    views = asg_stack(types=())
    asg = views[-1]
    views[-1] = PolicyView(ASG, {**asg.props, "mixedInstancesPolicy": None, "launchTemplate": {"id": "lt-1"},
                                 "tags": [{"key": rules.SINGLE_TYPE_REASON_TAG, "value": "only p5.48xlarge"}]},
                           asg.urn, PROVIDER)
    assert rules.autoscaling_2_6_multi_az_types(views + [lt]) == []
    assert codes(rules.autoscaling_2_6_multi_az_types(views)) == ["AutoScaling.6"]


def test_allowed_regions_pass_and_fail():
    allowed = ("eu-central-1", "eu-north-1")
    good = [PolicyView("pulumi:providers:aws", PROVIDER, "urn:p"),
            PolicyView(rules.VPC, {}, "urn:vpc", PROVIDER),
            PolicyView(rules.VPC, {"region": "eu-north-1"}, "urn:vpc2", PROVIDER)]
    assert rules.allowed_regions(good, allowed) == []
    own = good + [PolicyView(rules.VPC, {"region": "us-east-1"}, "urn:bad", PROVIDER)]
    assert [urn for _, urn in rules.allowed_regions(own, allowed)] == ["urn:bad"]
    us = {"region": "us-east-1"}
    via_provider = [PolicyView("pulumi:providers:aws", us, "urn:p2"), PolicyView(rules.VPC, {}, "urn:vpc", us)]
    assert [urn for _, urn in rules.allowed_regions(via_provider, allowed)] == ["urn:p2", "urn:vpc"]
    assert rules.allowed_regions([PolicyView(rules.VPC, {}, "urn:vpc", None)], allowed)
    assert rules.allowed_regions_from_tags(good) == allowed
    assert rules.allowed_regions(good, ())  # nothing configured is a violation, not a pass
    spelled = [PolicyView("pulumi:providers:aws", {"region": " EU-Central-1 "}, "urn:p")]
    assert rules.allowed_regions(spelled, allowed) == []


def test_allowed_regions_cover_the_aws_native_provider():
    allowed = ("eu-central-1",)
    native = {"region": "us-west-2"}
    views = [PolicyView("pulumi:providers:aws-native", native, "urn:native"),
             PolicyView("aws-native:s3:Bucket", {"bucketName": "b"}, "urn:bucket", native)]
    assert [urn for _, urn in rules.allowed_regions(views, allowed)] == ["urn:native", "urn:bucket"]
    ok = {"region": "eu-central-1"}
    assert rules.allowed_regions([PolicyView("pulumi:providers:aws-native", ok, "urn:native"),
                                  PolicyView("aws-native:s3:Bucket", {}, "urn:bucket", ok)], allowed) == []
    assert rules.allowed_regions([PolicyView("aws-native:s3:Bucket", {}, "urn:bucket", None)], allowed)


def test_check_stack_runs_every_rule():
    broken = asg_stack(types=("p5.48xlarge",)) + [view(rules.VPC, {"id": "vpc-9"}, "urn:vpc9")]
    found = rules.check_stack(broken, ("eu-central-1",))
    assert {m.split(":")[0] for m, _ in found} >= {"AutoScaling.6", "EC2.6", "EC2.2"}


# ---- the pack, as the analyzer runs it ---------------------------------------------------------------

@pytest.fixture(scope="module")
def pack_policies():
    import pulumi_policy

    captured = {}
    original = pulumi_policy.PolicyPack
    pulumi_policy.PolicyPack = lambda **kw: captured.update(kw)
    try:
        runpy.run_path(str(Path(rules.__file__).with_name("__main__.py")), run_name="__main__")
    finally:
        pulumi_policy.PolicyPack = original
    return {p.name: p for p in captured["policies"]}


def _resource_args(resource_type, props, provider=None):
    import pulumi_policy
    from pulumi_policy.proxy import unknown_checking_proxy

    opts = pulumi_policy.PolicyResourceOptions(False, [], False, [], pulumi_policy.PolicyCustomTimeouts(0, 0, 0), [])
    return pulumi_policy.ResourceValidationArgs(resource_type, unknown_checking_proxy(props), "urn:x", "x", opts,
                                                provider, None)


def test_policy_pack_wraps_every_rule(pack_policies):
    assert set(rules.RESOURCE_RULES) | set(rules.STACK_RULES) | {"allowed-regions"} == set(pack_policies)


def test_policy_pack_judges_the_analyzers_proxies(pack_policies):
    """Proxies are neither lists nor dicts, and reading an unknown through them raises: the pack
    turns them into plain values first, so a rule judges lists of rules and skips unknowns."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

    reported = []
    lt = good_lt(networkInterfaces=[{"associatePublicIpAddress": True, "subnetId": UNKNOWN_STRING_VALUE}])
    pack_policies["EC2.9-EC2.25-no-public-ip"].validate(_resource_args(LT, lt), lambda m, u=None: reported.append(m))
    assert reported and reported[0].startswith("EC2.25")

    reported.clear()
    sg = {"ingress": [{"cidrBlocks": ["0.0.0.0/1", "128.0.0.0/1"], "fromPort": 22, "toPort": 22},
                      {"securityGroups": [UNKNOWN_STRING_VALUE]}]}
    pack_policies["EC2.2-EC2.18-EC2.19-security-groups"].validate(
        _resource_args(rules.SECURITY_GROUP, sg), lambda m, u=None: reported.append(m))
    assert reported and "internet" in reported[0]

    reported.clear()
    unknown_root = good_lt(blockDeviceMappings=[{"deviceName": "/dev/sda1",
                                                 "ebs": {"encrypted": UNKNOWN_STRING_VALUE}}])
    pack_policies["EC2.3-EC2.7-ebs-encryption"].validate(_resource_args(LT, unknown_root),
                                                         lambda m, u=None: reported.append(m))
    assert reported == []


def test_policy_pack_stack_policies(pack_policies):
    import pulumi_policy
    from pulumi_policy.proxy import unknown_checking_proxy

    def resource(typ, props, urn, provider=None, deps=None):
        return pulumi_policy.PolicyResource(typ, unknown_checking_proxy(props), urn, urn.rsplit(":", 1)[-1], None,
                                            provider, None, [], deps or {})

    us = pulumi_policy.PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy({"region": "us-east-1"}),
                                              "urn:p", "p")
    stack_args = pulumi_policy.StackValidationArgs([resource(rules.VPC, {}, "urn:vpc", us)],
                                                   {"allowedRegions": ["eu-central-1"]})
    found = []
    pack_policies["allowed-regions"].validate(stack_args, lambda m, urn=None: found.append(urn))
    assert found == ["urn:vpc"]

    # property dependencies reach the rules as refs: a rule computed from the VPC lands on its default group
    prov = pulumi_policy.PolicyProviderResource("pulumi:providers:aws", unknown_checking_proxy(PROVIDER), "urn:p", "p")
    vpc = resource(rules.VPC, {"cidrBlock": "10.0.0.0/16"}, "urn:pulumi:prod::p::vpc", prov)
    rule = resource(rules.INGRESS_RULE, {"cidrIpv4": "10.0.0.0/8",
                                         "securityGroupId": "04da6b54-80e4-46f7-96ec-b56ff0331ba9"},
                    "urn:pulumi:prod::p::rule", prov, {"securityGroupId": [vpc]})
    found = []
    pack_policies["EC2.2-default-security-groups"].validate(
        pulumi_policy.StackValidationArgs([vpc, rule], None), lambda m, urn=None: found.append(urn))
    assert found == ["urn:pulumi:prod::p::vpc", "urn:pulumi:prod::p::rule"]
