"""The plan fields issue 11 adds: workloads[].engine, slo.percentile and model: {hf_config: ...}."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from planner import catalog, perf
from planner.cli import run
from planner.errors import UserError
from planner.plan import load, parse, workload_model_spec

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "internal-tool.yaml"
CONFIGS = ROOT / "planner" / "data" / "model_configs"


def base() -> dict:
    return yaml.safe_load(EXAMPLE.read_text())


def write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False))
    return p


def test_plan_engine_and_percentile_default_to_vllm_and_p90():
    w = parse(base()).workloads[0]
    assert w.engine == "vllm" and w.slo.percentile == "p90"


def test_plan_engine_and_percentile_are_read():
    data = base()
    data["workloads"][0]["engine"] = "sglang"
    data["workloads"][0]["slo"]["percentile"] = "p99"
    w = parse(data).workloads[0]
    assert w.engine == "sglang" and w.slo.percentile == "p99"


@pytest.mark.parametrize("path,value,field,words", [
    ("engine", "tgi", "workloads[0].engine", "'vllm', 'sglang' or 'trtllm'"),
    ("slo.percentile", "p95", "workloads[0].slo.percentile", "'p50', 'p90' or 'p99'"),
])
def test_plan_bad_engine_or_percentile_is_one_line_exit_2(tmp_path, capsys, path, value, field, words):
    data = base()
    node = data["workloads"][0]
    *parents, last = path.split(".")
    for p in parents:
        node = node[p]
    node[last] = value
    out = tmp_path / "out"
    assert run(["forecast", str(write(tmp_path, data)), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f": {field}: " in err[0] and words in err[0]
    assert not out.exists()


def test_plan_hf_config_is_read_relative_to_the_plan(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "config.json").write_text((CONFIGS / "qwen3-30b-a3b.json").read_text())
    data = base()
    data["workloads"][0]["model"] = {"hf_config": "models/config.json"}
    plan = load(write(tmp_path, data))
    w = plan.workloads[0]
    spec = workload_model_spec(w, catalog.load_models())
    assert w.model_id == spec.id == "qwen3-30b-a3b"
    assert w.model.hf_config == "models/config.json"  # the plan (and forecast.json) keep what was written
    assert spec.experts == 128 and spec.experts_per_token == 8
    # a catalog model resolves to the catalog's spec
    assert workload_model_spec(parse(base()).workloads[0], catalog.load_models()).id == "llama-3.1-8b"


def test_plan_hf_config_missing_field_names_the_file_and_field(tmp_path, capsys):
    cfg = json.loads((CONFIGS / "qwen3-8b.json").read_text())
    del cfg["num_attention_heads"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    data = base()
    data["workloads"][0]["model"] = {"hf_config": "config.json"}
    with pytest.raises(UserError) as exc:
        load(write(tmp_path, data))
    assert exc.value.file == str(tmp_path / "config.json") and exc.value.field == "num_attention_heads"
    out = tmp_path / "out"
    assert run(["forecast", str(tmp_path / "plan.yaml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.json: num_attention_heads: missing field" in err
    assert not out.exists()


def test_plan_hf_config_missing_file_is_one_line(tmp_path, capsys):
    data = base()
    data["workloads"][0]["model"] = {"hf_config": "nope/config.json"}
    assert run(["validate", str(write(tmp_path, data))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope/config.json: no such file" in err


def test_fleet_candidates_size_with_the_plans_engine_and_percentile():
    """The fleet divides demand by perf.capacity for the workload's engine and percentile."""
    from planner import fleet

    data = base()
    plan = parse(data)
    w = plan.workloads[0]
    gpu = catalog.load_gpus()["A10G"]
    kw = dict(precision="bf16", tp=1, input_tokens=800, output_tokens=400, ttft_ms=2000.0, tpot_ms=60.0)
    caps = {(e, p): perf.capacity(catalog.load_models()["llama-3.1-8b"], gpu, engine=e, percentile=p, **kw)
            for e in perf.ENGINES for p in perf.PERCENTILES}
    assert len({round(c.requests_per_s, 6) for c in caps.values()}) > 1  # the inputs matter
    from planner import inputs

    loaded = inputs.load(plan)
    offers = [po for po in fleet.offers(plan, loaded.price_table)
              if po.offer.gpu == "A10G" and po.offer.gpu_count == 1][:1]
    assert offers
    for engine, pct in (("vllm", "p90"), ("sglang", "p99")):
        w2 = w.model_copy(update={"engine": engine, "slo": w.slo.model_copy(update={"percentile": pct})})
        cands, _ = fleet.candidates(plan, w2, offers, catalog.load_models()["llama-3.1-8b"], loaded.gpus,
                                    loaded.perf_factors)
        assert cands[0].replica_requests_per_s == pytest.approx(caps[(engine, pct)].requests_per_s)


def test_forecast_runs_on_a_model_from_hf_config_with_its_engine(tmp_path):
    """End to end: a model the catalog lacks, sized for SGLang at p99; the report's assumptions name the
    engine's fit figures and the percentile."""
    (tmp_path / "config.json").write_text((CONFIGS / "qwen3-30b-a3b.json").read_text())
    data = base()
    data["workloads"][0].update(model={"hf_config": "config.json"}, engine="sglang")
    data["workloads"][0]["slo"]["percentile"] = "p99"
    out = tmp_path / "out"
    assert run(["forecast", str(write(tmp_path, data)), "--out", str(out)]) == 0
    doc = json.loads((out / "forecast.json").read_text())
    model_line = next(a["value"] for a in doc["assumptions"] if a["name"] == "throughput_model")
    assert "sglang: leave-one-source-out" in model_line and "helpdesk: p99" in model_line
    assert doc["fleet_choice"][0]["replica_requests_per_s"] > 0
