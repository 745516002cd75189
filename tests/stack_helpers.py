"""Run the real Pulumi program (stacks.program.run) under Pulumi's unit-test mocks.

`run_stack("prod")` reads Pulumi.prod.yaml from the repository root, sets the mocks and the
config, runs the program inside `pulumi.runtime.test` (which waits for every registration and
output), and returns what the mocks recorded: every resource's type, name, URN, inputs and
provider, plus the resolved stack exports.

The fleet: `USE_REAL_PLANNER` switches between the planner's real spec (`planner.provision.load_spec`
on the plan named in the stack file) and the hand-made `FIXTURE_SPECS` below.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from planner.fleet.model import FleetLine
from planner.forecast.model import PlatformUsd
from planner.provision import FleetSpec, GroupSpec, NetworkSpec, RootVolumeSpec, ScheduledAction, ServerSpec, schedule
from pricing.terms import Purchase

REPO_ROOT = Path(__file__).resolve().parents[1]
PROJECT = "llm-capacity-planner"
STACKS = ("dev", "staging", "prod")

# ---- the one-line switch ---------------------------------------------------------------
# True: the program calls planner.provision.load_spec on the plan in Pulumi.<stack>.yaml
# (examples/eu-chat-assistant.yaml, workload chat) with the stack's region.
# False: the program gets FIXTURE_SPECS instead (for working on the stacks without the planner).
# The hand-checked tests (test_prod_fixture_by_hand, ...) always use the fixtures.
USE_REAL_PLANNER = True
# -----------------------------------------------------------------------------------------

ALLOWED = ("eu-central-1", "eu-north-1")
ZERO_PLATFORM = PlatformUsd(nat_gateways=0, nat_data_processed=0, public_ipv4=0, load_balancer=0,
                            interface_endpoints=0, flow_logs=0, alarms=0, ebs=0, data_transfer_out=0)


def _line(purchase: str, count: int, usd_per_hour: float, hours: float) -> FleetLine:
    return FleetLine(region="eu-north-1", instance_type="g6e.12xlarge", gpu="L40S", gpus_per_instance=4,
                     tp=2, replicas=2 * count, count=count, purchase=purchase, usd_per_hour=usd_per_hour,
                     hours=hours, usd=count * usd_per_hour * hours)


def _group(role: str, counts: list[int], reserved: int, lines: list[FleetLine], target: float | None) -> GroupSpec:
    peak = max(counts)
    return GroupSpec(role=role, capacity_type=Purchase.SPOT if role == "spot" else Purchase.ON_DEMAND,
                     instance_types=["g6e.12xlarge", "g6e.24xlarge"], gpus_per_instance=4, replicas_per_instance=2,
                     min_size=min(counts), desired_capacity=peak, max_size=peak,
                     on_demand_base_capacity=reserved if role != "spot" else 0,
                     on_demand_percentage_above_base_capacity=0 if role == "spot" else 100,
                     reserved_instances=reserved, instances_by_hour_utc=counts, scheduled_actions=schedule(counts, peak),
                     target_requests_per_instance_per_minute=target,
                     instance_hours=sum(x.count * x.hours for x in lines), compute_usd=sum(x.usd for x in lines),
                     lines=lines)


def _spec(environment: str, groups: list[GroupSpec], zones: int, nats: int, retention: int,
          platform_usd: float) -> FleetSpec:
    compute = sum(g.compute_usd for g in groups)
    platform = ZERO_PLATFORM.model_copy(update={"nat_gateways": platform_usd})
    return FleetSpec(
        plan_name="eu-chat-assistant", plan_file="examples/eu-chat-assistant.yaml", workload="chat",
        month="2027-01", environment=environment, region="eu-north-1", allowed_regions=list(ALLOWED),
        server=ServerSpec(engine="vllm", model="llama-3.1-70b", hf_model_id="meta-llama/Llama-3.1-70B-Instruct",
                          precision="fp8", kv_precision="fp8", tp=2, data_parallel=2, max_model_len=16384,
                          max_num_seqs=64, max_num_batched_tokens=2048),
        replica_requests_per_s=1.5, headroom=0.2, redundancy_floor=2 if environment == "prod" else 0,
        groups=groups,
        network=NetworkSpec(fleet_zones=zones, private_subnets=max(zones, 2), nat_gateways=nats,
                            interface_endpoints=["ssm", "ssmmessages", "ec2messages"],
                            flow_log_retention_days=retention, deletion_protection=environment == "prod",
                            health_alarms=2),
        root_volume=RootVolumeSpec(gib=232, iops=6000, throughput_mibps=1000),
        compute_usd_month=compute, platform_usd=platform, budget_usd_month=compute + platform.total, notes=[])


# Hand-made specs (prices invented, arithmetic written out in the tests).
_PROD_OD = [2] * 8 + [3] * 10 + [2] * 6  # 2 reserved all day + 1 on-demand 08:00-18:00 UTC
_PROD_SPOT = [0] * 10 + [2] * 6 + [0] * 8  # 2 spot 10:00-16:00 UTC
FIXTURE_SPECS: dict[str, FleetSpec] = {
    "prod": _spec("prod", [
        _group("on-demand", _PROD_OD, 2, [_line("reserved_1y", 2, 7.00, 730), _line("on_demand", 1, 13.50, 10 * 730 / 24)],
               target=60.0),
        _group("spot", _PROD_SPOT, 0, [_line("spot", 2, 4.20, 6 * 730 / 24)], target=60.0),
    ], zones=2, nats=2, retention=365, platform_usd=250.0),
    "staging": _spec("staging", [_group("spot", [2] * 24, 0, [_line("spot", 2, 5.00, 730)], target=None)],
                     zones=2, nats=2, retention=90, platform_usd=200.0),
    "dev": _spec("dev", [_group("spot", [1] * 24, 0, [_line("spot", 1, 4.20, 730)], target=None)],
                 zones=1, nats=1, retention=30, platform_usd=100.0),
}


def stack_config(stack: str) -> dict[str, Any]:
    """The stack's config as written in Pulumi.<stack>.yaml (values as YAML parsed them)."""
    data = yaml.safe_load((REPO_ROOT / f"Pulumi.{stack}.yaml").read_text()) or {}
    return dict(data.get("config") or {})


def _as_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    # Pulumi hands every config value to the program as a string; objects as JSON.
    out = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str) else json.dumps(value)
    return out


def expected_spec(stack: str, config: dict[str, Any] | None = None) -> FleetSpec:
    """The spec the planner gives this stack: what the recorded resources must match."""
    if not USE_REAL_PLANNER:
        return FIXTURE_SPECS[stack]
    from planner.provision import load_spec

    config = config or stack_config(stack)
    return load_spec(str(REPO_ROOT / config[f"{PROJECT}:plan"]), config[f"{PROJECT}:workload"],
                     config.get(f"{PROJECT}:month") or None, config.get(f"{PROJECT}:environment") or stack,
                     region=config["aws:region"])


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict
    provider: str | None  # "URN::ID" reference as the engine passes it
    custom: bool
    urn: str = ""
    outputs: dict = field(default_factory=dict)  # what the mock returned, plus the id

    def __str__(self) -> str:
        return self.urn or f"{self.type}::{self.name}"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self, region: str):
        self.region = region
        self.resources: list[Recorded] = []
        self.calls: list[tuple[str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        record = Recorded(args.typ, args.name, dict(args.inputs), args.provider, bool(args.custom))
        self.resources.append(record)
        outputs = dict(args.inputs)
        outputs.setdefault("arn", f"arn:aws:mock:{self.region}:123456789012:{args.typ.split(':')[-1]}/{args.name}")
        if args.typ in ("aws:lb/loadBalancer:LoadBalancer", "aws:lb/targetGroup:TargetGroup"):
            outputs["arnSuffix"] = f"{args.typ.split(':')[-1]}/{args.name}/0123456789abcdef"
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            outputs["dnsName"] = f"internal-{args.name}.{self.region}.elb.amazonaws.com"
        if args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
            outputs["latestVersion"] = 1
        if "name" not in outputs and not args.typ.startswith("pulumi:providers:"):
            outputs["name"] = f"{args.name}-mock"
        record.outputs = {**outputs, "id": f"{args.name}-id"}
        return f"{args.name}-id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:ec2/getAmi:getAmi":
            return {"id": "ami-0d1a2b3c4d5e6f700", "imageId": "ami-0d1a2b3c4d5e6f700", "architecture": "x86_64",
                    "name": "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) 20270101"}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            names = [f"{self.region}{z}" for z in "abc"]
            return {"id": self.region, "names": names, "zoneIds": [f"euc1-az{i}" for i in (1, 2, 3)]}
        raise NotImplementedError(f"unmocked call {args.token}")


@dataclass
class StackRun:
    stack: str
    config: dict[str, Any]
    spec: FleetSpec
    resources: list[Recorded]
    outputs: dict[str, Any]
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str) -> Recorded:
        found = self.of_type(typ)
        assert len(found) == 1, f"{self.stack}: expected one {typ}, found {[str(r) for r in found]}"
        return found[0]

    def provider_of(self, resource: Recorded) -> Recorded | None:
        if not resource.provider:
            return None
        urn = resource.provider.split("::" + resource.provider.rsplit("::", 1)[-1])[0]
        for r in self.resources:
            if r.urn == urn:
                return r
        return None

    def policy_views(self):
        """Every custom resource as the policy pack sees it (outputs, with ids, and provider props)."""
        from stacks.policy.rules import PolicyView

        views = []
        for r in self.resources:
            if not r.custom:
                continue
            provider = self.provider_of(r)
            views.append(PolicyView(type=r.type, props=r.outputs, urn=str(r),
                                    provider_props=provider.inputs if provider else None))
        return views


def run_stack(stack: str, overrides: dict[str, Any] | None = None,
              spec: FleetSpec | None = None, recorded: list | None = None) -> StackRun:
    """Run stacks.program.run() for `stack` under mocks; return the recorded resources.

    `spec` replaces the planner's answer; otherwise the fixture or the real
    planner answers, per USE_REAL_PLANNER. Exceptions from the program propagate.
    """
    import stacks.config
    from stacks.program import run

    config = stack_config(stack)
    config.update(overrides or {})
    region = str(config.get("aws:region", ""))
    mocks = RecordingMocks(region)
    if recorded is not None:  # lets a caller see what was registered even if the program fails
        mocks.resources = recorded
    monitor = pulumi.runtime.mocks.MockMonitor(mocks)
    pulumi.runtime.settings.ROOT.set(None)  # a fresh root stack per run
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    pulumi.runtime.set_all_config(_as_pulumi_config(config))

    answer = spec if spec is not None else (None if USE_REAL_PLANNER else FIXTURE_SPECS.get(stack))
    restore = None
    if answer is not None:
        original = stacks.config.plan_fleet
        stacks.config.plan_fleet = lambda *a, **k: answer
        restore = original

    outputs: dict[str, Any] = {}

    @pulumi.runtime.test
    def _program():
        exports = run()
        return pulumi.Output.all(**exports).apply(outputs.update)

    try:
        _program()
    finally:
        if restore is not None:
            stacks.config.plan_fleet = restore

    by_name: dict[tuple[str, str], str] = {}
    for urn in monitor.resources:
        typ_chain, name = urn.split("::")[2], urn.split("::")[3]
        by_name[(typ_chain.split("$")[-1], name)] = urn
    for r in mocks.resources:
        r.urn = by_name.get((r.type, r.name), "")
    used = spec if spec is not None else expected_spec(stack, config)
    return StackRun(stack, config, used, mocks.resources, outputs, mocks.calls)
