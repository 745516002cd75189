"""`planner forecast PLAN.yaml`: the fleet, the cost forecast and the API bill, as reports."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("forecast")
    def forecast(
        plan_file: Path = typer.Argument(..., metavar="PLAN.yaml", help="the plan file"),
        out: Path = typer.Option(None, "--out", help="output folder (default: forecast-<plan name>/)"),
    ) -> None:
        """Forecast a plan month by month and write report.md, report.html, forecast.csv, forecast.json.

        Nothing is written unless the whole forecast succeeds.

        Example: planner forecast examples/eu-chat-assistant.yaml --out forecast-eu
        """
        import sys

        from rich.console import Console

        from planner import service

        err = Console(stderr=True)
        with err.status("forecasting…") as status:  # on a terminal only: piped, stderr stays quiet
            result = service.forecast(plan_file, out, progress=lambda step: status.update(f"forecasting: {step}…"))
        for warning in result.warnings:
            err.print(f"warning: {warning}")
        print(f"wrote {', '.join(p.name for p in result.files)} to {result.out_dir}/")
        for line in result.answer:
            print(line)
        sys.stdout.flush()
