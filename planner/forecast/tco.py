"""Cost of ownership of the self-hosted path, month by month (USD, 730 hours a month).

- compute: every fleet line, count × $/h × hours (reserved lines pay all 730 hours);
- platform: what the stack creates besides the instances, per workload and region, counted from
  the same `NetworkShape` the stacks are given (`planner.environments`): NAT gateways and their
  public IPv4 addresses, the load balancer, SSM interface endpoints, VPC flow logs, CloudWatch
  alarms, the root volumes (storage, IOPS and throughput above the gp3 baseline, for the
  instance-hours that run), container images pulled through NAT at each launch, and the responses'
  data transfer out;
- people: ML and DevOps engineers; data and evaluation; compliance (one-time in the first month
  plus monthly); retraining cycles (every N months, each workload's GPU-hours at the on-demand
  list price of its own serving GPU, or of the plan's `costs.retraining_gpu`);
- buffer: the plan's uncertainty buffer on all of the above (the seeds' advice: 30 %).
The API side is the token bill (`planner.forecast.bill`) plus the API path's own people and
compliance (`api_path_fixed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from planner.environments import ALARMS_PER_SCALING_POLICY, NetworkShape
from planner.fleet.model import HourlyInstances
from planner.forecast.model import PlatformUsd
from planner.plan import Plan, Workload
from pricing.platform import PlatformPrices
from pricing.terms import DAYS_PER_MONTH, HOURS_PER_MONTH

# A streamed OpenAI-compatible response sends one server-sent event per token, about 200 bytes each.
EGRESS_BYTES_PER_OUTPUT_TOKEN = 200
# Root volume: gp3 with room to load weights fast when an instance starts (baseline 3,000 IOPS,
# 125 MiB/s; what is provisioned above it is billed per IOPS-month and per MiB/s-month).
ROOT_VOLUME_IOPS = 6000
ROOT_VOLUME_THROUGHPUT_MIBPS = 1000
GP3_BASELINE_IOPS = 3000
GP3_BASELINE_THROUGHPUT_MIBPS = 125
# Default disk: twice the weights (the copy from S3 and the engine's load) plus 100 GiB for the OS,
# the container image and logs; a plan's costs.weights_storage_gib replaces it.
STORAGE_WEIGHTS_MULTIPLE = 2
STORAGE_BASE_GIB = 100
# The serving container image pulled through the NAT gateway at every instance launch
# (vllm/vllm-openai is ~10 GB compressed); weights come from S3 through the free gateway endpoint.
IMAGE_PULL_GB = 10.0
# VPC flow logs (all traffic, 60 s aggregation): about 0.5 GB a month per instance and 1 GB a month
# for the NAT gateways, load balancer and endpoints. An order-of-magnitude assumption.
FLOW_LOG_GB_PER_INSTANCE_MONTH = 0.5
FLOW_LOG_GB_BASE_MONTH = 1.0


@dataclass(frozen=True)
class RootVolume:
    """The root volume of every instance: what the forecast costs and the launch template creates."""

    gib: int
    iops: int = ROOT_VOLUME_IOPS
    throughput_mibps: int = ROOT_VOLUME_THROUGHPUT_MIBPS


def root_volume(plan: Plan, weights_gib: float) -> RootVolume:
    """The plan's costs.weights_storage_gib, or twice the weights plus 100 GiB, in whole GiB."""
    import math

    if plan.costs.weights_storage_gib is not None:
        gib = plan.costs.weights_storage_gib
    else:
        gib = STORAGE_WEIGHTS_MULTIPLE * weights_gib + STORAGE_BASE_GIB
    return RootVolume(gib=max(1, math.ceil(gib)))


def egress_gb(plan: Plan, workload: Workload, requests: float) -> float:
    """Data sent to clients in a month: the plan's figure per million requests, or the token counts."""
    if plan.costs.egress_gb_per_million_requests is not None:
        return plan.costs.egress_gb_per_million_requests * requests / 1e6
    return requests * workload.traffic.output_tokens * EGRESS_BYTES_PER_OUTPUT_TOKEN / 1e9


def launches_per_month(hourly: HourlyInstances) -> float:
    """Instances started in a month: every scale-out of the daily schedule, every day."""
    total = [hourly.committed + o + s for o, s in zip(hourly.on_demand, hourly.spot)]
    per_day = sum(max(0, total[h] - total[h - 1]) for h in range(len(total)))
    return per_day * DAYS_PER_MONTH


def region_platform_usd(shape: NetworkShape, prices: PlatformPrices, *, instance_hours: float, launches: float,
                        scaling_groups: int, volume: RootVolume, egress_gb_month: float) -> PlatformUsd:
    """Platform cost of one workload's stack in one region for one month."""
    p = prices
    share = instance_hours / HOURS_PER_MONTH  # instance-months the volumes exist
    flow_gb = FLOW_LOG_GB_PER_INSTANCE_MONTH * share + FLOW_LOG_GB_BASE_MONTH
    retained_months = shape.flow_log_retention_days / DAYS_PER_MONTH
    return PlatformUsd(
        nat_gateways=shape.nat_gateways * p.nat_gateway_usd_per_hour * HOURS_PER_MONTH,
        nat_data_processed=launches * IMAGE_PULL_GB * p.nat_gateway_usd_per_gb,
        public_ipv4=shape.nat_gateways * p.public_ipv4_usd_per_hour * HOURS_PER_MONTH,
        load_balancer=p.load_balancer_usd_per_hour * HOURS_PER_MONTH,
        interface_endpoints=shape.interface_endpoint_placements * p.interface_endpoint_usd_per_hour * HOURS_PER_MONTH,
        flow_logs=flow_gb * (p.logs_ingestion_usd_per_gb + retained_months * p.logs_storage_usd_per_gb_month),
        alarms=(shape.health_alarms + ALARMS_PER_SCALING_POLICY * scaling_groups) * p.alarm_usd_per_month,
        ebs=share * (volume.gib * p.ebs_gp3_usd_per_gb_month
                     + max(0, volume.iops - GP3_BASELINE_IOPS) * p.ebs_gp3_usd_per_iops_month
                     + max(0, volume.throughput_mibps - GP3_BASELINE_THROUGHPUT_MIBPS) * p.ebs_gp3_usd_per_mibps_month),
        data_transfer_out=egress_gb_month * p.data_transfer_out_usd_per_gb,
    )


def sum_platform(items: list[PlatformUsd]) -> PlatformUsd:
    fields = PlatformUsd.model_fields
    return PlatformUsd(**{name: sum(getattr(i, name) for i in items) for name in fields})


def retraining_usd(plan: Plan, month_index: int, gpu_hour_usd: float) -> float:
    """One workload's retraining in one month: its GPU-hours per cycle at `gpu_hour_usd`, every N
    months (not in the first)."""
    c = plan.costs
    if c.retraining_every_months and month_index > 0 and month_index % c.retraining_every_months == 0:
        return c.retraining_gpu_hours * gpu_hour_usd
    return 0.0


def shared_costs(plan: Plan, month_index: int, retraining_gpu_hour_usd: Mapping[str, float]) -> dict[str, float]:
    """People, data/eval, compliance and retraining of the self-hosted path in one month.

    `retraining_gpu_hour_usd` maps each workload to the price of its retraining GPU-hours.
    """
    c = plan.costs
    return {
        "people": c.ml_engineers * c.ml_engineer_usd_month + c.devops_engineers * c.devops_usd_month,
        "data_eval": c.data_eval_usd_month,
        "compliance": c.compliance_usd_month + (c.compliance_one_time_usd if month_index == 0 else 0.0),
        "retraining": sum(retraining_usd(plan, month_index, usd) for usd in retraining_gpu_hour_usd.values()),
    }


def api_path_fixed(plan: Plan, month_index: int) -> float:
    """The API path's own people, data/eval and compliance in one month."""
    c = plan.costs
    return (c.api_ml_engineers * c.ml_engineer_usd_month + c.api_devops_engineers * c.devops_usd_month
            + c.api_data_eval_usd_month + c.api_compliance_usd_month
            + (c.api_compliance_one_time_usd if month_index == 0 else 0.0))
