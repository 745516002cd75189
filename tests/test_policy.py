"""Each policy rule has a passing and a failing case; the pack wraps every rule."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from stacks.policy import rules
from stacks.policy.rules import PolicyView

LT = "aws:ec2/launchTemplate:LaunchTemplate"
PROD_TAGS = json.dumps({"tags": {"environment": "prod", "allowed-regions": "eu-central-1 eu-north-1"}})
PROVIDER = {"region": "eu-central-1", "defaultTags": PROD_TAGS}


def good_lt(**changes):
    props = {
        "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
        "blockDeviceMappings": [{"deviceName": "/dev/sda1", "ebs": {"volumeType": "gp3", "encrypted": "true"}}],
        "networkInterfaces": [{"associatePublicIpAddress": "false"}],
    }
    props.update(changes)
    return props


RESOURCE_CASES = [
    # (rule, resource type, passing props, failing props)
    (rules.ec2_8_imdsv2, LT, good_lt(),
     good_lt(metadataOptions={"httpTokens": "optional", "httpPutResponseHopLimit": 1})),
    (rules.ec2_8_imdsv2, LT, good_lt(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 2}),
     good_lt(metadataOptions={"httpTokens": "required", "httpPutResponseHopLimit": 3})),
    (rules.ec2_9_25_no_public_ip, LT, good_lt(), good_lt(networkInterfaces=[{"associatePublicIpAddress": "true"}])),
    (rules.ec2_9_25_no_public_ip, "aws:ec2/instance:Instance", {"associatePublicIpAddress": False},
     {"associatePublicIpAddress": True}),
    (rules.ec2_9_25_no_public_ip, "aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": False},
     {"mapPublicIpOnLaunch": True}),
    (rules.ec2_2_18_19_security_groups, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
     {"ingress": [], "egress": []}, {"ingress": [], "egress": [{"cidrBlocks": ["0.0.0.0/0"]}]}),
    (rules.ec2_2_18_19_security_groups, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     {"cidrIpv4": "10.42.0.0/16"}, {"cidrIpv4": "0.0.0.0/0"}),
    (rules.ec2_2_18_19_security_groups, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
     {"referencedSecurityGroupId": "sg-1"}, {"cidrIpv6": "::/0"}),
    (rules.ec2_2_18_19_security_groups, "aws:ec2/securityGroup:SecurityGroup",
     {"ingress": [{"cidrBlocks": ["10.0.0.0/8"]}]}, {"ingress": [{"ipv6CidrBlocks": ["::/0"]}]}),
    (rules.ec2_2_18_19_security_groups, "aws:ec2/securityGroupRule:SecurityGroupRule",
     {"type": "egress", "cidrBlocks": ["0.0.0.0/0"]}, {"type": "ingress", "cidrBlocks": ["0.0.0.0/0"]}),
    (rules.ec2_3_7_ebs_encryption, LT, good_lt(),
     good_lt(blockDeviceMappings=[{"deviceName": "/dev/sda1", "ebs": {"volumeType": "gp3"}}])),
    (rules.ec2_3_7_ebs_encryption, "aws:ebs/volume:Volume", {"encrypted": True}, {"encrypted": False}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/rolePolicy:RolePolicy",
     {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]})},
     {"policy": json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})}),
    (rules.iam_1_no_wildcard_actions, "aws:iam/policy:Policy",
     {"policy": json.dumps({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})},
     {"policy": json.dumps({"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]})}),
    (rules.elb_internal, "aws:lb/loadBalancer:LoadBalancer",
     {"internal": True, "loadBalancerType": "application", "dropInvalidHeaderFields": True},
     {"internal": False, "loadBalancerType": "application", "dropInvalidHeaderFields": True}),
]


@pytest.mark.parametrize("rule,resource_type,good,bad", RESOURCE_CASES,
                         ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(RESOURCE_CASES)])
def test_resource_rule_passes_and_fails(rule, resource_type, good, bad):
    assert rule(resource_type, good) == []
    violations = rule(resource_type, bad)
    assert violations and all(isinstance(v, str) for v in violations)


def test_resource_rules_ignore_other_types():
    for rule in rules.RESOURCE_RULES.values():
        assert rule("aws:s3/bucket:Bucket", {"internal": False, "encrypted": False}) == []


def network(retention=365, traffic="ALL", env_tags=PROD_TAGS):
    provider = {"region": "eu-central-1", "defaultTags": env_tags}
    return [
        PolicyView("aws:ec2/vpc:Vpc", {"id": "vpc-1"}, "urn:vpc", provider),
        PolicyView("aws:cloudwatch/logGroup:LogGroup", {"arn": "arn:lg", "retentionInDays": retention},
                   "urn:lg", provider),
        PolicyView("aws:ec2/flowLog:FlowLog", {"vpcId": "vpc-1", "trafficType": traffic,
                                               "logDestination": "arn:lg"}, "urn:fl", provider),
    ]


def test_ec2_6_flow_logs_pass_and_fail():
    assert rules.ec2_6_vpc_flow_logs(network()) == []
    assert [urn for _, urn in rules.ec2_6_vpc_flow_logs(network(traffic="REJECT"))] == ["urn:vpc"]
    assert [urn for _, urn in rules.ec2_6_vpc_flow_logs(network()[:2])] == ["urn:vpc"]
    assert [urn for _, urn in rules.ec2_6_vpc_flow_logs(network(retention=90))] == ["urn:lg"]
    dev = json.dumps({"tags": {"environment": "dev"}})
    assert rules.ec2_6_vpc_flow_logs(network(retention=30, env_tags=dev)) == []


def test_ec2_6_matches_by_property_dependencies():
    views = network()
    views[2] = PolicyView("aws:ec2/flowLog:FlowLog", {"trafficType": "ALL"}, "urn:fl", PROVIDER,
                          refs={"vpcId": ["urn:vpc"], "logDestination": ["urn:lg"]})
    assert rules.ec2_6_vpc_flow_logs(views) == []


def asg_stack(types=("g6e.12xlarge", "g6e.24xlarge"), zones=("eu-central-1a", "eu-central-1b"), tags=()):
    subnets = [PolicyView("aws:ec2/subnet:Subnet", {"id": f"subnet-{i}", "availabilityZone": z}, f"urn:s{i}",
                          PROVIDER) for i, z in enumerate(zones)]
    asg = PolicyView("aws:autoscaling/group:Group", {
        "vpcZoneIdentifiers": [s.props["id"] for s in subnets],
        "mixedInstancesPolicy": {"launchTemplate": {"overrides": [{"instanceType": t} for t in types]}},
        "tags": list(tags)}, "urn:asg", PROVIDER)
    return subnets + [asg]


def test_autoscaling_2_6_pass_and_fail():
    assert rules.autoscaling_2_6_multi_az_types(asg_stack()) == []
    one_zone = rules.autoscaling_2_6_multi_az_types(asg_stack(zones=("eu-central-1a", "eu-central-1a")))
    assert [m.split(":")[0] for m, _ in one_zone] == ["AutoScaling.2"]
    one_type = rules.autoscaling_2_6_multi_az_types(asg_stack(types=("p5.48xlarge",)))
    assert [m.split(":")[0] for m, _ in one_type] == ["AutoScaling.6"]
    waived = asg_stack(types=("p5.48xlarge",), tags=[{"key": rules.SINGLE_TYPE_REASON_TAG, "value": "only p5"}])
    assert rules.autoscaling_2_6_multi_az_types(waived) == []
    dev = [PolicyView(v.type, v.props, v.urn, {"defaultTags": json.dumps({"tags": {"environment": "dev"}})})
           for v in asg_stack(types=("g6e.12xlarge",), zones=("eu-central-1a",))]
    assert rules.autoscaling_2_6_multi_az_types(dev) == []


def test_allowed_regions_pass_and_fail():
    allowed = ("eu-central-1", "eu-north-1")
    good = [PolicyView("pulumi:providers:aws", PROVIDER, "urn:p"),
            PolicyView("aws:ec2/vpc:Vpc", {}, "urn:vpc", PROVIDER),
            PolicyView("aws:ec2/vpc:Vpc", {"region": "eu-north-1"}, "urn:vpc2", PROVIDER)]
    assert rules.allowed_regions(good, allowed) == []
    own = good + [PolicyView("aws:ec2/vpc:Vpc", {"region": "us-east-1"}, "urn:bad", PROVIDER)]
    assert [urn for _, urn in rules.allowed_regions(own, allowed)] == ["urn:bad"]
    us = {"region": "us-east-1"}
    via_provider = [PolicyView("pulumi:providers:aws", us, "urn:p2"),
                    PolicyView("aws:ec2/vpc:Vpc", {}, "urn:vpc", us)]
    assert [urn for _, urn in rules.allowed_regions(via_provider, allowed)] == ["urn:p2", "urn:vpc"]
    no_provider = [PolicyView("aws:ec2/vpc:Vpc", {}, "urn:vpc", None)]
    assert rules.allowed_regions(no_provider, allowed)
    assert rules.allowed_regions_from_tags(good) == allowed
    assert rules.allowed_regions(good, ())  # nothing configured is a violation, not a pass


def test_policy_pack_wraps_every_rule(monkeypatch):
    """Run stacks/policy/__main__.py with PolicyPack captured (not served) and call its policies."""
    import pulumi_policy

    captured = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kw: captured.update(kw))
    runpy.run_path(str(Path(rules.__file__).with_name("__main__.py")), run_name="__main__")
    policies = {p.name: p for p in captured["policies"]}
    assert set(rules.RESOURCE_RULES) < set(policies)
    assert {"EC2.6-vpc-flow-logs", "AutoScaling.2-AutoScaling.6-prod-spread", "allowed-regions"} < set(policies)

    reported = []
    args = pulumi_policy.ResourceValidationArgs(LT, good_lt(networkInterfaces=[{"associatePublicIpAddress": True}]),
                                                "urn:lt", "lt", pulumi_policy.PolicyResourceOptions(
                                                    False, [], False, [], pulumi_policy.PolicyCustomTimeouts(0, 0, 0),
                                                    []), None)
    policies["EC2.9-EC2.25-no-public-ip"].validate(args, lambda msg, urn=None: reported.append(msg))
    assert reported and reported[0].startswith("EC2.25")

    us = pulumi_policy.PolicyProviderResource("pulumi:providers:aws", {"region": "us-east-1"}, "urn:p", "p")
    resource = pulumi_policy.PolicyResource("aws:ec2/vpc:Vpc", {}, "urn:vpc", "vpc", None, us, None, [], {})
    stack_args = pulumi_policy.StackValidationArgs([resource], {"allowedRegions": ["eu-central-1"]})
    found = []
    policies["allowed-regions"].validate(stack_args, lambda msg, urn=None: found.append(urn))
    assert found == ["urn:vpc"]
