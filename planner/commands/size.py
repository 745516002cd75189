"""`planner size PLAN.yaml`: the fleet per month and workload, or what one stack provisions."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("size")
    def size(
        plan_file: Path = typer.Argument(..., metavar="PLAN.yaml", help="the plan file"),
        as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
        month: str = typer.Option(None, "--month", help="only this month (YYYY-MM); with --environment, "
                                  "the month whose fleet the stack provisions (default: the first)"),
        environment: str = typer.Option(None, "--environment", help="dev, staging or prod: print the resolved "
                                        "spec that stack's `pulumi up` asks for"),
        workload: str = typer.Option(None, "--workload", help="with --environment: the workload (needed when "
                                     "the plan has several)"),
        region: str = typer.Option(None, "--region", help="with --environment: the stack's region (default: "
                                   "the region the planner chose)"),
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

        if environment is not None:
            spec = service.stack_spec(plan_file, environment, workload=workload, month=month, region=region)
            print(spec.model_dump_json(indent=2) if as_json else _spec_text(spec))
            return
        result = service.size(plan_file, month)
        if as_json:
            print(result.model_dump_json(indent=2))
            return
        _print(result)


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


def _print(result) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for c in result.choices:
        eq = c.equivalent_instance_types
        console.print(f"[bold]{c.workload}[/bold]: {c.instance_type} "
                      f"({c.gpus_per_instance} × {c.gpu}, tp {c.tp}, "
                      f"{c.replicas_per_instance} replica(s) per instance, "
                      f"{c.replica_requests_per_s:.2f} req/s per replica) in {', '.join(c.regions)}; "
                      f"{c.candidates_considered} candidates considered"
                      + (f"; equivalent: {', '.join(eq)}" if eq else ""))
    table = Table(title=f"fleet of {result.plan}")
    for col in ("month", "workload", "region", "instance type", "purchase", "count", "hours", "$/h", "USD",
                "peak req/s", "capacity req/s"):
        table.add_column(col, justify="right" if col in ("count", "hours", "$/h", "USD", "peak req/s",
                                                         "capacity req/s") else "left")
    for m in result.months:
        for w in m.workloads:
            for i, line in enumerate(w.fleet):
                table.add_row(m.month if i == 0 else "", w.name if i == 0 else "", line.region,
                              line.instance_type, str(line.purchase), str(line.count),
                              f"{line.hours:,.0f}", f"{line.usd_per_hour:,.4f}", f"{line.usd:,.0f}",
                              f"{w.peak_requests_per_s:.2f}" if i == 0 else "",
                              f"{w.capacity_requests_per_s:.2f}" if i == 0 else "")
    console.print(table)
    console.print(f"optimiser: {result.solve_seconds:.2f} s")
