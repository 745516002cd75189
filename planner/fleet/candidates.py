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
               gpus: dict[str, GpuSpec], factors: perf.PerfFactors, *,
               capacities: dict | None = None) -> tuple[list[Candidate], list[str]]:
    """Every (region, instance type, TP) that fits and meets the SLO, and why the rest do not.

    `capacities` (optional) keeps what one replica sustains per (GPU kind, TP) between calls for the
    same model, engine, precisions, token counts and SLO (`planner.fleet.memo` passes one per such
    value).
    """
    allowed = set(plan.constraints.purchase)
    mult = plan.pricing.compute_price_multiplier
    spot_mult = plan.pricing.spot_price_multiplier
    caps = {} if capacities is None else capacities

    def capacity(gpu_name: str, tp: int):
        """(ReplicaCapacity or None, reason or None) for one GPU kind at one TP degree."""
        key = (gpu_name, tp)
        if key not in caps:
            try:
                caps[key] = (replica_capacity(model, gpus[gpu_name], workload, tp, factors), None)
            except UserError as exc:  # e.g. fp8 on a GPU without FP8: this GPU is not a candidate
                caps[key] = (None, f"{gpu_name}: {exc.message}")
        return caps[key]

    nonspot = {Purchase.ON_DEMAND, *RESERVED} & allowed
    # offers by (region, GPU kind, GPU count); what one replica sustains depends on (GPU kind, TP)
    groups: dict[tuple[str, str, int], list[PricedOffer]] = {}
    kinds: dict[tuple[str, int], None] = {}  # (GPU kind, count) in order of first appearance
    for po in priced:
        o = po.offer
        if o.gpu not in gpus:  # a GPU the catalog does not describe cannot be sized
            continue
        kinds.setdefault((o.gpu, o.gpu_count))
        if not nonspot.isdisjoint(po.usd_per_hour):
            groups.setdefault((o.region, o.gpu, o.gpu_count), []).append(po)
    reasons: list[str] = []
    serving: dict[tuple[str, int], list[tuple[int, perf.ReplicaCapacity]]] = {}
    for gpu_name, count in kinds:
        ok = serving[(gpu_name, count)] = []
        for tp in TP_DEGREES:
            if tp > count or count % tp:
                continue
            if workload.engine == "trtllm" and count // tp > 1:
                # trtllm-serve runs one replica per instance (no data-parallel ranks behind one port)
                continue
            cap, error = capacity(gpu_name, tp)
            if cap is None:
                reasons.append(error)
                break
            if not (cap.fits and cap.meets_slo) or cap.requests_per_s <= 0:
                if cap.reason:
                    reasons.append(f"{gpu_name} tp {tp}: {cap.reason}")
                continue
            ok.append((tp, cap))
    found: dict[tuple, list[tuple[PricedOffer, perf.ReplicaCapacity]]] = {}
    for (region, gpu_name, count), offers_here in groups.items():
        for tp, cap in serving[(gpu_name, count)]:
            found[(region, gpu_name, count, tp)] = [(po, cap) for po in offers_here]

    def on_demand_first(item) -> tuple[float, str]:
        po = item[0]
        od = po.usd_per_hour.get(Purchase.ON_DEMAND) if Purchase.ON_DEMAND in allowed else None
        return (math.inf if od is None else od * mult, po.offer.instance_type)

    out = []
    for key in sorted(found):
        group = sorted(found[key], key=on_demand_first)
        po, cap = group[0]
        o = po.offer
        usd = {option: rate * mult * (spot_mult if option == Purchase.SPOT else 1.0)
               for option, rate in po.usd_per_hour.items() if option in allowed}
        spot_zone = [None if x is None else x * mult * spot_mult
                     for x in (o.spot_min_usd_per_hour, o.spot_max_usd_per_hour)]
        out.append(Candidate(region=o.region, instance_type=o.instance_type, gpu=o.gpu,
                             gpus_per_instance=o.gpu_count, vcpus=o.vcpus, tp=key[3],
                             replicas_per_instance=o.gpu_count // key[3],
                             replica_requests_per_s=cap.requests_per_s, usd_per_hour=usd,
                             assumed=po.assumed, source=po.source, date=po.date,
                             on_demand_usd_per_gpu_hour=po.usd_per_hour[Purchase.ON_DEMAND] * mult / o.gpu_count,
                             spot_basis=po.spot_basis if Purchase.SPOT in usd else None,
                             spot_lowest_zone_usd_per_hour=spot_zone[0], spot_highest_zone_usd_per_hour=spot_zone[1],
                             engine=workload.engine, kv_precision=cap.kv_precision, max_batch=cap.max_batch,
                             max_num_batched_tokens=cap.max_num_batched_tokens,
                             equivalents=tuple(e.offer.instance_type for e, _ in group[1:]),
                             equivalent_vcpus=tuple(e.offer.vcpus for e, _ in group[1:])))
    return out, list(dict.fromkeys(reasons))
