"""Property tests for planner.perf (hypothesis). The roofline here is written independently of perf.py:
no replica can emit output tokens faster than
  compute: t x peak dense FLOPS / (2 x active params)        (every output token costs >= 2 P_active FLOPs)
  memory:  batch x t x HBM bandwidth / active weight bytes    (a decode step reads at least the weights one
                                                              token uses: all of a dense model, the routed
                                                              experts of a MoE)
and no first token can come sooner than the prefill's 2 P_active I FLOPs at peak."""

import dataclasses

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planner import perf
from planner.catalog import load_gpus, load_models

MODELS = load_models()
GPUS = load_gpus()
BYTES = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int4": 0.5, "mxfp4": 0.5}  # 4-bit floor: a looser bound
FP8_PEAK = {"fp8"}

cases = st.fixed_dictionaries({
    "model": st.sampled_from(sorted(MODELS)),
    "gpu": st.sampled_from(sorted(GPUS)),
    "precision": st.sampled_from(["fp16", "bf16", "fp8", "int4", "mxfp4"]),
    "tp": st.sampled_from([1, 2, 4, 8]),
    "input_tokens": st.integers(1, 8000),
    "output_tokens": st.integers(1, 4000),
    "ttft_ms": st.one_of(st.none(), st.floats(10, 20000)),
    "tpot_ms": st.one_of(st.none(), st.floats(2, 500)),
    "percentile": st.sampled_from(["p50", "p90", "p99"]),
    "engine": st.sampled_from(["vllm", "sglang", "trtllm"]),
})


def _valid(c):
    return perf.precision_support(GPUS[c["gpu"]], c["precision"], MODELS[c["model"]], c["engine"]) is None


def _cap(c, **over):
    c = {**c, **over}
    return perf.capacity(MODELS[c["model"]], GPUS[c["gpu"]], precision=c["precision"], tp=c["tp"],
                         input_tokens=c["input_tokens"], output_tokens=c["output_tokens"], ttft_ms=c["ttft_ms"],
                         tpot_ms=c["tpot_ms"], percentile=c["percentile"], engine=c["engine"])


@settings(max_examples=300, deadline=None)
@given(cases)
def test_perf_never_exceeds_roofline(c):
    assume(_valid(c))
    r = _cap(c)
    m, g = MODELS[c["model"]], GPUS[c["gpu"]]
    t = c["tp"]
    # the fastest tensor cores the GPU has (Blackwell may run MXFP4 experts on its FP8 cores)
    peak = max(g.bf16_dense_tflops, g.fp8_dense_tflops or 0) * 1e12
    active_bytes = m.active_params_b * 1e9 * BYTES[c["precision"]]
    compute_roof = t * peak / (2 * m.active_params_b * 1e9)
    memory_roof = r.max_batch * t * g.hbm_gb_per_s * 1e9 / active_bytes
    assert r.output_tokens_per_s <= min(compute_roof, memory_roof) * (1 + 1e-9)
    if r.fits:
        assert r.tpot_ms / 1e3 >= active_bytes / (t * g.hbm_gb_per_s * 1e9) * (1 - 1e-9)
        assert r.ttft_ms / 1e3 >= 2 * m.active_params_b * 1e9 * c["input_tokens"] / (t * peak) * (1 - 1e-9)
    if r.meets_slo:
        assert c["tpot_ms"] is None or r.tpot_ms <= c["tpot_ms"] * (1 + 1e-9)
        assert c["ttft_ms"] is None or r.ttft_ms <= c["ttft_ms"] * (1 + 1e-9)


@settings(max_examples=150, deadline=None)
@given(cases, st.floats(1.0, 4.0))
def test_perf_more_bandwidth_never_lowers_throughput(c, factor):
    assume(_valid(c))
    m, g = MODELS[c["model"]], GPUS[c["gpu"]]
    faster = dataclasses.replace(g, hbm_gb_per_s=g.hbm_gb_per_s * factor)
    kw = dict(precision=c["precision"], tp=c["tp"], input_tokens=c["input_tokens"],
              output_tokens=c["output_tokens"], ttft_ms=c["ttft_ms"], tpot_ms=c["tpot_ms"],
              percentile=c["percentile"], engine=c["engine"])
    base = perf.capacity(m, g, **kw)
    more = perf.capacity(m, faster, **kw)
    assert more.requests_per_s >= base.requests_per_s * (1 - 1e-3)


@settings(max_examples=150, deadline=None)
@given(cases, st.floats(0, 300))
def test_perf_looser_tpot_never_lowers_throughput(c, extra_ms):
    assume(_valid(c) and c["tpot_ms"] is not None)
    tight = _cap(c)
    loose = _cap(c, tpot_ms=c["tpot_ms"] + extra_ms)
    assert loose.requests_per_s >= tight.requests_per_s * (1 - 1e-3)
    unbounded = _cap(c, tpot_ms=None, ttft_ms=None)
    assert unbounded.requests_per_s >= loose.requests_per_s * (1 - 1e-3)


@settings(max_examples=150, deadline=None)
@given(cases)
def test_perf_stricter_percentile_never_raises_capacity(c):
    assume(_valid(c))
    order = ["p50", "p90", "p99"]
    caps = [_cap(c, percentile=p).requests_per_s for p in order]
    assert caps[0] * (1 + 1e-3) >= caps[1] and caps[1] * (1 + 1e-3) >= caps[2]


@settings(max_examples=150, deadline=None)
@given(cases, st.integers(0, 8000))
def test_perf_longer_inputs_never_raise_requests_per_s(c, extra_tokens):
    assume(_valid(c))
    short = _cap(c)
    long = _cap(c, input_tokens=c["input_tokens"] + extra_tokens)
    assert long.requests_per_s <= short.requests_per_s * (1 + 1e-3)
