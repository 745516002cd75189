"""Property tests for planner.perf (hypothesis). The roofline here is written independently of perf.py:
no replica can emit output tokens faster than
  compute: t x peak dense FLOPS / (2 x active params)           (every output token costs >= 2 P FLOPs)
  memory:  batch x t x HBM bandwidth / weight bytes             (every decode step reads all weights once)
and no first token can come sooner than the prefill's 2 P I FLOPs at peak."""

import dataclasses

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planner import perf
from planner.catalog import load_gpus, load_models

MODELS = sorted(load_models())
GPUS = sorted(load_gpus())
BYTES = {"fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int4": 0.5}  # int4 at its 4-bit floor: a looser bound

cases = st.fixed_dictionaries({
    "model": st.sampled_from(MODELS),
    "gpu": st.sampled_from(GPUS),
    "precision": st.sampled_from(["fp16", "bf16", "fp8", "int4"]),
    "tp": st.sampled_from([1, 2, 4, 8]),
    "input_tokens": st.integers(1, 8000),
    "output_tokens": st.integers(1, 4000),
    "ttft_ms": st.one_of(st.none(), st.floats(10, 20000)),
    "tpot_ms": st.one_of(st.none(), st.floats(2, 500)),
})


def _valid(c):
    return not (c["precision"] == "fp8" and load_gpus()[c["gpu"]].fp8_dense_tflops is None)


@settings(max_examples=300, deadline=None)
@given(cases)
def test_perf_never_exceeds_roofline(c):
    assume(_valid(c))
    r = perf.capacity(**c)
    m, g = load_models()[c["model"]], load_gpus()[c["gpu"]]
    t = c["tp"]
    peak = (g.fp8_dense_tflops if c["precision"] == "fp8" else g.bf16_dense_tflops) * 1e12
    weight_bytes = m.params_b * 1e9 * BYTES[c["precision"]]
    compute_roof = t * peak / (2 * m.active_params_b * 1e9)
    memory_roof = r.max_batch * t * g.hbm_gb_per_s * 1e9 / weight_bytes
    assert r.output_tokens_per_s <= min(compute_roof, memory_roof) * (1 + 1e-9)
    if r.fits:
        assert r.tpot_ms / 1e3 >= weight_bytes / (t * g.hbm_gb_per_s * 1e9) * (1 - 1e-9)
        assert r.ttft_ms / 1e3 >= 2 * m.active_params_b * 1e9 * c["input_tokens"] / (t * peak) * (1 - 1e-9)
        assert r.kv_cache_tokens * 2 * m.layers * m.kv_heads * m.head_dim * 1.0 <= t * g.hbm_gib * 2**30
    if r.meets_slo:
        assert c["tpot_ms"] is None or r.tpot_ms <= c["tpot_ms"]
        assert c["ttft_ms"] is None or r.ttft_ms <= c["ttft_ms"]


@settings(max_examples=200, deadline=None)
@given(cases, st.floats(1.0, 4.0))
def test_perf_more_bandwidth_never_lowers_throughput(c, factor):
    assume(_valid(c))
    m, g = load_models()[c["model"]], load_gpus()[c["gpu"]]
    faster = dataclasses.replace(g, hbm_gb_per_s=g.hbm_gb_per_s * factor)
    args = {k: v for k, v in c.items() if k not in ("model", "gpu")}
    base = perf.estimate(m, g, **args)
    more = perf.estimate(m, faster, **args)
    assert more.output_tokens_per_s >= base.output_tokens_per_s * (1 - 1e-9)
    assert more.requests_per_s >= base.requests_per_s * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(cases, st.floats(0, 300))
def test_perf_looser_tpot_never_lowers_throughput(c, extra_ms):
    assume(_valid(c) and c["tpot_ms"] is not None)
    tight = perf.capacity(**c)
    loose = perf.capacity(**{**c, "tpot_ms": c["tpot_ms"] + extra_ms})
    assert loose.output_tokens_per_s >= tight.output_tokens_per_s * (1 - 1e-9)
    unbounded = perf.capacity(**{**c, "tpot_ms": None})
    assert unbounded.output_tokens_per_s >= loose.output_tokens_per_s * (1 - 1e-9)


@settings(max_examples=200, deadline=None)
@given(cases, st.integers(0, 8000))
def test_perf_longer_inputs_never_raise_requests_per_s(c, extra_tokens):
    assume(_valid(c))
    short = perf.capacity(**c)
    long = perf.capacity(**{**c, "input_tokens": c["input_tokens"] + extra_tokens})
    assert long.requests_per_s <= short.requests_per_s * (1 + 1e-9)
