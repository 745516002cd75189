"""`planner diff BASE.json HEAD.json`: what a plan change does to the fleet and the bill."""

from __future__ import annotations

import enum
from pathlib import Path

import typer


class DiffFormat(str, enum.Enum):
    md = "md"
    json = "json"


def register(app: typer.Typer) -> None:
    @app.command("diff")
    def diff(
        base: Path = typer.Argument(..., metavar="BASE.json", help="forecast.json before the change"),
        head: Path = typer.Argument(..., metavar="HEAD.json", help="forecast.json after the change"),
        fmt: DiffFormat = typer.Option(DiffFormat.md, "--format", case_sensitive=False,
                                       help="md (a pull-request comment) or json"),
    ) -> None:
        """Compare two forecasts: totals, break-even, recommendation, fleet per workload and month.

        Example: planner diff base/forecast.json head/forecast.json > comment.md
        """
        import json

        from planner.commands.quotas import load_forecast
        from planner.report import diff as diff_mod

        d = diff_mod.diff(load_forecast(base), load_forecast(head))
        if fmt is DiffFormat.json:
            print(json.dumps(diff_mod.to_data(d), indent=2))
        else:
            print(diff_mod.to_markdown(d), end="")
