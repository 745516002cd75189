"""Where every figure of a forecast comes from: price sources, assumptions, warnings, quota needs.

Values only (codes and numbers); the report writes the sentences.
"""

from __future__ import annotations

from pathlib import Path

from planner import demand as demand_mod, perf
from planner.fleet.candidates import reserved_discounts
from planner.environments import Environment, non_prod_fleet
from planner.fleet.model import FleetPlan
from planner.forecast import tco
from planner.forecast.bill import month_start
from planner.forecast.model import (Assumption, ForecastWarning, PriceSource, QuotasNotCheckedWarning, Risk,
                                    SpotPrice, SpotShareWarning, SpotUnavailableRisk, ThreeYearTermWarning,
                                    UnusedCommitmentsWarning)
from planner.inputs import Inputs
from planner.plan import Plan
from pricing import SPOT_ON_DEMAND_FRACTION, platform as platform_mod
from pricing.terms import HOURS_PER_MONTH, TERM_MONTHS, Purchase

REPO_ROOT = Path(__file__).resolve().parents[2]


def _repo_relative(path: str) -> str:
    p = Path(path)
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


def price_sources(plan: Plan, inputs: Inputs, fleet_plan: FleetPlan) -> list[PriceSource]:
    from pricing import api

    table = inputs.price_table
    sources = [PriceSource(kind="aws_compute", source=table.source, date=table.date, file=_repo_relative(table.path))]
    used_regions = sorted({c.region for wf in fleet_plan.workloads for c in wf.candidates})
    seen = set()
    for region in used_regions:
        pp = platform_mod.for_region(inputs.platform_prices, region)
        key = (pp.source, pp.date)
        if key in seen:
            continue
        seen.add(key)
        sources.append(PriceSource(kind="aws_platform", region=pp.region if not pp.fallback else f"{region} (default row)",
                                   source=pp.source, date=pp.date, file="pricing/data/platform_prices.csv"))
    on = month_start(plan.start)
    sources.append(PriceSource(kind="api_tokens", source=f"genai-prices {api.genai_prices_version()} (bundled price data)",
                               date=on.isoformat(), version=api.genai_prices_version()))
    return sources


def assumptions(plan: Plan, inputs: Inputs, fleet_plan: FleetPlan) -> list[Assumption]:
    r1, r3 = reserved_discounts(plan)
    assumed = set().union(*(c.assumed for wf in fleet_plan.workloads for c in wf.candidates))
    fit = inputs.perf_fit
    out = [
        Assumption(name="hours_per_month", value=HOURS_PER_MONTH,
                   source="AWS and Infracost convention (365 × 24 / 12)", is_assumption=False),
        Assumption(name="reserved_1y_discount", value=r1,
                   source=("plan pricing.reserved_1y_discount" if plan.pricing.reserved_1y_discount is not None else
                           "default: low end of realised savings (~30 %, vantage.sh; AWS Savings Plans FAQ says up to 72 %)"),
                   is_assumption=Purchase.RESERVED_1Y in assumed),
        Assumption(name="reserved_3y_discount", value=r3,
                   source=("plan pricing.reserved_3y_discount" if plan.pricing.reserved_3y_discount is not None else
                           "default: low end of 45–55 % realised 3-year no-upfront savings (pricing/data/README.md)"),
                   is_assumption=Purchase.RESERVED_3Y in assumed),
        Assumption(name="spot_interruption_overhead", value=plan.constraints.spot_interruption_overhead,
                   source="plan constraints.spot_interruption_overhead: extra spot instances per instance of capacity",
                   is_assumption=True),
        Assumption(name="spot_price_basis", value=(
            f"highest zone price where known, else {SPOT_ON_DEMAND_FRACTION:g} × on-demand (or the cheapest zone "
            "where that is dearer)" if plan.pricing.spot_basis == "conservative" else "the cheapest zone's quote"),
                   source=("plan pricing.spot_basis; a spot quote is one moment in one zone, and a region's zones "
                           "differ 2-3x (pricing/__init__.py)"), is_assumption=True),
        Assumption(name="uncertainty_buffer", value=plan.costs.uncertainty_buffer,
                   source="plan costs.uncertainty_buffer (seeds: add 30 % for hidden costs)", is_assumption=True),
        Assumption(name="throughput_model", value=(
            "roofline step model per engine with Poisson queueing; SLO percentile "
            + ", ".join(sorted({f"{w.name}: {w.slo.percentile}" for w in plan.workloads})) + "; "
            + "; ".join(perf.fit_summary(e, fit.get(e) or {}) for e in sorted({w.engine for w in plan.workloads}))),
            source=("planner/data/perf_calibration.yaml fit_quality.<engine> from bench/perf_fit.py (TensorRT-LLM, "
                    "vLLM, SGLang and LMDeploy measurements; BENCHMARKS.md)"),
            is_assumption=True),
        Assumption(name="egress_bytes_per_output_token", value=tco.EGRESS_BYTES_PER_OUTPUT_TOKEN,
                   source="one server-sent event per streamed token (plan costs.egress_gb_per_million_requests overrides)",
                   is_assumption=plan.costs.egress_gb_per_million_requests is None),
        Assumption(name="root_volume", value={"iops": tco.ROOT_VOLUME_IOPS,
                                              "throughput_mibps": tco.ROOT_VOLUME_THROUGHPUT_MIBPS},
                   source=("gp3 per instance: plan costs.weights_storage_gib, else twice the weights + "
                           f"{tco.STORAGE_BASE_GIB} GiB; IOPS and throughput above the gp3 baseline are billed"),
                   is_assumption=plan.costs.weights_storage_gib is None),
        Assumption(name="image_pull_gb", value=tco.IMAGE_PULL_GB,
                   source="serving container image pulled through NAT at every launch of a part-day instance",
                   is_assumption=True),
        Assumption(name="flow_log_gb_month", value={"per_instance": tco.FLOW_LOG_GB_PER_INSTANCE_MONTH,
                                                    "base": tco.FLOW_LOG_GB_BASE_MONTH},
                   source="VPC flow logs of all traffic at 60 s aggregation, an order-of-magnitude estimate",
                   is_assumption=True),
        Assumption(name="regions_per_workload", value=plan.constraints.regions_per_workload,
                   source="plan constraints.regions_per_workload (a workload lives in one region by default)",
                   is_assumption=False),
        Assumption(name="commitments", value=("paid for their whole term; the part after the horizon is charged in "
                                              "the month signed (committed_after_horizon), buffer applied"),
                   source="planner.fleet.mix (whole commitments)", is_assumption=False),
    ]
    for w in plan.workloads:
        if w.traffic.hourly_profile is None:
            out.append(Assumption(
                name=f"daily_shape[{w.name}]",
                value=f"one smooth peak at {demand_mod.DEFAULT_PEAK_HOUR_UTC}:00 UTC, peak/average "
                      f"{w.traffic.peak_to_average:g}",
                source="assumed from peak_to_average; give traffic.hourly_profile for a measured shape",
                is_assumption=True))
    return out


def quota_needs(plan: Plan, fleet_plan: FleetPlan) -> dict[str, dict[str, float]]:
    """Region -> quota key -> vCPUs the three environments need at prod's busiest month.

    Every instance counts at the most vCPUs its Auto Scaling group may launch (the planner's type
    or an equivalent, `Candidate.max_vcpus`). prod runs the planned fleet; staging and dev run
    their reduced fleets (`planner.environments.non_prod_fleet`, the rule provisioning uses) in
    the same region and account.
    """
    from pricing import quotas

    def add(need: dict, region: str, instance_type: str, purchase: Purchase, count: int, vcpus: int) -> None:
        key = quotas.quota_key(instance_type, purchase)
        if key is None or count <= 0:
            return
        slot = need.setdefault(region, {})
        slot[key] = slot.get(key, 0.0) + float(count * vcpus)

    peak: dict[str, dict[str, float]] = {}
    n_months = len(fleet_plan.workloads[0].months)
    azs = plan.constraints.availability_zones
    for k in range(n_months):
        need: dict[str, dict[str, float]] = {}
        for wf in fleet_plan.workloads:
            mf = wf.months[k]
            for line in mf.lines:
                cand = wf.in_region(line.region)
                add(need, line.region, line.instance_type, line.purchase, line.count, cand.max_vcpus)
            for region, hourly in mf.hourly.items():
                cand = wf.in_region(region)
                for env in (Environment.STAGING, Environment.DEV):
                    count, purchase = non_prod_fleet(env, azs, hourly.peak, cand.usd_per_hour)
                    add(need, region, cand.instance_type, purchase, count, cand.max_vcpus)
        for region, by_key in need.items():
            for key, vcpus in by_key.items():
                slot = peak.setdefault(region, {})
                slot[key] = max(slot.get(key, 0.0), vcpus)
    return {r: dict(sorted(v.items())) for r, v in sorted(peak.items())}


def warnings(plan: Plan, fleet_plan: FleetPlan) -> list[ForecastWarning]:
    out: list[ForecastWarning] = []
    for wf in fleet_plan.workloads:
        spot_share, where = 0.0, None
        for mf in wf.months:
            spot = sum(line.count for line in mf.lines if line.purchase == Purchase.SPOT)
            total = sum(line.count for line in mf.lines)
            if total and spot / total > spot_share:
                spot_share, where = spot / total, mf.month
        if spot_share > 0 and where is not None:
            out.append(SpotShareWarning(workload=wf.workload, share=spot_share, month=where))
        unused = sum(mf.unused_committed_usd for mf in wf.months)
        if unused > 0:
            out.append(UnusedCommitmentsWarning(workload=wf.workload, usd=unused))
    term = TERM_MONTHS[Purchase.RESERVED_3Y]
    if Purchase.RESERVED_3Y in plan.constraints.purchase and plan.horizon_months < term:
        three = [x for wf in fleet_plan.workloads for x in wf.commitments if x.purchase == Purchase.RESERVED_3Y]
        out.append(ThreeYearTermWarning(horizon_months=plan.horizon_months, term_months=term,
                                        instances_bought=sum(x.count for x in three),
                                        usd_after_horizon=sum(x.usd_after_horizon for x in three)))
    out.append(QuotasNotCheckedWarning())
    return out


def spot_prices(fleet_plan: FleetPlan) -> list[SpotPrice]:
    """The spot rate of every chosen instance type that may run spot, its basis and range."""
    out = []
    for wf in fleet_plan.workloads:
        for c in wf.candidates:
            rate = c.usd_per_hour.get(Purchase.SPOT)
            if rate is None or c.spot_basis is None:
                continue
            hours = sum(line.count * line.hours for mf in wf.months for line in mf.lines
                        if line.purchase == Purchase.SPOT and line.region == c.region)
            low = c.spot_lowest_zone_usd_per_hour
            out.append(SpotPrice(
                workload=wf.workload, region=c.region, instance_type=c.instance_type, basis=c.spot_basis,
                on_demand_fraction=SPOT_ON_DEMAND_FRACTION if c.spot_basis == "on_demand_fraction" else None,
                usd_per_hour=rate, lowest_zone_usd_per_hour=low,
                highest_zone_usd_per_hour=c.spot_highest_zone_usd_per_hour,
                on_demand_usd_per_hour=c.on_demand_usd_per_hour, spot_usd=hours * rate,
                spot_usd_at_lowest_zone=None if low is None else hours * low))
    return out


def risks(fleet_plan: FleetPlan) -> list[Risk]:
    """Spot unavailable for a month: per workload that runs spot, the month where it costs most."""
    out: list[Risk] = []
    for wf in fleet_plan.workloads:
        with_spot = [mf for mf in wf.months if any(line.purchase == Purchase.SPOT for line in mf.lines)]
        if not with_spot:
            continue
        worst = max(with_spot, key=lambda mf: mf.spot_unavailable_usd)
        out.append(SpotUnavailableRisk(
            workload=wf.workload, month=worst.month,
            spot_instances=sum(line.count for line in worst.lines if line.purchase == Purchase.SPOT),
            extra_usd=worst.spot_unavailable_usd, months_with_spot=len(with_spot)))
    return out
