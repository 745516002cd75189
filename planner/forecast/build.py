"""Assemble the forecast: the self-hosted cost of ownership next to the API bill, month by month."""

from __future__ import annotations

from planner import demand as demand_mod, fleet as fleet_mod
from planner.environments import Environment, network_shape
from planner.fleet.memo import Memo
from planner.fleet.model import FleetPlan, HourlyInstances, MonthFleet, WorkloadFleet
from planner.forecast import decision, provenance, tco
from planner.forecast.bill import api_bill
from planner.fleet.model import month_offset
from planner.forecast.model import (CATEGORIES, ContinuedDemand, FleetChoice, Forecast, MonthForecast, PeriodTotals,
                                    PlatformUsd, SelfHostedUsd, Totals, WorkloadMonth)
from planner.inputs import Inputs
from planner.plan import Plan, Workload, workload_model_spec
from pricing import platform as platform_mod
from pricing.terms import HOURS_PER_MONTH, Purchase


def _sum_dicts(dicts) -> dict[str, float]:
    total: dict[str, float] = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0.0) + v
    return total


def root_volume(plan: Plan, workload: Workload, inputs: Inputs) -> tco.RootVolume:
    """The root volume of each of the workload's instances (what the forecast costs and the stack creates)."""
    from planner import perf

    model = workload_model_spec(workload, inputs.models)
    return tco.root_volume(plan, perf.weights_gib(model, workload.precision, inputs.perf_factors))


def region_platform_usd(plan: Plan, workload: Workload, mf: MonthFleet, region: str, regions: int,
                        requests: float, inputs: Inputs, volume: tco.RootVolume,
                        environment: Environment = Environment.PROD, instance_hours: float | None = None,
                        hourly: HourlyInstances | None = None) -> PlatformUsd:
    """Platform cost of one workload's stack in one region and month (`regions`: how many regions share
    its traffic). Provisioning prices the stacks it resolves with this same function."""
    shape = network_shape(environment, plan.constraints.availability_zones)
    hourly = hourly if hourly is not None else mf.hourly.get(region)
    if instance_hours is None:
        instance_hours = sum(line.count * line.hours for line in mf.lines if line.region == region)
    return tco.region_platform_usd(
        shape, platform_mod.for_region(inputs.platform_prices, region), instance_hours=instance_hours,
        launches=tco.launches_per_month(hourly) if hourly else 0.0,
        scaling_groups=hourly.scaling_groups() if hourly else 0,
        volume=volume, egress_gb_month=tco.egress_gb(plan, workload, requests) / regions)


def platform_usd(plan: Plan, workload: Workload, wf: WorkloadFleet, month_index: int, requests: float,
                 inputs: Inputs, volume: tco.RootVolume) -> PlatformUsd:
    """Platform cost of one workload's production stacks (one per region it runs in) in one month."""
    mf = wf.months[month_index]
    regions = sorted(mf.hourly) or sorted({c.region for c in wf.candidates})
    return tco.sum_platform([region_platform_usd(plan, workload, mf, region, len(regions), requests, inputs, volume)
                             for region in regions])


def fleet_choice(wf: WorkloadFleet) -> FleetChoice:
    c = wf.candidate
    busiest = max(wf.months, key=lambda mf: mf.instances_peak)
    return FleetChoice(workload=wf.workload, regions=[x.region for x in wf.candidates], instance_type=c.instance_type,
                       equivalent_instance_types=list(c.equivalents), gpu=c.gpu, gpus_per_instance=c.gpus_per_instance,
                       tp=c.tp, replicas_per_instance=c.replicas_per_instance,
                       replica_requests_per_s=c.replica_requests_per_s, candidates_considered=wf.considered,
                       peak_instances=busiest.instances_peak, peak_month=busiest.month)


def retraining_gpu_hour_usd(plan: Plan, fleet_plan: FleetPlan, inputs: Inputs) -> dict[str, float]:
    """Workload -> the on-demand price of one retraining GPU-hour: its own serving GPU's (the chosen
    instance type's list price per GPU), or the cheapest offer of the plan's `costs.retraining_gpu`
    in its regions (multiplier applied)."""
    gpu = plan.costs.retraining_gpu
    if gpu is None:
        return {wf.workload: wf.candidate.on_demand_usd_per_gpu_hour for wf in fleet_plan.workloads}
    from pricing import offers_for
    from pricing.errors import UserError

    found = offers_for(inputs.price_table, plan.constraints.regions, [gpu], reserved_1y_discount=0.0,
                       reserved_3y_discount=0.0)
    if not found:
        raise UserError(f"no offer of {gpu} in {', '.join(plan.constraints.regions)} to price retraining on",
                        file=plan.file, field="costs.retraining_gpu")
    usd = min(po.usd_per_hour[Purchase.ON_DEMAND] / po.offer.gpu_count for po in found)
    return {w.name: usd * plan.pricing.compute_price_multiplier for w in plan.workloads}


def size(plan: Plan, inputs: Inputs, demand=None, *, memo: Memo | None = None) -> FleetPlan:
    """The plan's fleet, from its demand and the loaded inputs (`memo`: shared with other sizings
    of the same forecast)."""
    demand = demand if demand is not None else demand_mod.build(plan)
    memo = memo if memo is not None else Memo()
    priced = memo.offers(plan, inputs.price_table)
    return fleet_mod.build(plan, demand, priced, inputs.models, inputs.gpus, inputs.perf_factors, memo=memo)


class _Row:
    """One row of the demand table, read by attribute from its columns (no pandas row objects)."""

    __slots__ = ("_columns", "_i")

    def __init__(self, columns: dict, i: int):
        self._columns, self._i = columns, i

    def __getattr__(self, name: str):
        return self._columns[name][self._i]


def _totals(chunk: list[MonthForecast]) -> PeriodTotals:
    cats = {c: sum(getattr(m.self_hosted_usd, c) for m in chunk) for c in (*CATEGORIES, "total")}
    return PeriodTotals(months=len(chunk), api_usd=_sum_dicts(m.api_usd for m in chunk),
                        api_path_usd=_sum_dicts(m.api_path_usd for m in chunk), self_hosted_usd=cats["total"],
                        self_hosted_by_category_usd=SelfHostedUsd(**cats),
                        unused_committed_usd=sum(m.unused_committed_usd for m in chunk))


def build(plan: Plan, inputs: Inputs, *, demand=None, fleet_plan: FleetPlan | None = None,
          memo: Memo | None = None) -> Forecast:
    """The forecast of `plan` (the content of forecast.json, without scenarios and sensitivity).

    `memo` shares candidates and exact purchase mixes between the builds of one forecast."""
    demand = demand if demand is not None else demand_mod.build(plan)
    bill = api_bill(plan, demand)
    if fleet_plan is None:
        fleet_plan = size(plan, inputs, demand, memo=memo)
    months = plan.months()
    buffer = plan.costs.uncertainty_buffer
    gpu_hour_usd = retraining_gpu_hour_usd(plan, fleet_plan, inputs)
    volumes = {w.name: root_volume(plan, w, inputs) for w in plan.workloads}
    models = plan.api_models

    months_out: list[MonthForecast] = []
    ws_cost = {w.name: 0.0 for w in plan.workloads}
    api_cost = {w.name: 0.0 for w in plan.workloads}
    api_series: dict[str, list[tuple[str, float]]] = {w.name: [] for w in plan.workloads}
    shared_total = api_fixed_total = 0.0
    columns = {name: demand[name].to_numpy() for name in ("workload", "month", "requests", "input_tokens",
                                                          "output_tokens", "mean_requests_per_s",
                                                          "peak_requests_per_s", "peak_output_tokens_per_s")}
    position = {(w, m): i for i, (w, m) in enumerate(zip(columns["workload"], columns["month"]))}
    signed_after: dict[str, float] = {}  # month -> obligation after the horizon signed in it
    for wf in fleet_plan.workloads:
        for x in wf.commitments:
            signed_after[x.start_month] = signed_after.get(x.start_month, 0.0) + x.usd_after_horizon
            ws_cost[wf.workload] += x.usd_after_horizon
    for k, month in enumerate(months):
        workloads: list[WorkloadMonth] = []
        compute_sum = platform_sum = 0.0
        for w in plan.workloads:
            row = _Row(columns, position[(w.name, month)])
            wf = fleet_plan.workload(w.name)
            mf = wf.months[k]
            plat = platform_usd(plan, w, wf, k, float(row.requests), inputs, volumes[w.name])
            compute = mf.compute_usd
            compute_sum += compute
            platform_sum += plat.total
            ws_cost[w.name] += compute + plat.total
            incumbent_usd = bill[(w.name, month)][w.api_models[0]]
            api_cost[w.name] += incumbent_usd
            api_series[w.name].append((month, incumbent_usd))
            workloads.append(WorkloadMonth(
                name=w.name, requests=float(row.requests), input_tokens=float(row.input_tokens),
                output_tokens=float(row.output_tokens), mean_requests_per_s=float(row.mean_requests_per_s),
                peak_requests_per_s=float(row.peak_requests_per_s),
                peak_output_tokens_per_s=float(row.peak_output_tokens_per_s),
                api_usd=bill[(w.name, month)], fleet=list(mf.lines), replicas=mf.replicas_peak,
                instances=mf.instances_peak, capacity_requests_per_s=mf.capacity_requests_per_s,
                self_hosted_compute_usd=compute, platform_usd=plat,
                storage_gib_per_instance=float(volumes[w.name].gib),
                unused_committed_hours=mf.unused_committed_hours, unused_committed_usd=mf.unused_committed_usd))
        shared = tco.shared_costs(plan, k, gpu_hour_usd)
        shared_total += sum(v for name, v in shared.items() if name != "retraining")
        for name, usd in gpu_hour_usd.items():  # retraining belongs to the workload retrained
            ws_cost[name] += tco.retraining_usd(plan, k, usd)
        fixed = tco.api_path_fixed(plan, k)
        api_fixed_total += fixed
        after = signed_after.get(month, 0.0)
        subtotal = compute_sum + platform_sum + sum(shared.values()) + after
        self_hosted = SelfHostedUsd(compute=compute_sum, platform=platform_sum, **shared, committed_after_horizon=after,
                                    buffer=buffer * subtotal, total=subtotal + buffer * subtotal)
        # the API path for model X: every workload that compares with X uses it, the others their first choice
        by_workload = {w.name: w for w in plan.workloads}
        api_path = {ref: fixed + sum(wm.api_usd.get(ref, wm.api_usd[by_workload[wm.name].api_models[0]])
                                     for wm in workloads) for ref in models}
        months_out.append(MonthForecast(
            month=month, workloads=workloads, api_usd=_sum_dicts(wm.api_usd for wm in workloads),
            api_path_usd=api_path, api_path_fixed_usd=fixed, self_hosted_usd=self_hosted,
            unused_committed_usd=sum(wm.unused_committed_usd for wm in workloads)))

    requests = [sum(wm.requests for wm in m.workloads) for m in months_out]
    self_series = [m.self_hosted_usd.total for m in months_out]
    running = [m.self_hosted_usd.total - m.self_hosted_usd.committed_after_horizon * (1 + buffer) for m in months_out]
    breaks = {ref: decision.break_even(months, self_series, [m.api_path_usd[ref] for m in months_out], requests,
                                       running_self_usd=running)
              for ref in models}
    rec = decision.recommend(plan, ws_cost, api_cost, shared_total, api_fixed_total, api_series)
    horizon = _totals(months_out)
    return Forecast(
        plan=plan, hours_per_month=HOURS_PER_MONTH,
        price_sources=provenance.price_sources(plan, inputs, fleet_plan),
        assumptions=provenance.assumptions(plan, inputs, fleet_plan),
        fleet_choice=[fleet_choice(wf) for wf in fleet_plan.workloads],
        months=months_out,
        totals=Totals(first_12_months=_totals(months_out[:12]), horizon=horizon),
        commitments=[x for wf in fleet_plan.workloads for x in wf.commitments],
        if_demand_continues=continued_demand(plan, fleet_plan, months_out, horizon, gpu_hour_usd),
        break_even=breaks, recommendation=rec,
        quota_needs_vcpus=provenance.quota_needs(plan, fleet_plan),
        spot_prices=provenance.spot_prices(fleet_plan), risks=provenance.risks(fleet_plan),
        warnings=provenance.warnings(plan, fleet_plan))


def continued_demand(plan: Plan, fleet_plan: FleetPlan, months_out: list[MonthForecast], horizon: PeriodTotals,
                     gpu_hour_usd: dict[str, float]) -> ContinuedDemand:
    """"If demand continues": the last month held (fleet, platform, people, API bill) until every
    commitment has ended; the obligation after the horizon is then paid in the months it covers."""
    buffer = plan.costs.uncertainty_buffer
    n = len(months_out)
    extra = max((len(wf.after_horizon_compute_usd) for wf in fleet_plan.workloads), default=0)
    last = months_out[-1]
    platform = last.self_hosted_usd.platform
    token_bill = {ref: usd - last.api_path_fixed_usd for ref, usd in last.api_path_usd.items()}
    self_after = 0.0
    api_after = {ref: 0.0 for ref in token_bill}
    for e in range(extra):
        compute = sum(wf.compute_after_horizon(e) for wf in fleet_plan.workloads)
        subtotal = compute + platform + sum(tco.shared_costs(plan, n + e, gpu_hour_usd).values())
        self_after += subtotal * (1 + buffer)
        fixed = tco.api_path_fixed(plan, n + e)
        for ref, usd in token_bill.items():
            api_after[ref] += usd + fixed
    obligation = horizon.self_hosted_by_category_usd.committed_after_horizon * (1 + buffer)
    return ContinuedDemand(
        months_after_horizon=extra, through_month=month_offset(last.month, extra),
        self_hosted_after_horizon_usd=self_after,
        api_path_after_horizon_usd=api_after, self_hosted_usd=horizon.self_hosted_usd - obligation + self_after,
        api_path_usd={ref: horizon.api_path_usd[ref] + api_after[ref] for ref in api_after})
