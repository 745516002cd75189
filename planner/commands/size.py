"""`planner size PLAN.yaml`: the fleet per month and workload, or what one stack provisions."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.commands._output import Column, Format, emit, format_option


def register(app: typer.Typer) -> None:
    @app.command("size")
    def size(
        plan_file: Path = typer.Argument(..., metavar="PLAN.yaml", help="the plan file"),
        as_json: bool = typer.Option(False, "--json", help="print JSON (the same as --format json)"),
        month: str = typer.Option(None, "--month", help="only this month (YYYY-MM); with --environment, "
                                  "the month whose fleet the stack provisions (default: the first)"),
        environment: str = typer.Option(None, "--environment", help="dev, staging or prod: print the resolved "
                                        "spec that stack's `pulumi up` asks for"),
        workload: str = typer.Option(None, "--workload", help="with --environment: the workload (needed when "
                                     "the plan has several)"),
        region: str = typer.Option(None, "--region", help="with --environment: the stack's region (default: "
                                   "the region the planner chose)"),
        fmt: Format = format_option(),
    ) -> None:
        """Size the cheapest fleet that meets each workload's peak demand, month by month.

        Prints region, instance type, purchase option, instance count, billed hours and USD for every
        fleet line. With --environment, prints instead the fully resolved spec of one stack: its Auto
        Scaling groups (instance types, min/desired/max, on-demand base, scheduled actions in UTC,
        target tracking), root volume, network and monthly budget.

        Example: planner size examples/eu-chat-assistant.yaml --month 2027-06
        Example: planner size examples/us-batch-summariser.yaml --environment prod --month 2027-06 --json
        """
        from planner import service
        from planner.commands import _options

        month = _options.month(month)
        as_json = as_json or fmt is Format.json
        if environment is not None:
            spec = service.stack_spec(plan_file, environment, workload=workload, month=month, region=region)
            print(spec.model_dump_json(indent=2) if as_json else _spec_text(spec))
            return
        result = service.size(plan_file, month)
        if as_json:
            print(result.model_dump_json(indent=2))
            return
        _print(result.model_dump(mode="json"), fmt)


def _spec_text(spec) -> str:
    out = [f"{spec.environment} stack of {spec.workload} in {spec.region}, {spec.month} "
           f"({spec.plan_file}): {spec.server.engine} {spec.server.hf_model_id} {spec.server.precision}, tp {spec.server.tp}",
           f"budget ${spec.budget_usd_month:,.2f}/month = compute ${spec.compute_usd_month:,.2f} + platform "
           f"${spec.platform_usd.total:,.2f}; root volume {spec.root_volume.gib} GiB gp3; "
           f"{spec.network.fleet_zones} zone(s), {spec.network.nat_gateways} NAT gateway(s); "
           f"redundancy floor {spec.redundancy_floor}"]
    for g in spec.groups:
        out.append(f"group {g.role}: {', '.join(g.instance_types)}; min {g.min_size} desired {g.desired_capacity} "
                   f"max {g.max_size}; reserved {g.reserved_instances}; ${g.compute_usd:,.2f}")
        out.append("  instances by hour UTC: " + " ".join(str(c) for c in g.instances_by_hour_utc))
        for a in g.scheduled_actions:
            out.append(f"  at {a.hour_utc:02d}:00 UTC: min {a.min_size} desired {a.desired_capacity} max {a.max_size}")
        if g.target_requests_per_instance_per_minute is not None:
            out.append(f"  target tracking: {g.target_requests_per_instance_per_minute:g} requests/instance/minute")
    out += [f"note: {n}" for n in spec.notes]
    return "\n".join(out)


# one row per fleet line: whatever `service.size` returns, flattened for the output layer
COLUMNS = [
    Column("month", "month"), Column("workload", "workload"), Column("region", "region"),
    Column("instance_type", "instance type"), Column("purchase", "purchase"),
    Column("count", "count", numeric=True),
    Column("hours", "hours", numeric=True, text=lambda r: f"{r['hours']:,.0f}"),
    Column("usd_per_hour", "$/h", numeric=True, text=lambda r: f"{r['usd_per_hour']:,.4f}"),
    Column("usd", "USD", numeric=True, text=lambda r: f"{r['usd']:,.0f}"),
    Column("peak_requests_per_s", "peak req/s", numeric=True, text=lambda r: f"{r['peak_requests_per_s']:.2f}"),
    Column("capacity_requests_per_s", "capacity req/s", numeric=True,
           text=lambda r: f"{r['capacity_requests_per_s']:.2f}"),
]


def rows(result: dict) -> list[dict]:
    """The size result's JSON data, one dict per fleet line."""
    out = []
    for m in result["months"]:
        for w in m["workloads"]:
            for line in w["fleet"]:
                out.append({"month": m["month"], "workload": w["name"], **line,
                            "peak_requests_per_s": w["peak_requests_per_s"],
                            "capacity_requests_per_s": w["capacity_requests_per_s"]})
    return out


def _print(result: dict, fmt: Format = Format.table) -> None:
    if fmt is Format.table:
        for choice in result["choices"]:
            eq = choice["equivalent_instance_types"]
            print(f"{choice['workload']}: {choice['instance_type']} "
                  f"({choice['gpus_per_instance']} × {choice['gpu']}, tp {choice['tp']}, "
                  f"{choice['replicas_per_instance']} replica(s) per instance, "
                  f"{choice['replica_requests_per_s']:.2f} req/s per replica) in {', '.join(choice['regions'])}; "
                  f"{choice['candidates_considered']} candidates considered"
                  + (f"; equivalent: {', '.join(eq)}" if eq else ""))
    emit(COLUMNS, rows(result), fmt, title=f"fleet of {result['plan']}")
    if fmt is Format.table:
        print(f"optimiser: {result['solve_seconds']:.2f} s")
