"""forecast.csv: tidy line items of a forecast (forecast.json is `planner.forecast.serialize.to_json`).

Byte-identical for the same plan and price snapshot: no generation time, cents as 0.00.
"""

from __future__ import annotations

import csv
import io

from planner.forecast.model import CATEGORIES, Forecast, PlatformUsd
from planner.report.format import is_number, round_half_up

CSV_COLUMNS = ("month", "workload", "category", "item", "quantity", "unit", "usd")


def _money(x: float) -> str:
    return f"{round_half_up(x, 2):.2f}"


def _qty(x: float | None) -> str:
    if not is_number(x):
        return ""
    text = f"{round_half_up(x, 6):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def csv_rows(f: Forecast) -> list[tuple]:
    """Tidy line items: (month, workload, category, item, quantity, unit, usd), money unrounded.

    Per workload: the API token bill per model (quantity = requests), each fleet line (quantity =
    instance-hours) and each platform item. Plan-level (workload "*"): self-hosted categories other
    than compute and platform, any compute or platform not in the workload lines, and the API path's
    own costs per model. Self-hosted rows of a month sum to its self-hosted total; api_tokens plus
    api_path rows of a model sum to its API path cost.
    """
    rows: list[tuple] = []
    for m in f.months:
        fleet_usd = platform_usd = 0.0
        for w in m.workloads:
            for model, value in w.api_usd.items():
                rows.append((m.month, w.name, "api_tokens", model, w.requests, "requests", value))
            for line in w.fleet:
                rows.append((m.month, w.name, "compute", f"{line.region}/{line.instance_type}/{line.purchase}",
                             line.count * line.hours, "instance_hours", line.usd))
                fleet_usd += line.usd
            for item in PlatformUsd.model_fields:
                value = getattr(w.platform_usd, item)
                rows.append((m.month, w.name, "platform", item, None, "", value))
                platform_usd += value
        s = m.self_hosted_usd
        for category, in_lines in (("compute", fleet_usd), ("platform", platform_usd)):
            rest = getattr(s, category) - in_lines
            if abs(rest) >= 0.005:
                rows.append((m.month, "*", category, f"{category}_not_in_workloads", None, "", rest))
        for c in CATEGORIES[2:]:
            rows.append((m.month, "*", "self_hosted", c, None, "", getattr(s, c)))
        for model, value in m.api_path_usd.items():
            rows.append((m.month, "*", "api_path", f"{model} own costs", None, "", value - m.api_usd[model]))
    return rows


def to_csv(f: Forecast) -> str:
    """forecast.csv: one row per month × workload × line item, in forecast order."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for month, workload, category, item, qty, unit, value in csv_rows(f):
        writer.writerow([month, workload, category, item, _qty(qty), unit, _money(value)])
    return buf.getvalue()
