"""`planner quotas --regions ...`: the account's EC2 GPU quotas (vCPUs), optionally against a fleet."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.errors import ExitCode, UserError
from pricing.files import shorten


class _Line(BaseModel):
    """What `planner quotas` reads of a fleet line (forecast.json holds more; the rest is ignored)."""

    model_config = ConfigDict(extra="ignore")
    region: str = Field(max_length=64)
    instance_type: str = Field(max_length=64)
    purchase: str = Field(max_length=32)
    count: Annotated[int, Field(strict=True, ge=0, le=1_000_000)]


class _Workload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    fleet: list[_Line] = Field(default_factory=list)


class _Month(BaseModel):
    model_config = ConfigDict(extra="ignore")
    month: str = Field(max_length=16)
    workloads: list[_Workload] = Field(default_factory=list)


class _Forecast(BaseModel):
    model_config = ConfigDict(extra="ignore")
    months: list[_Month] = Field(default_factory=list)


def fleet_lines(forecast_json: Path, month: str | None = None) -> list:
    """Fleet lines of one month of a forecast.json (default: the month needing the most instances).

    The file is read as untrusted input (regular file, size, UTF-8, `~` expanded) and its fleet
    checked field by field: a malformed file is one line naming the field, never a traceback.
    """
    from planner.plan.errors import user_error
    from planner.plan.reader import read_json

    file = str(forecast_json)
    data = read_json(forecast_json, what="forecast JSON file")
    if not isinstance(data, dict):
        raise UserError("a forecast.json holds one JSON object (as `planner forecast` writes it)", file=file)
    try:
        forecast = _Forecast.model_validate(data)
    except ValidationError as exc:
        raise user_error(exc, _Forecast, file=file) from None
    months = forecast.months
    if month is not None:
        months = [m for m in months if m.month == month]
        if not months:
            raise UserError(f"no month {shorten(month)} in the forecast", file=file, field="--month")

    def lines(m: _Month) -> list:
        return [SimpleNamespace(**line.model_dump()) for w in m.workloads for line in w.fleet]

    if not months:
        return []
    busiest = max(months, key=lambda m: sum(line.count for w in m.workloads for line in w.fleet))
    return lines(busiest)


def register(app: typer.Typer) -> None:
    @app.command("quotas")
    def quotas(
        regions: list[str] = typer.Option(..., "--regions", help="comma-separated AWS regions"),
        forecast: Path | None = typer.Option(None, "--forecast", help="forecast.json whose fleet to compare"),
        month: str | None = typer.Option(None, "--month", help="YYYY-MM (default: the month with the most instances)"),
    ) -> None:
        """Read the EC2 GPU quotas (On-Demand and Spot, P and G, in vCPUs) and compare a fleet with them.

        Needs AWS credentials with servicequotas:GetServiceQuota. Example:
        planner quotas --regions eu-central-1,eu-north-1 --forecast out/forecast.json
        """
        from pricing import quotas as q

        names = [r.strip() for value in regions for r in value.split(",") if r.strip()]
        needed = q.needed_vcpus(fleet_lines(forecast, month)) if forecast else {}
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
