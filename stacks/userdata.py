"""User data that starts the OpenAI-compatible server of the engine the plan was sized for.

The instance (a Deep Learning Base AMI: NVIDIA driver, Docker with the NVIDIA container
toolkit, AWS CLI) copies the weights from S3 through the VPC's gateway endpoint, then runs the
engine's container with host networking. The copy runs on the host with the instance role, so the
container needs no AWS credentials and IMDS stays at hop limit 1.

Engines and their servers: vLLM `vllm serve`, SGLang `python3 -m sglang.launch_server`,
TensorRT-LLM `trtllm-serve`. Each is started with the flags the sizing assumed: tensor parallelism,
weight precision, KV-cache dtype, the batch the sizing allowed (max num seqs / max running requests /
max batch size) and chunked prefill with its per-step token budget.

One instance serves `gpus_per_instance / tp` replicas: vLLM and SGLang run them as data-parallel
ranks behind one port, so the load balancer sees one target per instance. trtllm-serve has no
data-parallel flag: a TensorRT-LLM plan must use one replica per instance.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

ENGINES = ("vllm", "sglang", "trtllm")

# Container images when the stack configuration names none for the engine (vLLM: stack config vllmImage).
DEFAULT_IMAGES = {
    "vllm": "vllm/vllm-openai:v0.10.1.1",
    "sglang": "lmsysorg/sglang:v0.5.5.post1",
    "trtllm": "nvcr.io/nvidia/tensorrt-llm/release:1.2.0rc1",
}

# vLLM flags per plan precision. int4 and mxfp4 have no flag: vLLM reads the quantization (AWQ/GPTQ,
# gpt-oss MXFP4) from the checkpoint's config, so the weights location must hold that checkpoint.
PRECISION_FLAGS = {
    "fp16": ["--dtype", "float16"],
    "bf16": ["--dtype", "bfloat16"],
    "fp8": ["--quantization", "fp8"],
    "int4": [],
    "mxfp4": [],
}
SGLANG_PRECISION_FLAGS = {
    "fp16": ["--dtype", "float16"],
    "bf16": ["--dtype", "bfloat16"],
    "fp8": ["--quantization", "fp8"],
    "int4": [],
    "mxfp4": [],
}

# The memory settings the throughput model assumed (planner/data/perf_calibration.yaml
# engine_memory_fraction): what the KV cache gets depends on them.
VLLM_GPU_MEMORY_UTILIZATION = "0.9"
SGLANG_MEM_FRACTION_STATIC = "0.88"
TRTLLM_KV_CACHE_FREE_FRACTION = "0.9"

# The KV cache in the precision the throughput model assumed: an fp8 cache holds twice the tokens.
KV_CACHE_FLAGS = {"fp8": ["--kv-cache-dtype", "fp8"]}
SGLANG_KV_CACHE_FLAGS = {"fp8": ["--kv-cache-dtype", "fp8_e4m3"]}
TRTLLM_EXTRA_OPTIONS = "/models/trtllm-extra-options.yaml"


@dataclass(frozen=True)
class ServerSpec:
    served_model_name: str  # the Hugging Face id clients send as "model"
    weights_uri: str  # s3://bucket/prefix
    region: str
    precision: str
    tp: int
    data_parallel: int  # replicas per instance
    max_model_len: int
    port: int
    image: str
    kv_precision: str = ""  # "" or 16-bit: the engine's default (the weights' dtype)
    engine: str = "vllm"
    max_num_seqs: int = 0  # the batch the sizing assumed; 0 = the engine's default
    max_num_batched_tokens: int = 0  # chunked-prefill token budget per step; 0 = the engine's default


def server_command(spec: ServerSpec) -> list[str]:
    """The server's command line inside its container (argv, first element the executable)."""
    if spec.engine not in ENGINES:
        raise ValueError(f"engine '{spec.engine}' has no server mapping (known: {', '.join(ENGINES)})")
    if spec.precision not in PRECISION_FLAGS:
        raise ValueError(f"precision '{spec.precision}' has no mapping (known: {', '.join(PRECISION_FLAGS)})")
    if spec.engine == "sglang":
        return _sglang(spec)
    if spec.engine == "trtllm":
        return _trtllm(spec)
    args = [
        "vllm", "serve", "/models/weights",
        "--served-model-name", spec.served_model_name,
        "--host", "0.0.0.0",
        "--port", str(spec.port),
        "--tensor-parallel-size", str(spec.tp),
        "--max-model-len", str(spec.max_model_len),
        *PRECISION_FLAGS[spec.precision],
        *KV_CACHE_FLAGS.get(spec.kv_precision, []),
        "--gpu-memory-utilization", VLLM_GPU_MEMORY_UTILIZATION,
        "--enable-chunked-prefill",
    ]
    if spec.max_num_seqs:
        args += ["--max-num-seqs", str(spec.max_num_seqs)]
    if spec.max_num_batched_tokens:
        args += ["--max-num-batched-tokens", str(spec.max_num_batched_tokens)]
    if spec.data_parallel > 1:
        args += ["--data-parallel-size", str(spec.data_parallel)]
    return args


def _sglang(spec: ServerSpec) -> list[str]:
    args = [
        "python3", "-m", "sglang.launch_server",
        "--model-path", "/models/weights",
        "--served-model-name", spec.served_model_name,
        "--host", "0.0.0.0",
        "--port", str(spec.port),
        "--tp-size", str(spec.tp),
        "--context-length", str(spec.max_model_len),
        *SGLANG_PRECISION_FLAGS[spec.precision],
        *SGLANG_KV_CACHE_FLAGS.get(spec.kv_precision, []),
        "--mem-fraction-static", SGLANG_MEM_FRACTION_STATIC,
    ]
    if spec.max_num_seqs:
        args += ["--max-running-requests", str(spec.max_num_seqs)]
    if spec.max_num_batched_tokens:  # SGLang chunks prefills by default; this sets the budget
        args += ["--chunked-prefill-size", str(spec.max_num_batched_tokens)]
    if spec.data_parallel > 1:
        args += ["--dp-size", str(spec.data_parallel)]
    return args


def _trtllm(spec: ServerSpec) -> list[str]:
    if spec.data_parallel > 1:
        raise ValueError(f"trtllm-serve has no data-parallel flag: {spec.data_parallel} replicas per instance "
                         f"cannot share one port; plan TensorRT-LLM on instances whose GPUs make one replica")
    # precision: trtllm-serve reads the quantization (FP8, INT4-AWQ, MXFP4) from the checkpoint
    args = [
        "trtllm-serve", "/models/weights",
        "--host", "0.0.0.0",
        "--port", str(spec.port),
        "--backend", "pytorch",
        "--tp_size", str(spec.tp),
        "--max_seq_len", str(spec.max_model_len),
        "--kv_cache_free_gpu_memory_fraction", TRTLLM_KV_CACHE_FREE_FRACTION,
        "--extra_llm_api_options", TRTLLM_EXTRA_OPTIONS,
    ]
    if spec.max_num_seqs:
        args += ["--max_batch_size", str(spec.max_num_seqs)]
    if spec.max_num_batched_tokens:
        args += ["--max_num_tokens", str(spec.max_num_batched_tokens)]
    return args


def trtllm_extra_options(spec: ServerSpec) -> str:
    """The LLM API options trtllm-serve takes from a file: chunked prefill and the KV-cache dtype."""
    lines = ["enable_chunked_prefill: true"]
    if spec.kv_precision == "fp8":
        lines += ["kv_cache_config:", "  dtype: fp8"]
    return "\n".join(lines) + "\n"


def render(spec: ServerSpec) -> str:
    argv = server_command(spec)
    entrypoint, rest = argv[0], argv[1:]
    command = " ".join(shlex.quote(a) for a in rest)
    container = {"vllm": "vllm", "sglang": "sglang", "trtllm": "trtllm"}[spec.engine]
    extra = ""
    if spec.engine == "trtllm":
        extra = (f"cat > /opt{TRTLLM_EXTRA_OPTIONS} <<'EOF'\n{trtllm_extra_options(spec)}EOF\n")
    return f"""#!/bin/bash
# Starts an OpenAI-compatible {spec.engine} server: {spec.served_model_name}, tp={spec.tp}, dp={spec.data_parallel},
# precision={spec.precision}, kv={spec.kv_precision or 'default'}, max_model_len={spec.max_model_len},
# max batch={spec.max_num_seqs or 'default'}, chunked prefill budget={spec.max_num_batched_tokens or 'default'}.
# Health: GET :{spec.port}/health
set -euo pipefail
exec > >(tee -a /var/log/llm-server-setup.log) 2>&1

WEIGHTS_DIR=/opt/models/weights
mkdir -p "$WEIGHTS_DIR"
# Through the S3 gateway endpoint, with the instance role (IMDSv2).
aws s3 sync {shlex.quote(spec.weights_uri.rstrip('/') + '/')} "$WEIGHTS_DIR" --region {shlex.quote(spec.region)} --only-show-errors
{extra}
systemctl enable --now docker
docker pull {shlex.quote(spec.image)}
docker rm -f {container} >/dev/null 2>&1 || true
# Host networking: the container shares the host's network stack (no bridge hop to IMDS).
docker run -d --name {container} --restart unless-stopped --gpus all --network host --ipc host \\
  -v /opt/models:/models:ro \\
  --entrypoint {shlex.quote(entrypoint)} \\
  {shlex.quote(spec.image)} \\
  {command}
"""
