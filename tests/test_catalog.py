"""Catalog tests: the numbers are checked against the datasheets / config.json values cited here."""

import json
from pathlib import Path

import pytest

from planner.catalog import (
    PRECISIONS,
    hf_param_counts,
    read_hf_config,
    gpu_kinds,
    load_gpus,
    load_models,
    model_ids,
    resolve_gpu,
    resolve_model,
    resolve_precision,
)
from planner.errors import UserError

REQUIRED_GPUS = {"H100", "H200", "A100-80GB", "A100-40GB", "L40S", "L4", "A10G", "B200"}
REQUIRED_MODELS = {"llama-3.1-8b", "llama-3.1-70b", "llama-3.3-70b", "llama-3.1-405b", "llama-2-7b",
                   "llama-2-70b", "mixtral-8x7b", "qwen2.5-7b", "qwen2.5-72b", "mistral-7b"}


def test_catalog_has_required_gpus_and_models():
    assert REQUIRED_GPUS <= set(gpu_kinds())
    assert REQUIRED_MODELS <= set(model_ids())


def test_catalog_every_entry_has_a_source():
    for spec in [*load_gpus().values(), *load_models().values()]:
        assert len(spec.source) > 30 and ("http" in spec.source), spec


def test_catalog_h100_matches_datasheet():
    # NVIDIA H100 SXM datasheet: 80 GB, 3.35 TB/s, BF16 1,979 / FP8 3,958 TFLOPS with sparsity (dense = half)
    h100 = load_gpus()["H100"]
    assert h100.hbm_gb == 80 and h100.hbm_gb_per_s == 3350
    assert h100.bf16_dense_tflops == pytest.approx(1979 / 2, rel=1e-3)
    assert h100.fp8_dense_tflops == pytest.approx(3958 / 2, rel=1e-3)
    assert h100.interconnect == "nvlink"


def test_catalog_ampere_and_a10g_have_no_fp8():
    gpus = load_gpus()
    for name in ("A100-80GB", "A100-40GB", "A10G"):
        assert gpus[name].fp8_dense_tflops is None
    # A100 datasheet: 312 TFLOPS BF16 dense, 2,039 GB/s (80GB SXM), 1,555 GB/s (40GB)
    assert gpus["A100-80GB"].bf16_dense_tflops == 312 and gpus["A100-80GB"].hbm_gb_per_s == 2039
    assert gpus["A100-40GB"].hbm_gb_per_s == 1555


def test_catalog_pcie_cards_are_pcie():
    gpus = load_gpus()
    for name in ("L40S", "L4", "A10G"):
        assert gpus[name].interconnect == "pcie"


def test_catalog_models_match_config_json():
    m = load_models()
    # Llama-3.1-70B config.json: 80 layers, hidden 8192, 64 heads, 8 KV heads, head_dim 128
    l70 = m["llama-3.1-70b"]
    assert (l70.layers, l70.hidden_size, l70.attention_heads, l70.kv_heads, l70.head_dim) == (80, 8192, 64, 8, 128)
    # Mixtral: 46.7B total, 12.9B active
    mx = m["mixtral-8x7b"]
    assert mx.params_b == pytest.approx(46.7) and mx.active_params_b == pytest.approx(12.9)
    # Llama-2-7b has no grouped-query attention
    assert m["llama-2-7b"].kv_heads == m["llama-2-7b"].attention_heads == 32
    # the 2024 models have hidden = heads x head_dim (Qwen2.5 excepted); the 2026 ones often do not
    # (Gemma 3, gpt-oss, Mistral Small 3.1 set head_dim explicitly; DeepSeek MLA heads are 128 + 64 wide)
    for spec in m.values():
        if spec.id in REQUIRED_MODELS:
            assert spec.hidden_size == spec.attention_heads * spec.head_dim or spec.id.startswith("qwen")


def test_resolve_gpu_is_case_insensitive_and_accepts_aliases():
    assert resolve_gpu("h100") == "H100"
    assert resolve_gpu("H100-SXM-80GB") == "H100"
    assert resolve_gpu("A100") == "A100-40GB"
    assert resolve_gpu("a100-sxm4-80gb") == "A100-80GB"


def test_resolve_gpu_unknown_suggests():
    with pytest.raises(UserError, match=r"unknown GPU kind 'H10'.*did you mean"):
        resolve_gpu("H10")


def test_resolve_model_is_case_insensitive():
    assert resolve_model("Llama-3.1-70B") == "llama-3.1-70b"
    assert resolve_model("Mixtral-8x7B") == "mixtral-8x7b"
    with pytest.raises(UserError, match="did you mean 'llama-3.3-70b'"):
        resolve_model("llama-3-70b")


def test_resolve_precision_validates():
    assert PRECISIONS == ("fp16", "bf16", "fp8", "int4", "mxfp4")
    assert resolve_precision("FP8") == "fp8"
    with pytest.raises(UserError, match="unknown precision"):
        resolve_precision("fp4")


def test_load_gpus_reads_a_given_file(tmp_path: Path):
    f = tmp_path / "g.yaml"
    f.write_text("gpus:\n  - {name: X1, aliases: [], hbm_gb: 10, hbm_gib: 9.3, hbm_gb_per_s: 100, bf16_dense_tflops: 10,"
                 " fp8_dense_tflops: null, int8_dense_tops: null, interconnect: pcie, interconnect_gb_per_s: 64,"
                 " source: 'made up for a test, https://example.invalid'}\n")
    assert list(load_gpus(f)) == ["X1"]
    assert load_gpus(f)["X1"].fp8_dense_tflops is None


def test_load_gpus_rejects_missing_keys(tmp_path: Path):
    f = tmp_path / "g.yaml"
    f.write_text("gpus:\n  - {name: X1, source: x}\n")
    with pytest.raises(UserError, match="missing keys"):
        load_gpus(f)


NEW_MODELS = ("llama-4-scout", "llama-4-maverick", "qwen3-8b", "qwen3-14b", "qwen3-32b", "qwen3-30b-a3b",
              "qwen3-235b-a22b", "deepseek-v3", "deepseek-r1", "gpt-oss-20b", "gpt-oss-120b", "gemma-3-27b",
              "mistral-small-3.1-24b")
CONFIGS = Path(__file__).resolve().parents[1] / "planner" / "data" / "model_configs"

# Parameter counts published on the model cards / READMEs (total, active), billions, as cited in
# shared/data/model_configs/README.md: Llama 4 card (109/17, 400/17), Qwen3 cards (8.2, 14.8, 32.8,
# 30.5/3.3, 235/22), DeepSeek-V3/R1 README (671/37), gpt-oss card (20.9/3.6, 116.8/5.1), Gemma 3 (27),
# Mistral Small 3.1 (24).
CARD_PARAMS_B = {"llama-4-scout": (109, 17), "llama-4-maverick": (400, 17), "qwen3-8b": (8.2, 8.2),
                 "qwen3-14b": (14.8, 14.8), "qwen3-32b": (32.8, 32.8), "qwen3-30b-a3b": (30.5, 3.3),
                 "qwen3-235b-a22b": (235, 22), "deepseek-v3": (671, 37), "deepseek-r1": (671, 37),
                 "gpt-oss-20b": (20.9, 3.6), "gpt-oss-120b": (116.8, 5.1), "gemma-3-27b": (27, 27),
                 "mistral-small-3.1-24b": (24, 24)}


def test_catalog_has_the_2026_models_with_their_config_source():
    m = load_models()
    for mid in NEW_MODELS:
        assert mid in m, mid
        assert f"model_configs/{mid}.json" in m[mid].source and "http" in m[mid].source
        assert (m[mid].params_b, m[mid].active_params_b) == pytest.approx(CARD_PARAMS_B[mid])


@pytest.mark.parametrize("mid", NEW_MODELS)
def test_hf_config_parameter_count_matches_the_model_card(mid):
    """Counting embeddings, attention, (shared) experts, router and head from config.json alone gives the
    card's totals within 2 % (vision encoders of Llama 4 / Mistral 3.1 are not counted) and its active
    parameters within 3 % (gpt-oss's card leaves the 201088 x 2880 embedding table out of "active")."""
    doc = json.loads((CONFIGS / f"{mid}.json").read_text())
    counts = hf_param_counts(doc)
    total, active = CARD_PARAMS_B[mid]
    if mid.startswith("gpt-oss"):
        active += doc["vocab_size"] * doc["hidden_size"] / 1e9
    assert counts["total"] == pytest.approx(total, rel=0.02)
    assert counts["active"] == pytest.approx(active, rel=0.03)


def test_hf_config_moe_mla_and_local_attention_fields():
    ds = read_hf_config(CONFIGS / "deepseek-v3.json")
    # config.json: 256 routed experts, 8 per token, kv_lora_rank 512, qk_rope_head_dim 64, fp8 checkpoint;
    # 58 MoE layers (61 - first_k_dense_replace 3) x 256 x 3 x 7168 x 2048 = 653.9B in routed experts
    assert (ds.experts, ds.experts_per_token, ds.kv_lora_rank, ds.qk_rope_head_dim) == (256, 8, 512, 64)
    assert ds.weight_format == "fp8"
    assert ds.expert_params_b == pytest.approx(58 * 256 * 3 * 7168 * 2048 / 1e9, rel=1e-6)
    oss = read_hf_config(CONFIGS / "gpt-oss-120b.json")
    # 36 layers alternating sliding (128) / full attention; 128 experts, top-4; MXFP4 checkpoint
    assert (oss.local_layers, oss.local_window, oss.experts, oss.experts_per_token) == (18, 128, 128, 4)
    assert oss.weight_format == "mxfp4"
    gemma = read_hf_config(CONFIGS / "gemma-3-27b.json")
    assert (gemma.local_layers, gemma.local_window) == (52, 1024)  # 5 local : 1 global over 62 layers
    scout = read_hf_config(CONFIGS / "llama-4-scout.json")
    assert (scout.local_layers, scout.local_window, scout.experts) == (36, 8192, 16)  # 3 of 4 chunked
    dense = read_hf_config(CONFIGS / "qwen3-32b.json")
    assert (dense.experts, dense.local_layers, dense.kv_lora_rank, dense.weight_format) == (0, 0, 0, "")


def test_hf_config_missing_field_names_file_and_field(tmp_path: Path):
    cfg = json.loads((CONFIGS / "qwen3-8b.json").read_text())
    del cfg["num_hidden_layers"]
    f = tmp_path / "config.json"
    f.write_text(json.dumps(cfg))
    with pytest.raises(UserError) as exc:
        read_hf_config(f)
    assert exc.value.file == str(f) and exc.value.field == "num_hidden_layers"
    assert "\n" not in str(exc.value) and "missing field 'num_hidden_layers'" in str(exc.value)


def test_hf_config_not_json_is_a_user_error(tmp_path: Path):
    f = tmp_path / "config.json"
    f.write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        read_hf_config(f)


def test_hf_config_dense_model_counts_by_hand(tmp_path: Path):
    # a made-up dense config: embeddings 1000 x 64 (+ untied head), 2 layers of attention
    # (64x64 q, 2 x 64x32 kv, 64x64 o) and gated MLP 3 x 64 x 128
    cfg = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
           "vocab_size": 1000, "max_position_embeddings": 4096, "intermediate_size": 128}
    f = tmp_path / "config.json"
    f.write_text(json.dumps(cfg))
    spec = read_hf_config(f, model_id="tiny")
    per_layer = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128
    assert spec.params_b * 1e9 == pytest.approx(2 * 1000 * 64 + 2 * per_layer, abs=1)
    assert spec.active_params_b == spec.params_b  # dense
    assert (spec.head_dim, spec.kv_heads, spec.context_length) == (16, 2, 4096)
