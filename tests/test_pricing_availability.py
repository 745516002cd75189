"""Which regions offer which GPU instance types: snapshot and live (moto's real offering data)."""

import pytest
from moto import mock_aws

from planner.errors import UserError
from pricing import snapshot
from pricing.availability import check_plan_regions, live_offerings, regions_offering


def test_availability_snapshot_eu_west_1_offers_only_g5_and_p4d():
    # aws_pricing_notes.md §1: eu-west-1 offers only g5 and p4d of the requested types.
    offering = regions_offering(snapshot.load())
    assert {t.split(".")[0] for t in offering["eu-west-1"]} == {"g5", "p4d"}


def test_availability_filters_by_catalog_gpu_kind():
    offering = regions_offering(snapshot.load(), ["A100-40GB"])
    assert all(types == {"p4d.24xlarge"} for types in offering.values())
    assert "eu-west-1" in offering


def test_availability_plan_without_offering_region_is_rejected_naming_alternatives():
    table = snapshot.load()
    with pytest.raises(UserError) as err:
        check_plan_regions(table, ["eu-west-1"], ["H100"], file="plan.yaml")
    message = str(err.value)
    assert message.startswith("plan.yaml: constraints.regions: none of the allowed regions (eu-west-1)")
    assert "us-east-1 (p5.48xlarge, p5.4xlarge)" in message and "eu-north-1 (p5.48xlarge)" in message
    assert err.value.field == "constraints.regions"


def test_availability_plan_with_one_offering_region_passes():
    check_plan_regions(snapshot.load(), ["eu-west-1", "eu-north-1"], ["H100"])
    check_plan_regions(snapshot.load(), ["eu-west-1"], None)


def test_availability_unknown_gpu_lists_known_ones():
    with pytest.raises(UserError, match="GPUs it knows: .*H100"):
        check_plan_regions(snapshot.load(), ["us-east-1"], ["MI300X"])


@mock_aws
def test_availability_live_offerings_from_moto_real_data():
    import boto3

    types = ["g5.xlarge", "p4d.24xlarge", "p5.48xlarge", "g6.xlarge"]
    offered = live_offerings(["eu-west-1", "sa-east-1"], types, session=boto3.session.Session())
    assert offered["eu-west-1"] == {"g5.xlarge", "p4d.24xlarge"}  # no p5, no g6 in eu-west-1
    # sa-east-1 is missing from the snapshot but AWS offers GPUs there (notes §1).
    assert {"g5.xlarge", "p4d.24xlarge", "p5.48xlarge", "g6.xlarge"} <= offered["sa-east-1"]
