"""The forecast: the self-hosted cost of ownership next to the API bill, month by month (`planner.forecast`).

`build(plan)` returns the forecast as a plain dict, the content of forecast.json (see
docs/forecast-json.md). Money stays unrounded here; the writers round to the cent.

Self-hosted costs per month, in USD, 730 hours a month:
- compute: every fleet line, count × $/h × hours (reserved lines pay all 730 hours);
- platform: per workload and region, one NAT gateway per AZ and one load balancer, all month;
  EBS gp3 for weights and runtime on every instance-hour; data transfer out for the responses;
- people: ML and DevOps engineers; data and evaluation; compliance (one-time in the first month
  plus monthly); retraining cycles (GPU-hours at on-demand list price every N months);
- buffer: the plan's uncertainty buffer on all of the above (the seeds' advice: 30 %).
The API side is the token bill (genai-prices) plus the API path's own people and compliance.
"""

from __future__ import annotations

import datetime as dt
import itertools
from functools import lru_cache
from typing import Any

from planner import demand as demand_mod
from planner.plan import Plan

HOURS_PER_MONTH = demand_mod.HOURS_PER_MONTH
SCHEMA_VERSION = 1
CATEGORIES = ("compute", "platform", "people", "data_eval", "compliance", "retraining", "buffer")
# A streamed OpenAI-compatible response sends one server-sent event per token, about 200 bytes each.
EGRESS_BYTES_PER_OUTPUT_TOKEN = 200
MAX_WORKLOADS_FOR_EXACT_HYBRID = 12


def month_start(month: str) -> dt.date:
    year, mon = (int(x) for x in month.split("-"))
    return dt.date(year, mon, 1)


def api_bill(plan: Plan, table) -> dict[tuple[str, str], dict[str, float]]:
    """(workload, month) -> {provider/model: USD} for each model the workload compares with.

    Each request is priced by genai-prices at the workload's mean input and output tokens (rounded
    to whole tokens), so per-request tiers apply as the provider bills them, at the price in effect
    on the first day of the month.
    """
    from pricing import api

    by_name = {w.name: w for w in plan.workloads}
    out: dict[tuple[str, str], dict[str, float]] = {}
    for row in table.itertuples(index=False):
        w = by_name[row.workload]
        on = month_start(row.month)
        tokens_in = round(w.traffic.input_tokens)
        tokens_out = round(w.traffic.output_tokens)
        out[(row.workload, row.month)] = {
            ref: float(api.usd_per_request(ref, tokens_in, tokens_out, on)) * float(row.requests)
            for ref in w.compare_with
        }
    return out


def _sum_dicts(dicts) -> dict[str, float]:
    total: dict[str, float] = {}
    for d in dicts:
        for k, v in d.items():
            total[k] = total.get(k, 0.0) + v
    return total


# --- self-hosted costs -----------------------------------------------------------------------

def weights_storage_gib(plan: Plan, model, precision: str) -> float:
    """EBS per instance: the plan's figure, or twice the weights (download + load) plus 100 GiB."""
    if plan.costs.weights_storage_gib is not None:
        return plan.costs.weights_storage_gib
    from planner import perf

    weights_gib = perf.weights_gib(model, precision)
    return 2 * weights_gib + 100


def platform_usd(plan: Plan, workload, wfleet, month_index: int, requests: float, platform_prices) -> dict[str, float]:
    """Platform cost of one workload in one month, by item."""
    from pricing import platform as platform_mod

    mf = wfleet.months[month_index]
    regions = sorted({line.region for line in mf.lines} or {c.region for c in wfleet.candidates})
    azs = plan.constraints.availability_zones
    items = {"nat_gateways": 0.0, "load_balancer": 0.0, "ebs": 0.0, "data_transfer_out": 0.0}
    from planner import catalog
    from planner.plan import workload_model_spec

    storage = weights_storage_gib(plan, workload_model_spec(workload, catalog.load_models()), workload.precision)
    for region in regions:
        pp = platform_mod.for_region(platform_prices, region)
        items["nat_gateways"] += azs * pp.nat_gateway_usd_per_hour * HOURS_PER_MONTH
        items["load_balancer"] += pp.load_balancer_usd_per_hour * HOURS_PER_MONTH
        instance_hours = sum(line.count * line.hours for line in mf.lines if line.region == region)
        items["ebs"] += storage * pp.ebs_gp3_usd_per_gb_month * instance_hours / HOURS_PER_MONTH
        share = 1.0 / len(regions)
        if plan.costs.egress_gb_per_million_requests is not None:
            gb = plan.costs.egress_gb_per_million_requests * requests / 1e6
        else:
            gb = requests * workload.traffic.output_tokens * EGRESS_BYTES_PER_OUTPUT_TOKEN / 1e9
        items["data_transfer_out"] += gb * share * pp.data_transfer_out_usd_per_gb
    return items


def shared_costs(plan: Plan, month_index: int, gpu_hour_usd: float) -> dict[str, float]:
    """People, data/eval, compliance and retraining of the self-hosted path in one month."""
    c = plan.costs
    retraining = 0.0
    if c.retraining_every_months and month_index > 0 and month_index % c.retraining_every_months == 0:
        retraining = c.retraining_gpu_hours * gpu_hour_usd
    return {
        "people": c.ml_engineers * c.ml_engineer_usd_month + c.devops_engineers * c.devops_usd_month,
        "data_eval": c.data_eval_usd_month,
        "compliance": c.compliance_usd_month + (c.compliance_one_time_usd if month_index == 0 else 0.0),
        "retraining": retraining,
    }


def api_path_fixed(plan: Plan, month_index: int) -> float:
    c = plan.costs
    return (c.api_ml_engineers * c.ml_engineer_usd_month + c.api_devops_engineers * c.devops_usd_month
            + c.api_data_eval_usd_month + c.api_compliance_usd_month
            + (c.api_compliance_one_time_usd if month_index == 0 else 0.0))


def self_hosted_month(per_workload: list[dict[str, float]], shared: dict[str, float], buffer: float) -> dict[str, float]:
    out = {"compute": sum(w["compute"] for w in per_workload),
           "platform": sum(w["platform"] for w in per_workload), **shared}
    subtotal = sum(out.values())
    out["buffer"] = buffer * subtotal
    out["total"] = subtotal + out["buffer"]
    return out


# --- break-even and recommendation -------------------------------------------------------------

def break_even(months: list[str], self_usd: list[float], api_usd: list[float], requests: list[float]) -> dict[str, Any]:
    """First month cumulative self-hosted ≤ cumulative API, and the monthly volume where the monthly lines cross."""
    cum_s = cum_a = 0.0
    month = None
    for m, s, a in zip(months, self_usd, api_usd):
        cum_s += s
        cum_a += a
        if month is None and cum_s <= cum_a:
            month = m
    volume = None
    note = None
    diffs = [a - s for s, a in zip(self_usd, api_usd)]  # > 0: self-hosting is cheaper that month
    for k, d in enumerate(diffs):
        if d >= 0:
            if k == 0:
                note = "self-hosting is already cheaper per month at the starting volume"
                volume = None
            else:
                d0 = diffs[k - 1]
                frac = -d0 / (d - d0) if d != d0 else 0.0
                volume = requests[k - 1] + frac * (requests[k] - requests[k - 1])
            break
    else:
        note = "the monthly lines do not cross within the horizon"
    return {"month": month, "monthly_requests": volume, "note": note}


def _best_split(plan: Plan, ws_cost: dict[str, float], api_cost: dict[str, float], shared_total: float,
                api_fixed_total: float, buffer: float, forced: set[str]) -> tuple[set[str], float]:
    """Which workloads to self-host (exact over subsets): minimise the horizon total."""
    names = [w.name for w in plan.workloads]
    free = [n for n in names if n not in forced]
    best: tuple[float, int, set[str]] | None = None
    if len(free) > MAX_WORKLOADS_FOR_EXACT_HYBRID:  # too many subsets: decide each on its own
        chosen = set(forced) | {n for n in free if ws_cost[n] * (1 + buffer) < api_cost[n]}
        subsets = [chosen]
    else:
        subsets = [set(forced) | set(combo) for r in range(len(free) + 1)
                   for combo in itertools.combinations(free, r)]
    for hosted in subsets:
        total = 0.0
        if hosted:
            total += (sum(ws_cost[n] for n in hosted) + shared_total) * (1 + buffer)
        if len(hosted) < len(names):
            total += sum(api_cost[n] for n in names if n not in hosted) + api_fixed_total
        key = (round(total, 6), -len(hosted))
        if best is None or key < (round(best[0], 6), -len(best[2])):
            best = (total, len(hosted), hosted)
    assert best is not None
    return best[2], best[0]


def recommend(plan: Plan, ws_cost: dict[str, float], api_cost: dict[str, float], shared_total: float,
              api_fixed_total: float, api_monthly_series: dict[str, list[tuple[str, float]]]) -> dict[str, Any]:
    """API, self-host or hybrid per workload, with the trigger that decided it."""
    api_monthly_peak = {name: max(series, key=lambda x: x[1]) for name, series in api_monthly_series.items()}
    buffer = plan.costs.uncertainty_buffer
    forced: dict[str, str] = {}
    for w in plan.workloads:
        if not w.api_allowed:
            forced[w.name] = "residency"
        elif not w.api_meets_slo:
            forced[w.name] = "latency"
    hosted, total = _best_split(plan, ws_cost, api_cost, shared_total, api_fixed_total, buffer, set(forced))
    all_api = sum(api_cost.values()) + api_fixed_total
    workloads = []
    triggers = []
    threshold = plan.recommendation_spend_threshold_usd_month
    for w in plan.workloads:
        incumbent = w.compare_with[0]
        peak_month, peak_spend = api_monthly_peak[w.name]
        saving = api_cost[w.name] - ws_cost[w.name] * (1 + buffer)
        if w.name in forced:
            trig = forced[w.name]
            reason = ("its data may not go to a third-party API (api_allowed: false)" if trig == "residency"
                      else "the API cannot meet its latency SLO (api_meets_slo: false)")
            decision = "self-host"
            triggers.append(f"{trig}: {w.name} must be self-hosted: {reason}")
        elif w.name in hosted:
            trig = "volume"
            reason = (f"at this volume self-hosting costs less than {incumbent} over the horizon, "
                      "people, platform and buffer included")
            decision = "self-host"
        else:
            decision = "api"
            trig = "spend threshold" if peak_spend >= threshold else "volume"
            if peak_spend >= threshold:
                reason = (f"{incumbent} spend reaches ${peak_spend:,.0f}/month by {peak_month} (threshold "
                          f"${threshold:,.0f}) but self-hosting still costs more: revisit as volume grows")
            else:
                reason = (f"{incumbent} spend stays under ${threshold:,.0f}/month (peak ${peak_spend:,.0f} in "
                          f"{peak_month}); the API is cheaper once people and platform are counted")
        if w.name not in forced:
            triggers.append(f"volume: {w.name} on {incumbent} costs ${api_cost[w.name]:,.0f} over the horizon, "
                            f"its own fleet and platform ${ws_cost[w.name] * (1 + buffer):,.0f} with the buffer "
                            f"({'saves' if saving >= 0 else 'costs'} ${abs(saving):,.0f} before shared people "
                            "and compliance costs)")
        if peak_spend >= threshold:
            first = next(m for m, usd in api_monthly_series[w.name] if usd >= threshold)
            triggers.append(f"spend threshold: {w.name} on {incumbent} passes ${threshold:,.0f}/month in {first}")
        workloads.append({"name": w.name, "decision": decision, "trigger": trig, "reason": reason,
                          "compared_with": incumbent,
                          "self_hosted_usd": ws_cost[w.name] * (1 + buffer), "api_usd": api_cost[w.name]})
    decision = ("self-host" if len(hosted) == len(plan.workloads) else "api" if not hosted else "hybrid")
    return {"decision": decision, "workloads": workloads, "triggers": triggers,
            "horizon_total_usd": total, "all_api_horizon_usd": all_api}


# --- the whole forecast ------------------------------------------------------------------------

def build(plan: Plan, *, fleet_plan=None) -> dict[str, Any]:
    """The forecast of `plan` as a dict (the content of forecast.json)."""
    from planner import fleet as fleet_mod
    from pricing import quotas

    table = demand_mod.build(plan)
    bill = api_bill(plan, table)
    price_table, offers = fleet_mod.load_offers(plan)
    if fleet_plan is None:
        fleet_plan = fleet_mod.build(plan, table, offers)
    platform_prices = _platform_prices()
    months = plan.months()
    buffer = plan.costs.uncertainty_buffer
    first_fleet = fleet_plan.workloads[0]
    gpu_hour_usd = first_fleet.candidate.on_demand_usd_per_gpu_hour

    months_out = []
    ws_cost = {w.name: 0.0 for w in plan.workloads}
    api_cost = {w.name: 0.0 for w in plan.workloads}
    api_series: dict[str, list[tuple[str, float]]] = {w.name: [] for w in plan.workloads}
    shared_total = 0.0
    api_fixed_total = 0.0
    for k, month in enumerate(months):
        rows = table[table["month"] == month]
        workloads = []
        per_workload_cost = []
        for w, row in zip(plan.workloads, rows.itertuples(index=False)):
            wf = fleet_plan.workload(w.name)
            mf = wf.months[k]
            plat = platform_usd(plan, w, wf, k, float(row.requests), platform_prices)
            compute = mf.compute_usd
            per_workload_cost.append({"compute": compute, "platform": sum(plat.values())})
            ws_cost[w.name] += compute + sum(plat.values())
            incumbent_usd = bill[(w.name, month)][w.compare_with[0]]
            api_cost[w.name] += incumbent_usd
            api_series[w.name].append((month, incumbent_usd))
            workloads.append({
                "name": w.name,
                "requests": float(row.requests),
                "input_tokens": float(row.input_tokens),
                "output_tokens": float(row.output_tokens),
                "mean_requests_per_s": float(row.mean_requests_per_s),
                "peak_requests_per_s": float(row.peak_requests_per_s),
                "peak_output_tokens_per_s": float(row.peak_output_tokens_per_s),
                "api_usd": bill[(w.name, month)],
                "fleet": [line.__dict__.copy() for line in mf.lines],
                "replicas": mf.replicas_peak,
                "instances": mf.instances_peak,
                "capacity_requests_per_s": mf.capacity_requests_per_s,
                "self_hosted_compute_usd": compute,
                "platform_usd": plat,
                "unused_committed_hours": mf.unused_committed_hours,
                "unused_committed_usd": mf.unused_committed_usd,
            })
        shared = shared_costs(plan, k, gpu_hour_usd)
        shared_total += sum(shared.values())
        fixed = api_path_fixed(plan, k)
        api_fixed_total += fixed
        api_usd = _sum_dicts(w["api_usd"] for w in workloads)
        months_out.append({
            "month": month,
            "workloads": workloads,
            "api_usd": api_usd,
            "api_path_usd": {},  # filled below, per compared model
            "api_path_fixed_usd": fixed,
            "self_hosted_usd": self_hosted_month(per_workload_cost, shared, buffer),
            "unused_committed_usd": sum(w["unused_committed_usd"] for w in workloads),
        })

    # the API path for model X: every workload that compares with X uses it, the others their first choice
    models = list(dict.fromkeys(ref for w in plan.workloads for ref in w.compare_with))
    for m in months_out:
        for ref in models:
            m["api_path_usd"][ref] = m["api_path_fixed_usd"] + sum(
                w["api_usd"].get(ref, w["api_usd"][plan.workload(w["name"]).compare_with[0]])
                for w in m["workloads"])

    requests = [sum(w["requests"] for w in m["workloads"]) for m in months_out]
    self_series = [m["self_hosted_usd"]["total"] for m in months_out]
    breaks = {ref: break_even(months, self_series, [m["api_path_usd"][ref] for m in months_out], requests)
              for ref in models}
    rec = recommend(plan, ws_cost, api_cost, shared_total, api_fixed_total, api_series)

    def totals(chunk: list[dict[str, Any]]) -> dict[str, Any]:
        cats = {c: sum(m["self_hosted_usd"][c] for m in chunk) for c in (*CATEGORIES, "total")}
        return {"months": len(chunk),
                "api_usd": _sum_dicts(m["api_usd"] for m in chunk),
                "api_path_usd": _sum_dicts(m["api_path_usd"] for m in chunk),
                "self_hosted_usd": cats["total"],
                "self_hosted_by_category_usd": cats,
                "unused_committed_usd": sum(m["unused_committed_usd"] for m in chunk)}

    return {
        "schema_version": SCHEMA_VERSION,
        "plan": plan.model_dump(mode="json"),
        "hours_per_month": HOURS_PER_MONTH,
        "price_sources": _price_sources(plan, price_table, fleet_plan, platform_prices),
        "assumptions": _assumptions(plan, fleet_plan),
        "fleet_choice": [fleet_choice(plan, wf) for wf in fleet_plan.workloads],
        "months": months_out,
        "totals": {"first_12_months": totals(months_out[:12]), "horizon": totals(months_out)},
        "break_even": breaks,
        "recommendation": rec,
        "quota_needs_vcpus": _quota_needs(fleet_plan, price_table),
        "warnings": _warnings(plan, fleet_plan, months_out) + [quotas.NOT_CHECKED],
    }


def fleet_choice(plan: Plan, wf) -> dict[str, Any]:
    c = wf.candidate
    return {"workload": wf.workload, "regions": [x.region for x in wf.candidates],
            "instance_type": c.instance_type, "equivalent_instance_types": list(c.equivalents),
            "gpu": c.gpu, "gpus_per_instance": c.gpus_per_instance, "tp": c.tp,
            "replicas_per_instance": c.replicas_per_instance,
            "replica_requests_per_s": c.replica_requests_per_s,
            "candidates_considered": wf.considered,
            "commitments_past_horizon_usd": wf.commitments_past_horizon_usd,
            "notes": wf.notes}


def _price_sources(plan: Plan, price_table, fleet_plan, platform_prices) -> list[dict[str, Any]]:
    from pricing import api, platform as platform_mod

    sources = [{"kind": "aws_compute", "source": price_table.source, "date": price_table.date,
                "file": _repo_relative(price_table.path)}]
    used_regions = sorted({c.region for wf in fleet_plan.workloads for c in wf.candidates})
    seen = set()
    for region in used_regions:
        pp = platform_mod.for_region(platform_prices, region)
        key = (pp.source, pp.date)
        if key in seen:
            continue
        seen.add(key)
        sources.append({"kind": "aws_platform", "region": pp.region if not pp.fallback else f"{region} (default row)",
                        "source": pp.source, "date": pp.date, "file": "pricing/data/platform_prices.csv"})
    sources.append(api.price_source(month_start(plan.start)))
    return sources


def _repo_relative(path: str) -> str:
    from pathlib import Path

    p = Path(path)
    root = Path(__file__).resolve().parents[1]
    try:
        return str(p.resolve().relative_to(root))
    except ValueError:
        return str(p)


def _assumptions(plan: Plan, fleet_plan) -> list[dict[str, Any]]:
    import pricing

    r1 = plan.pricing.reserved_1y_discount
    r3 = plan.pricing.reserved_3y_discount
    assumed = set().union(*(c.assumed for wf in fleet_plan.workloads for c in wf.candidates))
    from planner import perf

    out = [
        {"name": "hours_per_month", "value": HOURS_PER_MONTH,
         "source": "AWS and Infracost convention (365 × 24 / 12)", "is_assumption": False},
        {"name": "reserved_1y_discount", "value": pricing.DEFAULT_RESERVED_1Y_DISCOUNT if r1 is None else r1,
         "source": ("plan pricing.reserved_1y_discount" if r1 is not None else
                    "default: low end of realised savings (~30 %, vantage.sh; AWS Savings Plans FAQ says up to 72 %)"),
         "is_assumption": "reserved_1y" in assumed},
        {"name": "reserved_3y_discount", "value": pricing.DEFAULT_RESERVED_3Y_DISCOUNT if r3 is None else r3,
         "source": ("plan pricing.reserved_3y_discount" if r3 is not None else
                    "default: low end of 45–55 % realised 3-year no-upfront savings (pricing/data/README.md)"),
         "is_assumption": "reserved_3y" in assumed},
        {"name": "spot_interruption_overhead", "value": plan.constraints.spot_interruption_overhead,
         "source": "plan constraints.spot_interruption_overhead: extra spot instances per instance of capacity",
         "is_assumption": True},
        {"name": "spot_price_basis", "value": "highest zone price where known, else the snapshot's minimum",
         "source": "pricing snapshot (spot prices are point-in-time)", "is_assumption": True},
        {"name": "uncertainty_buffer", "value": plan.costs.uncertainty_buffer,
         "source": "plan costs.uncertainty_buffer (seeds: add 30 % for hidden costs)", "is_assumption": True},
        {"name": "throughput_model", "value": (
            "roofline step model per engine with Poisson queueing; SLO percentile "
            + ", ".join(sorted({f"{w.name}: {w.slo.percentile}" for w in plan.workloads})) + "; "
            + "; ".join(perf.fit_summary(e) for e in sorted({w.engine for w in plan.workloads}))),
         "source": "planner/data/perf_calibration.yaml fit_quality.<engine> from bench/perf_fit.py "
                   "(TensorRT-LLM, vLLM, SGLang and LMDeploy measurements)",
         "is_assumption": True},
        {"name": "egress_bytes_per_output_token", "value": EGRESS_BYTES_PER_OUTPUT_TOKEN,
         "source": "one server-sent event per streamed token (plan costs.egress_gb_per_million_requests overrides)",
         "is_assumption": plan.costs.egress_gb_per_million_requests is None},
        {"name": "regions_per_workload", "value": plan.constraints.regions_per_workload,
         "source": "plan constraints.regions_per_workload (a workload lives in one region by default)",
         "is_assumption": False},
        {"name": "commitments", "value": "costed for the months inside the horizon; later months listed separately",
         "source": "planner.fleet", "is_assumption": True},
    ]
    for w in plan.workloads:
        if w.traffic.hourly_profile is None:
            out.append({"name": f"daily_shape[{w.name}]",
                        "value": f"one smooth peak at {demand_mod.DEFAULT_PEAK_HOUR_UTC}:00 UTC, peak/average "
                                 f"{w.traffic.peak_to_average:g}",
                        "source": "assumed from peak_to_average; give traffic.hourly_profile for a measured shape",
                        "is_assumption": True})
    return out


@lru_cache(maxsize=1)
def _platform_prices():
    """The shipped platform price table, read once (it has no per-plan override)."""
    from pricing import platform as platform_mod

    return platform_mod.load()


@lru_cache(maxsize=1)
def perf_fit_quality() -> dict[str, float]:
    """The calibration error figures recorded with the fitted factors."""
    from pathlib import Path

    import yaml

    path = Path(__file__).parent / "data" / "perf_calibration.yaml"
    return (yaml.safe_load(path.read_text()) or {}).get("fit_quality", {})


def _quota_needs(fleet_plan, price_table) -> dict[str, dict[str, float]]:
    from pricing import quotas

    peak: dict[str, dict[str, float]] = {}
    n_months = len(fleet_plan.workloads[0].months)
    for k in range(n_months):
        lines = [line for wf in fleet_plan.workloads for line in wf.months[k].lines]
        need = quotas.needed_vcpus(lines, price_table)
        for region, by_key in need.items():
            for key, vcpus in by_key.items():
                slot = peak.setdefault(region, {})
                slot[key] = max(slot.get(key, 0.0), vcpus)
    return {r: dict(sorted(v.items())) for r, v in sorted(peak.items())}


def _warnings(plan: Plan, fleet_plan, months_out) -> list[str]:
    out = []
    for wf in fleet_plan.workloads:
        spot_share = 0.0
        where = None
        for mf in wf.months:
            spot = sum(line.count for line in mf.lines if line.purchase == "spot")
            total = sum(line.count for line in mf.lines)
            if total and spot / total > spot_share:
                spot_share, where = spot / total, mf.month
        if spot_share > 0:
            out.append(f"{wf.workload}: spot carries up to {spot_share:.0%} of peak instances ({where}); an "
                       "interruption wave falls back to on-demand at list price")
        if wf.commitments_past_horizon_usd > 0:
            out.append(f"{wf.workload}: reserved commitments run past the horizon: "
                       f"${wf.commitments_past_horizon_usd:,.0f} more is committed after {plan.months()[-1]}")
        unused = sum(mf.unused_committed_usd for mf in wf.months)
        if unused > 0:
            out.append(f"{wf.workload}: ${unused:,.0f} of committed (reserved) hours go unused off-peak over "
                       "the horizon; they are still paid")
    return out
