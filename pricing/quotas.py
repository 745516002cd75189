"""EC2 GPU quotas (Service Quotas, counted in vCPUs) against the vCPUs a fleet needs.

Quota codes (service code "ec2"), as AWS names them:
- L-417A185B  Running On-Demand P instances
- L-DB2E81BA  Running On-Demand G and VT instances
- L-7212CCBC  All P Spot Instance Requests
- L-3819A6DF  All G and VT Spot Instance Requests
Reserved Instances run against the On-Demand quotas, so reserved fleet lines count as on-demand.
"""

from __future__ import annotations

from collections.abc import Iterable

from pricing.errors import UserError

QUOTA_CODES = {"on_demand_p": "L-417A185B", "on_demand_g": "L-DB2E81BA",
               "spot_p": "L-7212CCBC", "spot_g": "L-3819A6DF"}
QUOTA_NAMES = {"on_demand_p": "Running On-Demand P instances",
               "on_demand_g": "Running On-Demand G and VT instances",
               "spot_p": "All P Spot Instance Requests",
               "spot_g": "All G and VT Spot Instance Requests"}


def quota_key(instance_type: str, purchase: str) -> str | None:
    """The QUOTA_CODES key for an instance type bought one way; None outside the P and G families."""
    family = instance_type.split(".", 1)[0].lower()
    letter = family[:1]
    if letter not in ("p", "g") or not family[1:2].isdigit():
        return None
    return f"{'spot' if purchase == 'spot' else 'on_demand'}_{letter}"


def fetch(regions: Iterable[str], session=None) -> dict[str, dict[str, float]]:
    """Region -> quota key -> vCPU limit, from Service Quotas (the AWS default when none is applied).

    Missing credentials raise UserError; other API failures raise too, naming region and quota.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    session = session or boto3.session.Session()
    if session.get_credentials() is None:
        raise UserError("no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
                        "AWS_SECRET_ACCESS_KEY) - quotas need the account's Service Quotas")
    config = Config(retries={"mode": "adaptive", "max_attempts": 8})
    result: dict[str, dict[str, float]] = {}
    for region in regions:
        client = session.client("service-quotas", region_name=region, config=config)
        limits: dict[str, float] = {}
        for key, code in QUOTA_CODES.items():
            try:
                try:
                    reply = client.get_service_quota(ServiceCode="ec2", QuotaCode=code)
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != "NoSuchResourceException":
                        raise
                    reply = client.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=code)
            except NoCredentialsError:
                raise UserError("no AWS credentials found - quotas need the account's Service Quotas") from None
            except (ClientError, BotoCoreError) as exc:
                raise UserError(f"cannot read quota {code} ({QUOTA_NAMES[key]}) in {region}: {exc}",
                                exit_code=1) from None
            limits[key] = float(reply["Quota"]["Value"])
        result[region] = limits
    return result


def needed_vcpus(lines, table=None) -> dict[str, dict[str, float]]:
    """Region -> quota key -> vCPUs the fleet lines need at once (lines: region, instance_type, count, purchase).

    vCPUs per instance come from the price snapshot (`table`, default: the shipped one); an
    instance type it does not know raises UserError. Lines outside the P and G families are ignored
    (they do not count against these quotas).
    """
    from pricing.snapshot import load

    table = table if table is not None else load()
    vcpus_by_type = {o.instance_type: o.vcpus for o in table.offers}
    needed: dict[str, dict[str, float]] = {}
    for line in lines:
        key = quota_key(line.instance_type, line.purchase)
        if key is None or line.count <= 0:
            continue
        if line.instance_type not in vcpus_by_type:
            raise UserError(f"vCPUs of {line.instance_type} unknown: it is not in the price snapshot "
                            f"{table.path}")
        region = needed.setdefault(line.region, {})
        region[key] = region.get(key, 0.0) + line.count * vcpus_by_type[line.instance_type]
    return needed


def compare(needed: dict[str, dict[str, float]], quotas: dict[str, dict[str, float]]) -> list[str]:
    """One warning per shortfall (and per quota that could not be compared), naming region, quota, need and limit."""
    warnings: list[str] = []
    for region in sorted(needed):
        for key in sorted(needed[region]):
            need = needed[region][key]
            limit = quotas.get(region, {}).get(key)
            label = f"{QUOTA_NAMES[key]} ({QUOTA_CODES[key]})"
            if limit is None:
                warnings.append(f"{region}: {label} not checked; the fleet needs {need:g} vCPUs")
            elif need > limit:
                warnings.append(f"{region}: {label} is {limit:g} vCPUs but the fleet needs {need:g}; "
                                f"request an increase of at least {need - limit:g} vCPUs in Service Quotas")
    return warnings
