"""Live price refresh with boto3: the Pricing API for on-demand and reserved, EC2 for spot.

`fetch` asks AWS and returns a `RefreshResult` (rows plus what failed); `write_snapshot` merges
the fetched rows over a base snapshot and writes a *new* file (never the shipped one).

- On-demand and reserved: ``pricing.get_products`` in us-east-1, filters instanceType, location
  (the Pricing API's region *name*, e.g. "EU (Frankfurt)"), operatingSystem=Linux,
  tenancy=Shared, capacitystatus=Used, preInstalledSw=NA. Reserved = the standard, No Upfront
  term of 1yr / 3yr, its "Hrs" dimension.
- Spot: ``ec2.describe_spot_price_history`` per region, Linux/UNIX, StartTime=now: the price in
  effect per availability zone; the row keeps the min and max over the region's regular AZs
  (Local Zones left out).
- Throttling: botocore's adaptive retry mode; what still fails is reported, not hidden.
- Unreachable AWS: the first connection error (no route, DNS, TLS, timeouts) stops the whole
  fetch at once instead of retrying every one of the (regions × types) calls.
- An overall time budget (`budget_s`): when it runs out, the parts not yet fetched are one
  failure line and the fetch returns what it has.
- A partial fetch (any failure) never replaces an existing snapshot file (`write_snapshot`), and
  every snapshot is written to a temporary file and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pricing.errors import ExitCode, UserError, did_you_mean
from pricing.snapshot import SHIPPED_SNAPSHOT, Offer, PriceTable, catalog_gpu, date_of, write

PRICING_REGION = "us-east-1"
MAX_ATTEMPTS = 10
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 60
DEFAULT_BUDGET_S = 900.0  # the whole refresh; 660 calls for every snapshot region and type take ~5 min
THROTTLING_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
                    "RequestThrottled", "SlowDown"}
PRICING_SOURCE = ("AWS Pricing API get_products (AmazonEC2, Linux, Shared, capacitystatus=Used, "
                  "preInstalledSw=NA; reserved = standard No Upfront)")
SPOT_SOURCE = "EC2 describe_spot_price_history (Linux/UNIX, price in effect at fetch time, min-max over {n} AZs)"


def known_regions() -> dict[str, str]:
    """Region code -> description, from botocore's shipped endpoint data (partition "aws")."""
    import botocore.loaders

    data = botocore.loaders.create_loader().load_data("endpoints")
    for partition in data["partitions"]:
        if partition["partition"] == "aws":
            return {code: info.get("description", code) for code, info in partition["regions"].items()}
    return {}


def location_name(region: str, overrides: dict[str, str] | None = None) -> str:
    """The Pricing API's `location` for a region code (botocore's "Europe (X)" is "EU (X)" there)."""
    if overrides and region in overrides:
        return overrides[region]
    regions = known_regions()
    if region not in regions:
        raise UserError(f"unknown AWS region {region!r}{did_you_mean(region, regions)}", field="--regions")
    description = regions[region]
    if description.startswith("Europe ("):
        description = "EU (" + description[len("Europe ("):]
    return description


@dataclass(frozen=True)
class ListPrices:
    on_demand_usd_per_hour: float | None
    reserved_1y_usd_per_hour: float | None
    reserved_3y_usd_per_hour: float | None


@dataclass(frozen=True)
class SpotRange:
    min_usd_per_hour: float
    max_usd_per_hour: float
    zones: int


@dataclass
class RefreshResult:
    offers: list[Offer] = field(default_factory=list)  # rows fetched (merged with the base where a part failed)
    failures: list[str] = field(default_factory=list)  # what could not be fetched, one line each
    notes: list[str] = field(default_factory=list)  # e.g. "not in the price list": not failures
    written: Path | None = None
    stopped: str | None = None  # why the fetch stopped early (connection error, time budget), if it did
    kept: Path | None = None  # an existing snapshot a partial fetch did not replace

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.FAILURE if self.failures else ExitCode.OK


def _hourly_usd(term: dict) -> float | None:
    values = []
    for dim in term.get("priceDimensions", {}).values():
        if dim.get("unit") == "Hrs":
            try:
                value = float(dim["pricePerUnit"]["USD"])
            except (KeyError, ValueError):
                continue
            if value > 0:
                values.append(value)
    return min(values) if values else None


def parse_products(price_list: Iterable[str]) -> ListPrices | None:
    """On-demand and 1y/3y standard no-upfront $/h from get_products' PriceList (JSON strings).

    Several products: keep the one with the cheapest on-demand "Hrs" price. None when no product.
    """
    best: ListPrices | None = None
    for item in price_list:
        product = json.loads(item) if isinstance(item, str) else item
        terms = product.get("terms", {})
        on_demand = [p for p in (_hourly_usd(t) for t in terms.get("OnDemand", {}).values()) if p is not None]
        reserved: dict[str, float] = {}
        for term in terms.get("Reserved", {}).values():
            attrs = term.get("termAttributes", {})
            if attrs.get("PurchaseOption") != "No Upfront" or attrs.get("OfferingClass") != "standard":
                continue
            length = attrs.get("LeaseContractLength")
            hourly = _hourly_usd(term)
            if length in ("1yr", "3yr") and hourly is not None:
                reserved[length] = min(hourly, reserved.get(length, hourly))
        prices = ListPrices(min(on_demand) if on_demand else None, reserved.get("1yr"), reserved.get("3yr"))
        if best is None or (prices.on_demand_usd_per_hour is not None and (
                best.on_demand_usd_per_hour is None
                or prices.on_demand_usd_per_hour < best.on_demand_usd_per_hour)):
            best = prices
    return best


def spot_ranges(history: Iterable[dict], region: str) -> dict[str, SpotRange]:
    """Instance type -> min/max of the latest price per regular AZ (Local Zones such as us-east-1-atl-2a left out)."""
    latest: dict[tuple[str, str], tuple[dt.datetime, float]] = {}
    for row in history:
        zone = row.get("AvailabilityZone", "")
        suffix = zone[len(region):]
        if not zone.startswith(region) or len(suffix) != 1 or not suffix.isalpha():
            continue
        key = (row["InstanceType"], zone)
        stamp = row.get("Timestamp") or dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        price = float(row["SpotPrice"])
        if price > 0 and (key not in latest or stamp > latest[key][0]):
            latest[key] = (stamp, price)
    by_type: dict[str, list[float]] = {}
    for (instance_type, _zone), (_stamp, price) in latest.items():
        by_type.setdefault(instance_type, []).append(price)
    return {t: SpotRange(min(p), max(p), len(p)) for t, p in by_type.items()}


def _describe(exc: Exception) -> str:
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        if code in THROTTLING_CODES:
            return f"throttled by AWS ({code}) even after {MAX_ATTEMPTS} attempts with adaptive retries; retry later or with fewer --regions/--instance-types"
        return f"{code}: {exc.response.get('Error', {}).get('Message', exc)}"
    return str(exc) or type(exc).__name__


def _fetch_list_prices(client, instance_type: str, location: str) -> ListPrices | None:
    def term(name: str, value: str) -> dict:
        return {"Type": "TERM_MATCH", "Field": name, "Value": value}

    items: list[str] = []
    pages = client.get_paginator("get_products").paginate(
        ServiceCode="AmazonEC2",
        Filters=[term("instanceType", instance_type), term("location", location),
                 term("operatingSystem", "Linux"), term("tenancy", "Shared"),
                 term("capacitystatus", "Used"), term("preInstalledSw", "NA")],
    )
    for page in pages:
        items.extend(page.get("PriceList", []))
    return parse_products(items)


def _fetch_spot(client, region: str, instance_types: list[str], now: dt.datetime) -> dict[str, SpotRange]:
    rows: list[dict] = []
    pages = client.get_paginator("describe_spot_price_history").paginate(
        InstanceTypes=instance_types, ProductDescriptions=["Linux/UNIX"], StartTime=now)
    for page in pages:
        rows.extend(page.get("SpotPriceHistory", []))
    return spot_ranges(rows, region)


def _spec_from_ec2(client, instance_type: str) -> dict:
    info = client.describe_instance_types(InstanceTypes=[instance_type])["InstanceTypes"][0]
    gpus = info.get("GpuInfo", {}).get("Gpus", [])
    if not gpus:
        raise ValueError(f"{instance_type} has no GPU")
    gpu = gpus[0]
    memory = round(gpu["MemoryInfo"]["SizeInMiB"] / 1024, 2)
    return {"gpu_model": gpu["Name"], "gpu_count": sum(g["Count"] for g in gpus), "gpu_memory_gib": memory,
            "vcpus": info["VCpuInfo"]["DefaultVCpus"],
            "memory_gib": round(info["MemoryInfo"]["SizeInMiB"] / 1024, 2)}


class _Stop(Exception):
    """Ends the fetch early (first connection error, or the time budget used up)."""


def _connection_errors() -> tuple[type[Exception], ...]:
    from botocore.exceptions import ConnectionClosedError, ConnectionError, ReadTimeoutError

    return (ConnectionError, ConnectionClosedError, ReadTimeoutError)


def steps(regions: list[str], instance_types: list[str]) -> int:
    """Number of progress steps `fetch` reports: one spot call per region, one price call per pair."""
    return len(regions) * (1 + len(instance_types))


def fetch(regions: Iterable[str], instance_types: Iterable[str], *, base: PriceTable, session=None,
          today: dt.date | None = None, progress: Callable[[str], None] | None = None,
          location_names: dict[str, str] | None = None, budget_s: float | None = DEFAULT_BUDGET_S,
          clock: Callable[[], float] = time.monotonic) -> RefreshResult:
    """Fetch current prices for every (region, instance type); never raises for a partial failure.

    Missing credentials raise UserError before any call. `base` supplies instance specs (GPU,
    vCPUs, memory) and the values kept when one part of a row fails. `progress` is called once
    per step (`steps`). The first connection error, or `budget_s` seconds by `clock`, stops the
    fetch: `result.stopped` says why and `result.failures` names what was not fetched.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    regions, instance_types = list(dict.fromkeys(regions)), list(dict.fromkeys(instance_types))
    if not regions or not instance_types:
        raise UserError("nothing to refresh: give at least one region and one instance type")
    locations = {region: location_name(region, location_names) for region in regions}
    session = session or boto3.session.Session()
    if session.get_credentials() is None:
        raise UserError("no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY); nothing was fetched or written")
    today = today or dt.date.today()
    now = dt.datetime.now(dt.timezone.utc)
    stamp = today.isoformat()
    config = Config(retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS},
                    connect_timeout=CONNECT_TIMEOUT_S, read_timeout=READ_TIMEOUT_S)
    api_errors = (ClientError, BotoCoreError, ValueError, KeyError, IndexError)
    unreachable = _connection_errors()
    total = steps(regions, instance_types)
    done = 0
    started = clock()

    def step(description: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(description)

    def call(what: str, fn, *args):
        """One AWS call: the budget checked first; a connection error stops everything."""
        if budget_s is not None and clock() - started > budget_s:
            result.stopped = f"the time budget of {budget_s:g} s ran out"
            raise _Stop
        try:
            return fn(*args)
        except unreachable as exc:
            result.stopped = f"AWS could not be reached ({what}: {_describe(exc)})"
            raise _Stop from None

    base_rows = {(o.region, o.instance_type): o for o in base.offers}
    specs: dict[str, dict] = {}
    for offer in base.offers:
        specs.setdefault(offer.instance_type, {
            "gpu_model": offer.gpu_model or offer.gpu, "gpu_count": offer.gpu_count,
            "gpu_memory_gib": offer.gpu_memory_gib, "vcpus": offer.vcpus, "memory_gib": offer.memory_gib})

    result = RefreshResult()
    pricing = session.client("pricing", region_name=PRICING_REGION, config=config)
    try:
        for region in regions:
            ec2 = session.client("ec2", region_name=region, config=config)
            spot: dict[str, SpotRange] | None
            try:
                spot = call(f"spot {region}", _fetch_spot, ec2, region, instance_types, now)
            except NoCredentialsError:
                raise
            except api_errors as exc:
                spot = None
                result.failures.append(f"spot prices in {region}: {_describe(exc)}")
            step(f"spot {region}")
            for instance_type in instance_types:
                old = base_rows.get((region, instance_type))
                try:
                    listed = call(f"{instance_type} {region}", _fetch_list_prices, pricing, instance_type,
                                  locations[region])
                    list_ok = True
                except NoCredentialsError:
                    raise
                except api_errors as exc:
                    listed, list_ok = None, False
                    result.failures.append(f"list prices of {instance_type} in {region}: {_describe(exc)}")
                step(f"{instance_type} {region}")
                offer = _row(region, instance_type, listed, list_ok, spot, old, stamp, result, specs, ec2,
                             api_errors, call)
                if offer is not None:
                    result.offers.append(offer)
    except _Stop:
        result.failures.append(f"stopped after {done} of {total} steps: {result.stopped}; the rest was not "
                               "fetched")
    except NoCredentialsError:
        raise UserError("no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                        "AWS_SECRET_ACCESS_KEY); nothing was written") from None
    return result


def _row(region, instance_type, listed, list_ok, spot, old, stamp, result, specs, ec2, api_errors, call):
    spot_ok = spot is not None
    spot_range = spot.get(instance_type) if spot_ok else None
    if not list_ok and not spot_ok:
        return None  # nothing new: the base row (if any) stays as it was
    if list_ok and listed is None and spot_ok and spot_range is None:
        result.notes.append(f"{instance_type} in {region}: neither a list price nor spot history "
                            f"(not offered there, or not yet in the price list)")
        return None
    if instance_type not in specs:
        try:
            specs[instance_type] = call(f"specs {instance_type}", _spec_from_ec2, ec2, instance_type)
        except api_errors as exc:
            result.failures.append(f"specs of {instance_type} (describe_instance_types in {region}): "
                                   f"{_describe(exc)}")
            return None
    spec = specs[instance_type]
    sources, dates = [], []
    if list_ok:
        listed = listed or ListPrices(None, None, None)
        on_demand, r1, r3 = (listed.on_demand_usd_per_hour, listed.reserved_1y_usd_per_hour,
                             listed.reserved_3y_usd_per_hour)
        sources.append(f"on-demand/reserved: {PRICING_SOURCE} {stamp}")
        dates.append(stamp)
        if listed.on_demand_usd_per_hour is None:
            result.notes.append(f"{instance_type} in {region}: no on-demand list price (spot only)")
    elif old is not None:
        on_demand, r1, r3 = old.on_demand_usd_per_hour, old.reserved_1y_usd_per_hour, old.reserved_3y_usd_per_hour
        sources.append(f"on-demand/reserved kept from {old.source} {old.date} (refresh failed)")
        dates.append(old.date)
    else:
        on_demand = r1 = r3 = None
    if spot_ok:
        spot_min = spot_range.min_usd_per_hour if spot_range else None
        spot_max = spot_range.max_usd_per_hour if spot_range else None
        zones = spot_range.zones if spot_range else 0
        sources.append(f"spot: {SPOT_SOURCE.format(n=zones)} {stamp}")
        dates.append(stamp)
    elif old is not None:
        spot_min, spot_max = old.spot_min_usd_per_hour, old.spot_max_usd_per_hour
        sources.append(f"spot kept from {old.source} {old.date} (refresh failed)")
        dates.append(old.date)
    else:
        spot_min = spot_max = None
    return Offer(
        region=region, instance_type=instance_type,
        gpu=catalog_gpu(spec["gpu_model"], spec["gpu_memory_gib"]), gpu_count=spec["gpu_count"],
        gpu_memory_gib=spec["gpu_memory_gib"], vcpus=spec["vcpus"], memory_gib=spec["memory_gib"],
        on_demand_usd_per_hour=on_demand, spot_min_usd_per_hour=spot_min, spot_max_usd_per_hour=spot_max,
        reserved_1y_usd_per_hour=r1, reserved_3y_usd_per_hour=r3,
        source="; ".join(sources), date=min(dates, key=date_of), gpu_model=spec["gpu_model"],
    )


def default_out(today: dt.date | None = None) -> Path:
    return Path(f"aws_gpu_prices_{(today or dt.date.today()).isoformat()}.csv")


def write_snapshot(base: PriceTable, result: RefreshResult, out: str | Path, *, force: bool = False) -> Path | None:
    """Write base rows overlaid with the fetched ones to a new file; refuses the shipped snapshot.

    A partial fetch (`result.failures`) never replaces an existing file, `--force` or not: the file
    is kept (`result.kept`) and None returned. The file is written beside `out` under a temporary
    name and renamed into place, so an interrupted write never leaves half a snapshot.
    """
    from pricing.files import umask_mode, user_path

    out = user_path(out)
    if out.resolve() == SHIPPED_SNAPSHOT.resolve() or out.resolve() == Path(base.path).expanduser().resolve():
        raise UserError("refusing to overwrite the snapshot being refreshed; choose another --out",
                        file=str(out))
    if out.exists() and not force:
        raise UserError("file exists; choose another --out or pass --force", file=str(out))
    if out.exists() and result.failures:
        result.kept = out
        return None
    if out.exists() and not out.is_file():
        raise UserError("is not a regular file; choose another --out", file=str(out))
    rows = {(o.region, o.instance_type): o for o in base.offers}
    for offer in result.offers:
        # A fetched row without any price adds nothing; the base row (if any) stays.
        if offer.on_demand_usd_per_hour is not None or offer.spot_min_usd_per_hour is not None:
            rows[(offer.region, offer.instance_type)] = offer
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp_name = tempfile.mkstemp(prefix=f".{out.name[:40]}.", suffix=".tmp", dir=out.parent)
        os.close(handle)
        try:
            os.chmod(tmp_name, umask_mode(0o666))  # as open() would create it, not mkstemp's 0600
            write(list(rows.values()), tmp_name)
            os.replace(tmp_name, out)
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)
    except OSError as exc:
        raise UserError(f"cannot write the snapshot: {exc.strerror or exc}", file=str(out)) from None
    result.written = out
    return out


__all__ = ["ListPrices", "RefreshResult", "SpotRange", "default_out", "fetch", "known_regions",
           "location_name", "parse_products", "spot_ranges", "steps", "write_snapshot"]
