"""User data that starts an OpenAI-compatible vLLM server for the plan's model.

The instance (a Deep Learning Base AMI: NVIDIA driver, Docker with the NVIDIA container
toolkit, AWS CLI) copies the weights from S3 through the VPC's gateway endpoint, then runs the
vLLM container with host networking. The copy runs on the host with the instance role, so the
container needs no AWS credentials and IMDS stays at hop limit 1.

One instance serves `gpus_per_instance / tp` replicas: vLLM runs them as data-parallel ranks
behind one port, so the load balancer sees one target per instance.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

# vLLM flags per plan precision. int4 has no flag: vLLM reads the quantization (AWQ/GPTQ)
# from the checkpoint's config, so the weights location must hold an int4 checkpoint.
PRECISION_FLAGS = {
    "fp16": ["--dtype", "float16"],
    "bf16": ["--dtype", "bfloat16"],
    "fp8": ["--quantization", "fp8"],
    "int4": [],
}


# The KV cache in the precision the throughput model assumed: an fp8 cache holds twice the tokens.
KV_CACHE_FLAGS = {"fp8": ["--kv-cache-dtype", "fp8"]}


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
    kv_precision: str = ""  # "" or 16-bit: vLLM's default (the weights' dtype)


def server_command(spec: ServerSpec) -> list[str]:
    if spec.precision not in PRECISION_FLAGS:
        raise ValueError(f"precision '{spec.precision}' has no vLLM mapping (known: {', '.join(PRECISION_FLAGS)})")
    args = [
        "--model", "/models/weights",
        "--served-model-name", spec.served_model_name,
        "--host", "0.0.0.0",
        "--port", str(spec.port),
        "--tensor-parallel-size", str(spec.tp),
        "--max-model-len", str(spec.max_model_len),
        *PRECISION_FLAGS[spec.precision],
        *KV_CACHE_FLAGS.get(spec.kv_precision, []),
    ]
    if spec.data_parallel > 1:
        args += ["--data-parallel-size", str(spec.data_parallel)]
    return args


def render(spec: ServerSpec) -> str:
    command = " ".join(shlex.quote(a) for a in server_command(spec))
    return f"""#!/bin/bash
# Starts an OpenAI-compatible vLLM server: {spec.served_model_name}, tp={spec.tp}, dp={spec.data_parallel},
# precision={spec.precision}, max_model_len={spec.max_model_len}. Health: GET :{spec.port}/health
set -euo pipefail
exec > >(tee -a /var/log/llm-server-setup.log) 2>&1

WEIGHTS_DIR=/opt/models/weights
mkdir -p "$WEIGHTS_DIR"
# Through the S3 gateway endpoint, with the instance role (IMDSv2).
aws s3 sync {shlex.quote(spec.weights_uri.rstrip('/') + '/')} "$WEIGHTS_DIR" --region {shlex.quote(spec.region)} --only-show-errors

systemctl enable --now docker
docker pull {shlex.quote(spec.image)}
docker rm -f vllm >/dev/null 2>&1 || true
# Host networking: the container shares the host's network stack (no bridge hop to IMDS).
docker run -d --name vllm --restart unless-stopped --gpus all --network host --ipc host \\
  -v /opt/models:/models:ro \\
  {shlex.quote(spec.image)} \\
  {command}
"""
