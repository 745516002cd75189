"""Fit the throughput/latency model's factors to published measurements, and show the fit.

    python bench/perf_fit.py            # fit; print in-sample, leave-one-out, leave-one-source-out
    python bench/perf_fit.py --write    # ... and write planner/data/perf_calibration.yaml
    python bench/perf_fit.py --no-loo   # skip the (slow, ~minutes) leave-one-out pass

Data (each row names its source):
  bench/data/throughput_calibration.csv  TensorRT-LLM v0.15.0 perf-overview, max-throughput runs
  bench/data/latency_calibration.csv     LMDeploy docs, GPUStack perf lab (vLLM, SGLang, TensorRT-LLM),
                                         llm-compressor A10G examples (vLLM); SGLang's benchmark_vllm_060
                                         rows have no input length (max) or no throughput (online): unused.

What is fitted (never one factor per row):
  eta_bw.<family>               achieved / datasheet HBM bandwidth, weights (hopper, ampere, ada)
  eta_kv                        KV-cache reads relative to weight reads (attention kernels)
  eta_flops.<fp16|fp8>          achieved / datasheet dense tensor FLOPS
  eta_link.<nvlink|pcie>        achieved / per-direction link bandwidth in the all-reduce
  overhead_us_per_layer.<eng>   fixed step cost per layer (launch, scheduling): the latency floor
  engine_bw_eff.<eng>           the engine's bandwidth efficiency relative to the pooled fit
  engine_flops_eff.<eng>        the engine's FLOPS efficiency relative to the pooled fit
Engines: vllm, sglang, trtllm, and lmdeploy (fitted so its rows inform the hardware factors; not
servable). Fallback for an engine without rows ("pooled"): the geometric mean of the fitted engines' efficiencies
and the median of their overheads.
Regularisation: log(engine_*_eff)^2 x 0.1 (weight chosen among 0.1, 0.5, 2, 8 by leave-one-source-out;
see BENCHMARKS.md) and log(overhead/20 us)^2 x 0.05.

Residuals (log errors): max rows -> saturated output tokens/s; slo rows at a concurrency ->
closed-loop output tokens/s and TPOT, and TTFT at concurrency 1 (one request alone: a clean prefill);
slo rows at a request rate -> TPOT and TTFT at that rate.

Checks (printed per engine and GPU): max throughput; operating point (closed loop at the measured
concurrency: throughput and TPOT); under-SLO capacity: with the SLO set to 1.1x the measured TTFT and
TPOT at p50, the capacity's output tokens/s against the measured throughput, and whether a point the
engine met at 1.25x its measured latency is called infeasible. Leave-one-source-out refits without a
source and predicts its rows.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import least_squares

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.catalog import load_gpus, load_models, resolve_gpu, resolve_model  # noqa: E402
from planner.perf import (  # noqa: E402
    CALIBRATION_FILE, PerfFactors, _estimate, _pairs, _Replica, factors_from_assumptions)

THROUGHPUT = ROOT / "bench" / "data" / "throughput_calibration.csv"
LATENCY = ROOT / "bench" / "data" / "latency_calibration.csv"
ENGINES_FIT = ("vllm", "sglang", "trtllm", "lmdeploy")
SERVABLE = ("vllm", "sglang", "trtllm")

ASSUMPTIONS = {
    "bytes_per_weight": {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int4": 0.5625, "mxfp4": 0.53125},
    "bytes_per_kv": {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0},
    "default_kv_precision": {"fp16": "fp16", "bf16": "bf16", "fp8": "fp8", "int4": "fp16", "mxfp4": "bf16"},
    "runtime_reserve_gib": 2.0,
    "engine_memory_fraction": {"vllm": 0.90, "sglang": 0.88, "trtllm": 0.90, "lmdeploy": 0.90, "pooled": 0.90},
    "engine_memory_basis": {"vllm": "total", "sglang": "total", "trtllm": "free", "lmdeploy": "free",
                            "pooled": "total"},
    "allreduce_latency_us": {"nvlink": 8.0, "pcie": 25.0},
    "engine_max_num_seqs": {"vllm": 1024, "sglang": 1024, "trtllm": 2048, "lmdeploy": 64, "pooled": 1024},
    "engine_chunk_tokens": {"vllm": 8192, "sglang": 8192, "trtllm": 8192, "lmdeploy": 1000000, "pooled": 8192},
    "engine_kv_admission": {"vllm": "paged", "sglang": "paged", "trtllm": "reserve", "lmdeploy": "paged",
                            "pooled": "paged"},
    "mxfp4_compute": {"blackwell": "fp8", "hopper": "fp16", "ampere": "fp16", "ada": "fp16"},
    "mxfp4_engine_families": {"vllm": ["hopper", "blackwell", "ampere", "ada"], "sglang": ["hopper", "blackwell"],
                              "trtllm": ["hopper", "blackwell"]},
    "notes": {
        "bytes_per_weight": "int4 = 4.5 bits/weight (4-bit + group-128 scales/zeros + unquantised embeddings; "
                            "70.55B x 0.5625 = 39.7 GB = hugging-quants Llama-3.1-70B AWQ-INT4, 39.8 GB). mxfp4 = "
                            "4.25 bits (4-bit E2M1 + one 8-bit scale per 32) on the routed experts only; attention, "
                            "router and embeddings stay bf16 (gpt-oss-120b: 114.7B x 0.53125 + 2.1B x 2 = 65 GB, "
                            "the checkpoint's size). fp8 block scales (1 per 128x128) are negligible",
        "default_kv_precision": "fp8 weights -> fp8 KV cache (what the stack starts the engine with); otherwise the "
                                "weights' 16-bit type. Override with --kv-precision / workloads[].kv_precision",
        "runtime_reserve_gib": "CUDA context, NCCL buffers, activations and CUDA graphs per GPU",
        "engine_memory_fraction": "the engine's memory setting, passed by the stack: vLLM --gpu-memory-utilization "
                                  "0.9 and SGLang --mem-fraction-static 0.88 of all HBM (weights, runtime and KV "
                                  "cache inside it); TensorRT-LLM kv_cache_free_gpu_memory_fraction 0.9 of what "
                                  "weights and runtime leave. LMDeploy 0.1: not stated, 0.9 of free assumed",
        "engine_max_num_seqs": "cap on sequences in a batch when sizing: the stack passes the sized batch as "
                               "--max-num-seqs (vLLM) / --max-running-requests (SGLang) / --max_batch_size "
                               "(trtllm-serve). Calibration rows run with the engine's own defaults (see "
                               "bench/perf_fit.py ROW_ENGINE_DEFAULTS)",
        "engine_chunk_tokens": "chunked-prefill token budget per step (vLLM max_num_batched_tokens, SGLang "
                               "chunked_prefill_size, TensorRT-LLM max_num_tokens); LMDeploy 0.1 TurboMind ran "
                               "each prefill whole",
        "engine_kv_admission": "reserve: a request is admitted with KV for its whole input + output (TensorRT-LLM "
                               "GUARANTEED_NO_EVICT); paged: KV grows as tokens are generated, so a request holds "
                               "input + output/2 on average",
        "mxfp4_compute": "Blackwell runs MXFP4 experts on its low-precision tensor cores (FP8 peak used: no FP4 "
                         "figure in the catalog); older GPUs dequantise to bf16 (weight-only, Marlin/Triton kernels)",
        "mxfp4_engine_families": "which GPUs each engine serves gpt-oss MXFP4 on: vLLM also on Ampere and Ada via "
                                 "its Marlin MXFP4 kernel; SGLang and TensorRT-LLM document Hopper and Blackwell",
        "compute_precision": "fp8 weights compute in FP8; fp16/bf16 and int4 (W4A16) in BF16",
    },
}

# Engine defaults of the calibration runs where they differ from the sizing caps above (the planner
# starts its own servers with explicit flags; the published runs used defaults).
ROW_ENGINE_DEFAULTS = {
    # vLLM V1 arg_utils: max_num_seqs 256 and max_num_batched_tokens 2048 (API server) on A100 and on GPUs
    # with < 70 GiB; 1024 / 8192 on H100-class
    ("vllm", "A100-80GB"): (256, 2048), ("vllm", "A10G"): (256, 2048),
    ("sglang", "A100-80GB"): (1024, 8192),
}
# llm-compressor offline run: LLM.generate with max_num_seqs 256 (stated in its notes)

SOURCES_SHORT = {"TensorRT-LLM perf-overview": "trtllm-perf", "LMDeploy docs": "lmdeploy-docs",
                 "GPUStack perf lab": "gpustack", "llm-compressor A10G examples": "llm-compressor",
                 "SGLang benchmark_vllm_060": "sglang-bench"}
MODEL_ALIASES = {"llama-3-8b": "llama-3.1-8b"}  # same architecture; only the context length differs

# FLOPS factor for 16-bit compute per GPU family (A100s reach a larger share of their datasheet peak than
# H100s in every source); FP8 stays one factor (its only non-Hopper rows are three L40S points).
# `--flops-shared` fits one 16-bit factor instead, for comparison (BENCHMARKS.md records both).
FLOPS_BY_FAMILY = True
FIT_KEYS = (["eta_bw.hopper", "eta_bw.ampere", "eta_bw.ada", "eta_kv", "eta_flops.fp16", "eta_flops.fp8",
             "eta_flops.fp16.hopper", "eta_flops.fp16.ampere", "eta_flops.fp16.ada",
             "eta_link.nvlink", "eta_link.pcie"]
            + [f"overhead_us_per_layer.{e}" for e in ENGINES_FIT] + [f"engine_bw_eff.{e}" for e in ENGINES_FIT]
            + [f"engine_flops_eff.{e}" for e in ENGINES_FIT])
BOUNDS = {"eta": (0.02, 1.0), "overhead_us_per_layer": (0.0, 200.0), "engine_bw_eff": (0.5, 1.5),
          "engine_flops_eff": (0.5, 1.5)}
X0 = {"eta": 0.6, "overhead_us_per_layer": 20.0, "engine_bw_eff": 1.0, "engine_flops_eff": 1.0}
COPIES = {"eta_bw.blackwell": "eta_bw.hopper"}  # no B200 row: HBM3e like H200
PRIOR_OVERHEAD_US = 20.0
# weight of log(engine_*_eff) in the residuals: chosen among 0.1, 0.5, 2 and 8 by the leave-one-source-out
# figures (BENCHMARKS.md shows all four), so those figures are slightly optimistic
ENGINE_REG = 0.1
# TAIL: conversation prompts of varied lengths all released at once (GPUStack's ShareGPT runs,
# llm-compressor's offline UltraChat batch) measure a finite run whose makespan ends with a few long
# requests decoding at a small batch (the output lengths are heavy-tailed): their tokens/s differs from the
# steady-state saturation the planner sizes with by an amount set by the longest outputs, which no source
# reports. They are printed (metric max_tail), not fitted and not counted in the max-throughput figures.
# Fixed-length sets (random, fixed) released at once are kept: every request is alike.


def _kind(key: str) -> str:
    return key.split(".")[0] if not key.startswith("eta") else "eta"


# --- rows ----------------------------------------------------------------------------------------

def load_rows() -> list[dict]:
    rows = []
    with open(THROUGHPUT, newline="") as fh:
        for r in csv.DictReader(fh):
            prec = r["precision"].split()[0].lower()
            rows.append(dict(source="TensorRT-LLM perf-overview", engine="trtllm", gpu=resolve_gpu(r["gpu"]),
                             model=resolve_model(r["model"]), precision=prec, kv=("fp8" if prec == "fp8" else None),
                             tp=int(r["gpus_used"]), I=int(r["input_len"]), O=int(r["output_len"]), use="max",
                             load=None, tput=float(r["total_output_tok_s"]), ttft=None, tpot=None, stat="",
                             max_num_seqs=None, label="perf-overview", tail=False))
    models = load_models()
    with open(LATENCY, newline="") as fh:
        for r in csv.DictReader(fh):
            if r["row_use"] not in ("slo", "max") or not r["input_tokens"] or not r["output_tokens"]:
                continue
            prec = r["precision"]
            gpu = resolve_gpu(r["gpu"])
            if prec not in ("fp16", "bf16", "fp8", "int4"):
                continue  # int8 is not a planner precision
            if prec == "fp8" and load_gpus()[gpu].fp8_dense_tflops is None:
                continue  # weight-only FP8 on Ampere: the planner does not offer it (precision_support)
            model = MODEL_ALIASES.get(r["model"], r["model"])
            if model not in models:
                continue
            load = None
            if r["load_kind"] == "concurrency":
                load = ("concurrency", int(float(r["load_value"])))
            elif r["load_kind"] == "request_rate" and r["load_value"] != "inf":
                load = ("rate", float(r["load_value"]))
            mns = None
            if r["engine"] == "lmdeploy":
                mns = 64
            if "max_num_seqs" in r["notes"] and "256" in r["notes"]:
                mns = 256
            rows.append(dict(source=r["source"], engine=r["engine"], gpu=gpu, model=model, precision=prec,
                             kv=r["kv_precision"] or None, tp=int(r["tp"]), I=round(float(r["input_tokens"])),
                             O=max(1, round(float(r["output_tokens"]))), use=r["row_use"], load=load,
                             tput=(float(r["output_tokens_per_s_per_replica"])
                                   if r["output_tokens_per_s_per_replica"] else None),
                             ttft=float(r["ttft_ms"]) if r["ttft_ms"] else None,
                             tpot=float(r["tpot_ms"]) if r["tpot_ms"] else None, stat=r["latency_stat"],
                             max_num_seqs=mns, label=r["load_value"],
                             tail=(r["dataset"] in ("sharegpt", "other") and r["row_use"] == "max")))
    sweeps: dict[tuple, list[tuple[float, float, float]]] = {}
    for r in rows:
        if r["use"] == "slo" and r["tput"] and r["ttft"] and r["tpot"]:
            sweeps.setdefault(_sweep_key(r), []).append((r["tput"], r["ttft"], r["tpot"]))
    for r in rows:
        r["sweep"] = sweeps.get(_sweep_key(r), [])
    return rows


def _sweep_key(r) -> tuple:
    return (r["source"], r["engine"], r["model"], r["gpu"], r["precision"], r["tp"], r["I"], r["O"])


def row_factors(row: dict, f: PerfFactors) -> PerfFactors:
    mns, chunk = ROW_ENGINE_DEFAULTS.get((row["engine"], row["gpu"]), (None, None))
    mns = row["max_num_seqs"] or mns
    if mns is None and chunk is None:
        return f
    seqs = dict(f.engine_max_num_seqs)
    chunks = dict(f.engine_chunk_tokens)
    if mns:
        seqs[row["engine"]] = mns
    if chunk:
        chunks[row["engine"]] = chunk
    return replace(f, engine_max_num_seqs=_pairs(seqs), engine_chunk_tokens=_pairs(chunks))


def base_factors() -> PerfFactors:
    return factors_from_assumptions(ASSUMPTIONS, {})


def _args(row):
    m, g = load_models()[row["model"]], load_gpus()[row["gpu"]]
    return m, g


def predict_max(row, f) -> float:
    m, g = _args(row)
    return _estimate(m, g, row["precision"], row["tp"], row["I"], row["O"], None, None, "p50", row["engine"],
                     row["kv"], row_factors(row, f), None).output_tokens_per_s


def predict_point(row, f):
    """(output tok/s, ttft ms, tpot ms) at the row's load."""
    m, g = _args(row)
    rf = row_factors(row, f)
    kind, value = row["load"]
    if kind == "concurrency" and row["engine"] == "lmdeploy":
        # LMDeploy's static benchmark: c threads with identical requests stay in lockstep, so each round
        # prefills its c prompts one after another (no chunking), then decodes c sequences together
        kv = row["kv"] or rf.get("default_kv_precision", row["precision"])
        r = _Replica(m, g, row["precision"], kv, row["tp"], row["I"], row["O"], row["engine"], rf)
        t_pf = r.step(0.0, row["I"])[0]
        t_dec = r.step(float(value), 0.0)[0]
        round_s = value * t_pf + (row["O"] - 1) * t_dec
        return value * row["O"] / round_s, (value + 1) / 2 * t_pf * 1e3, t_dec * 1e3
    if kind == "concurrency":
        c = _estimate(m, g, row["precision"], row["tp"], row["I"], row["O"], None, None, "p50", row["engine"],
                      row["kv"], rf, value)
        return c.output_tokens_per_s, c.ttft_ms, c.tpot_ms
    # open loop at a request rate: the mean decode batch whose arrival rate is `value`
    kv = row["kv"] or rf.get("default_kv_precision", row["precision"])
    r = _Replica(m, g, row["precision"], kv, row["tp"], row["I"], row["O"], row["engine"], rf)
    lo, hi = 1e-6, float(r.batch_cap)
    for _ in range(60):
        mid = (lo + hi) / 2
        if r.open(mid, 0.0, 0.5).lam < value:
            lo = mid
        else:
            hi = mid
    o = r.open(lo, 0.0, 0.5)
    return o.lam * row["O"], o.ttft_mean * 1e3, o.tpot_mean * 1e3


def predict_slo_capacity(row, f, scale: float):
    """Capacity (output tok/s) at SLO = scale x the measured TTFT and TPOT (p50), and the capacity."""
    m, g = _args(row)
    return _estimate(m, g, row["precision"], row["tp"], row["I"], row["O"], row["ttft"] * scale, row["tpot"] * scale,
                     "p50", row["engine"], row["kv"], row_factors(row, f), None)


# --- fit -----------------------------------------------------------------------------------------

def keys_for(row) -> list[str]:
    g = load_gpus()[row["gpu"]]
    cls = "fp8" if row["precision"] == "fp8" else "fp16"
    flops = f"eta_flops.fp16.{g.family}" if (cls == "fp16" and FLOPS_BY_FAMILY) else f"eta_flops.{cls}"
    keys = [f"eta_bw.{g.family}", flops, "eta_kv", f"engine_bw_eff.{row['engine']}",
            f"engine_flops_eff.{row['engine']}", f"overhead_us_per_layer.{row['engine']}"]
    if row["tp"] > 1:
        keys.append(f"eta_link.{g.interconnect}")
    return keys


def complete(fitted: dict[str, float]) -> dict[str, float]:
    """Every factor the model may look up: fitted, copied from a named neighbour, or the pooled fallback."""
    out = dict(fitted)
    for dst, src in COPIES.items():
        out.setdefault(dst, out.get(src, X0["eta"]))
    fam = [v for k, v in fitted.items() if k.startswith("eta_flops.fp16.")]
    if fam:  # families without a 16-bit FLOPS row (Blackwell) use the median of the fitted ones
        out.setdefault("eta_flops.fp16", statistics.median(fam))
        for key in ("eta_flops.fp16.hopper", "eta_flops.fp16.ampere", "eta_flops.fp16.ada"):
            out.setdefault(key, out["eta_flops.fp16"])
    elif not FLOPS_BY_FAMILY:
        for key in ("eta_flops.fp16.hopper", "eta_flops.fp16.ampere", "eta_flops.fp16.ada"):
            out.pop(key, None)
    for key in FIT_KEYS:
        if key.startswith("eta_flops.fp16.") and not FLOPS_BY_FAMILY:
            continue
        if key not in out:
            kind = _kind(key)
            if kind == "overhead_us_per_layer":
                vals = [v for k, v in fitted.items() if k.startswith(kind + ".")]
                out[key] = statistics.median(vals) if vals else PRIOR_OVERHEAD_US
            elif kind in ("engine_bw_eff", "engine_flops_eff"):
                vals = [v for k, v in fitted.items() if k.startswith(kind + ".")]
                out[key] = math.exp(statistics.mean(math.log(v) for v in vals)) if vals else 1.0
            else:
                out[key] = X0["eta"]
    ov = [v for k, v in out.items() if k.startswith("overhead_us_per_layer.") and k.split(".")[1] in ENGINES_FIT
          and k in fitted]
    out["overhead_us_per_layer.pooled"] = statistics.median(ov) if ov else PRIOR_OVERHEAD_US
    for kind in ("engine_bw_eff", "engine_flops_eff"):  # a typical engine: geometric mean of the fitted ones
        vals = [v for k, v in fitted.items() if k.startswith(kind + ".")]
        out[f"{kind}.pooled"] = math.exp(statistics.mean(math.log(v) for v in vals)) if vals else 1.0
    return out


def residuals_for(row, f) -> list[float]:
    res = []
    if row["tail"]:
        return res  # a finite all-at-once run with heavy-tailed lengths: not a steady-state point (see TAIL)
    if row["use"] == "max" or row["load"] is None:
        res.append(math.log(max(predict_max(row, f), 1e-9) / row["tput"]))
        return res
    tput, ttft, tpot = predict_point(row, f)
    kind, value = row["load"]
    if kind == "concurrency" and row["tput"]:
        res.append(math.log(max(tput, 1e-9) / row["tput"]))
    if row["tpot"]:
        res.append(math.log(max(tpot, 1e-9) / row["tpot"]))
    if row["ttft"] and (kind == "rate" or value == 1):
        res.append(0.5 * math.log(max(ttft, 1e-9) / row["ttft"]))
    return res


def fit(rows: list[dict], x_start: dict[str, float] | None = None, max_nfev: int | None = None) -> dict[str, float]:
    keys = sorted({k for r in rows for k in keys_for(r)})
    lo = [BOUNDS[_kind(k)][0] for k in keys]
    hi = [BOUNDS[_kind(k)][1] for k in keys]
    x0 = [min(max((x_start or {}).get(k, X0[_kind(k)]), a + 1e-6), b - 1e-6) for k, a, b in zip(keys, lo, hi)]
    base = base_factors()

    def residuals(x):
        vals = dict(zip(keys, map(float, x)))
        f = base.with_factors(complete(vals))
        out = []
        for r in rows:
            out.extend(residuals_for(r, f))
        for k, v in vals.items():
            if k.startswith("engine_bw_eff.") or k.startswith("engine_flops_eff."):
                out.append(ENGINE_REG * math.log(v))
            elif k.startswith("overhead_us_per_layer."):
                out.append(0.05 * math.log(max(v, 0.1) / PRIOR_OVERHEAD_US))
        return out

    res = least_squares(residuals, x0, bounds=(lo, hi), diff_step=1e-3, max_nfev=max_nfev, x_scale="jac")
    return dict(zip(keys, map(float, res.x)))


def factors_of(fitted: dict[str, float]) -> PerfFactors:
    return base_factors().with_factors(complete(fitted))


# --- evaluation ----------------------------------------------------------------------------------

def evaluate(row, f) -> dict:
    """Signed % errors of every check this row supports."""
    out = {}
    if row["use"] == "max" or row["load"] is None:
        out["max_tail" if row["tail"] else "max"] = pct(predict_max(row, f), row["tput"])
        return out
    tput, ttft, tpot = predict_point(row, f)
    if row["load"][0] == "concurrency" and row["tput"]:
        out["op_tput"] = pct(tput, row["tput"])
    if row["tpot"]:
        out["op_tpot"] = pct(tpot, row["tpot"])
    if row["ttft"] and row["tpot"] and row["tput"]:
        c = predict_slo_capacity(row, f, 1.1)
        pred = c.output_tokens_per_s if c.meets_slo else 0.0
        out["slo"] = pct(pred, row["tput"])
        # the sweep brackets the true capacity at this SLO: at least the best measured point within it,
        # at most the first measured point beyond it (none beyond: a lower bound only)
        slo_ttft, slo_tpot = 1.1 * row["ttft"], 1.1 * row["tpot"]
        within = [x for x, a, b in row["sweep"] if a <= slo_ttft and b <= slo_tpot]
        lo = max(within)
        beyond = [x for x, a, b in row["sweep"] if (a > slo_ttft or b > slo_tpot) and x > lo]
        hi = min(beyond) if beyond else math.inf
        out["slo_bracket"] = (pct(pred, lo) if pred < lo else (pred - hi) / lo * 100 if pred > hi else 0.0)
        out["slo_infeasible_at_1.25"] = not predict_slo_capacity(row, f, 1.25).meets_slo
    return out


def pct(pred: float, meas: float) -> float:
    return (pred - meas) / meas * 100


def _loo_one(args):
    i, rows, x_start = args
    train = rows[:i] + rows[i + 1:]
    fitted = fit(train, x_start, max_nfev=10)  # warm start from the full fit
    return evaluate(rows[i], factors_of(fitted))


def _loso_one(args):
    src, rows, x_start = args
    train = [r for r in rows if r["source"] != src]
    fitted = fit(train, x_start)
    f = factors_of(fitted)
    return src, [evaluate(r, f) if r["source"] == src else None for r in rows], fitted


METRICS = (("max", "max throughput"), ("max_tail", "varied lengths all at once (not fitted)"),
           ("op_tput", "operating point: throughput"),
           ("op_tpot", "operating point: TPOT"), ("slo", "capacity under SLO (1.1x measured, p50)"),
           ("slo_bracket", "capacity under SLO vs the sweep's bracket"))


def summarise(rows, evals, group=lambda r: (r["engine"], r["gpu"])) -> dict:
    """{metric: {group: [abs errors]}} plus '*' for all rows."""
    out: dict = {}
    for r, e in zip(rows, evals):
        if e is None:
            continue
        for k, _ in METRICS:
            if k in e:
                for g in (group(r), ("*", "*"), (r["engine"], "*")):
                    out.setdefault(k, {}).setdefault(g, []).append(e[k])
    return out


def fmt_stats(errs: list[float]) -> str:
    a = [abs(x) for x in errs]
    return f"{statistics.median(a):5.1f} / {max(a):5.1f} / {statistics.median(errs):+6.1f} (n={len(a)})"


def print_table(title, rows, evals):
    s = summarise(rows, evals)
    print(f"\n== {title} ==")
    print(f"| check | engine | GPU | n | median abs err % | worst abs err % | median err % |")
    print("|---|---|---|---:|---:|---:|---:|")
    for k, lab in METRICS:
        groups = sorted(s.get(k, {}), key=lambda g: (g[0] == "*", g[0], g[1] == "*", g[1]))
        for g in groups:
            errs = s[k][g]
            a = [abs(x) for x in errs]
            print(f"| {lab} | {g[0]} | {g[1]} | {len(a)} | {statistics.median(a):.1f} | {max(a):.1f} | "
                  f"{statistics.median(errs):+.1f} |")
    infeasible = [r for r, e in zip(rows, evals) if e and e.get("slo_infeasible_at_1.25")]
    print(f"points the engine met at 1.25x its measured latency but called infeasible: {len(infeasible)}"
          + "".join(f"\n   {r['source']} {r['engine']} {r['model']} {r['gpu']} {r['I']}/{r['O']} load {r['label']}"
                    for r in infeasible))
    return s


def quality(rows, evals_in, evals_loo, evals_loso, engine) -> dict:
    def med(evals, key):
        a = [abs(e[key]) for r, e in zip(rows, evals) if e and key in e and r["engine"] == engine]
        return round(statistics.median(a), 1) if a else None

    def worst(evals, key):
        a = [abs(e[key]) for r, e in zip(rows, evals) if e and key in e and r["engine"] == engine]
        return round(max(a), 1) if a else None
    q = {"rows": sum(1 for r in rows if r["engine"] == engine),
         "sources": len({r["source"] for r in rows if r["engine"] == engine})}
    for tag, ev in (("in_sample", evals_in), ("loo", evals_loo), ("loso", evals_loso)):
        if ev is None:
            continue
        q[f"{tag}_max_throughput_median_pct"] = med(ev, "max")
        q[f"{tag}_max_throughput_worst_pct"] = worst(ev, "max")
        q[f"{tag}_operating_point_throughput_median_pct"] = med(ev, "op_tput")
        q[f"{tag}_operating_point_tpot_median_pct"] = med(ev, "op_tpot")
        q[f"{tag}_slo_capacity_median_pct"] = med(ev, "slo")
        q[f"{tag}_slo_capacity_vs_sweep_bracket_median_pct"] = med(ev, "slo_bracket")
        q[f"{tag}_slo_infeasible_points"] = sum(1 for r, e in zip(rows, ev)
                                                if e and e.get("slo_infeasible_at_1.25") and r["engine"] == engine)
    return q


def main(argv=None) -> int:
    global FLOPS_BY_FAMILY, ENGINE_REG
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help=f"write {CALIBRATION_FILE.relative_to(ROOT)}")
    ap.add_argument("--no-loo", action="store_true", help="skip leave-one-out (slow)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--flops-shared", action="store_true", help="one 16-bit FLOPS factor for all GPU families")
    ap.add_argument("--engine-reg", type=float, default=ENGINE_REG,
                    help="weight pulling each engine's efficiencies toward the pooled fit (default %(default)s)")
    args = ap.parse_args(argv)
    FLOPS_BY_FAMILY = not args.flops_shared
    ENGINE_REG = args.engine_reg
    rows = load_rows()
    fitted = fit(rows)
    f = factors_of(fitted)
    print(f"Calibration: {len(rows)} rows from {len({r['source'] for r in rows})} sources "
          f"({', '.join(sorted({SOURCES_SHORT[r['source']] for r in rows}))})")
    print(f"Fitted factors ({len(fitted)}):")
    for k, v in sorted(complete(fitted).items()):
        print(f"  {k:34s} {v:8.4f}{'' if k in fitted else '   (not fitted: fallback/copy)'}")

    evals_in = [evaluate(r, f) for r in rows]
    print("\nPer row (in-sample): measured vs predicted")
    for r, e in zip(rows, evals_in):
        print(f"  {SOURCES_SHORT[r['source']]:14s} {r['engine']:8s} {r['gpu']:14s} {r['model']:13s} {r['precision']:4s} "
              f"tp{r['tp']} {r['I']:>5d}/{r['O']:<5d} {r['use']:3s} load {str(r['label'])[:12]:12s} "
              + " ".join(f"{k}={v:+.0f}%" for k, v in e.items() if not isinstance(v, bool)))
    print_table("in-sample", rows, evals_in)

    with ProcessPoolExecutor(max_workers=args.jobs) as ex:
        sources = sorted({r["source"] for r in rows})
        loso_parts = list(ex.map(_loso_one, [(s, rows, fitted) for s in sources]))
        evals_loso = [None] * len(rows)
        for src, part, _ in loso_parts:
            for i, e in enumerate(part):
                if e is not None:
                    evals_loso[i] = e
        print_table("leave-one-source-out", rows, evals_loso)
        evals_loo = None
        if not args.no_loo:
            evals_loo = list(ex.map(_loo_one, [(i, rows, fitted) for i in range(len(rows))], chunksize=4))
            print_table("leave-one-out", rows, evals_loo)

    print("\nleave-one-source-out, by left-out source (median |err| %):")
    for src in sorted({r["source"] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r["source"] == src]
        parts = []
        for k, lab in METRICS:
            a = [abs(evals_loso[i][k]) for i in idx if evals_loso[i] and k in evals_loso[i]]
            if a:
                parts.append(f"{k} {statistics.median(a):.1f} (n={len(a)})")
        print(f"  {src:30s} {'; '.join(parts)}")

    q = {e: quality(rows, evals_in, evals_loo, evals_loso, e) for e in SERVABLE}
    if args.write:
        write(fitted, rows, q)
        print(f"\nwrote {CALIBRATION_FILE.relative_to(ROOT)}")
    return 0


def write(fitted, rows, q) -> None:
    counts: dict[str, int] = {}
    for r in rows:
        for k in keys_for(r):
            counts[k] = counts.get(k, 0) + 1
    factors = {}
    for k, v in sorted(complete(fitted).items()):
        if k in fitted:
            factors[k] = {"value": round(v, 4), "calibrated": True, "rows": counts.get(k, 0)}
        elif k in COPIES:
            factors[k] = {"value": round(v, 4), "calibrated": False, "copied_from": COPIES[k]}
        else:
            factors[k] = {"value": round(v, 4), "calibrated": False,
                          "fallback": "pooled: median overhead / geometric-mean efficiency of the fitted engines"}
    doc = {
        "schema_version": 2,
        "produced_by": "bench/perf_fit.py --write",
        "fitted_from": ["bench/data/throughput_calibration.csv", "bench/data/latency_calibration.csv"],
        "fitted_on": dt.date.today().isoformat(),
        "fit_quality": q,
        "assumptions": ASSUMPTIONS,
        "factors": factors,
    }
    header = ("# Throughput/latency model factors. GENERATED by `python bench/perf_fit.py --write` from\n"
              "# bench/data/throughput_calibration.csv and bench/data/latency_calibration.csv.\n"
              "# Do not edit by hand: change the assumptions in bench/perf_fit.py and rerun.\n"
              "# fit_quality.<engine>: % errors by check (in-sample, loo = leave-one-out, loso =\n"
              "# leave-one-source-out); `calibrated: false` factors copy a named neighbour or the pooled fallback.\n")
    CALIBRATION_FILE.write_text(header + yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True))


if __name__ == "__main__":
    sys.exit(main())
