"""`planner prices PLAN.yaml [--json]` and `planner prices refresh` through planner.cli.run."""

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.stub import ANY, Stubber

from planner.cli import run

EXAMPLE = Path(__file__).parents[1] / "examples" / "eu-chat-assistant.yaml"
FIXTURES = Path(__file__).parent / "fixtures" / "pricing"


def write_plan(tmp_path, *, regions, gpus, pricing=None) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["constraints"]["regions"] = regions
    data["constraints"]["gpus"] = gpus
    if pricing is not None:
        data["pricing"] = pricing
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_prices_cli_json_lists_offers_with_sources_and_assumptions(tmp_path, capsys):
    plan = write_plan(tmp_path, regions=["eu-north-1"], gpus=["H100", "H200"],
                      pricing={"reserved_1y_discount": 0.25})
    assert run(["prices", str(plan), "--json"]) == 0
    captured = capsys.readouterr()
    rows = {r["instance_type"]: r for r in json.loads(captured.out)}
    assert set(rows) == {"p5.48xlarge", "p5e.48xlarge", "p5en.48xlarge"}
    p5 = rows["p5.48xlarge"]
    for key in ("region", "instance_type", "gpu", "gpu_count", "on_demand_usd_per_hour", "spot_min_usd_per_hour",
                "spot_max_usd_per_hour", "reserved_1y_usd_per_hour", "reserved_3y_usd_per_hour", "source", "date"):
        assert key in p5
    assert (p5["region"], p5["gpu"], p5["gpu_count"]) == ("eu-north-1", "H100", 8)
    assert p5["on_demand_usd_per_hour"] == 58.8928
    assert p5["reserved_1y_usd_per_hour"] == pytest.approx(58.8928 * 0.75)  # plan's discount 0.25
    assert p5["reserved_3y_usd_per_hour"] == pytest.approx(58.8928 * 0.55)  # shipped default 0.45
    assert p5["reserved_1y_is_assumption"] and p5["reserved_3y_is_assumption"]
    assert p5["spot_max_usd_per_hour"] is None and p5["date"] == "2026-07" and "skypilot" in p5["source"]
    p5e = rows["p5e.48xlarge"]  # no list price: shown with nulls, marked skipped
    assert p5e["on_demand_usd_per_hour"] is None and p5e["reserved_1y_usd_per_hour"] is None
    assert "skips" in p5e["skipped"]
    assert "assumption: reserved prices" in captured.err
    if dt.date.today() > dt.date(2026, 9, 29):
        assert "days old" in captured.err


def test_prices_cli_table_shows_columns_and_source(tmp_path, capsys):
    plan = write_plan(tmp_path, regions=["eu-north-1"], gpus=["H100"])
    assert run(["prices", str(plan)]) == 0
    out = capsys.readouterr().out
    assert "p5.48xlarge" in out and "H100 × 8" in out and "58.89" in out and "41.22 *" in out  # 58.8928 × 0.70
    assert "[1] skypilot-org/skypilot-catalog" in out


def test_prices_cli_plan_snapshot_relative_to_plan_folder(tmp_path, capsys):
    header = ("instance_type,region,gpu_model,gpu_count,gpu_memory_gib_per_gpu,vcpus,memory_gib,"
              "on_demand_usd_per_hour,spot_min_usd_per_hour,spot_max_usd_per_hour,"
              "reserved_1y_no_upfront_usd_per_hour,reserved_3y_no_upfront_usd_per_hour,source,source_date")
    (tmp_path / "mine.csv").write_text(header + "\np5.48xlarge,eu-north-1,H100,8,80,192,2048,50,10,20,35,,my test,2026-11-01\n")
    plan = write_plan(tmp_path, regions=["eu-north-1"], gpus=["H100"], pricing={"snapshot": "mine.csv"})
    assert run(["prices", str(plan), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["source"], row["date"], row["spot_max_usd_per_hour"]) == ("my test", "2026-11-01", 20.0)
    assert row["reserved_1y_usd_per_hour"] == 35.0 and not row["reserved_1y_is_assumption"]
    assert row["reserved_3y_is_assumption"]


def test_prices_cli_regions_without_the_gpus_exit_2_naming_alternatives(tmp_path, capsys):
    plan = write_plan(tmp_path, regions=["eu-west-1"], gpus=["H100"])
    assert run(["prices", str(plan)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {plan}: constraints.regions: none of the allowed regions (eu-west-1)")
    assert "eu-north-1 (p5.48xlarge)" in err and len(err.splitlines()) == 1


def test_prices_cli_help_for_group_and_refresh(capsys):
    assert run(["prices", "--help"]) == 0
    assert "PLAN.yaml" in capsys.readouterr().out
    assert run(["prices", "refresh", "--help"]) == 0
    assert "--instance-types" in capsys.readouterr().out


def test_prices_cli_refresh_without_credentials_exits_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    out = tmp_path / "new.csv"
    code = run(["prices", "refresh", "--regions", "us-east-1", "--instance-types", "p5.48xlarge", "--out", str(out)])
    assert code == 2
    assert "no AWS credentials" in capsys.readouterr().err
    assert not out.exists()


def test_prices_cli_refresh_partial_failure_writes_and_exits_1(tmp_path, monkeypatch, capsys):
    no_retry = Config(retries={"mode": "standard", "max_attempts": 1})
    pricing = boto3.client("pricing", region_name="us-east-1", config=no_retry)
    ec2 = boto3.client("ec2", region_name="eu-north-1", config=no_retry)
    p_stub, e_stub = Stubber(pricing), Stubber(ec2)
    e_stub.add_response("describe_spot_price_history", {"SpotPriceHistory": [
        {"AvailabilityZone": "eu-north-1a", "InstanceType": "p5.48xlarge", "SpotPrice": "11.0",
         "ProductDescription": "Linux/UNIX", "Timestamp": dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)},
        {"AvailabilityZone": "eu-north-1b", "InstanceType": "p5.48xlarge", "SpotPrice": "21.0",
         "ProductDescription": "Linux/UNIX", "Timestamp": dt.datetime(2026, 11, 23, tzinfo=dt.timezone.utc)}]},
        {"InstanceTypes": ["p5.48xlarge"], "ProductDescriptions": ["Linux/UNIX"], "StartTime": ANY})
    p_stub.add_client_error("get_products", "ThrottlingException", "Rate exceeded", http_status_code=400)

    class Session:
        def get_credentials(self):
            return object()

        def client(self, service, region_name=None, config=None):
            return {"pricing": pricing, "ec2": ec2}[service]

    monkeypatch.setattr(boto3.session, "Session", Session)
    out = tmp_path / "new.csv"
    with p_stub, e_stub:
        code = run(["prices", "refresh", "--regions", "eu-north-1", "--instance-types", "p5.48xlarge",
                    "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "list prices of p5.48xlarge in eu-north-1: throttled" in captured.err
    from pricing import snapshot

    row = snapshot.load(out).find("eu-north-1", "p5.48xlarge")
    assert (row.spot_min_usd_per_hour, row.spot_max_usd_per_hour) == (11.0, 21.0)
    assert row.on_demand_usd_per_hour == 58.8928  # kept from the shipped snapshot, labelled so
    assert "kept from" in row.source
