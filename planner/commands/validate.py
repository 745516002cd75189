"""`planner validate PLAN.yaml`: check a plan and print a one-screen summary."""

from __future__ import annotations

from pathlib import Path

import typer

from planner.errors import ExitCode


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate(plan_file: Path = typer.Argument(..., metavar="PLAN.yaml", help="the plan file")) -> None:
        """Check a plan file and print a one-screen summary.

        Example: planner validate examples/eu-chat-assistant.yaml
        """
        from planner import service

        summary = service.validate(plan_file)
        _print(summary)
        if summary.problems:
            import sys

            for problem in summary.problems:
                print(f"error: {problem}", file=sys.stderr)
            raise typer.Exit(int(ExitCode.USAGE))


def _print(summary) -> None:
    from rich.console import Console
    from rich.table import Table

    from pricing.terms import HOURS_PER_MONTH

    console = Console()
    plan = summary.plan
    verdict = "valid" if not summary.problems else f"{len(summary.problems)} problem(s) the forecast would reject"
    console.print(f"[bold]{plan.name}[/bold]  {plan.file}: {verdict}")
    months = plan.months()
    console.print(f"forecast {months[0]} .. {months[-1]} ({plan.horizon_months} months, {HOURS_PER_MONTH} h each)")
    c = plan.constraints
    console.print(f"regions: {', '.join(c.regions)}   GPUs: {', '.join(c.gpus) if c.gpus else 'any in the catalog'}")
    console.print(f"purchase: {', '.join(c.purchase)}   max spot share {c.max_spot_share:.0%}")
    console.print(f"min replicas {c.min_replicas}   headroom {c.headroom:.0%}")
    u = plan.uncertainty
    if u is not None and u.draws:
        console.print(f"uncertainty: {u.draws:,} Monte Carlo draws, seed {u.seed} (forecast.json gets bands)")
    labels = ("model", "precision", "requests/day", "peak requests/s", "tokens in / out", "SLO",
              "compared with")
    for row in summary.workloads:
        table = Table(title=f"workload {row[0]}", show_header=False, box=None, title_justify="left")
        table.add_column(style="dim")
        table.add_column()
        for label, value in zip(labels, row[1:]):
            table.add_row(label, str(value))
        console.print(table)
    for line in summary.notes:
        console.print(f"note: {line}", soft_wrap=True)
    import sys

    for line in summary.warnings:
        print(f"warning: {line}", file=sys.stderr)
