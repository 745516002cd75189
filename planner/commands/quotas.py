"""`planner quotas`: the account's EC2 GPU quotas (vCPUs), optionally against a forecast's fleet."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from planner.errors import ExitCode, UserError


def load_forecast(forecast_json: Path):
    """The typed `Forecast` of a forecast.json, or a one-line UserError naming the file.

    The file is read as untrusted input (`planner.plan.reader`: a regular file of at most 64 MiB,
    UTF-8, `~` expanded), so a FIFO, a device or a huge file is refused without reading it.
    """
    from pydantic import ValidationError

    from planner.forecast import serialize
    from planner.plan.reader import MAX_FORECAST_BYTES, read_text
    from pricing.files import clip

    try:
        text = read_text(forecast_json, what="forecast.json", max_bytes=MAX_FORECAST_BYTES)
    except UserError as exc:
        raise UserError(f"cannot read forecast JSON: {exc.message}", file=exc.file, line=exc.line) from None
    try:
        return serialize.from_json(text)
    except ValidationError as exc:
        first = exc.errors(include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise UserError(f"not a forecast.json of this planner ({exc.error_count()} problem(s), first at "
                        f"{clip(where, 80)}: {clip(first['msg'], 160)})", file=str(forecast_json)) from None


def fleet_lines(forecast, month: str | None = None, file: str = "forecast.json") -> list:
    """Fleet lines of one month of a forecast (default: the month needing the most instances)."""
    months = forecast.months
    if month is not None:
        months = [m for m in months if m.month == month]
        if not months:
            raise UserError(f"no month {month} in the forecast ({forecast.months[0].month} to "
                            f"{forecast.months[-1].month})", file=file, field="--month")

    def lines(m):
        return [line for w in m.workloads for line in w.fleet]

    busiest = max(months, key=lambda m: sum(line.count for line in lines(m)))
    return lines(busiest)


def needed_vcpus(forecast, month: str | None, file: str) -> dict[str, dict[str, float]]:
    """Region -> quota key -> vCPUs: the forecast's own figures, or one month's fleet when asked."""
    if month is None:
        return {r: dict(v) for r, v in forecast.quota_needs_vcpus.items()}
    from pricing import quotas as q

    return q.needed_vcpus(fleet_lines(forecast, month, file))


def register(app: typer.Typer) -> None:
    @app.command("quotas")
    def quotas(
        regions: list[str] = typer.Option(None, "--regions",
                                          help="comma-separated AWS regions (default: the forecast's regions)"),
        forecast: Path | None = typer.Option(None, "--forecast", help="forecast.json whose fleet to compare"),
        month: str | None = typer.Option(None, "--month", help="YYYY-MM: that month's prod fleet lines only (default: "
                                         "the forecast's quota needs, prod + staging + dev at the busiest month, each at the largest type its group may launch)"),
    ) -> None:
        """Read the EC2 GPU quotas (On-Demand and Spot, P and G, in vCPUs) and compare a fleet with them.

        Needs AWS credentials with servicequotas:GetServiceQuota. Example:
        planner quotas --forecast forecast-support-assistant/forecast.json
        """
        from planner.commands import _options
        from pricing import quotas as q

        month = _options.month(month)
        names = [r.strip() for value in regions or [] for r in value.split(",") if r.strip()]
        needed = {}
        if forecast is not None:
            needed = needed_vcpus(load_forecast(forecast), month, str(forecast))
        elif month is not None:
            raise UserError("--month needs --forecast (the month of which forecast?)", field="--month")
        names = list(dict.fromkeys(names + sorted(set(needed) - set(names))))
        if not names:
            raise UserError("no region to check: give --regions R1,R2 or --forecast forecast.json",
                            field="--regions")
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
