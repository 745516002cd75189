"""GPU and model catalogs: data files in planner/data/, read into frozen values.

Loaders take an optional path and return values; only the default files are cached. Every entry
carries its `source`; nothing here derives a missing number (a chip without FP8 has
``fp8_dense_tflops = None``).
"""

from __future__ import annotations

import functools
import json
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

import yaml

from planner.errors import UserError, did_you_mean

DATA_DIR = Path(__file__).parent / "data"
GPUS_FILE = DATA_DIR / "gpus.yaml"
MODELS_FILE = DATA_DIR / "models.yaml"

MAX_HF_CONFIG_BYTES = 1 << 20  # a config.json is a few KiB
PRECISIONS = ("fp16", "bf16", "fp8", "int4", "mxfp4")
# Checkpoint formats a model can ship in natively (ModelSpec.weight_format): "" = 16-bit.
WEIGHT_FORMATS = ("", "fp8", "mxfp4")


@dataclass(frozen=True)
class GpuSpec:
    name: str
    aliases: tuple[str, ...]
    hbm_gb: float
    hbm_gib: float
    hbm_gb_per_s: float
    bf16_dense_tflops: float
    fp8_dense_tflops: float | None
    int8_dense_tops: float | None
    interconnect: str  # "nvlink" | "pcie"
    interconnect_gb_per_s: float  # marketed, both directions summed
    source: str
    family: str = ""  # groups chips sharing efficiency factors (planner/data/perf_calibration.yaml)


@dataclass(frozen=True)
class ModelSpec:
    """One model's memory- and speed-relevant architecture (Hugging Face config.json fields).

    Mixture of experts: ``params_b`` counts every expert (all are held in memory);
    ``active_params_b`` is what one token computes with; ``expert_params_b`` is the part of
    ``params_b`` in routed experts (``experts`` per MoE layer, ``experts_per_token`` chosen), so a
    decode step of B tokens reads the dense part plus the experts the batch touches.
    MLA (DeepSeek-V3/R1): the KV cache holds one compressed latent of ``kv_lora_rank`` +
    ``qk_rope_head_dim`` elements per token and layer instead of 2 × kv_heads × head_dim.
    Local attention: ``local_layers`` of ``layers`` attend to the last ``local_window`` tokens only
    (sliding window, or Llama 4's chunked attention), so their KV cache stops growing there.
    ``weight_format`` is the published checkpoint's own format ("" = 16-bit, "fp8", "mxfp4").
    """

    id: str
    hf_id: str
    params_b: float
    active_params_b: float
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    context_length: int
    source: str
    experts: int = 0
    experts_per_token: int = 0
    expert_params_b: float = 0.0
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    local_layers: int = 0
    local_window: int = 0
    weight_format: str = ""

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0


def _read_entries(path: Path, key: str) -> list[dict]:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UserError("file not found", file=str(path)) from exc
    except yaml.YAMLError as exc:
        raise UserError(f"not valid YAML: {exc}", file=str(path)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
        raise UserError(f"expected a top-level list '{key}'", file=str(path))
    return doc[key]


def _build(cls, entry: dict, path: Path, where: str):
    names = {f.name for f in fields(cls)}
    unknown = set(entry) - names
    if unknown:
        raise UserError(f"unknown keys {sorted(unknown)}", file=str(path), field=where)
    required = {f.name for f in fields(cls)
                if f.default is MISSING and f.default_factory is MISSING}  # noqa: E501
    missing = required - set(entry)
    if missing:
        raise UserError(f"missing keys {sorted(missing)}", file=str(path), field=where)
    if not str(entry.get("source", "")).strip():
        raise UserError("every entry needs a non-empty source", file=str(path), field=where)
    return entry


def load_gpus(path: str | Path | None = None) -> dict[str, GpuSpec]:
    """GPU kinds keyed by canonical name, from `path` (default planner/data/gpus.yaml)."""
    if path is None:
        return _default_gpus()
    return _load_gpus(Path(path))


def _load_gpus(path: Path) -> dict[str, GpuSpec]:
    out: dict[str, GpuSpec] = {}
    for i, entry in enumerate(_read_entries(path, "gpus")):
        where = f"gpus[{i}]"
        e = dict(_build(GpuSpec, entry, path, where))
        e["aliases"] = tuple(e.get("aliases") or ())
        if e["interconnect"] not in ("nvlink", "pcie"):
            raise UserError(f"interconnect must be nvlink or pcie, not {e['interconnect']!r}",
                            file=str(path), field=f"{where}.interconnect")
        for key in ("hbm_gb", "hbm_gib", "hbm_gb_per_s", "bf16_dense_tflops", "interconnect_gb_per_s"):
            if not isinstance(e[key], (int, float)) or e[key] <= 0:
                raise UserError(f"must be a positive number, not {e[key]!r}", file=str(path), field=f"{where}.{key}")
        for key in ("hbm_gb", "hbm_gib", "hbm_gb_per_s", "bf16_dense_tflops", "interconnect_gb_per_s"):
            e[key] = float(e[key])
        for key in ("fp8_dense_tflops", "int8_dense_tops"):
            e[key] = None if e[key] is None else float(e[key])
        spec = GpuSpec(**e)
        if spec.name in out:
            raise UserError(f"duplicate GPU {spec.name!r}", file=str(path), field=where)
        out[spec.name] = spec
    return out


def load_models(path: str | Path | None = None) -> dict[str, ModelSpec]:
    """Models keyed by id, from `path` (default planner/data/models.yaml)."""
    if path is None:
        return _default_models()
    return _load_models(Path(path))


def _load_models(path: Path) -> dict[str, ModelSpec]:
    out: dict[str, ModelSpec] = {}
    for i, entry in enumerate(_read_entries(path, "models")):
        where = f"models[{i}]"
        e = dict(_build(ModelSpec, entry, path, where))
        for key in ("params_b", "active_params_b", "expert_params_b"):
            if key in e:
                e[key] = float(e[key])
        for key in ("layers", "hidden_size", "attention_heads", "kv_heads", "head_dim", "vocab_size", "context_length"):
            if not isinstance(e[key], int) or e[key] <= 0:
                raise UserError(f"must be a positive integer, not {e[key]!r}", file=str(path), field=f"{where}.{key}")
        for key in ("experts", "experts_per_token", "kv_lora_rank", "qk_rope_head_dim", "local_layers", "local_window"):
            if key in e and (not isinstance(e[key], int) or e[key] < 0):
                raise UserError(f"must be a whole number >= 0, not {e[key]!r}", file=str(path), field=f"{where}.{key}")
        if e.get("weight_format", "") not in WEIGHT_FORMATS:
            raise UserError(f"weight_format must be one of {', '.join(repr(w) for w in WEIGHT_FORMATS)}",
                            file=str(path), field=f"{where}.weight_format")
        spec = ModelSpec(**e)
        _check_model(spec, str(path), where)
        if spec.id in out:
            raise UserError(f"duplicate model {spec.id!r}", file=str(path), field=where)
        out[spec.id] = spec
    return out


def _check_model(spec: ModelSpec, file: str, where: str) -> None:
    if spec.active_params_b > spec.params_b:
        raise UserError("active_params_b exceeds params_b", file=file, field=where)
    if spec.expert_params_b > spec.params_b:
        raise UserError("expert_params_b exceeds params_b", file=file, field=where)
    if (spec.experts > 0) != (spec.experts_per_token > 0) or spec.experts_per_token > spec.experts:
        raise UserError("experts and experts_per_token go together (0 < experts_per_token <= experts)",
                        file=file, field=where)
    if spec.local_layers > spec.layers or (spec.local_layers > 0) != (spec.local_window > 0):
        raise UserError("local_layers (<= layers) and local_window go together", file=file, field=where)


@functools.lru_cache(maxsize=1)
def _default_gpus() -> dict[str, GpuSpec]:
    return _load_gpus(GPUS_FILE)


@functools.lru_cache(maxsize=1)
def _default_models() -> dict[str, ModelSpec]:
    return _load_models(MODELS_FILE)


def gpu_kinds() -> list[str]:
    return list(load_gpus())


def model_ids() -> list[str]:
    return list(load_models())


@functools.lru_cache(maxsize=256)
def resolve_gpu(name: str) -> str:
    """Canonical GPU kind for `name` (case-insensitive, aliases accepted)."""
    gpus = load_gpus()
    key = str(name).strip().lower()
    for spec in gpus.values():
        if key == spec.name.lower() or key in (a.lower() for a in spec.aliases):
            return spec.name
    raise UserError(f"unknown GPU kind {name!r}{did_you_mean(str(name), gpus)}; known: {', '.join(gpus)}")


@functools.lru_cache(maxsize=256)
def resolve_model(name: str) -> str:
    """Canonical model id for `name` (case-insensitive; the Hugging Face id is accepted too)."""
    models = load_models()
    key = str(name).strip().lower()
    for spec in models.values():
        if key in (spec.id.lower(), spec.hf_id.lower(), spec.hf_id.split("/")[-1].lower()):
            return spec.id
    raise UserError(f"unknown model {name!r}{did_you_mean(str(name), models)}; known: {', '.join(models)}")


def resolve_precision(name: str) -> str:
    key = str(name).strip().lower()
    if key in PRECISIONS:
        return key
    raise UserError(f"unknown precision {name!r}{did_you_mean(str(name), PRECISIONS)}; choose one of {', '.join(PRECISIONS)}")


# --- Hugging Face config.json, read offline ----------------------------------------------------

def read_hf_config(path: str | Path, model_id: str | None = None) -> ModelSpec:
    """A ModelSpec from a Hugging Face ``config.json`` (dense, MoE and MLA fields), offline.

    Parameter counts are computed from the architecture (embeddings, attention, gated MLP or
    experts, router, output head; norms and biases are ignored, < 0.1 %). A field the model cannot
    be sized without raises a one-line UserError naming the file and the field.
    """
    from pricing.files import FileRejected, read_text

    path = Path(path)
    try:  # an untrusted file: regular, UTF-8, at most MAX_HF_CONFIG_BYTES
        text = read_text(path, what="model config.json", max_bytes=MAX_HF_CONFIG_BYTES)
    except FileRejected as exc:
        raise UserError(exc.message, file=exc.file, line=exc.line) from None
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise UserError(f"not valid JSON ({str(exc)[:80]})", file=str(path)) from None
    if not isinstance(doc, dict):
        raise UserError("a config.json holds one JSON object", file=str(path))
    if model_id is None:
        hf = (doc.get("_provenance") or {}).get("hf_repo") or doc.get("_name_or_path") or ""
        model_id = (hf.split("/")[-1] if hf else (path.parent.name if path.stem == "config" else path.stem)).lower()
    return model_from_hf_config(doc, file=str(path), model_id=model_id)


def hf_param_counts(doc: dict, file: str = "config.json") -> dict[str, float]:
    """Parameter counts (billions) implied by a config: total, active per token, in routed experts."""
    return _hf_arch(doc, file)["counts"]


def model_from_hf_config(doc: dict, *, file: str, model_id: str) -> ModelSpec:
    a = _hf_arch(doc, file)
    cfg, counts = a["cfg"], a["counts"]
    prov = doc.get("_provenance") or {}
    hf_id = prov.get("hf_repo") or doc.get("_name_or_path") or cfg.get("_name_or_path") or model_id
    sources = "; ".join(str(s) for s in (prov.get("sources") or [])[:2])
    source = f"{file}: Hugging Face config.json read offline" + (f" ({sources})" if sources else "")
    return ModelSpec(
        id=model_id, hf_id=hf_id, params_b=counts["total"], active_params_b=counts["active"],
        layers=a["layers"], hidden_size=a["hidden"], attention_heads=a["heads"], kv_heads=a["kv_heads"],
        head_dim=a["head_dim"], vocab_size=a["vocab"], context_length=a["context"], source=source,
        experts=a["experts"], experts_per_token=a["experts_per_token"], expert_params_b=counts["experts"],
        kv_lora_rank=a["kv_lora_rank"], qk_rope_head_dim=a["qk_rope_head_dim"],
        local_layers=a["local_layers"], local_window=a["local_window"], weight_format=a["weight_format"])


def _hf_arch(doc: dict, file: str) -> dict:
    cfg = doc["text_config"] if isinstance(doc.get("text_config"), dict) else doc
    mtype = str(cfg.get("model_type") or doc.get("model_type") or "")

    def need(key: str, what: str):
        v = cfg.get(key)
        if v is None:
            raise UserError(f"missing field {key!r} ({what}); the model cannot be sized without it", file=file, field=key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            raise UserError(f"{key!r} must be a positive number, not {v!r}", file=file, field=key)
        return int(v)

    h = need("hidden_size", "the model width")
    layers = need("num_hidden_layers", "the number of transformer layers")
    heads = need("num_attention_heads", "the number of query heads")
    vocab = need("vocab_size", "the vocabulary size")
    context = need("max_position_embeddings", "the context length")
    # transformers' own defaults when absent: one KV head per query head, head_dim = hidden / heads
    kv_heads = int(cfg.get("num_key_value_heads") or heads)
    head_dim = int(cfg.get("head_dim") or h // heads)

    kv_lora = int(cfg.get("kv_lora_rank") or 0)
    if kv_lora:  # multi-head latent attention (DeepSeek-V2/V3/R1)
        rope = need("qk_rope_head_dim", "MLA rotary head size")
        nope = need("qk_nope_head_dim", "MLA non-rotary head size")
        v_dim = need("v_head_dim", "MLA value head size")
        q_lora = int(cfg.get("q_lora_rank") or 0)
        q = (h * q_lora + q_lora * heads * (nope + rope)) if q_lora else h * heads * (nope + rope)
        attn = q + h * (kv_lora + rope) + kv_lora * heads * (nope + v_dim) + heads * v_dim * h
        head_dim = nope + rope
    else:
        rope = 0
        attn = h * heads * head_dim + 2 * h * kv_heads * head_dim + heads * head_dim * h

    experts = int(cfg.get("num_local_experts") or cfg.get("num_experts") or cfg.get("n_routed_experts") or 0)
    per_tok = 0
    moe_layers = 0
    expert_ffn = shared_ffn = 0
    if experts:
        per_tok = int(cfg.get("num_experts_per_tok") or cfg.get("experts_per_token") or 0)
        if per_tok <= 0:
            raise UserError("missing field 'num_experts_per_tok' (experts each token is routed to)",
                            file=file, field="num_experts_per_tok")
        expert_ffn = int(cfg.get("moe_intermediate_size") or 0) or need("intermediate_size", "the expert FFN size")
        if "first_k_dense_replace" in cfg:  # DeepSeek: the first k layers are dense
            freq = int(cfg.get("moe_layer_freq") or 1)
            moe_layers = len([i for i in range(layers) if i >= int(cfg["first_k_dense_replace"]) and i % freq == 0])
            shared_ffn = int(cfg.get("n_shared_experts") or 0) * expert_ffn
        elif "interleave_moe_layer_step" in cfg:  # Llama 4: every step-th layer is MoE, with one shared expert
            step = int(cfg["interleave_moe_layer_step"]) or 1
            moe_layers = len([i for i in range(layers) if (i + 1) % step == 0])
            shared_ffn = expert_ffn  # transformers Llama4TextMoe: shared_expert = MLP(intermediate_size)
        elif "decoder_sparse_step" in cfg:  # Qwen MoE
            step = int(cfg["decoder_sparse_step"]) or 1
            dense_only = set(cfg.get("mlp_only_layers") or [])
            moe_layers = len([i for i in range(layers) if i not in dense_only and (i + 1) % step == 0])
            shared_ffn = int(cfg.get("shared_expert_intermediate_size") or 0)
        else:  # Mixtral, gpt-oss: every layer
            moe_layers = layers
    dense_layers = layers - moe_layers
    dense_ffn = 0
    if dense_layers:
        key = "intermediate_size_mlp" if "intermediate_size_mlp" in cfg else "intermediate_size"
        dense_ffn = need(key, "the dense FFN size")
    mlp = 3 * h  # gated MLP: gate, up and down projections
    per_expert = mlp * expert_ffn
    tied = cfg.get("tie_word_embeddings", doc.get("tie_word_embeddings", mtype.startswith("gemma")))
    embed = vocab * h * (1 if tied else 2)
    non_expert = (embed + layers * attn + dense_layers * mlp * dense_ffn
                  + moe_layers * (mlp * shared_ffn + h * experts))
    expert_total = moe_layers * experts * per_expert
    # active counts the embedding table, as the Qwen3, Llama 4 and DeepSeek cards do (gpt-oss's card leaves
    # it out: 0.58B less)
    counts = {"total": (non_expert + expert_total) / 1e9,
              "active": (non_expert + moe_layers * per_tok * per_expert) / 1e9,
              "experts": expert_total / 1e9}

    local_layers = local_window = 0
    types = cfg.get("layer_types")
    if cfg.get("attention_chunk_size") and not types:  # Llama 4: 3 of every 4 layers attend within a chunk
        local_window = int(cfg["attention_chunk_size"])
        local_layers = layers - layers // 4
    elif cfg.get("sliding_window") and cfg.get("use_sliding_window", True):
        local_window = int(cfg["sliding_window"])
        local_layers = (sum(1 for t in types if t == "sliding_attention") if isinstance(types, list)
                        else layers - layers // int(cfg.get("_sliding_window_pattern") or layers + 1))
    if not local_layers:
        local_window = 0
    quant = doc.get("quantization_config") or cfg.get("quantization_config") or {}
    method = str(quant.get("quant_method", "")).lower() if isinstance(quant, dict) else ""
    weight_format = method if method in ("fp8", "mxfp4") else ""
    return {"cfg": cfg, "counts": counts, "layers": layers, "hidden": h, "heads": heads, "kv_heads": kv_heads,
            "head_dim": head_dim, "vocab": vocab, "context": context, "experts": experts,
            "experts_per_token": per_tok, "kv_lora_rank": kv_lora, "qk_rope_head_dim": rope,
            "local_layers": local_layers, "local_window": local_window, "weight_format": weight_format}
