"""Candidates: every way the plan allows to serve a workload, priced.

A candidate is an (allowed region × instance type carrying an allowed GPU × tensor-parallel degree)
that the throughput model says fits and meets the SLO. Instance types with the same GPU and GPU
count in a region are equivalent: the cheapest leads, the others are kept as alternatives an Auto
Scaling group may launch.
"""

from __future__ import annotations

import math

from planner import perf
from planner.catalog import GpuSpec, ModelSpec
from planner.fleet.model import Candidate
from planner.plan import Plan, Workload
from pricing import PricedOffer, PriceTable, offers_for
from pricing.availability import check_plan_regions
from pricing.errors import UserError
from pricing.terms import DEFAULT_RESERVED_1Y_DISCOUNT, DEFAULT_RESERVED_3Y_DISCOUNT, RESERVED, Purchase

TP_DEGREES = perf.TPS


def reserved_discounts(plan: Plan) -> tuple[float, float]:
    """The plan's reserved discounts (1 year, 3 years), or the shipped defaults."""
    r1, r3 = plan.pricing.reserved_1y_discount, plan.pricing.reserved_3y_discount
    return (DEFAULT_RESERVED_1Y_DISCOUNT if r1 is None else r1, DEFAULT_RESERVED_3Y_DISCOUNT if r3 is None else r3)


def offers(plan: Plan, table: PriceTable) -> list[PricedOffer]:
    """The priced offers the plan may buy (its regions and GPU kinds); a plan whose regions offer
    none of its GPUs is refused naming the regions that do."""
    check_plan_regions(table, plan.constraints.regions, plan.constraints.gpus, file=plan.file)
    r1, r3 = reserved_discounts(plan)
    return offers_for(table, plan.constraints.regions, plan.constraints.gpus,
                      reserved_1y_discount=r1, reserved_3y_discount=r3, spot_basis=plan.pricing.spot_basis)


def replica_capacity(model: ModelSpec, gpu: GpuSpec, workload: Workload, tp: int,
                     factors: perf.PerfFactors) -> perf.ReplicaCapacity:
    """What one replica of `workload` sustains on `gpu` at `tp` under its SLO, for its engine
    (`perf.capacity`, which caches by value: every argument it receives is a value)."""
    t = workload.traffic
    return perf.capacity(model, gpu, precision=workload.precision, tp=tp, input_tokens=round(t.input_tokens),
                         output_tokens=round(t.output_tokens), ttft_ms=workload.slo.ttft_ms,
                         tpot_ms=workload.slo.tpot_ms, percentile=workload.slo.percentile, engine=workload.engine,
                         kv_precision=workload.kv_precision, factors=factors)


def candidates(plan: Plan, workload: Workload, priced: list[PricedOffer], model: ModelSpec,
               gpus: dict[str, GpuSpec], factors: perf.PerfFactors) -> tuple[list[Candidate], list[str]]:
    """Every (region, instance type, TP) that fits and meets the SLO, and why the rest do not."""
    allowed = set(plan.constraints.purchase)
    mult = plan.pricing.compute_price_multiplier
    spot_mult = plan.pricing.spot_price_multiplier
    t = workload.traffic
    found: dict[tuple, list[Candidate]] = {}
    reasons: list[str] = []
    for po in priced:
        o = po.offer
        gpu = gpus.get(o.gpu)
        if gpu is None:  # a GPU the catalog does not describe cannot be sized
            continue
        for tp in TP_DEGREES:
            if tp > o.gpu_count or o.gpu_count % tp:
                continue
            if workload.engine == "trtllm" and o.gpu_count // tp > 1:
                # trtllm-serve runs one replica per instance (no data-parallel ranks behind one port)
                continue
            try:
                cap = replica_capacity(model, gpu, workload, tp, factors)
            except UserError as exc:  # e.g. fp8 on a GPU without FP8: this GPU is not a candidate
                reasons.append(f"{o.gpu}: {exc.message}")
                break
            if not (cap.fits and cap.meets_slo) or cap.requests_per_s <= 0:
                if cap.reason:
                    reasons.append(f"{o.gpu} tp {tp}: {cap.reason}")
                continue
            usd = {option: rate * mult * (spot_mult if option == Purchase.SPOT else 1.0)
                   for option, rate in po.usd_per_hour.items() if option in allowed}
            spot_zone = [None if x is None else x * mult * spot_mult
                         for x in (o.spot_min_usd_per_hour, o.spot_max_usd_per_hour)]
            if not ({Purchase.ON_DEMAND, *RESERVED} & set(usd)):
                continue
            c = Candidate(region=o.region, instance_type=o.instance_type, gpu=o.gpu,
                          gpus_per_instance=o.gpu_count, vcpus=o.vcpus, tp=tp,
                          replicas_per_instance=o.gpu_count // tp,
                          replica_requests_per_s=cap.requests_per_s, usd_per_hour=usd,
                          assumed=po.assumed, source=po.source, date=po.date,
                          on_demand_usd_per_gpu_hour=po.usd_per_hour[Purchase.ON_DEMAND] * mult / o.gpu_count,
                          spot_basis=po.spot_basis if Purchase.SPOT in usd else None,
                          spot_lowest_zone_usd_per_hour=spot_zone[0], spot_highest_zone_usd_per_hour=spot_zone[1],
                          engine=workload.engine, kv_precision=cap.kv_precision, max_batch=cap.max_batch,
                          max_num_batched_tokens=cap.max_num_batched_tokens)
            found.setdefault((o.region, o.gpu, o.gpu_count, tp), []).append(c)
    out = []
    for key in sorted(found):
        group = sorted(found[key], key=lambda c: (c.usd_per_hour.get(Purchase.ON_DEMAND, math.inf), c.instance_type))
        lead = group[0]
        out.append(Candidate(**{**lead.__dict__, "equivalents": tuple(c.instance_type for c in group[1:]),
                                "equivalent_vcpus": tuple(c.vcpus for c in group[1:])}))
    return out, list(dict.fromkeys(reasons))
