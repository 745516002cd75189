"""Test session settings: no test may reach AWS or the instance-metadata address."""

import os

os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ["AWS_SECURITY_TOKEN"] = "testing"
os.environ["AWS_SESSION_TOKEN"] = "testing"
os.environ["AWS_DEFAULT_REGION"] = "us-east-1"
os.environ.pop("AWS_PROFILE", None)
os.environ["MPLBACKEND"] = "Agg"
os.environ.setdefault("PULUMI_CONFIG_PASSPHRASE", "test")


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def example_outputs(tmp_path_factory):
    """Each bundled example forecast once per test session: {example name: output folder}."""
    from pathlib import Path

    from planner import cli

    root = Path(__file__).resolve().parents[1]
    base = tmp_path_factory.mktemp("examples")
    out = {}
    for plan in sorted((root / "examples").glob("*.yaml")):
        assert cli.run(["forecast", str(plan), "--out", str(base / plan.stem)]) == 0, plan
        out[plan.stem] = base / plan.stem
    return out
