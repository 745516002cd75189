"""The real Pulumi program (stacks.program.run) for dev, staging and prod, under Pulumi's mocks.

Each stack runs once per module inside `pulumi.runtime.test` (stack_helpers.run_stack), which
waits for every registration and every export; the tests assert on the recorded resources and
their inputs, naming the resource URN in every failure message. Every test first checks that
the run recorded resources, so a run that returned early cannot pass.

What `pulumi up` creates is what the forecast costed: the stacks map the planner's resolved spec
(`planner.provision.FleetSpec`) field by field; `test_peaky_prod_*` check it against the forecast
itself, hour by hour.
"""

from __future__ import annotations

import base64
import ipaddress
import json
from collections import Counter

import pulumi
import pytest

from stack_helpers import (FIXTURE_SPECS, PROJECT, REPO_ROOT, STACKS, Recorded, StackRun, expected_spec, run_stack,
                           stack_config)
from stacks.policy import rules

ASG = "aws:autoscaling/group:Group"
SCHEDULE = "aws:autoscaling/schedule:Schedule"
POLICY = "aws:autoscaling/policy:Policy"
LT = "aws:ec2/launchTemplate:LaunchTemplate"
PEAKY = "tests/fixtures/peaky-prod.yaml"
DAYS_PER_MONTH = 730 / 24


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


def hourly_sizes(run: StackRun, asg: Recorded) -> list[int]:
    """The group's desired size in each hour of the day (UTC), replaying its recorded scheduled actions."""
    actions = {int(s.inputs["recurrence"].split()[1]): s for s in run.of_type(SCHEDULE)
               if s.inputs["autoscalingGroupName"] == asg.outputs["name"]}
    if not actions:
        return [int(asg.inputs["desiredCapacity"])] * 24
    for s in actions.values():
        assert s.inputs["timeZone"] == "Etc/UTC" and s.inputs["recurrence"].startswith("0 "), s
    size, out = None, []
    for h in list(range(24)) * 2:  # the day wraps: the last action of a day holds until the first
        if h in actions:
            size = int(actions[h].inputs["desiredCapacity"])
        out.append(size)
    return out[24:]


# ---- planner and stack agree ----------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_stack_groups_map_the_spec_field_by_field(runs, stack):
    run = runs[stack]
    spec = run.spec
    groups = asgs(run)
    assert len(groups) == len(spec.groups), [str(a) for a in groups]
    for asg, group in zip(groups, spec.groups):
        mip = asg.inputs["mixedInstancesPolicy"]
        dist = mip["instancesDistribution"]
        assert [o["instanceType"] for o in mip["launchTemplate"]["overrides"]] == group.instance_types, asg
        assert (asg.inputs["minSize"], asg.inputs["desiredCapacity"], asg.inputs["maxSize"]) == \
            (group.min_size, group.desired_capacity, group.max_size), asg
        assert dist["onDemandBaseCapacity"] == group.on_demand_base_capacity, asg
        assert dist["onDemandPercentageAboveBaseCapacity"] == group.on_demand_percentage_above_base_capacity, asg
        assert bool(asg.inputs.get("capacityRebalance")) == (group.capacity_type == "spot"), asg
        assert hourly_sizes(run, asg) == group.instances_by_hour_utc, asg
    summary = run.outputs["fleet_summary"]
    assert summary["instances"] == spec.peak_instances and summary["month"] == spec.month
    assert run.outputs["budget_usd_month"] == pytest.approx(spec.budget_usd_month)


def test_prod_fixture_by_hand():
    """Prod: 2 reserved + 1 on-demand 08-18 UTC in one group, 2 spot 10-16 UTC in another."""
    run = run_stack("prod", spec=FIXTURE_SPECS["prod"])
    od, spot = asgs(run)
    assert od.name == "chat-prod-fleet-asg" and spot.name == "chat-prod-fleet-spot-asg"
    d_od = od.inputs["mixedInstancesPolicy"]["instancesDistribution"]
    d_spot = spot.inputs["mixedInstancesPolicy"]["instancesDistribution"]
    # the floor (2 reserved instances) runs as on-demand capacity all day; the peak hour adds one
    assert (od.inputs["minSize"], od.inputs["desiredCapacity"], od.inputs["maxSize"]) == (2, 3, 3), od
    assert (d_od["onDemandBaseCapacity"], d_od["onDemandPercentageAboveBaseCapacity"]) == (2, 100), od
    assert (spot.inputs["minSize"], spot.inputs["maxSize"]) == (0, 2), spot
    assert (d_spot["onDemandBaseCapacity"], d_spot["onDemandPercentageAboveBaseCapacity"]) == (0, 0), spot
    assert d_spot["spotAllocationStrategy"] == "price-capacity-optimized", spot
    schedules = {s.name: (s.inputs["recurrence"], s.inputs["minSize"], s.inputs["desiredCapacity"], s.inputs["maxSize"])
                 for s in run.of_type(SCHEDULE)}
    assert schedules == {
        "chat-prod-fleet-at-08utc": ("0 8 * * *", 3, 3, 3), "chat-prod-fleet-at-18utc": ("0 18 * * *", 2, 2, 3),
        "chat-prod-fleet-spot-at-10utc": ("0 10 * * *", 2, 2, 2), "chat-prod-fleet-spot-at-16utc": ("0 16 * * *", 0, 0, 2),
    }
    # budget = compute + platform: 2 × 7.00 × 730 + 1 × 13.50 × 10 h × 30.4167 d + 2 × 4.20 × 6 h × 30.4167 d + 250
    #        = 10,220 + 4,106.25 + 1,533 + 250 = 16,109.25 USD
    assert run.one("aws:budgets/budget:Budget").inputs["limitAmount"] == "16109.25"
    lt = run.one(LT)
    ebs = lt.inputs["blockDeviceMappings"][0]["ebs"]
    assert (ebs["volumeSize"], ebs["iops"], ebs["throughput"]) == (232, 6000, 1000), lt
    assert "--data-parallel-size 2" in user_data(lt), f"{lt}: 4 GPUs / tp 2 = 2 replicas per instance"
    # target tracking on both groups (their sizes change during the day), at the spec's value
    assert sorted(p.inputs["targetTrackingConfiguration"]["targetValue"] for p in run.of_type(POLICY)) == [60.0, 60.0]


def test_dev_fixture_one_spot_replica():
    run = run_stack("dev", spec=FIXTURE_SPECS["dev"])
    (asg,) = asgs(run)
    dist = asg.inputs["mixedInstancesPolicy"]["instancesDistribution"]
    assert (asg.inputs["desiredCapacity"], dist["onDemandBaseCapacity"],
            dist["onDemandPercentageAboveBaseCapacity"]) == (1, 0, 0), asg
    assert run.of_type(SCHEDULE) == [] and run.of_type(POLICY) == [], "a flat fleet has no schedule"
    assert run.one("aws:budgets/budget:Budget").inputs["limitAmount"] == "3166.00"  # 4.20 × 730 + 100


# ---- the peaky prod plan, against the forecast itself ----------------------------------------

@pytest.fixture(scope="module")
def peaky():
    from planner import service
    from planner.plan import load

    overrides = {"aws:region": "us-east-1", f"{PROJECT}:plan": PEAKY, f"{PROJECT}:workload": "chat",
                 f"{PROJECT}:weightsUri": "s3://llm-weights-us-east-1/models/chat"}
    run = run_stack("prod", overrides=overrides)
    forecast = service.build_forecast(load(REPO_ROOT / PEAKY))
    return run, forecast


def test_peaky_prod_never_below_the_redundancy_floor(peaky):
    run, forecast = peaky
    groups = {a.name: a for a in asgs(run)}
    od = groups["chat-prod-fleet-asg"]
    assert od.inputs["minSize"] >= 2, f"{od}: min_replicas 2 over two zones"
    for s in run.of_type(SCHEDULE):
        if s.inputs["autoscalingGroupName"] == od.outputs["name"]:
            assert s.inputs["minSize"] >= 2, f"{s}: a scheduled action below the floor"
    assert min(hourly_sizes(run, od)) >= 2
    assert len(od.inputs["vpcZoneIdentifiers"]) == 2, od


def test_peaky_prod_schedule_follows_the_day_the_forecast_costed(peaky):
    run, forecast = peaky
    month = forecast.months[0]
    (wm,) = month.workloads
    groups = {a.name: a for a in asgs(run)}
    assert set(groups) == {"chat-prod-fleet-asg", "chat-prod-fleet-spot-asg"}, "on-demand and spot groups"
    od, spot = hourly_sizes(run, groups["chat-prod-fleet-asg"]), hourly_sizes(run, groups["chat-prod-fleet-spot-asg"])
    assert len(set(od)) > 1 and len(set(spot)) > 1, "part-day instances are scheduled"
    # instance-hours the schedule runs in the month = what the forecast billed, per capacity type
    billed = Counter()
    for line in wm.fleet:
        billed["spot" if line.purchase == "spot" else "on_demand"] += line.count * line.hours
    assert sum(od) * DAYS_PER_MONTH == pytest.approx(billed["on_demand"])
    assert sum(spot) * DAYS_PER_MONTH == pytest.approx(billed["spot"])
    # the busiest hour runs the instances the forecast counts at the peak
    assert max(o + s for o, s in zip(od, spot)) == wm.instances


def test_peaky_prod_disk_and_budget_are_the_forecasts(peaky):
    run, forecast = peaky
    (wm,) = forecast.months[0].workloads
    ebs = run.one(LT).inputs["blockDeviceMappings"][0]["ebs"]
    assert ebs["volumeSize"] == wm.storage_gib_per_instance
    budget = run.one("aws:budgets/budget:Budget").inputs["limitAmount"]
    assert float(budget) == pytest.approx(wm.self_hosted_compute_usd + wm.platform_usd.total, abs=0.005)


def test_peaky_prod_creates_what_the_platform_cost_counts(peaky):
    """Every billed network item the forecast counts is a resource of the stack, and the other way round."""
    run, forecast = peaky
    spec = run.spec
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == spec.network.nat_gateways == 2
    assert len(run.of_type("aws:ec2/eip:Eip")) == spec.network.nat_gateways
    interface = [e for e in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint") if e.inputs["vpcEndpointType"] == "Interface"]
    placements = sum(len(e.inputs["subnetIds"]) for e in interface)
    assert placements == len(spec.network.interface_endpoints) * spec.network.private_subnets
    alarms = run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert len(alarms) == spec.network.health_alarms
    # target tracking creates two alarms per policy: the forecast counts them too
    (wm,) = forecast.months[0].workloads
    policies = len(run.of_type(POLICY))
    assert wm.platform_usd.alarms == pytest.approx((len(alarms) + 2 * policies) * 0.10)
    assert run.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == spec.network.flow_log_retention_days


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


def test_allowed_region_is_accepted_then_checked_against_the_spec():
    recorded: list = []
    with pytest.raises(pulumi.RunError, match="places the chat fleet .* in eu-north-1"):
        run_stack("prod", overrides={"aws:region": "eu-central-1"}, spec=FIXTURE_SPECS["prod"], recorded=recorded)
    assert recorded == []


@pytest.mark.parametrize("key", ["availabilityZones", "natPerAz", "flowLogRetentionDays"])
def test_network_shape_keys_belong_to_the_plan(key):
    recorded: list = []
    with pytest.raises(pulumi.RunError, match=f"{key}: decided by the plan"):
        run_stack("prod", overrides={f"{PROJECT}:{key}": "3"}, recorded=recorded)
    assert recorded == []


# ---- network --------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_network_baseline(runs, stack):
    run = runs[stack]
    shape = run.spec.network
    subnets = run.of_type("aws:ec2/subnet:Subnet")
    private = [s for s in subnets if s.inputs["tags"]["tier"] == "private"]
    public = [s for s in subnets if s.inputs["tags"]["tier"] != "private"]
    nats = run.of_type("aws:ec2/natGateway:NatGateway")
    assert len(private) == shape.private_subnets == max(shape.fleet_zones, 2), [str(s) for s in private]
    assert len(nats) == len(public) == shape.nat_gateways == (1 if stack == "dev" else 2), [str(n) for n in nats]
    for s in subnets:
        assert s.inputs.get("mapPublicIpOnLaunch") is False, f"{s}: public IP on launch"
    for asg in asgs(run):
        ids = asg.inputs["vpcZoneIdentifiers"]
        assert len(ids) == shape.fleet_zones and all(i.endswith("-id") and "private" in i for i in ids), f"{asg}: {ids}"
        zones = {s.inputs["availabilityZone"] for s in private if f"{s.name}-id" in ids}
        assert len(zones) == shape.fleet_zones, f"{asg}: zones {zones}"
    endpoints = run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    gateway = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Gateway"]
    assert [e.inputs["serviceName"] for e in gateway] == [f"com.amazonaws.{run.config['aws:region']}.s3"]
    assert len(gateway[0].inputs["routeTableIds"]) == len(private), f"{gateway[0]}: private route tables"
    interface = {e.inputs["serviceName"].rsplit(".", 1)[-1] for e in endpoints
                 if e.inputs["vpcEndpointType"] == "Interface"}
    assert interface == set(shape.interface_endpoints) == {"ssm", "ssmmessages", "ec2messages"}
    flow = run.one("aws:ec2/flowLog:FlowLog")
    assert flow.inputs["trafficType"] == "ALL" and flow.inputs["logDestinationType"] == "cloud-watch-logs", flow
    days = run.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"]
    assert days == shape.flow_log_retention_days >= (365 if stack == "prod" else 1), f"{stack}: flow logs kept {days} days"
    default_sg = run.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert not default_sg.inputs.get("ingress") and not default_sg.inputs.get("egress"), default_sg


# ---- fleet ----------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_launch_template_baseline(runs, stack):
    run = runs[stack]
    spec = run.spec
    server = spec.server
    ami_calls = [args for token, args in run.calls if token == "aws:ec2/getAmi:getAmi"]
    assert ami_calls and "Deep Learning" in ami_calls[0]["filters"][0]["values"][0], run.calls
    (lt,) = run.of_type(LT)
    meta = lt.inputs["metadataOptions"]
    assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1, lt
    assert lt.inputs["imageId"] == "ami-0d1a2b3c4d5e6f700", f"{lt}: AMI not from the deploy-time lookup"
    assert "keyName" not in lt.inputs, f"{lt}: SSH key"
    (m,) = lt.inputs["blockDeviceMappings"]
    assert m["ebs"]["volumeType"] == "gp3" and m["ebs"]["encrypted"] == "true", lt
    assert (m["ebs"]["volumeSize"], m["ebs"]["iops"], m["ebs"]["throughput"]) == (
        spec.root_volume.gib, spec.root_volume.iops, spec.root_volume.throughput_mibps), lt
    for nic in lt.inputs["networkInterfaces"]:
        assert nic["associatePublicIpAddress"] == "false", lt
    script = user_data(lt)
    for fragment in ("vllm/vllm-openai", f"--served-model-name {server.hf_model_id}",
                     f"--tensor-parallel-size {server.tp}", f"--max-model-len {server.max_model_len}",
                     f"aws s3 sync {run.config['llm-capacity-planner:weightsUri']}", "--network host"):
        assert fragment in script, f"{lt}: user data lacks {fragment!r}"
    precision_flag = {"fp16": "--dtype float16", "bf16": "--dtype bfloat16", "fp8": "--quantization fp8",
                      "int4": ""}[server.precision]
    assert precision_flag in script, f"{lt}: precision {server.precision}"
    if server.kv_precision == "fp8":
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
        assert tags["environment"]["value"] == stack and tags["forecast-month"]["value"] == run.spec.month


@pytest.mark.parametrize("stack", [*STACKS, "peaky"])
def test_autoscaling_tracks_requests_at_the_planners_replica_throughput(runs, peaky, stack):
    """Target tracking only on groups whose size changes during the day, at the planner's
    per-replica requests/s times replicas per instance, less the headroom."""
    run = peaky[0] if stack == "peaky" else runs[stack]
    spec = run.spec
    policies = run.of_type(POLICY)
    assert len(policies) == sum(1 for g in spec.groups if g.target_requests_per_instance_per_minute is not None)
    if stack == "peaky":
        assert len(policies) == 2
    for policy in policies:
        ttc = policy.inputs["targetTrackingConfiguration"]
        assert ttc["predefinedMetricSpecification"]["predefinedMetricType"] == "ALBRequestCountPerTarget", policy
        per_instance = spec.groups[0].replicas_per_instance
        expected = round(spec.replica_requests_per_s * per_instance * 60 / (1 + spec.headroom), 2)
        assert ttc["targetValue"] == pytest.approx(expected) and expected > 0, policy


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
    assert bool(lb.inputs.get("enableDeletionProtection")) == run.spec.network.deletion_protection, lb
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
    spec = run.spec
    budget = run.one("aws:budgets/budget:Budget")
    assert budget.inputs["limitAmount"] == f"{spec.budget_usd_month:.2f}", budget
    assert spec.budget_usd_month == pytest.approx(spec.compute_usd_month + spec.platform_usd.total)
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
    assert {k: tags[k] for k in ("plan", "workload", "environment", "forecast-month")} == {
        "plan": run.spec.plan_name, "workload": "chat", "environment": stack, "forecast-month": run.spec.month}
    for r in run.resources:
        if r.custom and r.type.startswith("aws:"):
            assert run.provider_of(r) is provider, f"{r}: not created with the stack's provider"


# ---- the policy pack ------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_policy_pack_finds_no_violation(runs, stack):
    run = runs[stack]
    views = run.policy_views()
    assert len(views) > 30
    assert rules.check_stack(views, run.spec.allowed_regions) == []
    assert rules.check_stack(views) == [], "the provider's allowed-regions tag fallback"


def test_policy_pack_finds_no_violation_in_the_peaky_stack(peaky):
    run = peaky[0]
    assert rules.check_stack(run.policy_views(), run.spec.allowed_regions) == []


def test_policy_pack_catches_a_broken_stack(runs):
    """The same check over prod with one resource broken finds exactly that resource."""
    from dataclasses import replace

    views = runs["prod"].policy_views()
    lb = next(v for v in views if v.type == "aws:lb/loadBalancer:LoadBalancer")
    broken = [replace(v, props={**v.props, "internal": False}) if v is lb else v for v in views]
    assert [urn for _, urn in rules.check_stack(broken, ("eu-north-1",))] == [lb.urn]


def test_prod_equals_planner_size(runs, capsys):
    """`planner size --environment prod --json` prints exactly the spec the prod stack maps."""
    from planner.cli import run as cli

    config = stack_config("prod")
    args = ["size", str(REPO_ROOT / config[f"{PROJECT}:plan"]), "--environment", "prod", "--json",
            "--workload", config[f"{PROJECT}:workload"], "--region", config["aws:region"]]
    if config.get(f"{PROJECT}:month"):
        args += ["--month", config[f"{PROJECT}:month"]]
    assert cli(args) == 0
    printed = json.loads(capsys.readouterr().out)
    spec = runs["prod"].spec
    assert printed == json.loads(spec.model_dump_json()) | {"plan_file": printed["plan_file"]}
    groups = asgs(runs["prod"])
    assert [g.inputs["maxSize"] for g in groups] == [g["max_size"] for g in printed["groups"]]
    assert runs["prod"].one("aws:budgets/budget:Budget").inputs["limitAmount"] == f"{printed['budget_usd_month']:.2f}"
