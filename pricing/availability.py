"""Which GPU instance types each region offers: from the snapshot, or live from EC2.

The snapshot is not the whole truth (it lacks sa-east-1, and a few types launched after it);
`live_offerings` asks EC2's describe_instance_type_offerings for the current answer.
"""

from __future__ import annotations

from collections.abc import Iterable

from pricing.errors import UserError
from pricing.snapshot import PriceTable


def regions_offering(table: PriceTable, gpus: Iterable[str] | None = None) -> dict[str, set[str]]:
    """Region -> instance types in the snapshot carrying one of `gpus` (None = any GPU)."""
    wanted = None if gpus is None else set(gpus)
    result: dict[str, set[str]] = {}
    for offer in table.offers:
        if wanted is None or offer.gpu in wanted:
            result.setdefault(offer.region, set()).add(offer.instance_type)
    return result


def check_plan_regions(table: PriceTable, regions: Iterable[str], gpus: Iterable[str] | None, *,
                       file: str | None = None) -> None:
    """Reject a plan whose allowed regions offer none of its allowed GPUs, naming the regions that do."""
    regions = list(regions)
    gpus = None if gpus is None else list(gpus)
    offering = regions_offering(table, gpus)
    if any(region in offering for region in regions):
        return
    what = "any GPU instance" if gpus is None else "any of " + ", ".join(gpus)
    if offering:
        elsewhere = "; ".join(f"{region} ({', '.join(sorted(types))})"
                              for region, types in sorted(offering.items()))
        hint = f"regions that do, per the price snapshot dated {table.date}: {elsewhere}"
    else:
        known = sorted({o.gpu for o in table.offers})
        hint = f"no region in the price snapshot offers them; GPUs it knows: {', '.join(known)}"
    raise UserError(f"none of the allowed regions ({', '.join(regions) or 'none given'}) offers "
                    f"{what}; {hint}", file=file, field="constraints.regions")


def live_offerings(regions: Iterable[str], instance_types: Iterable[str], session=None) -> dict[str, set[str]]:
    """Region -> which of `instance_types` EC2 offers there (describe_instance_type_offerings, LocationType region)."""
    import boto3

    session = session or boto3.session.Session()
    types = sorted(set(instance_types))
    result: dict[str, set[str]] = {}
    for region in regions:
        ec2 = session.client("ec2", region_name=region)
        offered: set[str] = set()
        # The API takes up to 200 filter values; chunk to stay well under it.
        for start in range(0, max(len(types), 1), 100):
            chunk = types[start:start + 100]
            kwargs = {"LocationType": "region"}
            if chunk:
                kwargs["Filters"] = [{"Name": "instance-type", "Values": chunk}]
            for page in ec2.get_paginator("describe_instance_type_offerings").paginate(**kwargs):
                offered.update(o["InstanceType"] for o in page["InstanceTypeOfferings"])
        result[region] = offered
    return result
