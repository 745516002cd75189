"""Catalog tests: the numbers are checked against the datasheets / config.json values cited here."""

from pathlib import Path

import pytest

from planner.catalog import (
    PRECISIONS,
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
    for spec in m.values():
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
    assert PRECISIONS == ("fp16", "bf16", "fp8", "int4")
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
