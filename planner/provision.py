"""What a Pulumi stack needs from the planner: the fleet of one workload in one month.

The stacks never re-derive sizes, instance types or prices; they call `stack_fleet`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FleetLine:
    """One group of identical instances bought one way (forecast.json `fleet` entries)."""

    region: str
    instance_type: str
    gpu: str
    gpus_per_instance: int
    tp: int
    replicas: int  # model replicas served by these instances
    count: int  # instances
    purchase: str  # reserved_1y | reserved_3y | on_demand | spot
    usd_per_hour: float  # per instance
    hours: float  # billed hours in the month (730 for reserved, fewer for autoscaled peaks)
    usd: float  # count * usd_per_hour * hours


@dataclass(frozen=True)
class StackFleet:
    plan_name: str
    plan_file: str
    workload: str
    month: str  # YYYY-MM
    allowed_regions: tuple[str, ...]
    model: str  # catalog id, e.g. llama-3.1-70b
    hf_model_id: str  # e.g. meta-llama/Llama-3.1-70B-Instruct
    precision: str  # fp16 | bf16 | fp8 | int4
    tp: int
    max_model_len: int  # context length the server is started with
    fleet: tuple[FleetLine, ...]
    compute_usd_month: float  # self-hosted compute cost of this workload in this month
    weights_gib: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)
    # instance types with the same GPU and GPU count in the region, priced higher than the chosen
    # one: an Auto Scaling group may launch them when the chosen type has no capacity
    equivalent_instance_types: tuple[str, ...] = ()
    # what one replica serves under the SLO, and the plan's headroom: the autoscaling target
    replica_requests_per_s: float = 0.0
    headroom: float = 0.0
    kv_precision: str = ""  # KV-cache precision the throughput model assumed (fp8 or 16-bit)
    engine: str = "vllm"  # the serving engine the plan was sized for (vllm | sglang | trtllm)
    max_num_seqs: int = 0  # the batch the sizing assumed per replica: the server's batch cap
    max_num_batched_tokens: int = 0  # the chunked-prefill token budget per step the sizing assumed


ENVIRONMENTS = ("dev", "staging", "prod")
STAGING_SHARE = 0.25  # staging runs a quarter of prod's peak instances (at least one per AZ), spot if allowed


def _max_model_len(context_length: int, input_tokens: float, output_tokens: float) -> int:
    """Context the server is started with: 4 × the mean request, at least 8k, at most the model's."""
    want = max(8192, 4 * int(input_tokens + output_tokens))
    length = 1 << (want - 1).bit_length()
    return min(context_length, length)


def stack_fleet(plan_path: str, workload: str, month: str | None, environment: str,
                region: str | None = None) -> StackFleet:
    """The fleet a stack provisions: the planner's fleet of `workload` in `month` for `environment`.

    `region` is the stack's region: it must be one the plan allows; when the planner's cheapest
    region is another one, the fleet is planned again with the workload pinned to `region`
    (and a note says so).

    prod: the planned fleet, line for line. staging: the same instance type, a quarter of prod's
    peak instances (at least one per AZ), on spot where the plan allows it. dev: one instance, spot
    where the plan allows it.
    """
    import math

    from planner import catalog, fleet as fleet_mod, perf
    from planner.errors import UserError, did_you_mean
    from planner.plan import load

    if environment not in ENVIRONMENTS:
        raise UserError(f"unknown environment {environment!r}{did_you_mean(environment, ENVIRONMENTS)}; "
                        f"the stack name must be one of {', '.join(ENVIRONMENTS)}", field="stack")
    plan = load(plan_path)
    w = plan.workload(workload)
    months = plan.months()
    month = month or plan.start
    if month not in months:
        raise UserError(f"month {month!r} is outside the forecast ({months[0]} .. {months[-1]})",
                        file=plan.file, field="month")
    if region is not None and region not in plan.constraints.regions:
        raise UserError(f"region {region} is not allowed by the plan (allowed: "
                        f"{', '.join(plan.constraints.regions)})", file=plan.file, field="constraints.regions")
    fp = fleet_mod.build(plan)
    wf = fp.workload(workload)
    pinned_note: tuple[str, ...] = ()
    if region is not None and region not in {c.region for c in wf.candidates}:
        cheapest = wf.candidate.region
        pinned = plan.model_copy(update={"constraints": plan.constraints.model_copy(
            update={"regions": [region], "regions_per_workload": 1})})
        wf = fleet_mod.build(pinned).workload(workload)
        pinned_note = (f"the planner's cheapest region is {cheapest}; this stack pins {region}",)
    mf = wf.months[months.index(month)]
    cand = wf.candidate
    lines: list[FleetLine]
    if environment == "prod":
        lines = list(mf.lines)
    else:
        if environment == "staging":
            count = max(min(plan.constraints.availability_zones, mf.instances_peak),
                        math.ceil(mf.instances_peak * STAGING_SHARE))
            # staging carries no production traffic: spot where the plan allows it
            purchase = next(p for p in ("spot", "on_demand", "reserved_1y", "reserved_3y") if p in cand.usd_per_hour)
        else:
            count = 1
            purchase = "spot" if "spot" in cand.usd_per_hour else (
                "on_demand" if "on_demand" in cand.usd_per_hour else next(iter(cand.usd_per_hour)))
        rate = cand.usd_per_hour[purchase]
        lines = [FleetLine(region=cand.region, instance_type=cand.instance_type, gpu=cand.gpu,
                           gpus_per_instance=cand.gpus_per_instance, tp=cand.tp,
                           replicas=count * cand.replicas_per_instance, count=count, purchase=purchase,
                           usd_per_hour=rate, hours=float(fleet_mod.HOURS_PER_MONTH),
                           usd=count * rate * fleet_mod.HOURS_PER_MONTH)]
    from planner.plan import workload_model_spec

    spec = workload_model_spec(w, catalog.load_models())
    weights_gib = perf.weights_gib(spec, w.precision)
    cap = perf.capacity(spec, catalog.load_gpus()[cand.gpu], precision=w.precision, tp=cand.tp,
                        input_tokens=round(w.traffic.input_tokens), output_tokens=round(w.traffic.output_tokens),
                        ttft_ms=w.slo.ttft_ms, tpot_ms=w.slo.tpot_ms, percentile=w.slo.percentile,
                        engine=w.engine, kv_precision=w.kv_precision, factors=perf.load_factors())
    notes = tuple(wf.notes) + pinned_note
    return StackFleet(
        plan_name=plan.name, plan_file=str(plan_path), workload=workload, month=month,
        allowed_regions=tuple(plan.constraints.regions), model=w.model, hf_model_id=spec.hf_id,
        precision=w.precision, tp=cand.tp,
        max_model_len=_max_model_len(spec.context_length, w.traffic.input_tokens, w.traffic.output_tokens),
        fleet=tuple(lines), compute_usd_month=sum(line.usd for line in lines), weights_gib=weights_gib,
        equivalent_instance_types=tuple(cand.equivalents),
        replica_requests_per_s=cand.replica_requests_per_s, headroom=plan.constraints.headroom,
        kv_precision=cap.kv_precision, engine=w.engine, max_num_seqs=cap.max_batch,
        max_num_batched_tokens=cap.max_num_batched_tokens,
        notes=notes + ((f"{environment}: reduced from prod's {mf.instances_peak} peak instances",)
                       if environment != "prod" else ()),
    )
