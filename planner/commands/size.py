"""`planner size PLAN.yaml`: the fleet per month and workload."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("size")
    def size(
        plan_file: Path = typer.Argument(..., metavar="PLAN.yaml", help="the plan file"),
        as_json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
        month: str = typer.Option(None, "--month", help="only this month (YYYY-MM)"),
    ) -> None:
        """Size the cheapest fleet that meets each workload's peak demand, month by month.

        Prints region, instance type, GPUs, tensor-parallel degree, purchase option, instance count,
        billed hours and USD for every fleet line.

        Example: planner size examples/eu-chat-assistant.yaml --month 2027-06
        """
        import json

        from planner import service

        result = service.size(plan_file, month)
        if as_json:
            print(json.dumps(result, indent=2))
            return
        _print(result)


def _print(result: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for choice in result["choices"]:
        eq = choice["equivalent_instance_types"]
        console.print(f"[bold]{choice['workload']}[/bold]: {choice['instance_type']} "
                      f"({choice['gpus_per_instance']} × {choice['gpu']}, tp {choice['tp']}, "
                      f"{choice['replicas_per_instance']} replica(s) per instance, "
                      f"{choice['replica_requests_per_s']:.2f} req/s per replica) in {', '.join(choice['regions'])}; "
                      f"{choice['candidates_considered']} candidates considered"
                      + (f"; equivalent: {', '.join(eq)}" if eq else ""))
    table = Table(title=f"fleet of {result['plan']}")
    for col in ("month", "workload", "region", "instance type", "purchase", "count", "hours", "$/h", "USD",
                "peak req/s", "capacity req/s"):
        table.add_column(col, justify="right" if col in ("count", "hours", "$/h", "USD", "peak req/s",
                                                         "capacity req/s") else "left")
    for m in result["months"]:
        for w in m["workloads"]:
            for i, line in enumerate(w["fleet"]):
                table.add_row(m["month"] if i == 0 else "", w["name"] if i == 0 else "", line["region"],
                              line["instance_type"], line["purchase"], str(line["count"]),
                              f"{line['hours']:,.0f}", f"{line['usd_per_hour']:,.4f}", f"{line['usd']:,.0f}",
                              f"{w['peak_requests_per_s']:.2f}" if i == 0 else "",
                              f"{w['capacity_requests_per_s']:.2f}" if i == 0 else "")
    console.print(table)
    console.print(f"optimiser: {result['solve_seconds']:.2f} s")
