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
                "output_tokens_per_s_per_gpu", "requests_per_s", "ttft_ms", "tpot_ms", "bound"):
        assert key in d
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
    (["--gpu", "A100-80GB"], "has no FP8 tensor cores; fp8 runs on H100"),
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
