"""stacks.userdata: the server each engine is started with, and the flags that match the sizing."""

import pytest

from stacks import userdata


def spec(**kw):
    base = dict(served_model_name="meta-llama/Llama-3.1-70B-Instruct", weights_uri="s3://b/llama", region="eu-north-1",
                precision="fp8", tp=2, data_parallel=4, max_model_len=8192, port=8000, image="img:1",
                kv_precision="fp8", engine="vllm", max_num_seqs=137, max_num_batched_tokens=8192)
    base.update(kw)
    return userdata.ServerSpec(**base)


def flag(argv, name):
    return argv[argv.index(name) + 1]


def test_userdata_vllm_serve_with_the_sizing_flags():
    argv = userdata.server_command(spec())
    assert argv[:3] == ["vllm", "serve", "/models/weights"]
    assert flag(argv, "--tensor-parallel-size") == "2" and flag(argv, "--data-parallel-size") == "4"
    assert flag(argv, "--quantization") == "fp8" and flag(argv, "--kv-cache-dtype") == "fp8"
    assert flag(argv, "--max-num-seqs") == "137" and flag(argv, "--max-num-batched-tokens") == "8192"
    assert flag(argv, "--gpu-memory-utilization") == "0.9"
    assert "--enable-chunked-prefill" in argv and flag(argv, "--max-model-len") == "8192"
    assert flag(argv, "--served-model-name") == "meta-llama/Llama-3.1-70B-Instruct"


def test_userdata_sglang_launch_server_with_the_sizing_flags():
    argv = userdata.server_command(spec(engine="sglang", precision="bf16", kv_precision="bf16"))
    assert argv[:3] == ["python3", "-m", "sglang.launch_server"]
    assert flag(argv, "--model-path") == "/models/weights"
    assert flag(argv, "--tp-size") == "2" and flag(argv, "--dp-size") == "4"
    assert flag(argv, "--dtype") == "bfloat16" and "--kv-cache-dtype" not in argv
    assert flag(argv, "--max-running-requests") == "137" and flag(argv, "--chunked-prefill-size") == "8192"
    assert flag(argv, "--mem-fraction-static") == "0.88" and flag(argv, "--context-length") == "8192"
    fp8 = userdata.server_command(spec(engine="sglang"))
    assert flag(fp8, "--quantization") == "fp8" and flag(fp8, "--kv-cache-dtype") == "fp8_e4m3"


def test_userdata_trtllm_serve_with_the_sizing_flags():
    s = spec(engine="trtllm", data_parallel=1)
    argv = userdata.server_command(s)
    assert argv[:2] == ["trtllm-serve", "/models/weights"]
    assert flag(argv, "--tp_size") == "2" and flag(argv, "--max_batch_size") == "137"
    assert flag(argv, "--max_num_tokens") == "8192" and flag(argv, "--max_seq_len") == "8192"
    assert flag(argv, "--kv_cache_free_gpu_memory_fraction") == "0.9"
    options = userdata.trtllm_extra_options(s)
    assert "enable_chunked_prefill: true" in options and "dtype: fp8" in options
    script = userdata.render(s)
    assert "trtllm-extra-options.yaml" in script and "--entrypoint trtllm-serve" in script


def test_userdata_trtllm_refuses_several_replicas_per_instance():
    with pytest.raises(ValueError, match="trtllm-serve has no data-parallel flag"):
        userdata.server_command(spec(engine="trtllm", data_parallel=4))


def test_userdata_render_runs_the_engines_image_with_its_entrypoint():
    for engine, entry in (("vllm", "vllm"), ("sglang", "python3")):
        script = userdata.render(spec(engine=engine, image=f"{engine}-image:1"))
        assert f"--entrypoint {entry}" in script and f"{engine}-image:1" in script
        assert "aws s3 sync s3://b/llama/" in script and "--network host" in script


def test_userdata_unknown_engine_or_precision_is_refused():
    with pytest.raises(ValueError, match="engine 'tgi'"):
        userdata.server_command(spec(engine="tgi"))
    with pytest.raises(ValueError, match="precision 'fp4'"):
        userdata.server_command(spec(precision="fp4"))


def test_userdata_int4_and_mxfp4_take_the_checkpoints_quantization():
    for precision in ("int4", "mxfp4"):
        argv = userdata.server_command(spec(precision=precision, kv_precision=""))
        assert "--quantization" not in argv and "--dtype" not in argv


def test_userdata_memory_settings_are_the_ones_the_sizing_assumed():
    from pathlib import Path

    import yaml

    doc = yaml.safe_load((Path(__file__).resolve().parents[1] / "planner/data/perf_calibration.yaml").read_text())
    frac = doc["assumptions"]["engine_memory_fraction"]
    assert float(userdata.VLLM_GPU_MEMORY_UTILIZATION) == frac["vllm"]
    assert float(userdata.SGLANG_MEM_FRACTION_STATIC) == frac["sglang"]
    assert float(userdata.TRTLLM_KV_CACHE_FREE_FRACTION) == frac["trtllm"]
