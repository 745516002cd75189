"""`planner perf` through planner.cli.run (no subprocess)."""

import json
import re

import pytest

from planner.cli import run

BASE = ["perf", "--model", "llama-3.1-70b", "--gpu", "H100", "--precision", "fp8",
        "--input-tokens", "1000", "--output-tokens", "1000"]


def test_perf_cli_json_has_the_contract_keys(capsys):
    assert run(BASE + ["--tp", "2", "--tpot-ms", "50", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("model", "gpu", "precision", "tp", "fits", "max_batch", "kv_cache_tokens", "output_tokens_per_s",
                "output_tokens_per_s_per_gpu", "requests_per_s", "ttft_ms", "tpot_ms", "bound", "engine", "percentile"):
        assert key in d
    assert d["engine"] == "vllm" and d["percentile"] == "p90"
    assert d["model"] == "llama-3.1-70b" and d["gpu"] == "H100" and d["tp"] == 2 and d["fits"] is True
    assert d["tpot_ms"] <= 50 and d["bound"] in ("memory", "compute")


def test_perf_cli_without_tp_picks_best_per_gpu_and_lists_all(capsys):
    assert run(BASE + ["--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    per_gpu = {c["tp"]: c["output_tokens_per_s_per_gpu"] for c in d["considered"] if c["fits"]}
    assert d["tp"] == max(per_gpu, key=per_gpu.get)
    assert [c["tp"] for c in d["considered"]] == [1, 2, 4, 8]


def test_perf_cli_plain_shows_every_tp(capsys):
    assert run(BASE + ["--tpot-ms", "50"]) == 0
    out = capsys.readouterr().out
    assert "chosen" in out and "llama-3.1-70b on H100" in out
    for tp in ("1", "2", "4", "8"):  # piped: plain aligned text, one line per tp
        assert re.search(rf"^\s*{tp}\s+(yes|no)\s", out, re.M), out


def test_perf_cli_case_insensitive_names(capsys):
    assert run(["perf", "--model", "LLAMA-3.1-8B", "--gpu", "l4", "--precision", "FP8",
                "--input-tokens", "500", "--output-tokens", "200", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["model"] == "llama-3.1-8b" and d["gpu"] == "L4" and d["precision"] == "fp8"


def test_perf_cli_does_not_fit_exits_1_with_reason(capsys):
    code = run(["perf", "--model", "llama-3.1-405b", "--gpu", "L4", "--precision", "fp16", "--tp", "1",
                "--input-tokens", "1000", "--output-tokens", "1000", "--json"])
    assert code == 1
    d = json.loads(capsys.readouterr().out)
    assert d["fits"] is False and "811.7 GB" in d["reason"]


def test_perf_cli_does_not_fit_plain_says_why(capsys):
    code = run(["perf", "--model", "llama-3.1-405b", "--gpu", "L4", "--precision", "fp16",
                "--input-tokens", "1000", "--output-tokens", "1000"])
    assert code == 1
    out = capsys.readouterr().out
    assert "no tp in 1, 2, 4, 8 works" in out and "GB of weights" in out


def test_perf_cli_unreachable_slo_exits_1(capsys):
    assert run(BASE + ["--tp", "2", "--tpot-ms", "1"]) == 1
    assert "over the 1 ms SLO" in capsys.readouterr().out


@pytest.mark.parametrize("args,needle", [
    (["--model", "llama-3-70b"], "--model: unknown model 'llama-3-70b'"),
    (["--gpu", "H1000"], "--gpu: unknown GPU kind"),
    (["--precision", "fp4"], "--precision: unknown precision"),
    (["--tp", "3"], "--tp: tensor-parallel degree must be one of 1, 2, 4, 8"),
    (["--input-tokens", "0"], "--input-tokens"),
    (["--gpu", "A100-80GB"], "--precision: A100-80GB has no FP8 tensor cores, so fp8 weights are not served on it: "
                             "use bf16 or int4 on A100-80GB"),
    (["--engine", "tgi"], "--engine: unknown engine 'tgi'; choose one of vllm, sglang, trtllm"),
    (["--percentile", "p95"], "--percentile: unknown SLO percentile 'p95'; choose one of p50, p90, p99"),
    (["--precision", "mxfp4"], "llama-3.1-70b has no MXFP4 checkpoint"),
])
def test_perf_cli_bad_input_exits_2(capsys, args, needle):
    argv = list(BASE)
    for i in range(0, len(args), 2):
        j = argv.index(args[i]) if args[i] in argv else None
        if j is None:
            argv += args[i:i + 2]
        else:
            argv[j + 1] = args[i + 1]
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err


def test_perf_cli_help_has_an_example(capsys):
    assert run(["perf", "--help"]) == 0
    out = capsys.readouterr().out
    assert "planner perf --model llama-3.1-70b --gpu H100" in out and "--tpot-ms" in out


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
def test_perf_cli_each_engine(capsys, engine):
    assert run(BASE + ["--tpot-ms", "50", "--engine", engine, "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["engine"] == engine and d["meets_slo"] and d["tpot_ms"] <= 50


def test_perf_cli_concurrency_is_the_closed_loop_operating_point(capsys):
    assert run(["perf", "--model", "qwen3-8b", "--gpu", "H100", "--precision", "bf16", "--input-tokens", "233",
                "--output-tokens", "221", "--tp", "1", "--concurrency", "8", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for key in ("output_tokens_per_s", "ttft_ms", "tpot_ms", "requests_per_s"):
        assert d[key] > 0
    assert d["concurrency"] == 8
    # Little's law: 8 in flight = req/s x (TTFT + 221 x TPOT)
    assert d["requests_per_s"] * (d["ttft_ms"] + 221 * d["tpot_ms"]) / 1e3 == pytest.approx(8, rel=1e-3)


def test_perf_cli_concurrency_takes_no_slo(capsys):
    assert run(BASE + ["--concurrency", "8", "--tpot-ms", "50"]) == 2
    assert "--concurrency" in capsys.readouterr().err


def test_perf_cli_reads_a_config_json(capsys, tmp_path):
    from pathlib import Path
    src = Path(__file__).resolve().parents[1] / "planner/data/model_configs/qwen3-30b-a3b.json"
    f = tmp_path / "config.json"
    f.write_text(src.read_text())
    assert run(["perf", "--model", str(f), "--gpu", "H100", "--precision", "bf16", "--input-tokens", "1000",
                "--output-tokens", "200", "--tp", "1", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["model"] == "qwen3-30b-a3b" and d["fits"]


def test_perf_cli_config_json_missing_field_exits_2_one_line(capsys, tmp_path):
    import json as _json
    from pathlib import Path
    cfg = _json.loads((Path(__file__).resolve().parents[1] / "planner/data/model_configs/qwen3-8b.json").read_text())
    del cfg["hidden_size"]
    f = tmp_path / "config.json"
    f.write_text(_json.dumps(cfg))
    assert run(["perf", "--model", str(f), "--gpu", "H100", "--precision", "bf16", "--input-tokens", "100",
                "--output-tokens", "100"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{f}: hidden_size: missing field 'hidden_size'" in err


def test_perf_cli_says_which_gpu_an_alias_means(capsys):
    assert run(["perf", "--model", "llama-3.1-8b", "--gpu", "A100", "--precision", "bf16", "--input-tokens", "500",
                "--output-tokens", "200", "--tp", "1"]) == 0
    assert "GPU 'A100' is the catalog's A100-40GB" in capsys.readouterr().out
