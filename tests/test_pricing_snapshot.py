"""The offline snapshot: loading, validation with line numbers, lookups, staleness, priced offers."""

import csv
import datetime as dt
from pathlib import Path

import pytest

import pricing
from planner.errors import UserError
from pricing import platform, snapshot
from pricing.snapshot import PriceMissing

HEADER = ",".join(snapshot.COLUMNS)
SRC = "test source"


def row(instance_type="p5.48xlarge", region="us-east-1", gpu="H100", count=8, mem=80, vcpus=192,
        ram=2048, od="55.04", smin="16.9508", smax="", r1="", r3="", source=SRC, date="2026-07"):
    return f"{instance_type},{region},{gpu},{count},{mem},{vcpus},{ram},{od},{smin},{smax},{r1},{r3},{source},{date}"


def write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_snapshot_shipped_loads_every_row_with_source_and_date():
    table = snapshot.load()
    assert len(table.offers) == 370  # aws_pricing_notes.md: 370 rows
    assert all(o.source and o.date == "2026-07" for o in table.offers)
    assert table.date == "2026-07" and "skypilot-catalog" in table.source
    p5 = table.find("us-east-1", "p5.48xlarge")
    assert (p5.on_demand_usd_per_hour, p5.gpu, p5.gpu_count, p5.vcpus) == (55.04, "H100", 8, 192)
    assert p5.spot_max_usd_per_hour is None  # the source keeps only the cheapest AZ
    assert p5.spot_min_usd_per_hour == 16.9508  # notes §2: min of 55.04, 18.734, 18.1597, 55.04, 18.6838, 16.9508


def test_snapshot_maps_price_file_gpu_names_to_catalog_kinds():
    table = snapshot.load()
    assert table.find("us-east-1", "p4d.24xlarge").gpu == "A100-40GB"
    assert table.find("us-east-1", "p4de.24xlarge").gpu == "A100-80GB"
    assert table.find("us-east-1", "g6e.xlarge").gpu == "L40S"


def test_snapshot_find_missing_names_instance_type_and_region():
    table = snapshot.load()
    with pytest.raises(PriceMissing, match=r"p5\.48xlarge in eu-west-1") as err:
        table.find("eu-west-1", "p5.48xlarge")
    assert "us-east-1" in str(err.value)  # where it is priced
    assert isinstance(err.value, UserError)


@pytest.mark.parametrize("bad, message", [
    (row(od="-1.5"), "non-negative"),
    (row(od="abc"), "not a number"),
    (row(od="0"), "0 is not a price"),
    (row(smin="-0.1"), "spot_min_usd_per_hour"),
    (row(smin="5", smax="4"), "below spot_min"),
    (row(region="Frankfurt"), "region"),
    (row(count="0"), "gpu_count"),
    (row(source=""), "source is blank"),
    (row(date="July 2026"), "YYYY-MM"),
    (row() + ",extra", "cells"),
])
def test_snapshot_rejects_bad_row_with_its_line_number(tmp_path, bad, message):
    path = write(tmp_path, row(instance_type="g5.xlarge"), bad)
    with pytest.raises(UserError, match=message) as err:
        snapshot.load(path)
    assert err.value.line == 3 and err.value.file == str(path)
    assert str(err.value).startswith(f"{path}:3: ")


def test_snapshot_rejects_duplicate_row_naming_both_lines(tmp_path):
    path = write(tmp_path, row(), row(instance_type="g5.xlarge"), row())
    with pytest.raises(UserError, match="repeats line 2") as err:
        snapshot.load(path)
    assert err.value.line == 4


def test_snapshot_rejects_missing_column(tmp_path):
    path = write(tmp_path, "p5.48xlarge,us-east-1", header="instance_type,region")
    with pytest.raises(UserError, match="missing column"):
        snapshot.load(path)


def test_snapshot_reads_first_generation_file_with_one_spot_column():
    table = snapshot.load("/work/shared/data/aws_gpu_prices.csv")
    offer = table.find("us-east-1", "p5.48xlarge")
    assert offer.spot_min_usd_per_hour == 16.9508 and offer.spot_max_usd_per_hour is None


def test_snapshot_blank_prices_are_none_not_zero(tmp_path):
    table = snapshot.load(write(tmp_path, row(od="", smin="")))
    offer = table.offers[0]
    assert offer.on_demand_usd_per_hour is None and offer.spot_min_usd_per_hour is None


def test_snapshot_write_then_load_round_trips(tmp_path):
    table = snapshot.load(write(tmp_path, row(smax="55.04", r1="38.5"), row(instance_type="p4d.24xlarge",
                                                                           gpu="A100", mem=40, vcpus=96)))
    out = snapshot.write(table.offers, tmp_path / "copy.csv")
    again = snapshot.load(out)
    assert {(o.instance_type, o.gpu, o.on_demand_usd_per_hour, o.spot_max_usd_per_hour, o.reserved_1y_usd_per_hour)
            for o in again.offers} == {(o.instance_type, o.gpu, o.on_demand_usd_per_hour, o.spot_max_usd_per_hour,
                                        o.reserved_1y_usd_per_hour) for o in table.offers}


def test_snapshot_staleness_warning_after_90_days(tmp_path):
    table = snapshot.load(write(tmp_path, row(date="2026-07")))
    # "2026-07" counts from 2026-07-01; 2026-09-29 is day 90, 2026-09-30 day 91.
    assert snapshot.staleness_warning(table, dt.date(2026, 9, 29)) is None
    warning = snapshot.staleness_warning(table, dt.date(2026, 9, 30))
    assert warning and "91 days old" in warning and "planner prices refresh" in warning


def test_snapshot_table_date_is_the_oldest_row(tmp_path):
    table = snapshot.load(write(tmp_path, row(date="2026-11-20"), row(instance_type="g5.xlarge", date="2026-07")))
    assert table.date == "2026-07"


def test_offers_for_derives_reserved_from_discount_and_marks_assumption():
    table = snapshot.load()
    offers = {o.offer.instance_type: o for o in pricing.offers_for(
        table, ["us-east-1"], ["H100"], reserved_1y_discount=0.30, reserved_3y_discount=0.45)}
    assert set(offers) == {"p5.48xlarge", "p5.4xlarge"}
    p5 = offers["p5.48xlarge"]
    assert p5.price("on_demand") == 55.04
    assert p5.price("reserved_1y") == pytest.approx(38.528)  # 55.04 × 0.70
    assert p5.price("reserved_3y") == pytest.approx(30.272)  # 55.04 × 0.55
    # only the cheapest zone is known (16.9508): conservative spot is 0.6 × on-demand = 33.024
    assert p5.price("spot") == pytest.approx(33.024) and p5.spot_basis == "on_demand_fraction"
    assert p5.assumed == frozenset({"reserved_1y", "reserved_3y", "spot"})
    assert p5.source == table.find("us-east-1", "p5.48xlarge").source and p5.date == "2026-07"


def test_offers_for_uses_file_reserved_and_spot_max_when_present(tmp_path):
    table = snapshot.load(write(tmp_path, row(smin="17", smax="55.04", r1="40", r3="")))
    [offer] = pricing.offers_for(table, ["us-east-1"], None, reserved_1y_discount=0.3, reserved_3y_discount=0.5)
    assert offer.price("reserved_1y") == 40 and offer.price("reserved_3y") == pytest.approx(27.52)
    assert offer.assumed == frozenset({"reserved_3y"})
    assert offer.price("spot") == 55.04 and offer.spot_basis == "highest_zone"


@pytest.mark.parametrize("smin, smax, basis, rule, usd", [
    ("16.9508", "", "conservative", "on_demand_fraction", 0.6 * 55.04),  # 33.024: only the cheapest zone known
    ("40", "", "conservative", "lowest_zone", 40.0),  # the cheapest zone is already above 0.6 × on-demand
    ("17", "30", "conservative", "highest_zone", 30.0),  # the dearest zone known
    ("17", "60", "conservative", "highest_zone", 55.04),  # never above on-demand
    ("16.9508", "", "lowest_zone", "lowest_zone", 16.9508),  # the snapshot's optimistic quote, on request
    ("17", "30", "lowest_zone", "lowest_zone", 17.0),
    ("", "30", "lowest_zone", "highest_zone", 30.0),  # the only zone known
])
def test_offers_for_spot_basis(tmp_path, smin, smax, basis, rule, usd):
    table = snapshot.load(write(tmp_path, row(smin=smin, smax=smax)))
    [offer] = pricing.offers_for(table, ["us-east-1"], None, reserved_1y_discount=0.3, reserved_3y_discount=0.45,
                                 spot_basis=basis)
    assert offer.spot_basis == rule
    assert offer.price("spot") == pytest.approx(usd)
    assert ("spot" in offer.assumed) == (rule == "on_demand_fraction")


def test_conservative_spot_fraction_is_above_what_the_snapshot_asks():
    """0.6 × on-demand sits above 90 % of the shipped rows' cheapest-zone quotes (pricing/__init__.py)."""
    table = snapshot.load()
    ratios = sorted(o.spot_min_usd_per_hour / o.on_demand_usd_per_hour for o in table.offers
                    if o.spot_min_usd_per_hour and o.on_demand_usd_per_hour)
    assert ratios[int(0.9 * len(ratios))] <= pricing.SPOT_ON_DEMAND_FRACTION
    assert 0.25 < ratios[len(ratios) // 2] < 0.35  # the median cheapest zone, ~0.30 × on-demand


def test_offers_for_skips_rows_without_on_demand_and_reports_them():
    table = snapshot.load()
    regions = ["us-east-1", "us-east-2"]
    kept = pricing.offers_for(table, regions, ["H200"], reserved_1y_discount=0.3, reserved_3y_discount=0.45)
    skipped = pricing.skipped_offers(table, regions, ["H200"])
    assert {o.offer.instance_type for o in kept} == {"p5en.48xlarge"}
    assert {o.instance_type for o in skipped} == {"p5e.48xlarge"}  # notes §1: p5e has no list price


def test_priced_offer_missing_option_raises_naming_everything(tmp_path):
    table = snapshot.load(write(tmp_path, row(smin="")))
    [offer] = pricing.offers_for(table, ["us-east-1"], None, reserved_1y_discount=0.3, reserved_3y_discount=0.45)
    with pytest.raises(PriceMissing, match=r"no spot price for p5\.48xlarge in us-east-1"):
        offer.price("spot")
    with pytest.raises(PriceMissing, match="unknown purchase option"):
        offer.price("dedicated")


def test_offers_for_rejects_discount_out_of_range():
    with pytest.raises(ValueError):
        pricing.offers_for(snapshot.load(), ["us-east-1"], None, reserved_1y_discount=1.2, reserved_3y_discount=0.4)


def test_default_reserved_discounts_are_conservative():
    # aws_pricing_notes.md §4: ~30 % (1y) and 45–55 % (3y) no upfront; we take the low end.
    assert pricing.DEFAULT_RESERVED_1Y_DISCOUNT == 0.30
    assert pricing.DEFAULT_RESERVED_3Y_DISCOUNT == 0.45


def test_platform_prices_match_sourced_figures():
    prices = platform.load()
    us = platform.for_region(prices, "us-east-1")
    # aws_pricing_notes.md §5
    assert (us.nat_gateway_usd_per_hour, us.nat_gateway_usd_per_gb, us.ebs_gp3_usd_per_gb_month,
            us.data_transfer_out_usd_per_gb) == (0.045, 0.045, 0.08, 0.09)
    assert platform.for_region(prices, "ap-southeast-1").nat_gateway_usd_per_hour == 0.059
    assert all(p.source and p.date for p in prices.values())
    assert not us.fallback


def test_platform_unknown_region_falls_back_to_default_and_says_so():
    prices = platform.load()
    fallback = platform.for_region(prices, "eu-south-2")
    assert fallback.fallback and fallback.region == "eu-south-2"
    assert "no platform price row for eu-south-2" in fallback.source
    # The default row is the per-column maximum of the regions except sa-east-1.
    rows = [p for r, p in prices.items() if r not in ("default", "sa-east-1")]
    for column in ("nat_gateway_usd_per_hour", "nat_gateway_usd_per_gb", "ebs_gp3_usd_per_gb_month",
                   "load_balancer_usd_per_hour", "data_transfer_out_usd_per_gb"):
        assert getattr(fallback, column) == max(getattr(p, column) for p in rows), column


def test_platform_rejects_negative_price_with_line(tmp_path):
    src = Path(platform.PLATFORM_PRICES).read_text().splitlines()
    fields = next(csv.reader([src[2]]))
    fields[1] = "-0.045"
    lines = [src[0], src[1], ",".join(f'"{f}"' for f in fields), *src[3:]]
    path = tmp_path / "platform.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match="non-negative") as err:
        platform.load(path)
    assert err.value.line == 3
