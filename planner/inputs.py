"""Everything a forecast reads from disk, loaded once, at the edge (`planner.inputs.load`).

The stages after the plan (`demand`, `fleet`, `forecast`, `scenarios`, `provision`) are plain
functions over values: they receive an `Inputs` and never open a file themselves. Tests build an
`Inputs` in memory (a three-row price table, say) and hand it in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.catalog import GpuSpec, ModelSpec, load_gpus, load_models
from planner.perf import PerfFactors, load_factors
from planner.plan import Plan
from pricing import PriceTable, snapshot
from pricing.platform import PlatformPrices, load as load_platform


@dataclass(frozen=True)
class Inputs:
    """The price tables, catalogs and calibration one forecast uses."""

    price_table: PriceTable
    platform_prices: dict[str, PlatformPrices]
    models: dict[str, ModelSpec]
    gpus: dict[str, GpuSpec]
    perf_factors: PerfFactors
    perf_fit: dict[str, Any]  # the calibration's own error figures, shown in every report


def snapshot_path(plan: Plan) -> Path:
    """The plan's price snapshot: its own file (`~` expanded, relative to the plan) or the shipped one."""
    if not plan.pricing.snapshot:
        return snapshot.SHIPPED_SNAPSHOT
    return Path(plan.resolve_path(str(Path(plan.pricing.snapshot).expanduser())))


def load_snapshot(plan: Plan) -> PriceTable:
    """The plan's price snapshot, read; a missing file is one line naming the plan's field."""
    from pricing.errors import UserError

    path = snapshot_path(plan)
    if plan.pricing.snapshot and not path.exists():
        raise UserError(f"price snapshot {path} not found", file=plan.file, field="pricing.snapshot")
    return snapshot.load(path)


def perf_fit_quality(path: Path | None = None) -> dict[str, Any]:
    """The calibration error figures recorded with the fitted factors."""
    import yaml

    from planner.perf import CALIBRATION_FILE

    doc = yaml.safe_load(Path(path or CALIBRATION_FILE).read_text(encoding="utf-8")) or {}
    return dict(doc.get("fit_quality") or {})


def load(plan: Plan) -> Inputs:
    """Read the plan's price snapshot, the platform prices, the catalogs and the calibration."""
    return Inputs(price_table=load_snapshot(plan), platform_prices=load_platform(),
                  models=load_models(), gpus=load_gpus(), perf_factors=load_factors(),
                  perf_fit=perf_fit_quality())
