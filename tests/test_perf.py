"""planner.perf: numbers checked against hand arithmetic, published figures and queueing identities."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from planner import perf
from planner.catalog import gpu_kinds, load_gpus, load_models, model_ids
from planner.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30
ASSUME = yaml.safe_load((ROOT / "planner/data/perf_calibration.yaml").read_text())["assumptions"]
M, G = load_models(), load_gpus()
F = perf.load_factors()


def cap(model, gpu, precision, tp, i, o, **kw):
    return perf.capacity(M[model], G[gpu], precision=precision, tp=tp, input_tokens=i, output_tokens=o, **kw)


def test_capacity_is_pure_over_spec_values_and_hashable():
    a = cap("llama-3.1-8b", "H100", "fp16", 1, 1000, 500, tpot_ms=30.0)
    # a copy of the specs (equal values, other objects) gives the same answer; the factors can be passed
    m2, g2 = dataclasses.replace(M["llama-3.1-8b"]), dataclasses.replace(G["H100"])
    b = perf.capacity(m2, g2, precision="fp16", tp=1, input_tokens=1000, output_tokens=500, tpot_ms=30.0, factors=F)
    assert a == b
    assert hash(M["llama-3.1-8b"]) == hash(m2) and hash(F) == hash(perf.load_factors())


def test_weights_gib_is_params_times_bytes():
    # Llama-3.1-70B: 70.55e9 parameters x 2 bytes (fp16) = 141.1 GB = 131.41 GiB
    assert perf.weights_gib(M["llama-3.1-70b"], "fp16") == pytest.approx(70.55e9 * 2 / GIB, rel=1e-9)
    assert cap("llama-3.1-70b", "H100", "fp16", 4, 1000, 1000).weights_gib == pytest.approx(70.55e9 * 2 / GIB)
    # a mixture of experts holds every expert: DeepSeek-V3 fp8 = 671e9 bytes
    assert perf.weights_gib(M["deepseek-v3"], "fp8") == pytest.approx(671e9 / GIB, rel=1e-9)


def test_weights_gib_mxfp4_matches_the_gpt_oss_checkpoints():
    # MXFP4 = 4.25 bits on the routed experts, bf16 elsewhere. gpt-oss model card (arXiv 2508.10925, table 1):
    # checkpoint 60.8 GiB (120b) and 12.8 GiB (20b); tolerance 2 %.
    assert ASSUME["bytes_per_weight"]["mxfp4"] == 0.53125
    assert perf.weights_gib(M["gpt-oss-120b"], "mxfp4") == pytest.approx(60.8, rel=0.02)
    assert perf.weights_gib(M["gpt-oss-20b"], "mxfp4") == pytest.approx(12.8, rel=0.02)
    # by hand: 114.66e9 expert params x 0.53125 + (116.8 - 114.66)e9 x 2 bytes
    e = M["gpt-oss-120b"].expert_params_b
    assert perf.weights_gib(M["gpt-oss-120b"], "mxfp4") == pytest.approx((e * 0.53125 + (116.8 - e) * 2) * 1e9 / GIB)


def test_capacity_kv_cache_tokens_and_batch_by_hand():
    # llama-3.1-8b fp16 on one H100: KV per token = 2 (K,V) x 32 layers x 8 heads x 128 dims x 2 bytes = 131072 B
    # TensorRT-LLM: 0.9 of what weights and the 2 GiB runtime reserve leave
    assert ASSUME["runtime_reserve_gib"] == 2.0
    assert ASSUME["engine_memory_fraction"]["trtllm"] == 0.9 and ASSUME["engine_memory_basis"]["trtllm"] == "free"
    free = 0.9 * (79.65 * GIB - 2 * GIB - 8.03e9 * 2)
    c = cap("llama-3.1-8b", "H100", "fp16", 1, 1000, 1000, engine="trtllm")
    assert c.kv_cache_tokens == pytest.approx(free / 131072, abs=1)
    # no SLO, TensorRT-LLM reserves input + output = 2000 tokens per request: the batch is KV-bound
    assert c.max_batch == int(free // (2000 * 131072))
    # vLLM: gpu_memory_utilization 0.9 of all HBM holds weights, runtime and KV cache; it pages the cache,
    # so a request holds input + output/2 = 1500 tokens on average
    assert ASSUME["engine_memory_fraction"]["vllm"] == 0.9 and ASSUME["engine_memory_basis"]["vllm"] == "total"
    kv = 0.9 * 79.65 * GIB - 8.03e9 * 2 - 2 * GIB
    v = cap("llama-3.1-8b", "H100", "fp16", 1, 1000, 1000, engine="vllm")
    assert v.kv_cache_tokens == pytest.approx(kv / 131072, abs=1)
    assert v.max_batch == min(ASSUME["engine_max_num_seqs"]["vllm"], int(kv // (1500 * 131072)))


def test_capacity_mla_caches_one_latent_per_token():
    # DeepSeek-V3 fp8 on 8 x H200, fp8 KV: (kv_lora_rank 512 + rope 64) x 1 byte x 61 layers = 35136 B per
    # token, replicated on every rank; vLLM's KV cache per GPU = 0.9 x 140.4 GiB - 671e9 / 8 B - 2 GiB
    c = cap("deepseek-v3", "H200", "fp8", 8, 2000, 500)
    free = 0.9 * 140.4 * GIB - 671e9 / 8 - 2 * GIB
    assert c.fits and c.kv_cache_tokens == pytest.approx(free / 35136, abs=1)
    # without MLA (128 KV heads x 192 dims, K and V) one token would need 2 x 128 x 192 x 61 = 3.0 MB
    assert 2 * 128 * 192 * 61 / 35136 > 80


def test_capacity_deepseek_needs_h200_class_memory():
    # 671 GB of fp8 weights exceed 8 x 80 GB (640 GB): DeepSeek-V3 is served on 8 x H200 or two H100 nodes
    assert not cap("deepseek-r1", "H100", "fp8", 8, 1000, 1000).fits
    assert cap("deepseek-r1", "H200", "fp8", 8, 1000, 1000).fits


def test_capacity_local_attention_caps_the_kv_cache_by_hand():
    # gpt-oss-20b on one H100, bf16 KV (mxfp4 default), 8000 in / 2000 out, vLLM (paged: 9000 tokens held):
    # 12 full layers x 9000 + 12 sliding layers x 128 tokens, each 2 x 8 KV heads x 64 dims x 2 bytes = 2048 B
    c = cap("gpt-oss-20b", "H100", "mxfp4", 1, 8000, 2000)
    w = perf.weights_gib(M["gpt-oss-20b"], "mxfp4") * GIB
    free = 0.9 * 79.65 * GIB - w - 2 * GIB
    per_request = (12 * 9000 + 12 * 128) * 2048
    assert c.kv_precision == "bf16" and c.max_batch == min(1024, int(free // per_request))


def test_capacity_moe_reads_only_the_experts_a_small_batch_touches():
    # Qwen3-30B-A3B (128 experts, 8 per token) at batch 1 reads ~1/16 of its expert weights: its TPOT is far
    # below a dense model of the same 30.5B (which must read all of them every step)
    moe = M["qwen3-30b-a3b"]
    dense = dataclasses.replace(moe, experts=0, experts_per_token=0, expert_params_b=0.0,
                                active_params_b=moe.params_b)
    kw = dict(precision="bf16", tp=1, input_tokens=500, output_tokens=500, tpot_ms=1000.0, ttft_ms=60000.0)
    a = perf.capacity(moe, G["H100"], **kw)
    d = perf.capacity(dense, G["H100"], **kw)
    light = perf.operating_point(moe, G["H100"], precision="bf16", tp=1, input_tokens=500, output_tokens=500,
                                 concurrency=1)
    dense_light = perf.operating_point(dense, G["H100"], precision="bf16", tp=1, input_tokens=500,
                                       output_tokens=500, concurrency=1)
    assert a.weights_gib == d.weights_gib
    assert light.tpot_ms < 0.5 * dense_light.tpot_ms
    assert a.output_tokens_per_s > d.output_tokens_per_s


def test_capacity_meets_the_slo_it_claims_at_each_percentile():
    for p in perf.PERCENTILES:
        c = cap("llama-3.1-70b", "H100", "fp8", 4, 2000, 300, ttft_ms=800.0, tpot_ms=40.0, percentile=p)
        assert c.fits and c.meets_slo and c.reason is None and c.percentile == p
        assert c.tpot_ms <= 40 * (1 + 1e-9) and c.ttft_ms <= 800 * (1 + 1e-9)
    # a stricter percentile never admits more load
    r = {p: cap("llama-3.1-70b", "H100", "fp8", 4, 2000, 300, ttft_ms=800.0, tpot_ms=40.0,
                percentile=p).requests_per_s for p in perf.PERCENTILES}
    assert r["p99"] <= r["p90"] <= r["p50"]
    # and under an SLO a replica takes less than its saturated throughput
    assert r["p50"] < cap("llama-3.1-70b", "H100", "fp8", 4, 2000, 300).requests_per_s


def test_capacity_ttft_includes_queueing():
    # with only a TTFT limit at twice the light-load TTFT, the replica is loaded until queueing for the
    # prefill uses the slack: the TTFT percentile at capacity reaches the limit, with a smaller batch than
    # the KV cache would hold
    kw = dict(precision="fp8", tp=1, input_tokens=3000, output_tokens=250)
    light = perf.operating_point(M["llama-3.1-8b"], G["H100"], concurrency=1, **kw)
    c = perf.capacity(M["llama-3.1-8b"], G["H100"], ttft_ms=2 * light.ttft_ms, percentile="p99", **kw)
    unbounded = perf.capacity(M["llama-3.1-8b"], G["H100"], **kw)
    assert c.meets_slo and c.ttft_ms > 1.9 * light.ttft_ms
    assert c.max_batch < unbounded.max_batch and c.requests_per_s <= unbounded.requests_per_s


def test_capacity_requests_per_s_is_output_over_output_tokens():
    c = cap("llama-3.1-70b", "H100", "fp8", 2, 1000, 500, tpot_ms=50.0)
    assert c.requests_per_s == pytest.approx(c.output_tokens_per_s / 500)
    assert c.output_tokens_per_s_per_gpu == pytest.approx(c.output_tokens_per_s / 2)


def test_operating_point_obeys_littles_law():
    # closed loop: N in flight = throughput (req/s) x end-to-end time (TTFT + O x TPOT)
    for n in (1, 8, 64):
        c = perf.operating_point(M["qwen3-14b"], G["A100-80GB"], precision="bf16", tp=1, input_tokens=500,
                                 output_tokens=200, concurrency=n, engine="sglang")
        e2e_s = (c.ttft_ms + 200 * c.tpot_ms) / 1e3
        assert c.requests_per_s * e2e_s == pytest.approx(n, rel=1e-3)
        assert c.concurrency == n and c.output_tokens_per_s == pytest.approx(c.requests_per_s * 200)


def test_operating_point_tpot_near_published_low_concurrency():
    """GPUStack perf lab, Qwen3-8B on one H100, vLLM 0.11, ShareGPT 233 in / 221 out: mean TPOT 7.28, 7.37,
    7.38, 7.71 ms at concurrency 1, 2, 4, 8 (bench/data/latency_calibration.csv). Tolerance 20 %."""
    for n, tpot in ((1, 7.28), (2, 7.37), (4, 7.38), (8, 7.71)):
        c = perf.operating_point(M["qwen3-8b"], G["H100"], precision="bf16", tp=1, input_tokens=233,
                                 output_tokens=221, concurrency=n)
        assert c.tpot_ms == pytest.approx(tpot, rel=0.20)


def test_capacity_405b_on_one_l4_does_not_fit_with_numbers():
    c = cap("llama-3.1-405b", "L4", "fp16", 1, 1000, 1000)
    assert not c.fits and not c.meets_slo and c.output_tokens_per_s == 0 and c.requests_per_s == 0
    # 405.85e9 x 2 bytes = 811.7 GB against 24.0 GB
    assert "811.7 GB" in c.reason and "24.0 GB" in c.reason and "more memory" in c.reason


def test_capacity_no_fit_suggests_the_tp_that_fits():
    c = cap("llama-3.1-70b", "H100", "fp16", 1, 1000, 1000)
    assert not c.fits and "tp ≥ 2" in c.reason and "fp8" in c.reason


def test_capacity_unreachable_slo_says_which_and_by_how_much():
    c = cap("llama-3.1-70b", "L40S", "fp8", 2, 1000, 1000, tpot_ms=5.0)
    assert c.fits and not c.meets_slo and c.max_batch == 0
    assert "TPOT" in c.reason and "over the 5 ms SLO" in c.reason and "TTFT" not in c.reason
    assert c.tpot_ms > 5


def test_capacity_context_longer_than_model_does_not_fit():
    c = cap("llama-2-7b", "H100", "fp16", 1, 4000, 1000)
    assert not c.fits and "context length of 4096" in c.reason


@pytest.mark.parametrize("kwargs,field", [
    (dict(input_tokens=0), "--input-tokens"), (dict(output_tokens=-5), "--output-tokens"),
    (dict(tp=3), "--tp"), (dict(gpu="A100-80GB", precision="fp8"), "--precision"),
    (dict(kv_precision="int4"), "--kv-precision"), (dict(engine="tgi"), "--engine"),
    (dict(percentile="p95"), "slo.percentile"), (dict(precision="mxfp4"), "--precision"),
])
def test_capacity_rejects_bad_input(kwargs, field):
    args = dict(model="llama-3.1-8b", gpu="H100", precision="fp16", tp=1, i=100, o=100)
    args.update({k: v for k, v in kwargs.items() if k in ("gpu", "precision", "tp")})
    if "input_tokens" in kwargs:
        args["i"] = kwargs["input_tokens"]
    if "output_tokens" in kwargs:
        args["o"] = kwargs["output_tokens"]
    extra = {k: v for k, v in kwargs.items() if k in ("kv_precision", "engine", "percentile")}
    with pytest.raises(UserError) as err:
        cap(args["model"], args["gpu"], args["precision"], args["tp"], args["i"], args["o"], **extra)
    assert err.value.field == field


def test_unknown_engine_lists_the_engines():
    with pytest.raises(UserError, match="unknown engine 'tgi'; choose one of vllm, sglang, trtllm"):
        cap("llama-3.1-8b", "H100", "fp16", 1, 100, 100, engine="tgi")


def test_precision_support_says_which_gpu_and_what_admits_it():
    assert perf.precision_support(G["H100"], "fp8") is None
    why = perf.precision_support(G["A100-80GB"], "fp8")
    assert why.count("\n") == 0 and "A100-80GB" in why and "fp8" in why and "bf16 or int4" in why
    assert "H100" in why  # and which GPUs would take fp8
    why = perf.precision_support(G["H100"], "mxfp4", M["llama-3.1-70b"])
    assert "llama-3.1-70b has no MXFP4 checkpoint" in why
    assert perf.precision_support(G["A100-80GB"], "mxfp4", M["gpt-oss-120b"], "vllm") is None
    why = perf.precision_support(G["A100-80GB"], "mxfp4", M["gpt-oss-120b"], "trtllm")
    assert "trtllm" in why and "A100-80GB" in why and "use vllm" in why


def test_gpt_oss_120b_fits_one_80gb_gpu_in_mxfp4():
    # the gpt-oss card: "gpt-oss-120b ... runs on a single 80 GB GPU"
    for gpu in ("H100", "A100-80GB"):
        assert cap("gpt-oss-120b", gpu, "mxfp4", 1, 1000, 1000).fits


def test_blackwell_computes_mxfp4_in_low_precision_others_in_bf16():
    assert ASSUME["mxfp4_compute"]["blackwell"] == "fp8" and ASSUME["mxfp4_compute"]["hopper"] == "fp16"


def test_best_is_not_always_the_smallest_tp():
    # 70B fp8 fits on one H100 but leaves ~10 GiB of KV cache: tp 2 serves far more per GPU
    # (published: 775 tok/s at tp 1 vs 2124 tok/s/GPU at tp 2, TensorRT-LLM v0.15 perf-overview)
    b = perf.best("llama-3.1-70b", "H100", "fp8", 1000, 1000, engine="trtllm")
    assert cap("llama-3.1-70b", "H100", "fp8", 1, 1000, 1000).fits
    assert b.tp >= 2


def test_best_returns_none_when_nothing_fits():
    assert perf.best("llama-3.1-405b", "L4", "fp16", 1000, 1000) is None


def test_capacity_pcie_scales_worse_than_nvlink():
    h100 = G["H100"]
    pcie = dataclasses.replace(h100, interconnect="pcie", interconnect_gb_per_s=128)
    kw = dict(precision="fp8", tp=8, input_tokens=1000, output_tokens=1000, tpot_ms=30.0)
    nv8 = perf.capacity(M["llama-3.1-70b"], h100, **kw)
    pc8 = perf.capacity(M["llama-3.1-70b"], pcie, **kw)
    assert pc8.output_tokens_per_s < 0.8 * nv8.output_tokens_per_s


def test_capacity_every_catalog_combination_answers():
    """Every model x GPU x precision x engine either fits at some tp with positive throughput or says why."""
    for model in model_ids():
        for gpu in gpu_kinds():
            for precision in ("fp16", "fp8", "int4", "mxfp4"):
                for engine in perf.ENGINES:
                    why = perf.precision_support(G[gpu], precision, M[model], engine)
                    if why:
                        with pytest.raises(UserError):
                            perf.capacities(model, gpu, precision, 1000, 500, engine=engine)
                        continue
                    caps = perf.capacities(model, gpu, precision, 1000, 500, engine=engine)
                    for c in caps:
                        if c.fits:
                            assert c.output_tokens_per_s > 0 and c.max_batch >= 1 and c.reason is None
                        else:
                            assert c.reason and "GB" in c.reason


def test_capacity_to_dict_has_the_json_keys():
    d = cap("llama-3.1-8b", "L4", "fp8", 1, 500, 200).to_dict()
    for key in ("model", "gpu", "precision", "tp", "fits", "max_batch", "kv_cache_tokens", "output_tokens_per_s",
                "output_tokens_per_s_per_gpu", "requests_per_s", "ttft_ms", "tpot_ms", "bound", "reason",
                "engine", "percentile", "chunked_prefill", "max_num_batched_tokens"):
        assert key in d
    assert d["bound"] in ("memory", "compute")


def test_fit_quality_is_recorded_per_engine():
    for engine in perf.ENGINES:
        q = perf.fit_quality(engine)
        assert "loso_max_throughput_median_pct" in q and "in_sample_max_throughput_median_pct" in q
        assert engine in perf.fit_summary(engine) and "leave-one-source-out" in perf.fit_summary(engine)
