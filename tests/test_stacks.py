"""The real Pulumi program (stacks.program.run) for dev, staging and prod, under Pulumi's mocks.

Each stack runs once per module inside `pulumi.runtime.test` (stack_helpers.run_stack), which
waits for every registration and every export; the tests assert on the recorded resources and
their inputs, naming the resource URN in every failure message. Every test first checks that
the run recorded resources, so a run that returned early cannot pass.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections import Counter

import pulumi
import pytest

from stack_helpers import (FIXTURE_FLEETS, PROJECT, REPO_ROOT, STACKS, Recorded, StackRun, expected_fleet, run_stack,
                           stack_config)
from stacks.config import capacity_groups
from stacks.policy import rules

ASG = "aws:autoscaling/group:Group"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
RESERVED = ("reserved_1y", "reserved_3y")


@pytest.fixture(scope="module")
def runs() -> dict[str, StackRun]:
    out = {stack: run_stack(stack) for stack in STACKS}
    for stack, run in out.items():
        assert len(run.resources) > 30, f"{stack}: only {len(run.resources)} resources recorded"
    return out


def asgs(run: StackRun) -> list[Recorded]:
    found = run.of_type(ASG)
    assert found, f"{run.stack}: no Auto Scaling group recorded"
    return found


def user_data(lt: Recorded) -> str:
    return base64.b64decode(lt.inputs["userData"]).decode()


# ---- planner and stack agree ----------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_stack_fleet_matches_planner(runs, stack):
    """Instance types and counts equal the planner's fleet for the stack's workload and month."""
    run = runs[stack]
    fleet = expected_fleet(stack)
    lines = [line for line in fleet.fleet if line.region == run.config["aws:region"] and line.count > 0]
    groups = asgs(run)
    recorded_types = set()
    desired = base = 0
    for asg in groups:
        mip = asg.inputs["mixedInstancesPolicy"]
        recorded_types |= {o["instanceType"] for o in mip["launchTemplate"]["overrides"]}
        desired += int(asg.inputs["desiredCapacity"])
        base += int(mip["instancesDistribution"]["onDemandBaseCapacity"])
        assert asg.inputs["maxSize"] >= asg.inputs["desiredCapacity"] >= asg.inputs["minSize"] >= 1, asg
    planned_types = {line.instance_type for line in lines}
    assert planned_types <= recorded_types, f"{stack}: {[str(a) for a in groups]}"
    # anything beyond the planned types is one of the planner's equivalents (same GPUs, pricier)
    assert recorded_types - planned_types <= set(fleet.equivalent_instance_types), f"{stack}: {recorded_types}"
    assert desired == sum(line.count for line in lines), f"{stack}: desired {desired}"
    assert base == sum(line.count for line in lines if line.purchase in RESERVED), f"{stack}: base {base}"
    spot = sum(line.count for line in lines if line.purchase == "spot")
    for asg in groups:
        assert bool(asg.inputs.get("capacityRebalance")) == (spot > 0), f"{asg}: capacityRebalance"
    summary = run.outputs["fleet_summary"]
    assert summary["instances"] == desired and summary["month"] == fleet.month
    assert run.outputs["forecast_compute_usd_month"] == pytest.approx(fleet.compute_usd_month)


def test_prod_fixture_capacity_by_hand():
    """The prod fixture: 2 reserved g6e.12xlarge, 1 on-demand g6e.24xlarge, 2 spot g6e.12xlarge."""
    run = run_stack("prod", fleet=FIXTURE_FLEETS["prod"])
    (asg,) = asgs(run)
    dist = asg.inputs["mixedInstancesPolicy"]["instancesDistribution"]
    overrides = asg.inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"]
    # 2 + 1 + 2 = 5 instances; base = the 2 reserved; above base 1 on-demand of 3 -> floor(33.3) = 33 %,
    # which AWS rounds up to exactly 1 on-demand instance (0.33 * 3 = 0.99 -> 1).
    assert (asg.inputs["desiredCapacity"], asg.inputs["maxSize"]) == (5, 5), asg
    assert asg.inputs["minSize"] == 2, f"{asg}: only the 2 reserved instances run all 730 hours"
    assert dist["onDemandBaseCapacity"] == 2, asg
    assert dist["onDemandPercentageAboveBaseCapacity"] == 33, asg
    assert dist["spotAllocationStrategy"] == "price-capacity-optimized", asg
    assert dist["onDemandAllocationStrategy"] == "prioritized", asg
    assert [o["instanceType"] for o in overrides] == ["g6e.12xlarge", "g6e.24xlarge"], asg
    assert asg.inputs["capacityRebalance"] is True, asg
    # budget: 2*7.00*730 + 1*13.50*300 + 2*4.20*200 = 10220 + 4050 + 1680 = 15950.00 USD
    budget = run.one("aws:budgets/budget:Budget")
    assert budget.inputs["limitAmount"] == "15950.00", budget
    lt = run.one(LT)
    assert "--data-parallel-size 2" in user_data(lt), f"{lt}: 4 GPUs / tp 2 = 2 replicas per instance"


def test_dev_fixture_one_spot_replica():
    run = run_stack("dev", fleet=FIXTURE_FLEETS["dev"])
    (asg,) = asgs(run)
    dist = asg.inputs["mixedInstancesPolicy"]["instancesDistribution"]
    assert (asg.inputs["desiredCapacity"], dist["onDemandBaseCapacity"],
            dist["onDemandPercentageAboveBaseCapacity"]) == (1, 0, 0), asg
    assert "--data-parallel-size" not in user_data(run.one(LT)), "dev line serves one replica"
    assert run.one("aws:budgets/budget:Budget").inputs["limitAmount"] == "3066.00"  # 4.20 * 730


def test_capacity_groups_split_by_gpus_per_instance():
    from dataclasses import replace

    fleet = FIXTURE_FLEETS["prod"]
    odd = replace(fleet.fleet[1], instance_type="g6e.48xlarge", gpus_per_instance=8, replicas=4)
    groups = capacity_groups(replace(fleet, fleet=(fleet.fleet[0], odd, fleet.fleet[2])), "eu-north-1")
    assert [(g.gpus_per_instance, g.instance_types, g.desired_capacity, g.replicas_per_instance) for g in groups] == [
        (4, ("g6e.12xlarge",), 4, 2), (8, ("g6e.48xlarge",), 1, 4)]


# ---- region refusal -------------------------------------------------------------------------

@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_disallowed_region_refused_before_any_resource(region):
    recorded: list = []
    with pytest.raises(pulumi.RunError) as info:
        run_stack("prod", overrides={"aws:region": region}, recorded=recorded)
    message = str(info.value)
    assert "\n" not in message
    assert region in message and "eu-central-1, eu-north-1" in message, message
    assert recorded == [], f"registered before refusing: {[str(r) for r in recorded]}"


def test_allowed_region_is_accepted_then_checked_against_fleet():
    recorded: list = []
    with pytest.raises(pulumi.RunError, match="places the chat fleet .* in eu-north-1"):
        run_stack("prod", overrides={"aws:region": "eu-central-1"}, fleet=FIXTURE_FLEETS["prod"], recorded=recorded)
    assert recorded == []


# ---- network --------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_network_baseline(runs, stack):
    run = runs[stack]
    az = {"dev": 1, "staging": 2, "prod": 2}[stack]
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    private = [s for s in subnets if s.inputs["tags"]["tier"] == "private"]
    public = [s for s in subnets if s.inputs["tags"]["tier"] != "private"]
    nats = run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(private) == max(az, 2), [str(s) for s in private]
    assert len(nats) == len(public) == (1 if stack == "dev" else az), [str(n) for n in nats]
    for s in subnets:
        assert s.inputs.get("mapPublicIpOnLaunch") is False, f"{s}: public IP on launch"
    for asg in asgs(run):
        ids = asg.inputs["vpcZoneIdentifiers"]
        assert len(ids) == az and all(i.endswith("-id") and "private" in i for i in ids), f"{asg}: {ids}"
        zones = {s.inputs["availabilityZone"] for s in private if f"{s.name}-id" in ids}
        assert len(zones) == az, f"{asg}: zones {zones}"
    endpoints = run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    gateway = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Gateway"]
    assert [e.inputs["serviceName"] for e in gateway] == [f"com.amazonaws.{run.config['aws:region']}.s3"]
    assert len(gateway[0].inputs["routeTableIds"]) == len(private), f"{gateway[0]}: private route tables"
    interface = {e.inputs["serviceName"].rsplit(".", 1)[-1] for e in endpoints
                 if e.inputs["vpcEndpointType"] == "Interface"}
    assert interface == {"ssm", "ssmmessages", "ec2messages"}
    flow = run.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL" and flow.inputs["logDestinationType"] == "cloud-watch-logs", flow
    days = run.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"]
    assert days >= (365 if stack == "prod" else 1), f"{stack}: flow logs kept {days} days"
    default_sg = run.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default_sg.inputs.get("ingress") and not default_sg.inputs.get("egress"), default_sg


# ---- fleet ----------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_launch_template_baseline(runs, stack):
    run = runs[stack]
    fleet = expected_fleet(stack)
    ami_calls = [args for token, args in run.calls if token == "aws:ec2/getAmi:getAmi"]
    assert ami_calls and "Deep Learning" in ami_calls[0]["filters"][0]["values"][0], run.calls
    for lt in run.of_type(LT):
        meta = lt.inputs["metadataOptions"]
        assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1, lt
        assert lt.inputs["imageId"] == "ami-0d1a2b3c4d5e6f700", f"{lt}: AMI not from the deploy-time lookup"
        assert "keyName" not in lt.inputs, f"{lt}: SSH key"
        for m in lt.inputs["blockDeviceMappings"]:
            assert m["ebs"]["volumeType"] == "gp3" and m["ebs"]["encrypted"] == "true", lt
        for nic in lt.inputs["networkInterfaces"]:
            assert nic["associatePublicIpAddress"] == "false", lt
        script = user_data(lt)
        for fragment in ("vllm/vllm-openai", f"--served-model-name {fleet.hf_model_id}",
                         f"--tensor-parallel-size {fleet.tp}", f"--max-model-len {fleet.max_model_len}",
                         f"aws s3 sync {run.config['llm-capacity-planner:weightsUri']}", "--network host"):
            assert fragment in script, f"{lt}: user data lacks {fragment!r}"
        precision_flag = {"fp16": "--dtype float16", "bf16": "--dtype bfloat16", "fp8": "--quantization fp8",
                          "int4": ""}[fleet.precision]
        assert precision_flag in script, f"{lt}: precision {fleet.precision}"
        if fleet.kv_precision == "fp8":
            assert "--kv-cache-dtype fp8" in script, f"{lt}: the KV cache the throughput model assumed"


@pytest.mark.parametrize("stack", STACKS)
def test_autoscaling_baseline(runs, stack):
    run = runs[stack]
    tg = run.one("aws:lb/targetGroup:TargetGroup")
    for asg in asgs(run):
        assert asg.inputs["healthCheckType"] == "ELB", asg
        assert asg.inputs["waitForCapacityTimeout"] not in (None, "", "0"), asg
        assert asg.inputs["instanceRefresh"]["strategy"] == "Rolling", asg
        assert asg.inputs["targetGroupArns"] == [tg.outputs["arn"]], asg
        assert asg.inputs["mixedInstancesPolicy"]["instancesDistribution"]["spotAllocationStrategy"] \
            == "price-capacity-optimized", asg
        tags = {t["key"]: t for t in asg.inputs["tags"]}
        for key in ("plan", "workload", "environment", "forecast-month"):
            assert tags[key]["propagateAtLaunch"] is True, f"{asg}: tag {key}"
        assert tags["environment"]["value"] == stack and tags["forecast-month"]["value"] == expected_fleet(stack).month


@pytest.mark.parametrize("stack", STACKS)
def test_autoscaling_tracks_requests_at_the_planners_replica_throughput(runs, stack):
    """Peaks are paid only while they run: a target-tracking policy scales between the always-on
    floor and the planned peak at the planner's per-replica requests/s, less the headroom."""
    run = runs[stack]
    fleet = expected_fleet(stack)
    policies = [r for r in run.resources if r.type == "aws:autoscaling/policy:Policy"]
    scaling = [a for a in asgs(run) if a.inputs["maxSize"] > a.inputs["minSize"]]
    assert len(policies) == len(scaling), [str(p) for p in policies]
    for policy in policies:
        ttc = policy.inputs["targetTrackingConfiguration"]
        assert ttc["predefinedMetricSpecification"]["predefinedMetricType"] == "ALBRequestCountPerTarget", policy
        per_instance = fleet.fleet[0].replicas // fleet.fleet[0].count
        expected = round(fleet.replica_requests_per_s * per_instance * 60 / (1 + fleet.headroom), 2)
        assert ttc["targetValue"] == pytest.approx(expected), policy
        assert expected > 0


@pytest.mark.parametrize("stack", STACKS)
def test_iam_least_privilege(runs, stack):
    run = runs[stack]
    for policy in run.of_type("aws:iam/rolePolicy:RolePolicy"):
        doc = json.loads(policy.inputs["policy"])
        for st in doc["Statement"]:
            assert all("*" not in a for a in st["Action"]), f"{policy}: {st['Action']}"
    weights = [p for p in run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("weights-read")]
    (weights,) = weights
    bucket, prefix = run.config["llm-capacity-planner:weightsUri"][5:].split("/", 1)
    resources = {r for st in json.loads(weights.inputs["policy"])["Statement"] for r in st["Resource"]}
    assert resources == {f"arn:aws:s3:::{bucket}/{prefix}/*", f"arn:aws:s3:::{bucket}"}, weights
    attachments = [a.inputs["policyArn"] for a in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")]
    assert attachments == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]


# ---- endpoint -------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_endpoint_baseline(runs, stack):
    run = runs[stack]
    lb = run.one("aws:lb/loadBalancer:LoadBalancer")
    assert lb.inputs["internal"] is True and len(lb.inputs["subnets"]) >= 2, lb
    tg = run.one("aws:lb/targetGroup:TargetGroup")
    assert tg.inputs["healthCheck"]["path"] == "/health" and tg.inputs["deregistrationDelay"] <= 90, tg
    sgs = {s.name: s for s in run.of_type("aws:ec2/securityGroup:SecurityGroup")}
    fleet_sg = next(s for n, s in sgs.items() if n.endswith("fleet-sg"))
    lb_sg = next(s for n, s in sgs.items() if n.endswith("lb-sg"))
    ingress = run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    to_fleet = [r for r in ingress if r.inputs["securityGroupId"] == fleet_sg.outputs["id"]]
    assert to_fleet and all(r.inputs.get("referencedSecurityGroupId") == lb_sg.outputs["id"]
                            and "cidrIpv4" not in r.inputs for r in to_fleet), [str(r) for r in to_fleet]
    for r in ingress:
        assert r.inputs.get("cidrIpv4") not in ("0.0.0.0/0",) and r.inputs.get("cidrIpv6") != "::/0", r
        if "cidrIpv4" in r.inputs:
            assert ipaddress.ip_network(r.inputs["cidrIpv4"]).prefixlen >= 8, r
    assert run.outputs["endpoint_address"].startswith("http://internal-"), run.outputs


# ---- cost guard, tags, exports --------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_costguard(runs, stack):
    run = runs[stack]
    fleet = expected_fleet(stack)
    budget = run.one("aws:budgets/budget:Budget")
    assert budget.inputs["limitAmount"] == f"{fleet.compute_usd_month:.2f}", budget
    assert budget.inputs["timeUnit"] == "MONTHLY" and budget.inputs["limitUnit"] == "USD", budget
    pairs = Counter((n["notificationType"], n["threshold"]) for n in budget.inputs["notifications"])
    assert pairs == Counter({("FORECASTED", 80): 1, ("FORECASTED", 100): 1, ("ACTUAL", 80): 1,
                             ("ACTUAL", 100): 1}), budget
    alarms = {a.inputs["metricName"]: a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {"UnHealthyHostCount", "HealthyHostCount"}
    for alarm in alarms.values():
        assert alarm.inputs["alarmActions"], f"{alarm}: no action"


@pytest.mark.parametrize("stack", STACKS)
def test_everything_tagged_through_one_provider(runs, stack):
    run = runs[stack]
    (provider,) = run.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == run.config["aws:region"]
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    fleet = expected_fleet(stack)
    assert {k: tags[k] for k in ("plan", "workload", "environment", "forecast-month")} == {
        "plan": fleet.plan_name, "workload": "chat", "environment": stack, "forecast-month": fleet.month}
    for r in run.resources:
        if r.custom and r.type.startswith("aws:"):
            assert run.provider_of(r) is provider, f"{r}: not created with the stack's provider"


# ---- the policy pack ------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_policy_pack_finds_no_violation(runs, stack):
    run = runs[stack]
    views = run.policy_views()
    assert len(views) > 30
    assert rules.check_stack(views, run.fleet.allowed_regions) == []
    assert rules.check_stack(views) == [], "the provider's allowed-regions tag fallback"


def test_policy_pack_catches_a_broken_stack(runs):
    """The same check over prod with one resource broken finds exactly that resource."""
    from dataclasses import replace

    views = runs["prod"].policy_views()
    lb = next(v for v in views if v.type == "aws:lb/loadBalancer:LoadBalancer")
    broken = [replace(v, props={**v.props, "internal": False}) if v is lb else v for v in views]
    assert [urn for _, urn in rules.check_stack(broken, ("eu-north-1",))] == [lb.urn]


def test_prod_equals_planner_size(runs):
    """`planner size` and the prod stack agree: the instance types and counts of the month's fleet."""
    from planner import service

    config = stack_config("prod")
    month = config.get(f"{PROJECT}:month") or None
    sized = service.size(REPO_ROOT / config[f"{PROJECT}:plan"], month)
    (m,) = sized["months"] if month else sized["months"][:1]
    (w,) = [w for w in m["workloads"] if w["name"] == config[f"{PROJECT}:workload"]]
    assert {line["region"] for line in w["fleet"]} == {config["aws:region"]}, "prod runs where the planner sized it"
    run = runs["prod"]
    groups = asgs(run)
    planned_types = {line["instance_type"] for line in w["fleet"]}
    recorded_first_types = {g.inputs["mixedInstancesPolicy"]["launchTemplate"]["overrides"][0]["instanceType"]
                            for g in groups}
    assert recorded_first_types == planned_types
    assert sum(int(g.inputs["desiredCapacity"]) for g in groups) == sum(line["count"] for line in w["fleet"])
    reserved = sum(line["count"] for line in w["fleet"] if line["purchase"].startswith("reserved"))
    assert sum(int(g.inputs["mixedInstancesPolicy"]["instancesDistribution"]["onDemandBaseCapacity"])
               for g in groups) == reserved
