"""`planner size PLAN.yaml`: the fleet per month and workload."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.commands._output import Column, Format, emit, format_option


def register(app: typer.Typer) -> None:
    @app.command("size")
    def size(
        plan_file: Path = typer.Argument(..., metavar="PLAN.yaml", help="the plan file"),
        as_json: bool = typer.Option(False, "--json", help="print JSON (the same as --format json)"),
        month: str = typer.Option(None, "--month", help="only this month (YYYY-MM)"),
        fmt: Format = format_option(),
    ) -> None:
        """Size the cheapest fleet that meets each workload's peak demand, month by month.

        Prints region, instance type, GPUs, tensor-parallel degree, purchase option, instance count,
        billed hours and USD for every fleet line.

        Example: planner size examples/eu-chat-assistant.yaml --month 2027-06
        """
        import json

        from planner import service
        from planner.commands import _options

        month = _options.month(month)
        result = service.size(plan_file, month)
        if as_json or fmt is Format.json:
            print(json.dumps(result, indent=2))
            return
        _print(result, fmt)


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
