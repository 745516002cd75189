"""`planner quotas --regions ...`: the account's EC2 GPU quotas (vCPUs), optionally against a fleet."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import typer

from planner.errors import ExitCode, UserError


def fleet_lines(forecast_json: Path, month: str | None = None) -> list:
    """Fleet lines of one month of a forecast.json (default: the month needing the most instances)."""
    try:
        data = json.loads(Path(forecast_json).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read forecast JSON: {exc}", file=str(forecast_json)) from None
    months = data.get("months") or []
    if month is not None:
        months = [m for m in months if m.get("month") == month]
        if not months:
            raise UserError(f"no month {month!r} in the forecast", file=str(forecast_json), field="--month")

    def lines(m):
        return [SimpleNamespace(**line) for w in m.get("workloads", []) for line in w.get("fleet", [])]

    if not months:
        return []
    busiest = max(months, key=lambda m: sum(line.count for line in lines(m)))
    return lines(busiest)


def forecast_needs(forecast_json: Path) -> dict[str, dict[str, float]] | None:
    """The forecast's own quota needs (prod, staging and dev at the busiest month, each instance at
    the largest type its group may launch), or None when the file does not carry them."""
    try:
        data = json.loads(Path(forecast_json).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read forecast JSON: {exc}", file=str(forecast_json)) from None
    needs = data.get("quota_needs_vcpus") if isinstance(data, dict) else None
    return {r: {k: float(v) for k, v in by_key.items()} for r, by_key in needs.items()} if needs else None


def register(app: typer.Typer) -> None:
    @app.command("quotas")
    def quotas(
        regions: list[str] = typer.Option(..., "--regions", help="comma-separated AWS regions"),
        forecast: Path | None = typer.Option(None, "--forecast", help="forecast.json whose fleet to compare"),
        month: str | None = typer.Option(None, "--month", help="YYYY-MM: that month's prod fleet lines only (default: "
                                         "the forecast's quota needs, prod + staging + dev at the busiest month)"),
    ) -> None:
        """Read the EC2 GPU quotas (On-Demand and Spot, P and G, in vCPUs) and compare a fleet with them.

        Needs AWS credentials with servicequotas:GetServiceQuota. Example:
        planner quotas --regions eu-central-1,eu-north-1 --forecast out/forecast.json
        """
        from pricing import quotas as q

        names = [r.strip() for value in regions for r in value.split(",") if r.strip()]
        needed: dict[str, dict[str, float]] = {}
        if forecast and month is None:  # the forecast's own figures: every environment, the largest type
            needed = forecast_needs(forecast) or q.needed_vcpus(fleet_lines(forecast))
        elif forecast:  # one month's prod fleet lines, at their own instance types
            needed = q.needed_vcpus(fleet_lines(forecast, month))
        names = list(dict.fromkeys(names + sorted(set(needed) - set(names))))
        limits = q.fetch(names)
        for region in names:
            for key, code in q.QUOTA_CODES.items():
                need = needed.get(region, {}).get(key)
                extra = f"   fleet needs {need:g}" if need is not None else ""
                print(f"{region}  {code}  {q.QUOTA_NAMES[key]:<38} {limits[region][key]:>8g} vCPUs{extra}")
        warnings = q.compare(needed, limits)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if warnings:
            raise typer.Exit(int(ExitCode.FAILURE))
