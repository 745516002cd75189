"""The forecast as typed values: what `planner.forecast.build` returns and forecast.json serialises.

Every model is frozen and forbids unknown fields, and the committed JSON Schema
(planner/data/forecast.schema.json) is generated from these classes (`planner.forecast.schema`),
so the file, the schema and the code cannot drift apart. Money is USD, unrounded here; the JSON
writer rounds it to the cent. Reasons, triggers and warnings are codes with their numbers: the
report turns them into sentences.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planner.fleet.model import Commitment, FleetLine
from planner.plan import Plan
from pricing.terms import HOURS_PER_MONTH

SCHEMA_VERSION = 3
CATEGORIES = ("compute", "platform", "people", "data_eval", "compliance", "retraining", "committed_after_horizon",
              "buffer")
PERIODS = ("first_12_months", "horizon")


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


UsdByModel = dict[str, float]  # API model (provider/model) -> USD
Month = Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]  # YYYY-MM


# --- one workload in one month -------------------------------------------------------------------

class PlatformUsd(Frozen):
    """What the network, the load balancer, the disks and the traffic cost besides the instances."""

    nat_gateways: float  # hourly charge of each NAT gateway
    nat_data_processed: float  # container images pulled through the NAT gateways at each launch
    public_ipv4: float  # the NAT gateways' Elastic IPs
    load_balancer: float  # hourly charge (LCUs not included)
    interface_endpoints: float  # SSM endpoints, per zone-hour
    flow_logs: float  # VPC flow logs: ingestion and storage in CloudWatch Logs
    alarms: float  # CloudWatch alarms (health, target tracking)
    ebs: float  # root volumes: storage, IOPS and throughput above the gp3 baseline
    data_transfer_out: float  # responses to clients

    @property
    def total(self) -> float:
        return sum(getattr(self, name) for name in type(self).model_fields)


class WorkloadMonth(Frozen):
    name: str
    requests: float
    input_tokens: float
    output_tokens: float
    mean_requests_per_s: float
    peak_requests_per_s: float
    peak_output_tokens_per_s: float
    api_usd: UsdByModel  # the token bill of each model this workload compares with
    fleet: list[FleetLine]
    replicas: int  # at the busiest hour
    instances: int  # at the busiest hour
    capacity_requests_per_s: float  # at the busiest hour, spot net of its interruption overhead
    self_hosted_compute_usd: float
    platform_usd: PlatformUsd
    storage_gib_per_instance: float  # the root volume the forecast costs per instance
    unused_committed_hours: float
    unused_committed_usd: float


class SelfHostedUsd(Frozen):
    compute: float  # the fleet lines inside the horizon (reserved lines: the months of their term inside it)
    platform: float
    people: float
    data_eval: float
    compliance: float
    retraining: float
    # the part of a commitment's term that falls after the horizon, charged in the month it is signed
    # (the obligation exists from then; no later month of the forecast could carry it)
    committed_after_horizon: float
    buffer: float  # the uncertainty buffer on all of the above
    total: float


class MonthForecast(Frozen):
    month: Month
    workloads: list[WorkloadMonth]
    api_usd: UsdByModel  # token bill, summed over the workloads that compare with the model
    api_path_usd: UsdByModel  # the whole API path if this model is chosen: tokens + own people and compliance
    api_path_fixed_usd: float  # the API path's own people, data/eval and compliance
    self_hosted_usd: SelfHostedUsd
    unused_committed_usd: float


class PeriodTotals(Frozen):
    months: int
    api_usd: UsdByModel
    api_path_usd: UsdByModel
    self_hosted_usd: float
    self_hosted_by_category_usd: SelfHostedUsd
    unused_committed_usd: float


class Totals(Frozen):
    first_12_months: PeriodTotals
    horizon: PeriodTotals


class ContinuedDemand(Frozen):
    """"If demand continues": the horizon's last month held until every commitment signed has ended.

    The horizon's totals charge the obligation after the horizon and stop; this view runs the months
    after it instead, with the last month's demand, fleet (no new commitment; on demand and spot
    where one has ended), platform, people and API bill, so the reader sees what the obligation buys.
    """

    months_after_horizon: int  # 0: no commitment runs past the horizon (the view equals the horizon's)
    through_month: Month  # the last month counted
    self_hosted_after_horizon_usd: float  # those months, buffer included
    api_path_after_horizon_usd: UsdByModel  # those months, at the last month's bill and the API path's own costs
    # horizon + those months: the obligation after the horizon paid in the months it covers (not twice)
    self_hosted_usd: float
    api_path_usd: UsdByModel


# --- break-even and the recommendation -----------------------------------------------------------

class BreakEven(Frozen):
    """When self-hosting pays for itself against one API model."""

    # first month cumulative self-hosted ≤ cumulative API path (a commitment's obligation after the
    # horizon counts from the month it is signed); None: not in the horizon
    month: Month | None
    # where the monthly lines cross: "at_start" (self-hosting is cheaper from the first month),
    # "in_horizon" (crossing_month, at monthly_requests requests a month), "none" (they do not cross)
    crossing: Literal["at_start", "in_horizon", "none"]
    crossing_month: Month | None
    monthly_requests: float | None  # requests a month (all workloads) where the monthly lines cross
    # (the crossing compares the months' running costs: without the obligation after the horizon)


Decision = Literal["api", "self-host"]


class WorkloadDecision(Frozen):
    name: str
    decision: Decision
    # what decided it: "cost" (cheaper over the horizon, people, platform and buffer included),
    # "residency" (api_allowed: false) or "latency" (api_meets_slo: false)
    reason: Literal["cost", "residency", "latency"]
    compared_with: str  # the workload's first compare_with model
    self_hosted_usd: float  # its own fleet and platform over the horizon, buffer included
    api_usd: float  # its token bill on compared_with over the horizon
    peak_api_usd_month: float
    peak_api_month: Month


class VolumeTrigger(Frozen):
    kind: Literal["volume"] = "volume"
    workload: str
    model: str
    api_usd: float  # over the horizon
    self_hosted_usd: float  # own fleet and platform over the horizon, buffer included


class SpendThresholdTrigger(Frozen):
    kind: Literal["spend_threshold"] = "spend_threshold"
    workload: str
    model: str
    threshold_usd_month: float
    first_month: Month  # first month the API bill passes the threshold


class PolicyTrigger(Frozen):
    kind: Literal["residency", "latency"]
    workload: str


Trigger = Annotated[Union[VolumeTrigger, SpendThresholdTrigger, PolicyTrigger], Field(discriminator="kind")]


class Recommendation(Frozen):
    decision: Literal["api", "self-host", "hybrid"]
    workloads: list[WorkloadDecision]
    triggers: list[Trigger]
    horizon_total_usd: float  # the recommended split over the horizon
    all_api_horizon_usd: float  # every workload on its first API model, API path costs included


# --- where every figure comes from ----------------------------------------------------------------

class PriceSource(Frozen):
    kind: Literal["aws_compute", "aws_platform", "api_tokens"]
    source: str
    date: str
    file: str | None = None
    region: str | None = None
    version: str | None = None


AssumptionValue = Union[bool, int, float, str, dict[str, float]]


class Assumption(Frozen):
    name: str
    value: AssumptionValue
    source: str
    is_assumption: bool  # true: the planner's own choice; false: read from an input


class FleetChoice(Frozen):
    """The instance type a workload runs on, and why it fits. A workload keeps one instance type per
    region for the whole horizon (its counts and purchase mix change month by month)."""

    workload: str
    regions: list[str]
    instance_type: str
    equivalent_instance_types: list[str]
    gpu: str
    gpus_per_instance: int
    tp: int
    replicas_per_instance: int
    replica_requests_per_s: float
    candidates_considered: int
    peak_instances: int  # instances at the busiest hour of the busiest month, every region
    peak_month: Month  # that month


FleetChangeField = Literal["instance_type", "regions", "tp"]


class FleetChange(Frozen):
    """A variant (a scenario, or one side of a sensitivity) chooses another fleet for a workload
    than the base forecast: both fleets, and what differs."""

    source: Literal["scenario", "sensitivity"]
    name: str  # the scenario (low, high) or the sensitivity parameter
    side: Literal["low", "high"]
    workload: str
    changed: list[FleetChangeField]
    base: FleetChoice
    other: FleetChoice


# --- spot: its price, its range, its risk ------------------------------------------------------------

class SpotPrice(Frozen):
    """How the spot rate of one chosen instance type was set, and the range the snapshot shows."""

    workload: str
    region: str
    instance_type: str
    # "highest_zone": the dearest zone the snapshot knows; "on_demand_fraction": a fixed fraction of
    # on-demand (the snapshot knows only the cheapest zone); "lowest_zone": the cheapest zone's quote
    basis: Literal["highest_zone", "on_demand_fraction", "lowest_zone"]
    on_demand_fraction: float | None  # the fraction, when basis is on_demand_fraction
    usd_per_hour: float  # the rate the forecast uses, multipliers applied
    lowest_zone_usd_per_hour: float | None  # the snapshot's cheapest zone, multipliers applied
    highest_zone_usd_per_hour: float | None  # its dearest zone (None: the snapshot does not know it)
    on_demand_usd_per_hour: float
    spot_usd: float  # the horizon's spot lines, at usd_per_hour
    spot_usd_at_lowest_zone: float | None  # the same spot instance-hours at the cheapest zone's price


class SpotUnavailableRisk(Frozen):
    """Spot capacity gone for a whole month: on-demand instances replace the spot ones."""

    code: Literal["spot_unavailable"] = "spot_unavailable"
    workload: str
    month: Month  # the month where it would cost most
    spot_instances: int  # spot instances at that month's busiest hour
    extra_usd: float  # what that month's compute rises by (commitments unchanged; before the buffer)
    months_with_spot: int  # months of the horizon that run spot


Risk = Annotated[Union[SpotUnavailableRisk], Field(discriminator="code")]


# --- warnings -----------------------------------------------------------------------------------

class SpotShareWarning(Frozen):
    code: Literal["spot_share"] = "spot_share"
    workload: str
    share: float  # of the busiest hour's instances
    month: Month


class ThreeYearTermWarning(Frozen):
    """The plan may buy 3-year reservations but looks less than 36 months ahead: such a commitment
    is paid in full (counted in the totals), though demand after the horizon is unknown."""

    code: Literal["three_year_term_beyond_horizon"] = "three_year_term_beyond_horizon"
    horizon_months: int
    term_months: int
    instances_bought: int  # 3-year reserved instances the plan buys (0: allowed, not bought)
    usd_after_horizon: float  # their obligation after the horizon


class UnusedCommitmentsWarning(Frozen):
    code: Literal["unused_commitments"] = "unused_commitments"
    workload: str
    usd: float


class QuotasNotCheckedWarning(Frozen):
    code: Literal["quotas_not_checked"] = "quotas_not_checked"


ForecastWarning = Annotated[Union[SpotShareWarning, ThreeYearTermWarning, UnusedCommitmentsWarning,
                                  QuotasNotCheckedWarning], Field(discriminator="code")]


# --- scenarios and sensitivity --------------------------------------------------------------------

class Scenario(Frozen):
    name: Literal["low", "base", "high"]
    traffic_multiplier: float
    growth: dict[str, float | None]  # workload -> monthly growth (None: an explicit monthly series)
    spot_price_multiplier: float
    api_price_multiplier: float  # every API bill × this (after each model's own discount)
    totals: Totals
    break_even: dict[str, BreakEven]
    fleet_choice: list[FleetChoice]
    fleet_changes: list[FleetChange] = Field(default_factory=list)  # workloads whose fleet differs from the base


class Sensitivity(Frozen):
    parameter: Literal["traffic", "input_tokens", "output_tokens", "gpu_prices", "api_prices", "uncertainty_buffer"]
    unit: Literal["multiplier", "fraction"]
    model: str | None
    base_value: float
    low_value: float
    high_value: float
    break_even_base: Month | None
    break_even_low: Month | None
    break_even_high: Month | None
    horizon_savings_base_usd: float | None
    horizon_savings_low_usd: float | None
    horizon_savings_high_usd: float | None
    fleet_changes: list[FleetChange] = Field(default_factory=list)  # workloads whose fleet differs at low or high


# --- Monte Carlo bands ---------------------------------------------------------------------------

class UsdPercentiles(Frozen):
    """USD at the 10th, 50th and 90th percentile of the draws."""

    p10: float
    p50: float
    p90: float


class BandMonth(Frozen):
    month: Month
    self_hosted_usd: UsdPercentiles  # the month's self-hosted total (buffer included), over the draws
    api_path_usd: dict[str, UsdPercentiles]  # API model -> the month's API path total, over the draws
    # API model -> share of draws in which self-hosting has cost no more than the API path so far
    # (cumulative, from the first month to this one)
    p_cumulative_self_host_cheaper: dict[str, float]


class BreakEvenPercentiles(Frozen):
    """The break-even month at the 10th, 50th and 90th percentile of the draws (earliest first);
    None where that share of draws does not break even inside the horizon."""

    p10: Month | None
    p50: Month | None
    p90: Month | None


class Bands(Frozen):
    """Monte Carlo bands (plan section `uncertainty`): each draw samples traffic, growth, tokens per
    request, prices and the throughput model's error, re-sizes the fleet and re-costs both paths."""

    draws: int
    seed: int
    months: list[BandMonth]
    break_even: dict[str, BreakEvenPercentiles]  # API model -> break-even month percentiles


# --- the whole forecast ---------------------------------------------------------------------------

class Forecast(Frozen):
    schema_version: Literal[3] = SCHEMA_VERSION
    plan: Plan
    hours_per_month: Literal[HOURS_PER_MONTH]
    price_sources: list[PriceSource]
    assumptions: list[Assumption]
    fleet_choice: list[FleetChoice]
    months: list[MonthForecast]
    totals: Totals
    commitments: list[Commitment]  # every reservation bought, its whole term's cost split at the horizon
    if_demand_continues: ContinuedDemand
    break_even: dict[str, BreakEven]  # API model -> break-even against it
    recommendation: Recommendation
    # region -> quota key -> vCPUs prod, staging and dev need at the busiest month, each instance at the
    # most vCPUs its group may launch
    quota_needs_vcpus: dict[str, dict[str, float]]
    spot_prices: list[SpotPrice]  # per chosen instance type the plan may run on spot
    risks: list[Risk]  # what could go wrong, with its cost
    warnings: list[ForecastWarning]
    scenarios: list[Scenario] = Field(default_factory=list)
    sensitivity: list[Sensitivity] = Field(default_factory=list)
    bands: Bands | None = None  # with the plan's `uncertainty` section

    @property
    def models(self) -> list[str]:
        """The compared API models, in the order the plan names them."""
        return self.plan.api_models

    @property
    def obligation_signed_usd(self) -> float:
        """What every commitment bought costs over its whole term (before the buffer)."""
        return sum(c.usd_total for c in self.commitments)

    @property
    def obligation_after_horizon_usd(self) -> float:
        """The part of those terms that falls after the horizon (before the buffer)."""
        return sum(c.usd_after_horizon for c in self.commitments)

    @property
    def fleet_changes(self) -> list[FleetChange]:
        """Every scenario's and sensitivity side's fleet that differs from the base (not serialised:
        the changes live with their scenario and sensitivity entries)."""
        return [c for s in self.scenarios for c in s.fleet_changes] + \
            [c for s in self.sensitivity for c in s.fleet_changes]

    @property
    def workload_names(self) -> list[str]:
        return [w.name for w in self.plan.workloads]
