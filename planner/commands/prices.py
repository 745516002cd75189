"""`planner prices PLAN.yaml [--json]` and `planner prices refresh [...]`.

`prices` is a command group whose first positional word is either the `refresh` subcommand or a
plan file: `_PlanOrCommand` turns a leading plan path into the group's `--plan` option, so a plan
never swallows the subcommand's name (a plain optional argument would).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import typer
from typer.core import TyperGroup

from planner.commands._output import Column, Format, emit, format_option
from planner.errors import ExitCode, UserError

JSON_KEYS = ("region", "instance_type", "gpu", "gpu_count", "gpu_memory_gib", "vcpus",
             "on_demand_usd_per_hour", "spot_min_usd_per_hour", "spot_max_usd_per_hour",
             "reserved_1y_usd_per_hour", "reserved_3y_usd_per_hour", "reserved_1y_is_assumption",
             "reserved_3y_is_assumption", "assumptions", "skipped", "source", "date")


class _PlanOrCommand(TyperGroup):
    def parse_args(self, ctx, args):
        args = list(args)
        for i, token in enumerate(args):
            if token == "--":
                break
            if token.startswith("-"):
                if token == "--plan":
                    break
                continue
            if token not in self.commands:
                args[i:i + 1] = ["--plan", token]
            break
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx):
        return ["PLAN.yaml [--json]", "|", "refresh [OPTIONS]"]


@dataclass
class PricesResult:
    """The offers a plan's constraints allow, ready to print."""

    plan_file: str
    snapshot: str
    snapshot_source: str
    snapshot_date: str
    rows: list[dict]
    warnings: list[str] = field(default_factory=list)


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def plan_prices(plan_file: str | Path, *, today: dt.date | None = None) -> PricesResult:
    """Load the plan and the snapshot it names; list every offer its regions and GPUs allow."""
    import pricing
    from planner import plan as plan_module
    from planner.fleet import reserved_discounts
    from planner.inputs import load_snapshot
    from pricing.availability import check_plan_regions
    from pricing.snapshot import staleness_warning

    plan = plan_module.load(plan_file)
    file = plan.file or str(plan_file)
    table = load_snapshot(plan)
    c = plan.constraints
    check_plan_regions(table, c.regions, c.gpus, file=file)
    d1, d3 = reserved_discounts(plan)
    rows = []
    for priced in pricing.offers_for(table, c.regions, c.gpus, reserved_1y_discount=d1,
                                     reserved_3y_discount=d3):
        rows.append(_row(priced.offer, priced.usd_per_hour.get("reserved_1y"),
                         priced.usd_per_hour.get("reserved_3y"), priced.assumed, list(priced.notes), None))
    for offer in pricing.skipped_offers(table, c.regions, c.gpus):
        rows.append(_row(offer, offer.reserved_1y_usd_per_hour, offer.reserved_3y_usd_per_hour, frozenset(),
                         [], "no on-demand price in the snapshot; the fleet planner skips this row"))
    rows.sort(key=lambda r: (r["region"], r["on_demand_usd_per_hour"] is None,
                             r["on_demand_usd_per_hour"] or 0.0, r["instance_type"]))
    warnings = []
    stale = staleness_warning(table, today or dt.date.today())
    if stale:
        warnings.append(stale)
    if any(r["reserved_1y_is_assumption"] or r["reserved_3y_is_assumption"] for r in rows):
        warnings.append(f"assumption: reserved prices without a snapshot rate are on-demand × (1 − discount), "
                        f"1-year discount {d1:g}, 3-year {d3:g} (no upfront; set pricing.reserved_1y_discount / "
                        "reserved_3y_discount in the plan; sources in pricing/data/README.md)")
    return PricesResult(plan_file=file, snapshot=table.path, snapshot_source=table.source,
                        snapshot_date=table.date, rows=rows, warnings=warnings)


def _usd(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _row(offer, r1, r3, assumed, assumptions, skipped) -> dict:
    r1, r3 = _usd(r1), _usd(r3)
    return {
        "region": offer.region, "instance_type": offer.instance_type, "gpu": offer.gpu,
        "gpu_count": offer.gpu_count, "gpu_memory_gib": offer.gpu_memory_gib, "vcpus": offer.vcpus,
        "on_demand_usd_per_hour": offer.on_demand_usd_per_hour,
        "spot_min_usd_per_hour": offer.spot_min_usd_per_hour,
        "spot_max_usd_per_hour": offer.spot_max_usd_per_hour,
        "reserved_1y_usd_per_hour": r1, "reserved_3y_usd_per_hour": r3,
        "reserved_1y_is_assumption": "reserved_1y" in assumed,
        "reserved_3y_is_assumption": "reserved_3y" in assumed,
        "assumptions": assumptions, "skipped": skipped, "source": offer.source, "date": offer.date,
    }


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.4f}".rstrip("0").rstrip(".") if value < 10 else f"{value:,.2f}"


def _spot(row: dict) -> str:
    if row["spot_min_usd_per_hour"] is None:
        return "-"
    spot_max = row["spot_max_usd_per_hour"]
    return _money(row["spot_min_usd_per_hour"]) + "–" + ("?" if spot_max is None else _money(spot_max))


def _print_table(result: PricesResult, fmt: Format = Format.table) -> None:
    sources: dict[str, str] = {}
    for row in result.rows:
        sources.setdefault(row["source"], f"[{len(sources) + 1}]")
    columns = [
        Column("region", "region"), Column("instance_type", "instance type"),
        Column("gpu", "GPU × count", text=lambda r: f"{r['gpu']} × {r['gpu_count']}"),
        Column("on_demand_usd_per_hour", "on-demand", numeric=True,
               text=lambda r: _money(r["on_demand_usd_per_hour"]) + (" (skipped)" if r["skipped"] else "")),
        Column("spot_min_usd_per_hour", "spot min–max", numeric=True, text=_spot),
        Column("reserved_1y_usd_per_hour", "reserved 1y", numeric=True,
               text=lambda r: _money(r["reserved_1y_usd_per_hour"]) + (" *" if r["reserved_1y_is_assumption"] else "")),
        Column("reserved_3y_usd_per_hour", "reserved 3y", numeric=True,
               text=lambda r: _money(r["reserved_3y_usd_per_hour"]) + (" *" if r["reserved_3y_is_assumption"] else "")),
        Column("source", "source", text=lambda r: sources[r["source"]]), Column("date", "date"),
    ]
    if fmt is Format.csv:  # the raw values, the keys of --format json
        columns = [Column(key, key) for key in JSON_KEYS]
    emit(columns, result.rows, fmt, title=f"offers for {result.plan_file} ($/instance-hour)")
    if fmt is Format.table:
        print("* assumed: on-demand × (1 − discount), not an AWS rate.   spot max '?' = not in the "
              "snapshot (it keeps the cheapest AZ only).")
        for text, ref in sources.items():
            print(f"{ref} {text}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def run_refresh(regions: list[str], instance_types: list[str], *, out: Path | None, base_path: Path | None,
                force: bool, session=None, today: dt.date | None = None, show_progress: bool = True,
                budget_s: float | None = None):
    """Fetch live prices, write a new snapshot with what was fetched; returns the RefreshResult.

    A partial fetch is written only to a new file: an existing --out (with --force) is kept.
    """
    from pricing import refresh, snapshot
    from pricing.files import user_path

    budget_s = refresh.DEFAULT_BUDGET_S if budget_s is None else budget_s
    base = snapshot.load(base_path)
    regions = regions or base.regions
    instance_types = instance_types or base.instance_types
    for region in regions:
        refresh.location_name(region)  # unknown region names fail before any call
    today = today or dt.date.today()
    out = user_path(out or refresh.default_out(today))
    if out.exists() and not force:
        raise UserError("file exists; choose another --out or pass --force", file=str(out))

    if show_progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (TextColumn(f"{len(regions)} regions × {len(instance_types)} types"), BarColumn(),
                   MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"))
        with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
            task = bar.add_task("", total=refresh.steps(regions, instance_types))
            result = refresh.fetch(regions, instance_types, base=base, session=session, today=today,
                                   budget_s=budget_s,
                                   progress=lambda what: bar.update(task, advance=1, description=what))
    else:
        result = refresh.fetch(regions, instance_types, base=base, session=session, today=today,
                               budget_s=budget_s)
    if result.offers:
        refresh.write_snapshot(base, result, out, force=force)
    return result


def register(app: typer.Typer) -> None:
    prices_app = typer.Typer(cls=_PlanOrCommand, invoke_without_command=True, no_args_is_help=True,
                             help="List the GPU offers a plan allows, or refresh prices from AWS.\n\n"
                                  "Example: planner prices examples/eu-chat-assistant.yaml --json")

    @prices_app.callback()
    def prices(
        ctx: typer.Context,
        plan: Path | None = typer.Option(None, "--plan", metavar="PLAN.yaml",
                                         help="the plan file (usually given as the first argument)"),
        as_json: bool = typer.Option(False, "--json", help="print a JSON list (the same as --format json)"),
        fmt: Format = format_option(),
    ) -> None:
        """List the offers a plan's regions and GPUs allow: on-demand, spot range, reserved, source, date.

        Example: planner prices examples/eu-chat-assistant.yaml --json
        """
        if ctx.invoked_subcommand is not None:
            return
        if plan is None:
            raise UserError("give a plan file (planner prices PLAN.yaml) or a subcommand (planner prices refresh)")
        result = plan_prices(plan)
        if as_json or fmt is Format.json:
            for warning in result.warnings:
                print(f"warning: {warning}", file=sys.stderr)
            print(json.dumps([{k: row[k] for k in JSON_KEYS} for row in result.rows], indent=2))
        else:
            _print_table(result, fmt)

    @prices_app.command("refresh")
    def refresh_command(
        regions: list[str] | None = typer.Option(None, "--regions", help="comma-separated; default: the snapshot's regions"),
        instance_types: list[str] | None = typer.Option(None, "--instance-types", help="comma-separated; default: the snapshot's types"),
        out: Path | None = typer.Option(None, "--out", help="new snapshot file (default ./aws_gpu_prices_<today>.csv)"),
        base: Path | None = typer.Option(None, "--base", help="snapshot to start from (default: the shipped one)"),
        force: bool = typer.Option(False, "--force", help="overwrite --out if it exists (never with a partial fetch)"),
        timeout: float = typer.Option(900.0, "--timeout", min=1.0, max=86400.0,
                                      help="overall time budget in seconds; what is not fetched by then is reported"),
    ) -> None:
        """Fetch current on-demand, reserved and spot prices from AWS and write a new snapshot file.

        Shows progress (regions × types) on stderr; stops at the first connection error or when
        --timeout runs out. A partial fetch is written only to a new file, never over an existing one.

        Needs AWS credentials (Pricing API and EC2 read access). Example:
        planner prices refresh --regions eu-central-1,eu-north-1 --instance-types p5.48xlarge
        """
        result = run_refresh(_split(regions), _split(instance_types), out=out, base_path=base, force=force,
                             budget_s=timeout)
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        if result.written:
            print(f"wrote {result.written} ({len(result.offers)} refreshed rows)")
            print(f"use it with `pricing: {{snapshot: {result.written}}}` in a plan")
        if result.failures:
            if result.written:
                what = " (what was fetched is written)"
            elif result.kept:
                what = f"; {result.kept} was kept as it was (a partial fetch never replaces a snapshot)"
            else:
                what = "; nothing written"
            print(f"error: refresh incomplete, {len(result.failures)} part(s) failed{what}:", file=sys.stderr)
            for failure in result.failures:
                print(f"  {failure}", file=sys.stderr)
            raise typer.Exit(int(ExitCode.FAILURE))
        if not result.written:
            print("nothing fetched: no prices for these regions and instance types", file=sys.stderr)
            raise typer.Exit(int(ExitCode.FAILURE))

    app.add_typer(prices_app, name="prices")
