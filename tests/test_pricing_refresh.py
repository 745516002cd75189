"""Live refresh: Pricing API parsing (Stubber + recorded-shape fixture), spot ranges, partial failure."""

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.stub import ANY, Stubber
from moto import mock_aws

from planner.cli import run
from planner.errors import ExitCode, UserError
from pricing import refresh, snapshot

FIXTURES = Path(__file__).parent / "fixtures" / "pricing"
TODAY = dt.date(2026, 11, 23)
NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1})


def products_fixture() -> dict:
    return json.loads((FIXTURES / "get_products_p5.48xlarge_us-east-1.json").read_text())


class FakeSession:
    """Hands out pre-built (stubbed or moto) clients; records which ones were asked for."""

    def __init__(self, clients=None, fallback=None, credentials=True):
        self.clients, self.fallback, self.credentials = clients or {}, fallback, credentials

    def get_credentials(self):
        return object() if self.credentials else None

    def client(self, service, region_name=None, config=None):
        if (service, region_name) in self.clients:
            return self.clients[(service, region_name)]
        return self.fallback.client(service, region_name=region_name, config=NO_RETRY)


def pricing_filters(instance_type, location):
    def term(field, value):
        return {"Type": "TERM_MATCH", "Field": field, "Value": value}

    return {"ServiceCode": "AmazonEC2", "Filters": [
        term("instanceType", instance_type), term("location", location), term("operatingSystem", "Linux"),
        term("tenancy", "Shared"), term("capacitystatus", "Used"), term("preInstalledSw", "NA")]}


def spot_row(zone, price, hour=12, instance_type="p5.48xlarge"):
    return {"AvailabilityZone": zone, "InstanceType": instance_type, "ProductDescription": "Linux/UNIX",
            "SpotPrice": str(price), "Timestamp": dt.datetime(2026, 11, 23, hour, tzinfo=dt.timezone.utc)}


def test_refresh_location_names_from_botocore():
    assert refresh.location_name("us-east-1") == "US East (N. Virginia)"
    assert refresh.location_name("eu-central-1") == "EU (Frankfurt)"
    assert refresh.location_name("sa-east-1") == "South America (Sao Paulo)"
    assert refresh.location_name("eu-central-1", {"eu-central-1": "Custom"}) == "Custom"
    with pytest.raises(UserError, match="did you mean 'eu-central-1'"):
        refresh.location_name("eu-centrl-1")


def test_refresh_parse_products_picks_standard_no_upfront_terms():
    prices = refresh.parse_products(products_fixture()["PriceList"])
    # Fixture: on-demand 55.04; 1yr/3yr standard No Upfront 38.528 / 24.2176; convertible and
    # All Upfront terms must be ignored.
    assert prices == refresh.ListPrices(55.04, 38.528, 24.2176)
    assert refresh.parse_products([]) is None


def test_refresh_spot_range_uses_latest_price_per_regular_zone():
    rows = [spot_row("us-east-1a", 55.04), spot_row("us-east-1b", 18.734),
            spot_row("us-east-1b", 30.0, hour=1),          # older price in 1b: superseded
            spot_row("us-east-1c", 16.9508),
            spot_row("us-east-1-atl-2a", 5.0),             # Local Zone: left out
            spot_row("us-east-1a", 0.9, instance_type="g5.xlarge")]
    ranges = refresh.spot_ranges(rows, "us-east-1")
    assert ranges["p5.48xlarge"] == refresh.SpotRange(16.9508, 55.04, 3)
    assert ranges["g5.xlarge"] == refresh.SpotRange(0.9, 0.9, 1)


def stubbed_clients(pricing_errors=()):
    pricing = boto3.client("pricing", region_name="us-east-1", config=NO_RETRY)
    ec2 = boto3.client("ec2", region_name="us-east-1", config=NO_RETRY)
    p_stub, e_stub = Stubber(pricing), Stubber(ec2)
    e_stub.add_response("describe_spot_price_history", {"SpotPriceHistory": [
        spot_row("us-east-1a", 55.04), spot_row("us-east-1d", 18.1597), spot_row("us-east-1f", 16.9508),
        spot_row("us-east-1a", 0.5, instance_type="g5.xlarge"), spot_row("us-east-1b", 0.7, instance_type="g5.xlarge"),
    ]}, {"InstanceTypes": ["p5.48xlarge", "g5.xlarge"], "ProductDescriptions": ["Linux/UNIX"], "StartTime": ANY})
    p_stub.add_response("get_products", products_fixture(),
                        pricing_filters("p5.48xlarge", "US East (N. Virginia)"))
    if "g5.xlarge" in pricing_errors:
        p_stub.add_client_error("get_products", "ThrottlingException", "Rate exceeded", http_status_code=400,
                                expected_params=pricing_filters("g5.xlarge", "US East (N. Virginia)"))
    else:
        p_stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []},
                            pricing_filters("g5.xlarge", "US East (N. Virginia)"))
    session = FakeSession({("pricing", "us-east-1"): pricing, ("ec2", "us-east-1"): ec2})
    return session, p_stub, e_stub


def test_refresh_fetch_builds_rows_with_range_reserved_source_and_date():
    session, p_stub, e_stub = stubbed_clients()
    base = snapshot.load()
    steps = []
    with p_stub, e_stub:
        result = refresh.fetch(["us-east-1"], ["p5.48xlarge", "g5.xlarge"], base=base, session=session,
                               today=TODAY, progress=steps.append)
    assert result.failures == [] and result.exit_code == ExitCode.OK
    assert len(steps) == refresh.steps(["us-east-1"], ["p5.48xlarge", "g5.xlarge"]) == 3
    rows = {o.instance_type: o for o in result.offers}
    p5 = rows["p5.48xlarge"]
    assert (p5.on_demand_usd_per_hour, p5.reserved_1y_usd_per_hour, p5.reserved_3y_usd_per_hour) == (55.04, 38.528, 24.2176)
    assert (p5.spot_min_usd_per_hour, p5.spot_max_usd_per_hour) == (16.9508, 55.04)
    assert p5.date == "2026-11-23" and "Pricing API" in p5.source and "over 3 AZs" in p5.source
    assert (p5.gpu, p5.gpu_count, p5.vcpus) == ("H100", 8, 192)  # specs from the base snapshot
    # g5.xlarge: no price-list product in this stub, spot only -> kept, with a note.
    g5 = rows["g5.xlarge"]
    assert g5.on_demand_usd_per_hour is None and (g5.spot_min_usd_per_hour, g5.spot_max_usd_per_hour) == (0.5, 0.7)
    assert any("g5.xlarge in us-east-1: no on-demand list price" in n for n in result.notes)


def test_refresh_throttled_part_is_reported_and_the_rest_written(tmp_path):
    session, p_stub, e_stub = stubbed_clients(pricing_errors=("g5.xlarge",))
    base = snapshot.load()
    with p_stub, e_stub:
        result = refresh.fetch(["us-east-1"], ["p5.48xlarge", "g5.xlarge"], base=base, session=session, today=TODAY)
    assert result.exit_code == ExitCode.FAILURE
    [failure] = result.failures
    assert failure.startswith("list prices of g5.xlarge in us-east-1: throttled by AWS (ThrottlingException)")
    g5 = {o.instance_type: o for o in result.offers}["g5.xlarge"]
    # on-demand kept from the base snapshot and labelled so; spot is the fresh range.
    assert g5.on_demand_usd_per_hour == base.find("us-east-1", "g5.xlarge").on_demand_usd_per_hour
    assert "kept from skypilot" in g5.source and g5.date == "2026-07"
    out = refresh.write_snapshot(base, result, tmp_path / "new.csv")
    written = snapshot.load(out)
    assert len(written.offers) == len(base.offers)
    assert written.find("us-east-1", "p5.48xlarge").reserved_1y_usd_per_hour == 38.528
    assert written.find("eu-north-1", "p5.48xlarge") == base.find("eu-north-1", "p5.48xlarge")


def test_refresh_without_credentials_fails_before_any_call():
    with pytest.raises(UserError, match="no AWS credentials"):
        refresh.fetch(["us-east-1"], ["p5.48xlarge"], base=snapshot.load(), session=FakeSession(credentials=False))


def test_refresh_never_overwrites_the_shipped_snapshot():
    with pytest.raises(UserError, match="refusing to overwrite"):
        refresh.write_snapshot(snapshot.load(), refresh.RefreshResult(), snapshot.SHIPPED_SNAPSHOT)


@mock_aws
def test_refresh_with_moto_spot_history_fills_new_region():
    """moto's spot prices are synthetic: assert the range logic and the row, not the values."""
    pricing = boto3.client("pricing", region_name="us-east-1", config=NO_RETRY)
    p_stub = Stubber(pricing)
    fixture = products_fixture()  # reuse the recorded shape for sa-east-1 (not in the snapshot)
    p_stub.add_response("get_products", fixture, pricing_filters("p5.48xlarge", "South America (Sao Paulo)"))
    session = FakeSession({("pricing", "us-east-1"): pricing}, fallback=boto3.session.Session())
    with p_stub:
        result = refresh.fetch(["sa-east-1"], ["p5.48xlarge"], base=snapshot.load(), session=session, today=TODAY)
    assert result.failures == []
    [row] = result.offers
    assert row.region == "sa-east-1" and row.on_demand_usd_per_hour == 55.04
    if row.spot_min_usd_per_hour is not None:
        assert row.spot_min_usd_per_hour <= row.spot_max_usd_per_hour


# --- unreachable AWS, the time budget, and keeping good snapshots --------------------------------

def unreachable_clients():
    """Real botocore clients whose every request fails as if AWS could not be reached (no network used)."""
    from botocore.exceptions import EndpointConnectionError

    calls = []  # API calls made (botocore may send each more than once)

    def refuse(request, **_kwargs):
        raise EndpointConnectionError(endpoint_url=request.url)

    clients = {}
    for service, region in (("pricing", "us-east-1"), ("ec2", "us-east-1"), ("ec2", "eu-north-1")):
        client = boto3.client(service, region_name=region, config=NO_RETRY)
        client.meta.events.register("before-call", lambda model, **_k: calls.append(model.name))
        client.meta.events.register("before-send", refuse)
        clients[(service, region)] = client
    return FakeSession(clients), calls


def test_refresh_stops_at_the_first_connection_error():
    session, calls = unreachable_clients()
    steps = []
    result = refresh.fetch(["us-east-1", "eu-north-1"], ["p5.48xlarge", "g5.xlarge"], base=snapshot.load(),
                           session=session, today=TODAY, progress=steps.append)
    assert len(calls) == 1 and steps == []  # one request, not one per region and type
    assert result.offers == [] and result.exit_code == ExitCode.FAILURE
    [failure] = result.failures
    assert failure.startswith("stopped after 0 of 6 steps: AWS could not be reached (spot us-east-1: ")
    assert "Could not connect to the endpoint URL" in failure


def test_refresh_time_budget_stops_the_fetch_and_says_what_is_missing():
    session, p_stub, e_stub = stubbed_clients()
    ticks = iter([0.0, 1.0, 2.0] + [100.0] * 10)  # a fake clock: the budget runs out before the third call
    steps = []
    with p_stub, e_stub:
        result = refresh.fetch(["us-east-1"], ["p5.48xlarge", "g5.xlarge"], base=snapshot.load(), session=session,
                               today=TODAY, progress=steps.append, budget_s=10, clock=lambda: next(ticks))
    assert len(steps) == 2  # spot, then p5's list prices
    assert [o.instance_type for o in result.offers] == ["p5.48xlarge"]
    assert result.failures == ["stopped after 2 of 3 steps: the time budget of 10 s ran out; the rest was not fetched"]


def test_prices_cli_refresh_partial_fetch_never_replaces_an_existing_snapshot(tmp_path, monkeypatch, capsys):
    session, calls = unreachable_clients()
    monkeypatch.setattr(boto3.session, "Session", lambda: session)
    out = tmp_path / "good.csv"
    out.write_bytes(snapshot.SHIPPED_SNAPSHOT.read_bytes())
    before = out.read_bytes()
    code = run(["prices", "refresh", "--regions", "us-east-1", "--instance-types", "p5.48xlarge",
                "--out", str(out), "--force"])
    err = capsys.readouterr().err
    assert code == 1 and len(calls) == 1
    assert "AWS could not be reached" in err and "nothing written" in err
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["good.csv"]


def test_refresh_partial_result_is_not_written_over_an_existing_file(tmp_path):
    session, p_stub, e_stub = stubbed_clients(pricing_errors=("g5.xlarge",))
    base = snapshot.load()
    with p_stub, e_stub:
        result = refresh.fetch(["us-east-1"], ["p5.48xlarge", "g5.xlarge"], base=base, session=session, today=TODAY)
    out = tmp_path / "good.csv"
    out.write_text("kept")
    assert refresh.write_snapshot(base, result, out, force=True) is None
    assert result.kept == out and result.written is None and out.read_text() == "kept"
    assert refresh.write_snapshot(base, result, tmp_path / "new.csv") == tmp_path / "new.csv"  # a new file is fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.csv", "new.csv"]  # no temporary file left


def test_prices_cli_refresh_shows_a_progress_bar_of_regions_times_types(tmp_path, monkeypatch, capsys):
    session, p_stub, e_stub = stubbed_clients()
    monkeypatch.setattr(boto3.session, "Session", lambda: session)
    with p_stub, e_stub:
        code = run(["prices", "refresh", "--regions", "us-east-1", "--instance-types", "p5.48xlarge,g5.xlarge",
                    "--out", str(tmp_path / "new.csv")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "1 regions × 2 types" in err and "3/3" in err
