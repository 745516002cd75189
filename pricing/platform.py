"""Platform prices a GPU fleet pays besides the instances: NAT gateways and their public IPv4
addresses, EBS gp3, the load balancer, interface endpoints, CloudWatch Logs and alarms, egress.

Rows live in ``pricing/data/platform_prices.csv``, one per region, each with its source and date.
A region without a row falls back to the ``default`` row (per column, the highest value of the
listed regions except sa-east-1: an overestimate on purpose), and the returned value says so.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, replace
from pathlib import Path

from pricing.errors import UserError
from pricing.snapshot import date_of

PLATFORM_PRICES = Path(__file__).parent / "data" / "platform_prices.csv"
DEFAULT_ROW = "default"
_NUMERIC = ("nat_gateway_usd_per_hour", "nat_gateway_usd_per_gb", "ebs_gp3_usd_per_gb_month",
            "load_balancer_usd_per_hour", "data_transfer_out_usd_per_gb", "public_ipv4_usd_per_hour",
            "interface_endpoint_usd_per_hour", "logs_ingestion_usd_per_gb", "logs_storage_usd_per_gb_month",
            "alarm_usd_per_month", "ebs_gp3_usd_per_iops_month", "ebs_gp3_usd_per_mibps_month")


@dataclass(frozen=True)
class PlatformPrices:
    region: str
    nat_gateway_usd_per_hour: float  # per gateway (one per AZ in use)
    nat_gateway_usd_per_gb: float  # data processed, both directions
    ebs_gp3_usd_per_gb_month: float  # storage only; IOPS/throughput above the gp3 baseline are extra
    load_balancer_usd_per_hour: float  # ALB fixed hourly; LCU charges are extra
    data_transfer_out_usd_per_gb: float  # internet egress, first 10 TB/month tier
    public_ipv4_usd_per_hour: float  # per public IPv4 address (the NAT gateways' Elastic IPs)
    interface_endpoint_usd_per_hour: float  # per interface endpoint per AZ (data processed extra)
    logs_ingestion_usd_per_gb: float  # CloudWatch Logs, vended logs (VPC flow logs), first 10 TB
    logs_storage_usd_per_gb_month: float  # CloudWatch Logs storage
    alarm_usd_per_month: float  # CloudWatch standard-resolution metric alarm
    ebs_gp3_usd_per_iops_month: float  # provisioned gp3 IOPS above the 3,000 baseline
    ebs_gp3_usd_per_mibps_month: float  # provisioned gp3 throughput above the 125 MiB/s baseline
    source: str
    date: str
    fallback: bool = False  # True when this region had no row and the default row was used


def load(path: str | Path | None = None) -> dict[str, PlatformPrices]:
    """Region -> PlatformPrices (including the "default" row). Bad rows raise UserError with their line."""
    file = Path(path) if path is not None else PLATFORM_PRICES
    name = str(file)
    try:
        handle = file.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read platform prices: {exc.strerror or exc}", file=name) from None
    prices: dict[str, PlatformPrices] = {}
    with handle:
        reader = csv.DictReader(handle)
        needed = ("region", *_NUMERIC, "source", "source_date")
        missing = [c for c in needed if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f"missing column(s) {', '.join(missing)}", file=name, line=1)
        for row in reader:
            line = reader.line_num
            region = (row["region"] or "").strip()
            values = {}
            for column in _NUMERIC:
                text = (row[column] or "").strip()
                try:
                    value = float(text)
                except ValueError:
                    raise UserError(f"{column}: {text!r} is not a number", file=name, line=line) from None
                if not math.isfinite(value) or value < 0:
                    raise UserError(f"{column}: {text!r} must be a non-negative number", file=name, line=line)
                values[column] = value
            source, date = (row["source"] or "").strip(), (row["source_date"] or "").strip()
            if not region or not source:
                raise UserError("region and source must not be blank", file=name, line=line)
            try:
                date_of(date)
            except ValueError as exc:
                raise UserError(str(exc), file=name, line=line) from None
            if region in prices:
                raise UserError(f"region {region} appears twice", file=name, line=line)
            prices[region] = PlatformPrices(region=region, source=source, date=date, **values)
    if DEFAULT_ROW not in prices:
        raise UserError(f"no {DEFAULT_ROW!r} row (the fallback for regions without their own)", file=name)
    return prices


def for_region(prices: dict[str, PlatformPrices], region: str) -> PlatformPrices:
    """The region's row, or the default row relabelled with the region and marked as a fallback."""
    if region in prices and region != DEFAULT_ROW:
        return prices[region]
    default = prices[DEFAULT_ROW]
    return replace(default, region=region, fallback=True,
                   source=f"no platform price row for {region}; using the default row ({default.source})")
