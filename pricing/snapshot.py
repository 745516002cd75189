"""The offline AWS GPU price snapshot: load, validate, look up.

A snapshot is a CSV file (schema in ``pricing/data/README.md``), one row per (instance type,
region), each row with its own ``source`` and ``source_date``. Loading never touches the network;
``planner prices refresh`` (pricing.refresh) writes a new file instead of editing one.

A missing price is never a zero: blank cells load as ``None``, and `PriceTable.find` raises
`PriceMissing` naming the instance type and the region.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

from pricing import files
from pricing.errors import UserError

SCHEMA_VERSION = 1
DATA_DIR = Path(__file__).parent / "data"
SHIPPED_SNAPSHOT = DATA_DIR / "aws_gpu_prices_2026-07.csv"
STALE_AFTER_DAYS = 90
MAX_SNAPSHOT_BYTES = 16 * files.MIB  # the shipped one is ~60 KiB
MAX_CELL_CHARS = 4096  # a CSV cell; the csv module's own limit (128 KiB) raised a traceback
# Bounds a real row has; anything outside is a typo or a hostile file, refused with its line.
MAX_USD_PER_HOUR = 10_000.0
MAX_GPU_COUNT = 64
MAX_GPU_MEMORY_GIB = 4096.0
MAX_VCPUS = 4096
MAX_MEMORY_GIB = 65536.0

COLUMNS = (
    "instance_type", "region", "gpu_model", "gpu_count", "gpu_memory_gib_per_gpu", "vcpus",
    "memory_gib", "on_demand_usd_per_hour", "spot_min_usd_per_hour", "spot_max_usd_per_hour",
    "reserved_1y_no_upfront_usd_per_hour", "reserved_3y_no_upfront_usd_per_hour", "source",
    "source_date",
)
# The first-generation file (../shared/data/aws_gpu_prices.csv) has one spot column, the
# minimum over the region's AZs; it loads as spot_min with spot_max unknown.
_LEGACY_SPOT_COLUMN = "spot_usd_per_hour"

_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")


class PriceMissing(UserError):
    """A price the caller needs is not in the table (never silently zero)."""


@dataclass(frozen=True)
class Offer:
    """One instance type in one region, as the snapshot gives it."""

    region: str
    instance_type: str
    gpu: str  # catalog GPU kind (e.g. "A100-40GB"), mapped from the file's gpu_model
    gpu_count: int
    gpu_memory_gib: float  # per GPU, as the file's gpu_memory_gib_per_gpu
    vcpus: int
    memory_gib: float
    on_demand_usd_per_hour: float | None
    spot_min_usd_per_hour: float | None
    spot_max_usd_per_hour: float | None
    reserved_1y_usd_per_hour: float | None  # 1-year standard no-upfront, as in the file
    reserved_3y_usd_per_hour: float | None  # 3-year standard no-upfront, as in the file
    source: str
    date: str  # as the file gives it: "2026-07" or "2026-11-23"
    gpu_model: str = ""  # the file's own spelling, kept for round-tripping


@dataclass(frozen=True)
class PriceTable:
    offers: tuple[Offer, ...]
    path: str
    source: str  # the distinct row sources, joined with "; "
    date: str  # the oldest row date (the table is as stale as its oldest row)

    def find(self, region: str, instance_type: str) -> Offer:
        for offer in self.offers:
            if offer.region == region and offer.instance_type == instance_type:
                return offer
        regions = sorted({o.region for o in self.offers if o.instance_type == instance_type})
        where = (f"; it is priced in {', '.join(regions)}" if regions
                 else "; the snapshot has no row for this instance type in any region")
        raise PriceMissing(f"no price for {instance_type} in {region} in {self.path}{where}")

    @property
    def regions(self) -> list[str]:
        return sorted({o.region for o in self.offers})

    @property
    def instance_types(self) -> list[str]:
        return sorted({o.instance_type for o in self.offers})


# The price file's gpu_model spellings that differ from the planner's GPU kinds. The file says
# "A100" for both the 40 GB (p4d) and 80 GB (p4de) parts, so memory decides which one; every other
# spelling is already the GPU kind (H100, H200, B200, L40S, L4, A10G). A GPU the planner's catalog
# does not know (e.g. B300) keeps the file's name and simply matches no allowed GPU.
A100_80GB_MIN_GIB = 60


def catalog_gpu(gpu_model: str, gpu_memory_gib_per_gpu: float) -> str:
    """The GPU kind for the price file's gpu_model (the one place this mapping lives)."""
    name = gpu_model.strip()
    if name.upper() == "A100":
        return "A100-80GB" if gpu_memory_gib_per_gpu > A100_80GB_MIN_GIB else "A100-40GB"
    return name


def date_of(text: str) -> dt.date:
    """The first day a "YYYY-MM" (or the day a "YYYY-MM-DD") snapshot date can mean."""
    if not _DATE_RE.match(text or ""):
        raise ValueError(f"date {files.shorten(text)} is not YYYY-MM or YYYY-MM-DD")
    parts = [int(p) for p in text.split("-")]
    try:
        return dt.date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)
    except ValueError:  # year 0, month 13, 31 February
        raise ValueError(f"date {files.shorten(text)} is not a calendar date") from None


def _price(row: dict[str, str], column: str) -> float | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        value = float(text) if len(text) <= 40 else math.nan
    except ValueError:
        raise ValueError(f"{column}: {files.shorten(text)} is not a number") from None
    if not math.isfinite(value) or value < 0 or value > MAX_USD_PER_HOUR:
        raise ValueError(f"{column}: {files.shorten(text)} must be a non-negative number up to {MAX_USD_PER_HOUR:g} "
                         "(leave it blank when unknown)")
    if value == 0:
        raise ValueError(f"{column}: 0 is not a price (leave it blank when unknown)")
    return value


_LIMITS = {"gpu_count": MAX_GPU_COUNT, "gpu_memory_gib_per_gpu": MAX_GPU_MEMORY_GIB, "vcpus": MAX_VCPUS,
           "memory_gib": MAX_MEMORY_GIB}


def _positive(row: dict[str, str], column: str, kind: type) -> float | int:
    text = (row.get(column) or "").strip()
    try:
        if len(text) > 40:
            raise ValueError
        value = kind(float(text)) if kind is float else int(text)
    except ValueError:
        raise ValueError(f"{column}: {files.shorten(text)} is not a {'whole ' if kind is int else ''}number") from None
    if not math.isfinite(value) or value <= 0 or value > _LIMITS[column]:
        raise ValueError(f"{column}: {files.shorten(text)} must be a positive number up to {_LIMITS[column]:g}")
    return value


def _offer(row: dict[str, str]) -> Offer:
    instance_type = (row.get("instance_type") or "").strip()
    region = (row.get("region") or "").strip()
    if not instance_type:
        raise ValueError("instance_type is blank")
    if not _REGION_RE.match(region):
        raise ValueError(f"region: {files.shorten(region)} is not an AWS region code such as 'eu-central-1'")
    gpu_model = (row.get("gpu_model") or "").strip()
    if not gpu_model:
        raise ValueError("gpu_model is blank")
    gpu_memory = _positive(row, "gpu_memory_gib_per_gpu", float)
    spot_min = _price(row, "spot_min_usd_per_hour")
    spot_max = _price(row, "spot_max_usd_per_hour")
    if spot_min is not None and spot_max is not None and spot_max < spot_min:
        raise ValueError(f"spot_max_usd_per_hour {spot_max} is below spot_min_usd_per_hour {spot_min}")
    source = (row.get("source") or "").strip()
    if not source:
        raise ValueError("source is blank: every price row names where it was read")
    date = (row.get("source_date") or "").strip()
    date_of(date)
    return Offer(
        region=region, instance_type=instance_type, gpu=catalog_gpu(gpu_model, gpu_memory),
        gpu_count=_positive(row, "gpu_count", int), gpu_memory_gib=gpu_memory,
        vcpus=_positive(row, "vcpus", int), memory_gib=_positive(row, "memory_gib", float),
        on_demand_usd_per_hour=_price(row, "on_demand_usd_per_hour"),
        spot_min_usd_per_hour=spot_min, spot_max_usd_per_hour=spot_max,
        reserved_1y_usd_per_hour=_price(row, "reserved_1y_no_upfront_usd_per_hour"),
        reserved_3y_usd_per_hour=_price(row, "reserved_3y_no_upfront_usd_per_hour"),
        source=source, date=date, gpu_model=gpu_model,
    )


def load(path: str | Path | None = None) -> PriceTable:
    """Load and validate a snapshot (default: the shipped one). Bad rows raise UserError with their line."""
    file = Path(path) if path is not None else SHIPPED_SNAPSHOT
    name = str(file)
    try:
        text = files.read_text(file, what="price snapshot (CSV)", max_bytes=MAX_SNAPSHOT_BYTES)
    except files.FileRejected as exc:
        raise UserError(exc.message, file=name, line=exc.line) from None
    return _parse(text, name)


def _rows(reader: csv.DictReader, name: str):
    """The reader's rows; a CSV error (a cell over the csv module's 128 KiB, a NUL) or a cell
    over MAX_CELL_CHARS is a UserError at its line."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UserError(f"not a readable CSV row: {files.clip(str(exc))}", file=name,
                            line=reader.line_num + 1) from None  # the line being read
        if any(isinstance(v, str) and len(v) > MAX_CELL_CHARS for v in row.values()):
            raise UserError(f"a cell longer than {MAX_CELL_CHARS:,} characters", file=name, line=reader.line_num)
        yield row


def _parse(text: str, name: str) -> PriceTable:
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        try:
            fieldnames = reader.fieldnames
        except csv.Error as exc:
            raise UserError(f"not a readable CSV header: {files.clip(str(exc))}", file=name, line=1) from None
        if any(len(h or "") > MAX_CELL_CHARS for h in fieldnames or []):
            raise UserError(f"a header cell longer than {MAX_CELL_CHARS:,} characters", file=name, line=1)
        header = [h.strip() for h in (fieldnames or [])]
        reader.fieldnames = header
        if _LEGACY_SPOT_COLUMN in header and "spot_min_usd_per_hour" not in header:
            header = [("spot_min_usd_per_hour" if h == _LEGACY_SPOT_COLUMN else h) for h in header]
            reader.fieldnames = header
        missing = [c for c in COLUMNS if c not in header and c != "spot_max_usd_per_hour"]
        if missing:
            raise UserError(f"missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}",
                            file=name, line=1)
        offers: list[Offer] = []
        seen: dict[tuple[str, str], int] = {}
        for row in _rows(reader, name):
            line = reader.line_num
            if None in row:  # more cells than the header
                raise UserError(f"{len(header) + len(row[None])} cells but the header has {len(header)}",
                                file=name, line=line)
            if not any((v or "").strip() for v in row.values()):
                continue
            try:
                offer = _offer(row)
            except ValueError as exc:
                raise UserError(str(exc), file=name, line=line) from None
            key = (offer.region, offer.instance_type)
            if key in seen:
                raise UserError(f"{files.clip(offer.instance_type)} in {offer.region} repeats line {seen[key]}",
                                file=name, line=line)
            seen[key] = line
            offers.append(offer)
    if not offers:
        raise UserError("the price snapshot has no rows", file=name)
    sources = sorted({o.source for o in offers})
    oldest = min(offers, key=lambda o: date_of(o.date)).date
    return PriceTable(offers=tuple(offers), path=name, source="; ".join(sources), date=oldest)


def staleness_warning(table: PriceTable, today: dt.date) -> str | None:
    """A warning when the table's oldest row is more than 90 days old ("YYYY-MM" counts from the 1st)."""
    age_days = (today - date_of(table.date)).days
    if age_days <= STALE_AFTER_DAYS:
        return None
    return (f"price snapshot {table.path} is {age_days} days old (dated {table.date}, older than "
            f"{STALE_AFTER_DAYS} days): spot and list prices may have moved; run "
            "`planner prices refresh` for current prices")


def write(offers: list[Offer] | tuple[Offer, ...], path: str | Path) -> Path:
    """Write offers as a snapshot CSV (the schema `load` reads)."""

    def cell(value: float | int | None) -> str:
        return "" if value is None else repr(value) if isinstance(value, float) else str(value)

    file = Path(path)
    with file.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for o in sorted(offers, key=lambda o: (o.instance_type, o.region)):
            writer.writerow([
                o.instance_type, o.region, o.gpu_model or o.gpu, o.gpu_count, cell(o.gpu_memory_gib),
                o.vcpus, cell(o.memory_gib), cell(o.on_demand_usd_per_hour),
                cell(o.spot_min_usd_per_hour), cell(o.spot_max_usd_per_hour),
                cell(o.reserved_1y_usd_per_hour), cell(o.reserved_3y_usd_per_hour), o.source, o.date,
            ])
    return file
