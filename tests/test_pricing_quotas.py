"""GPU quotas: the vCPUs a fleet needs per quota, the comparison, and fetching with Service Quotas."""

from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from planner.errors import UserError
from pricing import quotas, snapshot


def line(region, instance_type, count, purchase):
    return SimpleNamespace(region=region, instance_type=instance_type, count=count, purchase=purchase)


def test_quotas_codes_match_aws_names():
    assert quotas.QUOTA_CODES == {"on_demand_p": "L-417A185B", "on_demand_g": "L-DB2E81BA",
                                  "spot_p": "L-7212CCBC", "spot_g": "L-3819A6DF"}


@pytest.mark.parametrize("instance_type, purchase, key", [
    ("p5.48xlarge", "on_demand", "on_demand_p"), ("p5.48xlarge", "reserved_1y", "on_demand_p"),
    ("p6-b200.48xlarge", "spot", "spot_p"), ("g6e.xlarge", "reserved_3y", "on_demand_g"),
    ("g5.12xlarge", "spot", "spot_g"), ("c7i.large", "on_demand", None), ("gr6.4xlarge", "spot", None),
])
def test_quotas_key_per_family_and_purchase(instance_type, purchase, key):
    assert quotas.quota_key(instance_type, purchase) == key


def test_quotas_needed_vcpus_sums_lines_per_region_and_quota():
    table = snapshot.load()
    lines = [line("us-east-1", "p5.48xlarge", 2, "reserved_1y"),  # 2 × 192
             line("us-east-1", "p5.48xlarge", 1, "on_demand"),    # 1 × 192
             line("us-east-1", "g5.xlarge", 3, "spot"),           # 3 × 4
             line("eu-north-1", "g6e.12xlarge", 2, "on_demand"),  # 2 × 48
             line("eu-north-1", "c7i.large", 5, "on_demand")]     # not a GPU quota
    assert quotas.needed_vcpus(lines, table) == {
        "us-east-1": {"on_demand_p": 576.0, "spot_g": 12.0},
        "eu-north-1": {"on_demand_g": 96.0},
    }


def test_quotas_needed_vcpus_unknown_type_is_an_error():
    with pytest.raises(UserError, match="p9.48xlarge"):
        quotas.needed_vcpus([line("us-east-1", "p9.48xlarge", 1, "spot")], snapshot.load())


def test_quotas_compare_flags_each_shortfall_with_need_and_limit():
    needed = {"us-east-1": {"on_demand_p": 576.0, "spot_g": 12.0}, "eu-north-1": {"on_demand_g": 96.0}}
    limits = {"us-east-1": {"on_demand_p": 384.0, "spot_g": 64.0}}
    warnings = quotas.compare(needed, limits)
    assert warnings == [
        "eu-north-1: Running On-Demand G and VT instances (L-DB2E81BA) not checked; the fleet needs 96 vCPUs",
        "us-east-1: Running On-Demand P instances (L-417A185B) is 384 vCPUs but the fleet needs 576; "
        "request an increase of at least 192 vCPUs in Service Quotas",
    ]
    assert quotas.compare(needed, {"us-east-1": {"on_demand_p": 576, "spot_g": 12},
                                   "eu-north-1": {"on_demand_g": 96}}) == []


class StubSession:
    def __init__(self, clients, credentials=True):
        self.clients, self.credentials = clients, credentials

    def get_credentials(self):
        return object() if self.credentials else None

    def client(self, service, region_name=None, config=None):
        return self.clients[(service, region_name)]


def test_quotas_fetch_reads_applied_or_default_quota():
    client = boto3.client("service-quotas", region_name="eu-north-1")
    stub = Stubber(client)
    values = {"L-417A185B": 384.0, "L-DB2E81BA": 64.0, "L-7212CCBC": None, "L-3819A6DF": 8.0}
    for code, value in values.items():
        params = {"ServiceCode": "ec2", "QuotaCode": code}
        if value is None:  # no applied quota: fall back to the AWS default
            stub.add_client_error("get_service_quota", "NoSuchResourceException", expected_params=params)
            stub.add_response("get_aws_default_service_quota", {"Quota": {"Value": 0.0}}, params)
        else:
            stub.add_response("get_service_quota", {"Quota": {"Value": value}}, params)
    with stub:
        result = quotas.fetch(["eu-north-1"], session=StubSession({("service-quotas", "eu-north-1"): client}))
    stub.assert_no_pending_responses()
    assert result == {"eu-north-1": {"on_demand_p": 384.0, "on_demand_g": 64.0, "spot_p": 0.0, "spot_g": 8.0}}


def test_quotas_fetch_without_credentials_is_a_user_error():
    with pytest.raises(UserError, match="no AWS credentials"):
        quotas.fetch(["us-east-1"], session=StubSession({}, credentials=False))


def test_quotas_cli_compares_forecast_fleet_and_exits_1_on_shortfall(monkeypatch, capsys):
    from pathlib import Path

    from planner.cli import run

    # tests/fixtures/forecast_small.json: at its busiest month 5 × g6e.xlarge (4 vCPUs) on demand in eu-central-1
    forecast = Path(__file__).parent / "fixtures" / "forecast_small.json"
    client = boto3.client("service-quotas", region_name="eu-central-1")
    stub = Stubber(client)
    for code, value in (("L-417A185B", 192.0), ("L-DB2E81BA", 16.0), ("L-7212CCBC", 0.0), ("L-3819A6DF", 8.0)):
        stub.add_response("get_service_quota", {"Quota": {"Value": value}}, {"ServiceCode": "ec2", "QuotaCode": code})
    monkeypatch.setattr(boto3.session, "Session",
                        lambda: StubSession({("service-quotas", "eu-central-1"): client}))
    with stub:
        code = run(["quotas", "--regions", "eu-central-1", "--forecast", str(forecast)])
    captured = capsys.readouterr()
    assert code == 1
    assert "L-DB2E81BA" in captured.out and "fleet needs 20" in captured.out  # 5 × 4 vCPUs
    assert "is 16 vCPUs but the fleet needs 20" in captured.err
